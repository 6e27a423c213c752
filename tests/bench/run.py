"""Benchmarks: the same workloads, real Yjs clients under Node, against Tandem and its peers.

    make bench                                  # every workload, every server available
    python -m tests.bench.run --quick           # smaller sizes, a couple of minutes
    python -m tests.bench.run --workloads fanout16,trace --servers tandem,node

Each server runs in its own process, fresh for every workload; the load generator
(tests/bench/load.mjs) is a separate Node process. Figures are printed as a table with the ratio
of each peer to Tandem. Nothing here asserts on time: it measures and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"
TRACE = Path(
    os.environ.get("TANDEM_TRACE", ROOT.parent / "shared" / "traces" / "automerge-paper.json.gz")
)
BENCH_PY = ROOT / ".bench-venv" / "bin" / "python"
REDIS_SERVER = shutil.which("redis-server") or "/usr/sbin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (KiB), from /proc."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


@dataclass
class Process:
    """One process of a server under test, listening on `port` once it is up."""

    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Server:
    name: str
    # Clients connect to the hubs (round-robin when there are several); helpers start first.
    hubs: list[Process]
    helpers: list[Process] = field(default_factory=list)
    ws_path: str = "/ws"
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{hub.port}{self.ws_path}" for hub in self.hubs]

    @property
    def pid(self) -> int:
        """The first hub's process (memory figures are read from it)."""
        return self.procs[len(self.helpers)].pid


# The peers enforce no limits: lift the per-connection rate and per-address caps that would
# otherwise (rightly) stop one machine opening 10k sockets or replaying a trace at full speed.
UNLIMITED = {
    "PYTHONPATH": str(ROOT),
    "TANDEM_UPDATE_RATE": "1000000",
    "TANDEM_UPDATE_BURST": "1000000",
    "TANDEM_MAX_CONNECTIONS": "100000",
    "TANDEM_MAX_CONNECTIONS_PER_ADDRESS": "100000",
    "TANDEM_MAX_CONNECTIONS_PER_DOC": "100000",
}


def _tandem_hub(store: str) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--store", store]
    return Process([*argv, "--log-level", "warning"], port, UNLIMITED)


def _tandem(tmp: Path) -> Server:
    return Server("tandem", [_tandem_hub(f"sqlite:///{tmp / 'bench.db'}")])


def _tandem_deflate(tmp: Path) -> Server:
    """Tandem with permessage-deflate negotiated (off by default: see the README)."""
    hub = _tandem_hub(f"sqlite:///{tmp / 'bench.db'}")
    hub.env = {**hub.env, "TANDEM_WS_COMPRESSION": "true"}
    return Server("tandem-deflate", [hub])


def _tandem_redis(tmp: Path) -> Server:
    """Two hubs sharing a redis-server (store and broker): every client of the other hub is
    one Redis hop away."""
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp)]
    redis = Process([*argv, "--save", "", "--appendonly", "no"], port)
    url = f"redis://127.0.0.1:{port}/0"
    return Server("tandem-2hubs", [_tandem_hub(url), _tandem_hub(url)], [redis])


def _node(tmp: Path) -> Server:
    script = BENCH / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
    port = free_port()
    return Server(
        "node", [Process(["node", str(script)], port, {"HOST": "127.0.0.1", "PORT": str(port)})]
    )


def _pycrdt(tmp: Path) -> Server:
    port = free_port()
    script = BENCH / "pycrdt_websocket_server.py"
    return Server("pycrdt", [Process([str(BENCH_PY), str(script), str(port)], port)])


SERVERS: dict[str, Callable[[Path], Server]] = {
    "tandem": _tandem,
    "node": _node,
    "pycrdt": _pycrdt,
    "tandem-2hubs": _tandem_redis,
    "tandem-deflate": _tandem_deflate,
}
# Run unless --servers says otherwise; tandem-deflate is the compression question, on demand.
DEFAULT_SERVERS = ["tandem", "node", "pycrdt", "tandem-2hubs"]


def available(name: str) -> str | None:
    """Why a server cannot run here, or None."""
    if name == "node" and not (BENCH / "node_modules" / "@y" / "websocket-server").exists():
        return "run `npm ci --prefix tests/bench`"
    if name == "pycrdt" and not BENCH_PY.exists():
        return "run `make bench-deps` (creates .bench-venv with pycrdt-websocket)"
    if name == "tandem-2hubs" and not Path(REDIS_SERVER).exists():
        return "install redis-server (`make system-deps`)"
    return None


async def wait_port(port: int, proc: asyncio.subprocess.Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("server did not listen in time")


@contextlib.asynccontextmanager
async def running(name: str) -> AsyncIterator[Server]:
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        server = SERVERS[name](Path(tmp))
        try:
            for process in [*server.helpers, *server.hubs]:
                proc = await asyncio.create_subprocess_exec(
                    *process.argv,
                    cwd=ROOT,
                    env={**os.environ, **process.env},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                server.procs.append(proc)
                await wait_port(process.port, proc)
            yield server
        finally:
            for proc in reversed(server.procs):  # hubs first, so they stop while Redis is up
                if proc.returncode is None:
                    proc.terminate()
                    try:
                        await asyncio.wait_for(proc.wait(), 15)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()


async def load(
    workload: str,
    options: dict[str, Any],
    on_line: Callable[[dict[str, Any]], Any] | None = None,
    timeout: float = 900,
) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        "node",
        "--max-old-space-size=8192",
        str(BENCH / "load.mjs"),
        workload,
        json.dumps(options),
        cwd=BENCH,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    result: dict[str, Any] = {}
    async with asyncio.timeout(timeout):
        while line := await proc.stdout.readline():
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if data.get("ready") and on_line is not None:
                    await on_line(data)
                else:
                    result = data
        err = (await proc.stderr.read()).decode()
        code = await proc.wait()
    if code != 0:
        raise RuntimeError(f"load generator failed ({workload}): {err.strip()[-500:]}")
    return result


# -- workloads ---------------------------------------------------------------------------------


@dataclass
class Workload:
    key: str
    title: str
    run: Callable[[Server, bool], Any]
    # (label, field, lower_is_better; None: a fact, no ratio)
    figures: list[tuple[str, str, bool | None]]
    # Run on two hubs on Redis as well (tandem-2hubs): latency workloads only.
    across_hubs: bool = False
    # Servers it is not run on (pycrdt-websocket does not get through a large document's
    # storm within the hour's timeout).
    skip: tuple[str, ...] = ()


async def _fanout(server: Server, quick: bool, clients: int, rate: int) -> dict[str, Any]:
    seconds = 5 if quick else 15
    return await load(
        "fanout", {"urls": server.urls, "clients": clients, "rate": rate, "seconds": seconds}
    )


async def _manydocs(server: Server, quick: bool) -> dict[str, Any]:
    return await load(
        "manydocs", {"urls": server.urls, "docs": 200, "rate": 400, "seconds": 5 if quick else 15}
    )


async def _latejoin(server: Server, quick: bool) -> dict[str, Any]:
    return await load("latejoin", {"urls": server.urls, "ops": 20000 if quick else 100000})


async def _idle(server: Server, quick: bool, connections: int, docs: int) -> dict[str, Any]:
    pid = server.pid
    baseline = rss_kib(pid)
    measured: dict[str, Any] = {}

    async def on_ready(_: dict[str, Any]) -> None:
        await asyncio.sleep(1.0)  # let per-connection buffers settle before reading memory
        measured["rss_kib"] = rss_kib(pid)

    if quick:
        connections = min(connections, 500)
    result = await load(
        "idle",
        {"urls": server.urls, "connections": connections, "docs": docs, "holdMs": 2500},
        on_ready,
    )
    result["rss_per_conn_kib"] = (measured["rss_kib"] - baseline) / connections
    result["rss_mib"] = measured["rss_kib"] / 1024
    return result


async def _trace(server: Server, quick: bool) -> dict[str, Any]:
    result = await load("trace", {"urls": server.urls, "file": str(TRACE)}, timeout=1800)
    result["rss_mib"] = rss_kib(server.pid) / 1024
    return result


async def _largedoc(server: Server, quick: bool, megabytes: int, joiners: int) -> dict[str, Any]:
    """The peak RSS of the server (with its worker processes) over the whole run."""
    if quick:
        megabytes, joiners = min(megabytes, 5), min(joiners, 30)
    peak = 0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(server.pid))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        result = await load(
            "largedoc",
            {"urls": server.urls, "megabytes": megabytes, "joiners": joiners},
            timeout=3600,
        )
    finally:
        done.set()
        await sampler
    result["peak_rss_mib"] = peak / 1024
    return result


LARGE: list[tuple[str, str, bool | None]] = [
    ("storm p95 ms", "storm_p95_ms", True),
    ("storm p50 ms", "storm_p50_ms", True),
    ("joiners synced", "joiners_synced", None),
    ("peak RSS MiB", "peak_rss_mib", True),
    ("first join ms", "first_join_ms", True),
    ("3 stock joiners ms", "stock_ms", True),
    ("stock equal", "stock_equal", None),
    ("doc bytes", "bytes", None),
]

LATENCY: list[tuple[str, str, bool | None]] = [
    ("p50 ms", "p50_ms", True),
    ("p99 ms", "p99_ms", True),
    ("converged", "converged", None),
]
# Two hubs: the receivers on the other hub than the sender's, one Redis hop further.
CROSS_HUB: list[tuple[str, str, bool | None]] = [
    ("cross-hub p50 ms", "cross_hub_p50_ms", None),
    ("cross-hub p99 ms", "cross_hub_p99_ms", None),
]

WORKLOADS = [
    Workload(
        "fanout16",
        "fan-out, 16 clients on 1 doc, 160 updates/s",
        lambda s, q: _fanout(s, q, 16, 160),
        [*LATENCY, *CROSS_HUB],
        across_hubs=True,
    ),
    Workload(
        "fanout64",
        "fan-out, 64 clients on 1 doc, 64 updates/s",
        lambda s, q: _fanout(s, q, 64, 64),
        [*LATENCY, *CROSS_HUB],
        across_hubs=True,
    ),
    Workload(
        "fanout64x10",
        "fan-out, 64 clients on 1 doc, 640 updates/s",
        lambda s, q: _fanout(s, q, 64, 640),
        [*LATENCY, ("achieved/s", "achieved_rate", False)],
    ),
    # On two hubs each document's two clients are on different hubs: every update crosses.
    Workload(
        "manydocs", "200 docs x 2 clients, 400 updates/s", _manydocs, LATENCY, across_hubs=True
    ),
    Workload(
        "latejoin",
        "late join of a 100k-op document",
        _latejoin,
        [("join ms", "join_ms", True), ("doc bytes", "bytes", None), ("equal", "equal", None)],
    ),
    Workload(
        "idle1000",
        "1,000 idle connections on 10 docs",
        lambda s, q: _idle(s, q, 1000, 10),
        [("KiB/conn", "rss_per_conn_kib", True), ("synced ms", "synced_ms", True)],
    ),
    Workload(
        "idle2000",
        "2,000 idle connections on 20 docs",
        lambda s, q: _idle(s, q, 2000, 20),
        [("synced ms", "synced_ms", True), ("KiB/conn", "rss_per_conn_kib", True)],
    ),
    Workload(
        "idle10000",
        "10,000 idle connections on 100 docs (one process)",
        lambda s, q: _idle(s, q, 10000, 100),
        [
            ("synced ms", "synced_ms", True),
            ("connected", "still_connected", None),
            ("RSS MiB", "rss_mib", True),
        ],
    ),
    Workload(
        "trace",
        "automerge-paper trace, 259,778 edits, one message each",
        _trace,
        [
            ("observer equal ms", "observer_equal_ms", True),
            ("late join ms", "late_join_ms", True),
            ("RSS MiB", "rss_mib", True),
        ],
    ),
    Workload(
        "large20",
        "20 MB document, then 150 raw joiners at once",
        lambda s, q: _largedoc(s, q, 20, 150),
        LARGE,
        skip=("pycrdt",),
    ),
    Workload(
        "large50",
        "50 MB document, then 20 raw joiners at once",
        lambda s, q: _largedoc(s, q, 50, 20),
        LARGE,
        skip=("pycrdt",),
    ),
]


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def ratio(tandem: Any, other: Any, lower_is_better: bool | None) -> str:
    if lower_is_better is None:
        return ""
    if (
        not isinstance(tandem, int | float)
        or not isinstance(other, int | float)
        or isinstance(tandem, bool)
    ):
        return ""
    if tandem == 0:
        return ""
    # > 1 means Tandem is better by that factor.
    r = other / tandem if lower_is_better else tandem / other if other else 0
    return f"{r:.2f}x"


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS), help=", ".join(SERVERS))
    parser.add_argument("--workloads", default=",".join(w.key for w in WORKLOADS))
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write raw results here")
    args = parser.parse_args(argv)

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit: 10k sockets
    servers = [s for s in args.servers.split(",") if s]
    for name in list(servers):
        why = available(name)
        if why:
            print(f"# skipping {name}: {why}", flush=True)
            servers.remove(name)
    chosen = [w for w in WORKLOADS if w.key in args.workloads.split(",")]
    results: dict[str, dict[str, Any]] = {}
    for workload in chosen:
        for name in servers:
            if workload.key == "idle10000" and name != "tandem":
                continue  # the target is Tandem's own: one process holding 10k sockets
            if (name == "tandem-2hubs" and not workload.across_hubs) or name in workload.skip:
                continue
            print(f"# {workload.key} on {name} …", flush=True)
            try:
                async with running(name) as server:
                    result = await workload.run(server, args.quick)
            except Exception as exc:  # a peer failing a workload is a figure too
                result = {"error": str(exc)[:200]}
            results.setdefault(workload.key, {})[name] = result
            print(f"#   {json.dumps(result)}", flush=True)

    print()
    print(
        f"machine: {os.cpu_count()} cores, {os.uname().machine}, Python {sys.version.split()[0]}, "
        f"node {(await _node_version())}; quick={args.quick}"
    )
    header = ["workload", "figure", *servers, *(f"{s} / tandem" for s in servers if s != "tandem")]
    rows = [header]
    for workload in chosen:
        per_server = results.get(workload.key, {})
        for label, key, lower in workload.figures:
            row = [workload.title if label == workload.figures[0][0] else "", label]
            for name in servers:
                r = per_server.get(name)
                row.append(
                    "n/a"
                    if r is None
                    else ("ERR " + r["error"][:30])
                    if "error" in r
                    else fmt(r.get(key))
                )
            t = per_server.get("tandem", {})
            for name in servers:
                if name != "tandem":
                    o = per_server.get(name, {})
                    row.append(ratio(t.get(key), o.get(key), lower))
            rows.append(row)
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print(" | ".join(str(c).ljust(widths[j]) for j, c in enumerate(row)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    print("\nratio columns: how many times better Tandem is (>1 = Tandem ahead)")
    for workload in chosen:
        one, two = (results.get(workload.key, {}).get(n, {}) for n in ("tandem", "tandem-2hubs"))
        if isinstance(one.get("p99_ms"), float) and isinstance(two.get("p99_ms"), float):
            print(
                f"two hubs on Redis, {workload.key}: p99 {two['p99_ms']:.2f} ms against "
                f"{one['p99_ms']:.2f} ms on one hub = {two['p99_ms'] / one['p99_ms']:.2f}x "
                "(target: within 2x)"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


async def _node_version() -> str:
    node = shutil.which("node")
    if not node:
        return "?"
    proc = await asyncio.create_subprocess_exec(node, "--version", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().strip()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
