"""The Store contract runs over every backend: add a backend here and it runs the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.stores import Store, open_store


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    elif request.param == "redis-cluster":
        url = request.getfixturevalue("redis_cluster_url")
    else:
        url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'contract.db'}"}[
            request.param
        ]
    backend = open_store(url)
    await backend.open()
    yield backend
    await backend.close()
