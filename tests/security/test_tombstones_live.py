"""A deleted document stays deleted: a stock client that still holds a copy cannot bring it back
through the sync handshake (4404, nothing created); writing it on purpose creates it again."""

from __future__ import annotations

import httpx

from tests.security.conftest import token
from tests.support.waiting import eventually

ADMIN = {"Authorization": f"Bearer {token('boss', role='admin')}"}
WRITER = {"Authorization": f"Bearer {token('w')}"}


async def _listed(http: httpx.AsyncClient) -> list[str]:
    return [d["id"] for d in (await http.get("/api/docs", headers=ADMIN)).json()["docs"]]


async def test_a_copy_held_while_away_does_not_bring_a_deleted_document_back(
    secured, yjs_clients
) -> None:
    away = await yjs_clients(secured.ws_url, "gone", params={"token": token("ed")})
    await away.call("append", text="the old content")
    async with httpx.AsyncClient(base_url=secured.url) as http:
        await eventually(
            lambda: http.get("/api/docs/gone?format=text", headers=ADMIN),
            lambda r: r.status_code == 200 and "the old content" in r.text,
            what="the content reached the server",
        )
        await away.call("disconnect")  # away with its copy while the admin deletes
        assert (await http.delete("/api/docs/gone", headers=ADMIN)).status_code == 204
        before = len((await away.call("status"))["closes"])  # the disconnect's own close
        await away.call("reconnect")
        status = await eventually(
            lambda: away.call("status"),
            lambda s: len(s["closes"]) > before,
            what="the join is refused",
        )
        assert status["closes"][before] == {"code": 4404, "reason": "document deleted"}
        assert not status["synced"]
        missing = await http.get("/api/docs/gone", headers=ADMIN)
        assert missing.status_code == 404 and "deleted" in missing.json()["error"]
        assert (await http.get("/api/docs/gone?format=text", headers=ADMIN)).status_code == 404
        assert "gone" not in await _listed(http)
        # A newcomer is refused the same way, and nothing is created for it either.
        fresh = await yjs_clients(
            secured.ws_url, "gone", params={"token": token("new")}, waitSync=False
        )
        fresh_status = await eventually(
            lambda: fresh.call("status"), lambda s: s["closes"], what="the newcomer is refused"
        )
        assert fresh_status["closes"][0]["code"] == 4404
        assert "gone" not in await _listed(http)


async def test_put_creates_a_deleted_document_again(secured, yjs_clients) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as http:
        put = await http.put(
            "/api/docs/reborn",
            content=b"first life",
            headers={**WRITER, "Content-Type": "text/plain"},
        )
        assert put.status_code == 200
        assert (await http.delete("/api/docs/reborn", headers=ADMIN)).status_code == 204
        put = await http.put(
            "/api/docs/reborn",
            content=b"second life",
            headers={**WRITER, "Content-Type": "text/plain"},
        )
        assert put.status_code == 200
        assert "reborn" in await _listed(http)
        joiner = await yjs_clients(secured.ws_url, "reborn", params={"token": token("ed")})
        xml = await joiner.call("xml")
        assert "second life" in xml and "first life" not in xml


async def test_naming_a_deleted_document_creates_it_again(secured, yjs_clients) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as http:
        await http.patch("/api/docs/renamed", json={"title": "Old"}, headers=WRITER)
        assert (await http.delete("/api/docs/renamed", headers=ADMIN)).status_code == 204
        patched = await http.patch("/api/docs/renamed", json={"title": "New"}, headers=WRITER)
        assert patched.status_code == 200
        assert (await http.get("/api/docs/renamed", headers=ADMIN)).json()["title"] == "New"
        joiner = await yjs_clients(secured.ws_url, "renamed", params={"token": token("ed")})
        assert (await joiner.call("status"))["synced"]
