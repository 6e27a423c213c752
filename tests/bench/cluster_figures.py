"""Print the local cluster's figures: convergence across hubs, recovery after a hub kill and
after a Redis restart, and what document-affine routing saves. Real processes
(deploy/local-cluster.sh), stock Yjs clients.

    python -m tests.bench.cluster_figures [--samples 50] [--routing-only]   (make cluster-figures)

Routing: the same editing load (documents with a few editors each, arriving in a shuffled
order through nginx) on three hubs with nginx taking turns (round-robin, the old default) and
hashing on the document (affine), and on one hub for reference. "Crossing Redis" is the share
of updates whose document had editors on more than one hub (so another hub had to apply them),
read from where the hubs had the documents' sockets; the hub-to-hub deliveries come from the
hubs' own counters.

Timings are wall-clock on this machine, which is shared: read them as orders of magnitude.
The stock y-websocket client waits up to its maxBackoffTime before reconnecting (2.5 s by
default; these clients use 500 ms), which bounds how fast a killed hub's clients come back.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.run import load
from tests.support.cluster import LocalCluster
from tests.support.yjs import YjsClient

EDITORS = {"docs": 60, "perDoc": 3, "rate": 300, "seconds": 15}


def summary(name: str, values_ms: list[float]) -> str:
    values = sorted(values_ms)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return (
        f"{name}: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, "
        f"max {values[-1]:.1f} ms (n={len(values)})"
    )


async def latency(
    writer: YjsClient, readers: list[YjsClient], samples: int, tag: str
) -> list[float]:
    out = []
    for n in range(samples):
        text = f"{tag} sample {n}"
        waits = [asyncio.ensure_future(r.call("waitText", text=text)) for r in readers]
        await asyncio.sleep(0.01)  # the readers are listening before the writer types
        started = time.time() * 1000
        await writer.call("append", text=text)
        seen = await asyncio.gather(*waits)
        out.append(max(seen) - started)
    return out


async def converged(clients: list[YjsClient], lines: list[str]) -> bool:
    states = [await c.xml() for c in clients]
    return len(set(states)) == 1 and all(f"<paragraph>{x}</paragraph>" in states[0] for x in lines)


async def until_converged(clients: list[YjsClient], lines: list[str], timeout: float = 60) -> float:
    started = time.monotonic()
    while not await converged(clients, lines):
        if time.monotonic() - started > timeout:
            raise RuntimeError("clients did not converge")
        await asyncio.sleep(0.02)
    return time.monotonic()


async def type_round(clients: list[YjsClient], lines: list[str], n: int) -> None:
    new = [f"client {i} round {n}" for i in range(len(clients))]
    await asyncio.gather(*(c.call("append", text=x) for c, x in zip(clients, new, strict=True)))
    lines += new


async def main(samples: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tandem-figures-") as tmp:
        cluster = await LocalCluster(Path(tmp) / "cluster", 3).start()
        clients: list[YjsClient] = []
        try:
            one = [await YjsClient.connected(cluster.hub_ws_url(1), "solo") for _ in range(2)]
            hubs = [await YjsClient.connected(cluster.hub_ws_url(i), "spread") for i in (1, 2, 3)]
            clients += one + hubs
            await latency(hubs[0], hubs[1:], 5, "warm-up")
            same_hub = await latency(one[0], one[1:], samples, "a")
            print(summary("same hub, client to client", same_hub))
            print(
                summary(
                    "across hubs (hub 1 -> hubs 2 and 3), client to client",
                    await latency(hubs[0], hubs[1:], samples, "b"),
                )
            )

            # A hub killed mid-edit: clients go through nginx and come back on the others.
            typists = [await YjsClient.connected(cluster.ws_url, "kill") for _ in range(6)]
            clients += typists
            lines: list[str] = []
            for n in range(5):
                await type_round(typists, lines, n)
            await until_converged(typists, lines)
            (hub,) = (await cluster.placement())["kill"]  # the one hub nginx sent them to
            killed = time.monotonic()
            await cluster.kill_hub(hub)
            await type_round(typists, lines, 99)
            done = await until_converged(typists, lines)
            print(f"hub SIGKILLed behind nginx: 6 clients converged {done - killed:.2f} s later")

            # Redis stopped for a while during edits, then started again.
            alive = [i for i in (1, 2, 3) if i != hub]
            typists2 = [
                await YjsClient.connected(cluster.hub_ws_url(i), "redis") for i in alive * 2
            ]
            clients += typists2
            lines2: list[str] = []
            await type_round(typists2, lines2, 0)
            await cluster.stop_redis()
            for n in range(1, 4):
                await type_round(typists2, lines2, n)
                await asyncio.sleep(0.5)
            restarted = time.monotonic()
            await cluster.start_redis()
            done = await until_converged(typists2, lines2)
            while not all([await cluster.ready(i) for i in alive]):
                await asyncio.sleep(0.05)
            ready = time.monotonic()
            print(
                "Redis down 1.5 s mid-edit, then back: clients converged "
                f"{done - restarted:.2f} s after it restarted, "
                f"hubs ready after {ready - restarted:.2f} s"
            )
        finally:
            for client in clients:
                await client.close()
            await cluster.stop()


async def counters(cluster: LocalCluster) -> tuple[float, float]:
    """(updates from clients, updates applied from another hub), summed over the hubs."""
    local = remote = 0.0
    for i in range(1, cluster.hubs + 1):
        for line in (await cluster.get(cluster.hub_url(i) + "/metrics")).text.splitlines():
            if line.startswith("tandem_updates_received_total "):
                local += float(line.split()[-1])
            elif line.startswith('tandem_broker_messages_total{direction="in",kind="update"}'):
                remote += float(line.split()[-1])
    return local, remote


async def routed(workdir: Path, hubs: int, routing: str) -> dict[str, Any]:
    cluster = await LocalCluster(workdir, hubs, routing=routing).start()
    seen: dict[str, Any] = {}

    async def on_ready(_: dict[str, Any]) -> None:
        seen["placement"] = await cluster.placement()
        seen["counters"] = await counters(cluster)

    try:
        result = await load("editors", {"urls": [cluster.ws_url], **EDITORS}, on_ready)
        local, remote = await counters(cluster)
    finally:
        await cluster.stop()
    spread = sum(1 for where in seen["placement"].values() if len(where) > 1)
    local -= seen["counters"][0]
    remote -= seen["counters"][1]
    return {
        **result,
        "spread_docs": spread,
        "crossing": spread / len(seen["placement"]),
        "deliveries_per_update": remote / local if local else 0.0,
    }


async def routing_figures(tmp: Path) -> None:
    load_text = (
        f"{EDITORS['docs']} documents x {EDITORS['perDoc']} editors through nginx, "
        f"{EDITORS['rate']} updates/s for {EDITORS['seconds']} s"
    )
    print(f"document-affine routing ({load_text}):")
    single = await routed(tmp / "one-hub", 1, "affine")
    print(f"  one hub: p50 {single['p50_ms']:.2f} ms, p99 {single['p99_ms']:.2f} ms")
    for routing in ("round-robin", "affine"):
        r = await routed(tmp / routing, 3, routing)
        print(
            f"  3 hubs, {routing}: {r['crossing']:.0%} of updates cross Redis "
            f"({r['spread_docs']} of {EDITORS['docs']} documents on more than one hub; "
            f"{r['deliveries_per_update']:.2f} hub-to-hub deliveries per update); "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
            f"({r['p99_ms'] / single['p99_ms']:.1f}x one hub's); "
            f"{'converged' if r['converged'] else 'DID NOT CONVERGE'}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--routing-only", action="store_true", help="only the routing figures")
    args = parser.parse_args()

    async def run() -> None:
        if not args.routing_only:
            await main(args.samples)
        with tempfile.TemporaryDirectory(prefix="tandem-routing-") as tmp:
            await routing_figures(Path(tmp))

    asyncio.run(run())
