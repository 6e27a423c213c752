"""A real redis-server on a free loopback port, started and stopped by the test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.services import free_port, require_executable


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.executable = require_executable("redis-server", "/usr/bin/redis-server")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.executable,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = aioredis.Redis.from_url(self.url)
        try:
            async with asyncio.timeout(10):
                while True:
                    try:
                        await client.ping()
                        return
                    except RedisConnectionError:
                        await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """SIGKILL: connected clients see their sockets die."""
        if self.proc is not None:
            if self.proc.returncode is None:
                self.proc.kill()
            await self.proc.wait()
            self.proc = None


@contextlib.asynccontextmanager
async def redis_server(workdir: Path) -> AsyncIterator[str]:
    """Yield the URL of a fresh redis-server (no persistence); kill it at the end."""
    server = RedisServer(workdir)
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()
