"""A real local cluster (redis-server + N hubs + nginx), driven through deploy/local-cluster.sh."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from tests.support.services import require_executable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local-cluster.sh"


class LocalCluster:
    def __init__(
        self, workdir: Path, hubs: int = 3, *hub_flags: str, routing: str = "affine"
    ) -> None:
        require_executable("redis-server", "/usr/bin/redis-server")
        require_executable("nginx", "/usr/sbin/nginx")
        self.dir = workdir
        self.hubs = hubs
        self.hub_flags = list(hub_flags)
        self.routing = routing  # affine (a document's sockets on one hub) or round-robin
        self.env: dict[str, str] = {}

    async def run(self, *args: str, timeout: float = 90.0) -> str:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            str(SCRIPT),
            args[0],
            "--dir",
            str(self.dir),
            *args[1:],
            env={"PATH": "/usr/sbin:/usr/bin:/bin", "PYTHON": sys.executable, "HOME": "/tmp"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"local-cluster.sh {' '.join(args)} failed:\n{text}\n{self.logs()}")
        return text

    async def start(self) -> LocalCluster:
        extra = ["--", *self.hub_flags] if self.hub_flags else []
        await self.run("start", "--hubs", str(self.hubs), "--routing", self.routing, *extra)
        for line in (self.dir / "cluster.env").read_text().splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value
        return self

    async def stop(self) -> None:
        await self.run("stop")

    @property
    def url(self) -> str:
        """nginx, in front of every hub."""
        return self.env["URL"]

    @property
    def ws_url(self) -> str:
        return self.env["WS_URL"]

    @property
    def redis_url(self) -> str:
        return self.env["REDIS_URL"]

    def hub_url(self, i: int) -> str:
        return self.env[f"HUB_{i}_URL"]

    def hub_ws_url(self, i: int) -> str:
        return self.hub_url(i).replace("http://", "ws://") + "/ws"

    async def kill_hub(self, i: int) -> None:
        await self.run("kill-hub", str(i))

    async def stop_hub(self, i: int) -> None:
        await self.run("stop-hub", str(i))

    async def start_hub(self, i: int) -> None:
        await self.run("start-hub", str(i))

    async def stop_redis(self) -> None:
        await self.run("stop-redis")

    async def start_redis(self) -> None:
        await self.run("start-redis")

    async def get(self, url: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.get(url)

    async def ready(self, i: int) -> bool:
        try:
            return (await self.get(self.hub_url(i) + "/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def connections(self, i: int) -> float:
        """The hub's open WebSocket connections, from its /metrics."""
        text = (await self.get(self.hub_url(i) + "/metrics")).text
        for line in text.splitlines():
            if line.startswith("tandem_connections "):
                return float(line.split()[1])
        raise AssertionError("no tandem_connections in /metrics")

    async def editors(self, i: int) -> dict[str, int]:
        """The documents hub i has open, with how many of their sockets are on it."""
        docs = (await self.get(self.hub_url(i) + "/api/docs")).json()["docs"]
        return {d["id"]: d["editors"] for d in docs if d["editors"]}

    async def placement(self) -> dict[str, set[int]]:
        """For each open document, the hubs its sockets are on."""
        where: dict[str, set[int]] = {}
        for i in range(1, self.hubs + 1):
            for doc in await self.editors(i):
                where.setdefault(doc, set()).add(i)
        return where

    def logs(self) -> str:
        parts = []
        for path in sorted((self.dir / "logs").glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)
