"""The Store contract runs over every backend: add a backend here and it runs the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.stores import Store, open_store


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind in {"redis", "redis-cluster"}:
        url: str = request.getfixturevalue("redis_url" if kind == "redis" else "redis_cluster_url")
        return url
    return {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'contract.db'}"}[kind]


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request, tmp_path)


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def lasting_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The stores that keep documents when they close (memory, by design, does not)."""
    return _url(request, tmp_path)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    backend = open_store(store_url)
    await backend.open()
    yield backend
    await backend.close()
