"""Document titles over HTTP against a real `tandem serve` with auth on, on SQLite and on Redis:
`PATCH /api/docs/{doc}` `{"title"}` (write role), `title` in the listing and the metadata, kept
across a restart, gone with the document."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.security.auth import mint_token
from tests.support.tandem import TandemProcess

SECRET = "titles-secret-0123456789abcdef-0123456789"


def bearer(role: str, user: str = "ana", name: str = "Ana Lima") -> dict[str, str]:
    token = mint_token(SECRET, user=user, docs=["*"], role=role, ttl=3600, name=name)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url
    return f"sqlite:///{tmp_path / 'titles.db'}"


@pytest.fixture
async def hub(store_url: str) -> AsyncIterator[TandemProcess]:
    server = TandemProcess("--port", "0", "--store", store_url, "--auth-secret", SECRET)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def doc() -> str:
    """A fresh id per test (the Redis store is shared by the session)."""
    return f"titled-{secrets.token_hex(4)}"


async def patch(
    http: httpx.AsyncClient, doc: str, body: object, role: str = "write"
) -> httpx.Response:
    return await http.patch(f"/api/docs/{doc}", content=json.dumps(body), headers=bearer(role))


async def test_a_title_creates_the_document_lists_it_and_shows_in_its_metadata(hub, doc) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.get(f"/api/docs/{doc}", headers=bearer("read"))).status_code == 404
        response = await patch(http, doc, {"title": "Plan for Q3"})
        assert response.status_code == 200, response.text
        meta = response.json()
        assert meta["id"] == doc and meta["title"] == "Plan for Q3" and meta["size"] == 0
        assert (await http.get(f"/api/docs/{doc}", headers=bearer("read"))).json() == meta
        listed = (await http.get("/api/docs", headers=bearer("read"))).json()["docs"]
        (entry,) = [d for d in listed if d["id"] == doc]
        assert entry["title"] == "Plan for Q3" and entry["size"] == 0 and entry["created_at"]
        # An untitled document says so: null.
        assert (await patch(http, doc, {"title": ""})).json()["title"] is None
        assert (await http.get(f"/api/docs/{doc}", headers=bearer("read"))).json()["title"] is None


async def test_only_writers_set_titles(hub, doc) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        refused = await patch(http, doc, {"title": "Mine"}, role="read")
        assert refused.status_code == 403
        anonymous = await http.patch(f"/api/docs/{doc}", json={"title": "Mine"})
        assert anonymous.status_code == 401
        listed = (await http.get("/api/docs", headers=bearer("read"))).json()["docs"]
        assert doc not in {d["id"] for d in listed}  # a refused PATCH creates nothing
        assert (await patch(http, doc, {"title": "Mine"}, role="admin")).status_code == 200
        assert (await patch(http, doc, {"title": "Ours"}, role="write")).json()["title"] == "Ours"


async def test_malformed_titles_are_refused(hub, doc) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for body in ({}, {"title": 5}, {"title": ["a"]}, {"title": "a", "extra": 1}, ["title"]):
            response = await patch(http, doc, body)
            assert response.status_code == 400, body
            assert "error" in response.json()
        not_json = await http.patch(f"/api/docs/{doc}", content=b"{", headers=bearer("write"))
        assert not_json.status_code == 400
        too_long = await patch(http, doc, {"title": "x" * 201})
        assert too_long.status_code == 400 and "200" in too_long.json()["error"]
        assert (await patch(http, "bad id!", {"title": "x"})).status_code == 400
        listed = (await http.get("/api/docs", headers=bearer("read"))).json()["docs"]
        assert doc not in {d["id"] for d in listed}
        longest = await patch(http, doc, {"title": "y" * 200})
        assert longest.status_code == 200 and longest.json()["title"] == "y" * 200


async def test_titles_are_cleaned_as_names_are(hub, doc) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        raw = '{"title": "  Plan\\u0007 for\\n\\n Q3 \\ud800 <b>now</b>\\t "}'  # lone surrogate
        response = await http.patch(f"/api/docs/{doc}", content=raw, headers=bearer("write"))
        assert response.status_code == 200, response.text
        assert response.json()["title"] == "Plan for Q3 now"
        blank = await patch(http, doc, {"title": " \u200b\t\n "})
        assert blank.json()["title"] is None  # nothing left: no title


async def test_a_title_survives_a_restart_and_goes_with_the_document(
    store_url: str, doc: str
) -> None:
    server = TandemProcess("--port", "0", "--store", store_url, "--auth-secret", SECRET)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await patch(http, doc, {"title": "Kept"})).status_code == 200
    finally:
        await server.stop()
    again = TandemProcess("--port", "0", "--store", store_url, "--auth-secret", SECRET)
    await again.start()
    try:
        async with httpx.AsyncClient(base_url=again.url) as http:
            meta = await http.get(f"/api/docs/{doc}", headers=bearer("read"))
            assert meta.json()["title"] == "Kept"
            gone = await http.delete(f"/api/docs/{doc}", headers=bearer("admin"))
            assert gone.status_code == 204
            assert (await http.get(f"/api/docs/{doc}", headers=bearer("read"))).status_code == 404
            listed = (await http.get("/api/docs", headers=bearer("read"))).json()["docs"]
            assert doc not in {d["id"] for d in listed}
    finally:
        await again.stop()
