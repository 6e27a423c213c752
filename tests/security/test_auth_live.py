"""Tokens and roles against a real server, with stock Yjs clients and plain HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.security.conftest import SECRET, closed_with, metric, serving, token
from tests.support.waiting import eventually

WRONG_SECRET = "another-secret-0123456789abcdef-01234"


def _expired() -> str:
    from server.security.auth import mint_token

    return mint_token(SECRET, user="ana", docs=["*"], ttl=60, now=0)


@pytest.mark.parametrize("kind", ["missing", "garbage", "wrong signature", "expired"])
async def test_without_a_valid_token_the_socket_closes_4401(secured, kind: str) -> None:
    tok = {"garbage": "not-a-jwt", "wrong signature": token(secret=WRONG_SECRET)}.get(kind)
    if kind == "expired":
        tok = _expired()
    query = f"?token={tok}" if tok else ""
    code, reason = await closed_with(f"{secured.ws_url}/notes{query}")
    assert code == 4401
    assert ("expired" in reason) == (kind == "expired")


async def test_a_token_for_other_documents_closes_4403(secured) -> None:
    code, reason = await closed_with(f"{secured.ws_url}/notes?token={token(docs=['team-*'])}")
    assert (code, reason) == (4403, "the token does not cover document 'notes'")
    # ... while a document its pattern matches opens.
    async with websockets.connect(f"{secured.ws_url}/team-a?token={token(docs=['team-*'])}") as ws:
        assert (await ws.recv())[:2] == b"\x00\x00"  # the server's sync step 1


async def test_bearer_header_is_accepted(secured) -> None:
    headers = {"Authorization": f"Bearer {token()}"}
    async with websockets.connect(f"{secured.ws_url}/notes", additional_headers=headers) as ws:
        assert (await ws.recv())[:2] == b"\x00\x00"


async def test_stock_clients_with_tokens_converge_and_a_tokenless_one_is_told_4401(
    secured, yjs_clients
) -> None:
    ana_token = token("ana")
    ana = await yjs_clients(secured.ws_url, "notes", params={"token": ana_token})
    ben = await yjs_clients(secured.ws_url, "notes", params={"token": token("ben")})
    await ana.call("append", text="hello")
    await eventually(ben.xml, lambda x: "hello" in x, what="ben sees ana's edit")
    assert "token=[redacted]" in secured.output()
    assert ana_token not in secured.output()  # tokens never reach the logs

    eve = await yjs_clients(secured.ws_url, "notes", waitSync=False)
    status = await eventually(lambda: eve.call("status"), lambda s: s["closes"], what="eve refused")
    assert status["closes"][0] == {"code": 4401, "reason": "a token is required"}
    assert await eve.xml() == ""


async def test_read_role_gets_the_document_but_its_updates_are_refused(
    secured, yjs_clients
) -> None:
    writer = await yjs_clients(secured.ws_url, "memo", params={"token": token("w")})
    await writer.call("append", text="from writer")
    reader = await yjs_clients(secured.ws_url, "memo", params={"token": token("r", role="read")})
    await eventually(reader.xml, lambda x: "from writer" in x, what="reader gets the document")

    # An update message from a stock client...
    await reader.call("append", text="from reader (live)")
    status = await eventually(
        lambda: reader.call("status"), lambda s: s["denied"], what="reader told"
    )
    assert "read-only" in status["denied"][0]
    # ... and sync step 2 after an offline edit are both refused.
    await reader.call("disconnect")
    await reader.call("append", text="from reader (offline)")
    await reader.call("reconnect")
    await reader.call("waitSynced")
    await eventually(
        lambda: reader.call("status"), lambda s: len(s["denied"]) >= 2, what="told again"
    )

    await writer.call("append", text="second")
    await eventually(reader.xml, lambda x: "second" in x, what="reader keeps receiving")
    assert "reader" not in await writer.xml()
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{secured.url}/api/docs/memo",
            params={"format": "text"},
            headers={"Authorization": f"Bearer {token()}"},
        )
    assert response.text == "from writer\nsecond"
    status = await reader.call("status")
    # Told, never thrown out (the one close is its own disconnect, which has no code).
    assert status["connected"] and status["closes"] == [{"code": None, "reason": ""}]


async def test_a_socket_closes_4401_when_its_token_expires(secured, yjs_clients) -> None:
    client = await yjs_clients(secured.ws_url, "notes", params={"token": token(ttl=2)})
    assert (await client.call("status"))["connected"]
    status = await eventually(
        lambda: client.call("status"), lambda s: s["closes"], timeout=8, what="closed at exp"
    )
    assert status["closes"][0] == {"code": 4401, "reason": "token expired"}
    assert not status["connected"]
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{secured.url}/metrics")).text
    assert metric(text, 'tandem_connection_closes_total{code="4401"}') >= 1


async def test_an_events_socket_closes_4401_when_its_token_expires(secured, yjs_clients) -> None:
    url = secured.ws_url.removesuffix("/ws") + f"/events?docs=*&token={token('w', ttl=2)}"
    async with websockets.connect(url) as events:
        await yjs_clients(secured.ws_url, "notes", params={"token": token("ana")})
        async with asyncio.timeout(5):  # delivering while the token is valid
            assert json.loads(await events.recv())["event"] == "joined"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(8):
                while True:
                    await events.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "token expired")


async def test_http_needs_a_token_that_covers_the_document(secured, yjs_clients) -> None:
    for doc in ("team-a", "other"):
        client = await yjs_clients(secured.ws_url, doc, params={"token": token()})
        await client.call("append", text=doc)
    team = {"Authorization": f"Bearer {token(docs=['team-*'], role='read')}"}
    async with httpx.AsyncClient(base_url=secured.url) as http:
        await eventually(
            lambda: http.get("/api/docs", headers={"Authorization": f"Bearer {token()}"}),
            lambda r: len(r.json()["docs"]) == 2,
            what="both documents listed",
        )
        refused = await http.get("/api/docs")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json() == {"error": "a token is required"}
        assert (await http.get("/api/docs", params={"token": "x.y.z"})).status_code == 401
        listed = await http.get("/api/docs", headers=team)
        assert [d["id"] for d in listed.json()["docs"]] == ["team-a"]
        assert (await http.get("/api/docs/team-a", headers=team)).status_code == 200
        other = await http.get("/api/docs/other", headers=team)
        assert other.status_code == 403
        query = await http.get("/api/docs/team-a", params={"token": token(docs=["team-*"])})
        assert query.status_code == 200
        home = await http.get("/")
        assert "team-a" not in home.text  # the page lists nothing to strangers


async def test_an_application_verifier_replaces_the_built_in_tokens(tmp_path, yjs_clients) -> None:
    async with serving(tmp_path, "--auth-verifier", "tests.support.verifier:verify") as server:
        ana = await yjs_clients(server.ws_url, "notes", params={"token": "write:ana"})
        bob = await yjs_clients(server.ws_url, "notes", params={"token": "read:bob"})
        await ana.call("append", text="by ana")
        await eventually(bob.xml, lambda x: "by ana" in x, what="bob reads")
        await bob.call("append", text="by bob")
        await eventually(lambda: bob.call("status"), lambda s: s["denied"], what="bob refused")

        assert await closed_with(f"{server.ws_url}/notes?token=nonsense") == (
            4401,
            "token refused",
        )
        assert await closed_with(f"{server.ws_url}/vault?token=admin:root") == (
            4403,
            "the vault is closed",
        )
        # A JWT signed with some secret means nothing to this server.
        assert (await closed_with(f"{server.ws_url}/notes?token={token()}"))[0] == 4401
    assert "event=verifier_refused" in server.output()


async def test_a_verifier_that_cannot_be_imported_stops_the_start(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="cannot import auth verifier module"):
        async with serving(tmp_path, "--auth-verifier", "no.such.module:verify"):
            pass


async def test_history_routes_need_read_to_look_and_write_to_change(secured, yjs_clients) -> None:
    writer = await yjs_clients(secured.ws_url, "memo", params={"token": token()})
    await writer.call("append", text="v1")
    reader = {"Authorization": f"Bearer {token('r', role='read')}"}
    editor = {"Authorization": f"Bearer {token('w', docs=['memo'])}"}
    elsewhere = {"Authorization": f"Bearer {token('x', docs=['other'], role='admin')}"}
    async with httpx.AsyncClient(base_url=secured.url) as http:
        assert (await http.get("/api/docs/memo/versions")).status_code == 401
        assert (await http.get("/api/docs/memo/versions", headers=elsewhere)).status_code == 403
        recorded = await eventually(
            lambda: http.post("/api/docs/memo/versions", json={"label": "x"}, headers=editor),
            lambda r: r.status_code == 201,
            what="a writer records a version",
        )
        version = recorded.json()["version"]
        refused = await http.post("/api/docs/memo/versions", json={}, headers=reader)
        assert refused.status_code == 403
        assert refused.json() == {"error": "write access needs a write token, not read"}
        restore = await http.post(
            "/api/docs/memo/restore", json={"version": version}, headers=reader
        )
        assert restore.status_code == 403
        listed = await http.get("/api/docs/memo/versions", headers=reader)
        assert listed.status_code == 200 and [v["version"] for v in listed.json()] == [version]


async def test_events_need_a_token_and_only_carry_covered_documents(secured, yjs_clients) -> None:
    url = secured.ws_url.removesuffix("/ws") + "/events"
    assert (await closed_with(f"{url}?docs=*"))[0] == 4401
    team = token("t", docs=["team-*"], role="read")
    assert await closed_with(f"{url}?docs=team-a,other&token={team}") == (
        4403,
        "the token does not cover document 'other'",
    )
    async with websockets.connect(f"{url}?docs=*&token={team}") as events:
        for doc in ("other", "team-a"):
            client = await yjs_clients(secured.ws_url, doc, params={"token": token()})
            await client.call("append", text=doc)
        seen = []
        async with asyncio.timeout(10):
            while not any(m.get("type") == "changed" for m in seen):
                seen.append(json.loads(await events.recv()))
    assert {m["doc"] for m in seen} == {"team-a"}, seen
