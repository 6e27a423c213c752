"""Fixtures for the security tests: servers with a secret, tokens, raw WebSocket helpers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from server.security.auth import mint_token
from tests.support.tandem import TandemProcess

SECRET = "test-secret-0123456789abcdef-0123456789"


def token(
    user: str = "ana",
    docs: Sequence[str] = ("*",),
    role: str = "write",
    ttl: float = 3600,
    name: str | None = None,
    secret: str = SECRET,
) -> str:
    return mint_token(secret, user=user, docs=docs, role=role, ttl=ttl, name=name)


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[TandemProcess]:
    """A `tandem serve` on a free port with extra flags and environment, stopped at the end."""
    db = tmp_path / f"tandem-{len(list(tmp_path.iterdir()))}.db"
    server = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", *args, env=env)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[TandemProcess]:
    """A server that needs tokens signed with SECRET."""
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        yield server


async def closed_with(url: str, *frames: bytes, **connect: object) -> tuple[int, str]:
    """Connect, send frames, read until the server closes; its close code and reason."""
    async with websockets.connect(url, **connect) as ws:  # type: ignore[arg-type]
        for frame in frames:
            await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    received = closed.value.rcvd
    assert received is not None, "the server dropped the socket without a close frame"
    return received.code, received.reason


def metric(text: str, name: str) -> float:
    """The value of one sample line (`name{labels}`) of Prometheus text, 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
