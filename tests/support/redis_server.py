"""A real redis-server on a free loopback port, started and stopped by the test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.services import free_port, require_executable


@contextlib.asynccontextmanager
async def redis_server(workdir: Path) -> AsyncIterator[str]:
    """Yield the URL of a fresh redis-server (no persistence); kill it at the end."""
    executable = require_executable("redis-server", "/usr/bin/redis-server")
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        executable,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = aioredis.Redis.from_url(url)
        try:
            async with asyncio.timeout(10):
                while True:
                    try:
                        await client.ping()
                        break
                    except RedisConnectionError:
                        await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        yield url
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
