"""A document's new title reaches /events subscribers on every hub: two `tandem serve`
instances sharing one real Redis (store and events bus)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from server.security.auth import mint_token
from tests.support.events import EventWatcher
from tests.support.tandem import TandemProcess

SECRET = "title-events-secret-0123456789abcdef-0123"


def token(user: str, name: str, role: str) -> str:
    return mint_token(SECRET, user=user, docs=["*"], role=role, ttl=3600, name=name)


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[TandemProcess, TandemProcess]]:
    servers = [
        TandemProcess("--port", "0", "--store", redis_url, "--auth-secret", SECRET)
        for _ in range(2)
    ]
    for server in servers:
        await server.start()
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            await server.stop()


async def test_a_title_set_on_one_hub_is_told_on_the_other(
    pair: tuple[TandemProcess, TandemProcess],
) -> None:
    a, b = pair
    doc = f"renamed-{secrets.token_hex(4)}"
    watcher = await EventWatcher.connect(b.url, doc, token=token("ben", "Ben", "read"))
    try:
        writer = {"Authorization": f"Bearer {token('ana', 'Ana Lima', 'write')}"}
        async with httpx.AsyncClient(base_url=a.url, headers=writer) as http:
            assert (await http.patch(f"/api/docs/{doc}", json={"title": "Plan"})).is_success
            await watcher.wait_for(lambda w: bool(w.of_type("title")), what="the title on b")
            # The same title again changes nothing and tells nobody; a new one is told.
            assert (await http.patch(f"/api/docs/{doc}", json={"title": "Plan"})).is_success
            assert (await http.patch(f"/api/docs/{doc}", json={"title": None})).is_success
            await watcher.wait_for(lambda w: len(w.of_type("title")) >= 2, what="cleared")
        assert watcher.of_type("title") == [
            {"type": "title", "doc": doc, "title": "Plan", "by": "ana", "name": "Ana Lima"},
            {"type": "title", "doc": doc, "title": None, "by": "ana", "name": "Ana Lima"},
        ]
        reader = {"Authorization": f"Bearer {token('ben', 'Ben', 'read')}"}
        async with httpx.AsyncClient(base_url=b.url, headers=reader) as http:
            meta = (await http.get(f"/api/docs/{doc}")).json()
            assert meta["id"] == doc and meta["title"] is None
    finally:
        await watcher.close()


async def test_a_subscriber_hears_only_titles_of_documents_it_may_read(
    pair: tuple[TandemProcess, TandemProcess],
) -> None:
    a, b = pair
    mine, theirs = f"mine-{secrets.token_hex(4)}", f"theirs-{secrets.token_hex(4)}"
    scoped = mint_token(SECRET, user="cy", docs=[mine], role="read", ttl=3600, name="Cy")
    watcher = await EventWatcher.connect(b.url, "*", token=scoped)
    try:
        writer = {"Authorization": f"Bearer {token('ana', 'Ana', 'write')}"}
        async with httpx.AsyncClient(base_url=a.url, headers=writer) as http:
            assert (await http.patch(f"/api/docs/{theirs}", json={"title": "Secret"})).is_success
            assert (await http.patch(f"/api/docs/{mine}", json={"title": "Open"})).is_success
        await watcher.wait_for(lambda w: bool(w.of_type("title")), what="the readable title")
        assert [(e["doc"], e["title"]) for e in watcher.of_type("title")] == [(mine, "Open")]
    finally:
        await watcher.close()
