"""The comments API against a real `tandem serve` with auth and stock Yjs clients: the mark the
server places is what a Yjs client reads, an insert before it keeps the quote, replies,
resolving, editing and deleting with authors from tokens (a forged `author` is ignored), the
roles (`read` may only read; `comment` comments but never edits the body or deletes another's
thread), and the refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from crdt.comments import mark_key
from tests.security.conftest import SECRET, serving, token
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

Connect = Callable[..., Awaitable[YjsClient]]


def bearer(user: str, role: str = "write", name: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, role=role, name=name)}"}


ANA = bearer("ana", name="Ana")
BEN = bearer("ben", role="comment", name="Ben")
RITA = bearer("rita", role="read", name="Rita")
ADMIN = bearer("root", role="admin", name="Root")


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[TandemProcess]:
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        yield server


async def _document(hub: TandemProcess, doc: str, markdown: str) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        put = await http.put(
            f"/api/docs/{doc}",
            content=markdown,
            headers={**ANA, "Content-Type": "text/markdown"},
        )
        assert put.status_code == 200, put.text


async def _threads(http: httpx.AsyncClient, doc: str) -> list[dict[str, Any]]:
    listed = await http.get(f"/api/docs/{doc}/comments", headers=RITA)
    assert listed.status_code == 200, listed.text
    threads: list[dict[str, Any]] = listed.json()
    return threads


async def test_a_thread_a_stock_yjs_client_sees_and_that_moves_with_its_text(
    hub: TandemProcess, yjs_clients: Connect
) -> None:
    await _document(hub, "plan", "We ship on Friday.\n")
    editor = await yjs_clients(hub.ws_url, "plan", params={"token": token("ed")})
    async with httpx.AsyncClient(base_url=hub.url) as http:
        created = await http.post(
            "/api/docs/plan/comments",
            headers=ANA,
            json={
                "body": "Which Friday?",
                "anchor": {"quote": "Friday"},
                "author": {"user": "mallory", "name": "Mallory"},  # ignored
            },
        )
        assert created.status_code == 201, created.text
        thread = created.json()
        assert thread["author"] == {"user": "ana", "name": "Ana"}
        assert thread["body"] == "Which Friday?" and thread["quote"] == "Friday"
        assert thread["resolved"] is False and thread["replies"] == []
        assert thread["detached"] is False and len(thread["id"]) == 12
        # The stock client holds y-prosemirror's mark, with the thread's id
        key = mark_key(thread["id"])
        delta = await eventually(
            lambda: editor.call("delta"), lambda d: len(d) > 1, what="the mark reaches Yjs"
        )
        assert delta == [
            {"insert": "We ship on "},
            {"insert": "Friday", "attributes": {key: {"id": thread["id"]}}},
            {"insert": "."},
        ]
        # Someone types before the anchor: the quote stays
        await editor.call("typeAt", offset=0, text="Plan: ")
        await eventually(
            lambda: http.get("/api/docs/plan", params={"format": "text"}, headers=RITA),
            lambda r: r.text == "Plan: We ship on Friday.",
            what="the insert reaches the hub",
        )
        (listed,) = await _threads(http, "plan")
        assert listed["quote"] == "Friday" and listed["id"] == thread["id"]
        # The HTML shows the anchor, the text and Markdown do not
        html = await http.get("/api/docs/plan", params={"format": "html"}, headers=RITA)
        assert f'<span class="tandem-comment" data-comment="{thread["id"]}">Friday</span>' in (
            html.text
        )
        markdown = await http.get("/api/docs/plan", params={"format": "markdown"}, headers=RITA)
        assert markdown.text == "Plan: We ship on Friday.\n"


async def test_relative_positions_from_a_stock_client_anchor_a_thread(
    hub: TandemProcess, yjs_clients: Connect
) -> None:
    await _document(hub, "sel", "héllo wörld\n")
    editor = await yjs_clients(hub.ws_url, "sel", params={"token": token("ed")})
    anchor = await editor.call("relativeRange", index=0, **{"from": 6, "to": 11})
    async with httpx.AsyncClient(base_url=hub.url) as http:
        created = await http.post(
            "/api/docs/sel/comments", headers=BEN, json={"body": "typo?", "anchor": anchor}
        )
        assert created.status_code == 201, created.text
        assert created.json()["quote"] == "wörld"
        assert created.json()["author"] == {"user": "ben", "name": "Ben"}


async def test_replies_resolving_editing_and_deleting(
    hub: TandemProcess, yjs_clients: Connect
) -> None:
    await _document(hub, "doc", "one two three\n")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        created = await http.post(
            "/api/docs/doc/comments",
            headers=ANA,
            json={"body": "  Why two?\r\nReally.\u202e ", "anchor": {"quote": "two"}},
        )
        thread = created.json()
        assert thread["body"] == "Why two?\nReally."  # cleaned: newlines, no bidi override
        url = f"/api/docs/doc/comments/{thread['id']}"

        replied = await http.post(
            f"{url}/replies", headers=BEN, json={"body": "Because.", "author": {"user": "x"}}
        )
        assert replied.status_code == 201, replied.text
        (reply,) = replied.json()["replies"]
        assert reply["author"] == {"user": "ben", "name": "Ben"} and reply["body"] == "Because."

        resolved = await http.patch(url, headers=BEN, json={"resolved": True})
        assert resolved.status_code == 200 and resolved.json()["resolved"] is True
        reopened = await http.patch(url, headers=ANA, json={"resolved": False})
        assert reopened.json()["resolved"] is False

        # Only its author edits a body (the thread's, or a reply's)
        assert (await http.patch(url, headers=BEN, json={"body": "Mine now"})).status_code == 403
        edited = await http.patch(url, headers=ANA, json={"body": "Why two, really?"})
        assert edited.json()["body"] == "Why two, really?" and edited.json()["edited"]
        other = await http.patch(url, headers=ANA, json={"body": "x", "reply": reply["id"]})
        assert other.status_code == 403
        own = await http.patch(url, headers=BEN, json={"body": "Because!", "reply": reply["id"]})
        assert own.json()["replies"][0]["body"] == "Because!"

        # A commenter cannot delete another's thread; its author (or an admin) can
        assert (await http.delete(url, headers=BEN)).status_code == 403
        editor = await yjs_clients(hub.ws_url, "doc", params={"token": token("ed")})
        assert len(await editor.call("delta")) == 3  # the mark is there
        assert (await http.delete(url, headers=ANA)).status_code == 204
        assert await _threads(http, "doc") == []
        await eventually(
            lambda: editor.call("delta"),
            lambda d: d == [{"insert": "one two three"}],
            what="the mark is gone",
        )
        assert (await http.delete(url, headers=ANA)).status_code == 404

        second = await http.post(
            "/api/docs/doc/comments", headers=BEN, json={"body": "b", "anchor": {"quote": "one"}}
        )
        admin = await http.delete(f"/api/docs/doc/comments/{second.json()['id']}", headers=ADMIN)
        assert admin.status_code == 204


async def test_read_may_read_and_comment_may_comment_but_never_edit(
    hub: TandemProcess, yjs_clients: Connect
) -> None:
    await _document(hub, "memo", "from writer\n")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        denied = await http.post(
            "/api/docs/memo/comments", headers=RITA, json={"body": "x", "anchor": {"quote": "w"}}
        )
        assert denied.status_code == 403, denied.text
        assert (await http.get("/api/docs/memo/comments", headers=RITA)).json() == []
        made = await http.post(
            "/api/docs/memo/comments", headers=BEN, json={"body": "ok", "anchor": {"quote": "w"}}
        )
        assert made.status_code == 201
        url = f"/api/docs/memo/comments/{made.json()['id']}"
        for call in (
            http.post(f"{url}/replies", headers=RITA, json={"body": "x"}),
            http.patch(url, headers=RITA, json={"resolved": True}),
            http.delete(url, headers=RITA),
        ):
            assert (await call).status_code == 403
        # A commenter's content writes and body updates are refused like a reader's
        put = await http.put(
            "/api/docs/memo", content="mine", headers={**BEN, "Content-Type": "text/plain"}
        )
        assert put.status_code == 403
        commenter = await yjs_clients(
            hub.ws_url, "memo", params={"token": token("ben", role="comment")}
        )
        await commenter.call("append", text="from commenter")
        status = await eventually(
            lambda: commenter.call("status"), lambda s: s["denied"], what="commenter told"
        )
        assert "read-only" in status["denied"][0]
        text = await http.get("/api/docs/memo", params={"format": "text"}, headers=RITA)
        assert text.text == "from writer"


async def test_refusals(hub: TandemProcess) -> None:
    await _document(hub, "doc", "some text\n")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        post = "/api/docs/doc/comments"
        cases: list[tuple[Any, int]] = [
            ({"body": "x", "anchor": {"quote": "absent"}}, 400),
            ({"body": "x", "anchor": {"quote": "text", "occurrence": 2}}, 400),
            ({"body": "", "anchor": {"quote": "text"}}, 400),
            ({"body": " \t\n", "anchor": {"quote": "text"}}, 400),
            ({"body": "x" * 10_001, "anchor": {"quote": "text"}}, 400),
            ({"body": 5, "anchor": {"quote": "text"}}, 400),
            ({"body": "x"}, 400),
            ({"body": "x", "anchor": {"from": "%%%", "to": "AA=="}}, 400),
            ({"body": "x", "anchor": {"from": "AAcHAA==", "to": "AAcIAA=="}}, 400),
            ([1, 2], 400),
        ]
        for body, status in cases:
            answer = await http.post(post, headers=ANA, json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "error" in answer.json()
        assert (await http.post(post, headers=ANA, content=b"{nope")).status_code == 400
        assert (await http.get("/api/docs/absent/comments", headers=RITA)).status_code == 404
        missing = await http.post(
            "/api/docs/absent/comments", headers=ANA, json={"body": "x", "anchor": {"quote": "x"}}
        )
        assert missing.status_code == 404
        for method in ("GET", "PATCH", "DELETE"):
            answer = await http.request(
                method, f"{post}/nothing", headers=ANA, json={"resolved": True}
            )
            assert answer.status_code == 404, (method, answer.text)
        reply = await http.post(f"{post}/nothing/replies", headers=ANA, json={"body": "x"})
        assert reply.status_code == 404
        made = await http.post(post, headers=ANA, json={"body": "x", "anchor": {"quote": "some"}})
        url = f"{post}/{made.json()['id']}"
        for patch in ({}, {"resolved": "yes"}, {"resolved": True, "body": "x"}, {"body": ""}):
            answer = await http.patch(url, headers=ANA, json=patch)
            assert answer.status_code == 400, (patch, answer.text)
        assert (await http.get(post)).status_code == 401
        assert await _threads(http, "doc") != []
        # Nothing of the refused ones is left in the body
        html = await http.get("/api/docs/doc", params={"format": "html"}, headers=RITA)
        assert html.text.count("tandem-comment") == 1


async def test_deleting_the_document_deletes_its_threads(hub: TandemProcess) -> None:
    await _document(hub, "gone", "text\n")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        made = await http.post(
            "/api/docs/gone/comments", headers=ANA, json={"body": "x", "anchor": {"quote": "t"}}
        )
        assert made.status_code == 201
        assert (await http.delete("/api/docs/gone", headers=ADMIN)).status_code == 204
        await _document(hub, "gone", "text\n")
        assert await _threads(http, "gone") == []


async def test_versions_carry_anchors_and_a_restore_keeps_the_threads(hub: TandemProcess) -> None:
    await _document(hub, "hist", "Meet on Friday.\n")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        made = await http.post(
            "/api/docs/hist/comments",
            headers=BEN,
            json={"body": "?", "anchor": {"quote": "Friday"}},
        )
        thread = made.json()["id"]
        saved = await http.post("/api/docs/hist/versions", headers=ANA, json={"label": "with"})
        version = saved.json()["version"]
        html = await http.get(
            f"/api/docs/hist/versions/{version}", params={"format": "html"}, headers=RITA
        )
        assert f'data-comment="{thread}">Friday</span>' in html.text
        # The commented text goes: the thread stays, on deleted text
        await _document(hub, "hist", "Meet later.\n")
        (detached,) = await _threads(http, "hist")
        assert detached["quote"] == "" and detached["detached"] is True
        assert detached["original_quote"] == "Friday"
        restored = await http.post("/api/docs/hist/restore", headers=ANA, json={"version": version})
        assert restored.status_code == 200, restored.text
        (back,) = await _threads(http, "hist")
        assert back["id"] == thread and back["quote"] == "Friday" and not back["detached"]
