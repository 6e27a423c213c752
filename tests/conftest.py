"""Fixtures shared by every test: real servers and real Yjs clients, cleaned up at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis import (  # noqa: F401  (fixtures: real Redis, shared by the session)
    redis_cluster,
    redis_cluster_url,
    redis_server,
    redis_url,
)
from tests.support.tandem import TandemProcess
from tests.support.yjs import YjsClient


@pytest.fixture
async def tandem(tmp_path: Path) -> AsyncIterator[TandemProcess]:
    """A `tandem serve` process on a free port with its own SQLite file."""
    server = TandemProcess("--port", "0", "--store", f"sqlite:///{tmp_path / 'tandem.db'}")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def yjs_clients() -> AsyncIterator[Callable[..., Awaitable[YjsClient]]]:
    """Factory of connected stock Yjs clients; every one is stopped at the end."""
    clients: list[YjsClient] = []

    async def connect(ws_url: str, doc: str, **kwargs: Any) -> YjsClient:
        client = await YjsClient.connected(ws_url, doc, **kwargs)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()
