"""Comment notifications across two `tandem serve` instances sharing one real Redis (store,
broker and events bus): what happens to a thread on one hub is announced on the other's
`/events` and to the webhooks, with who did it; the other hub lists the thread and its editors
get the mark. On an open hub the anonymous author is the name the request gives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from crdt.comments import mark_key
from tests.support.events import EventWatcher
from tests.support.http_receiver import HttpReceiver
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

Connect = Callable[..., Awaitable[YjsClient]]
EVENTS = ["created", "replied", "resolved", "reopened", "edited", "deleted"]


@pytest.fixture
async def pair(
    tmp_path: Path, redis_url: str
) -> AsyncIterator[tuple[TandemProcess, TandemProcess, HttpReceiver]]:
    async with HttpReceiver() as receiver:
        servers = [
            TandemProcess(
                *("--port", "0", "--store", redis_url),
                *(
                    ("--webhook", receiver.url + "/hook", "--webhook-secret", "s")
                    if name == "a"
                    else ()
                ),
                env={"TANDEM_PRESENCE_HEARTBEAT": "0.5"},
            )
            for name in ("a", "b")
        ]
        for server in servers:
            await server.start()
        try:
            yield servers[0], servers[1], receiver
        finally:
            for server in servers:
                assert await server.stop() == 0, server.output()


async def test_comment_events_reach_the_other_hub_and_the_webhooks(
    pair: tuple[TandemProcess, TandemProcess, HttpReceiver], yjs_clients: Connect
) -> None:
    a, b, receiver = pair
    watcher = await EventWatcher.connect(b.url, "notes")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            put = await http.put(
                f"{a.url}/api/docs/notes",
                content="Ship it soon.",
                headers={"Content-Type": "text/plain"},
            )
            assert put.status_code == 200
            editor = await yjs_clients(b.ws_url, "notes")
            created = await http.post(
                f"{a.url}/api/docs/notes/comments",
                json={"body": "When?", "anchor": {"quote": "soon"}, "name": "<b>Ana</b>"},
            )
            assert created.status_code == 201, created.text
            thread = created.json()
            assert thread["author"] == {"user": "anonymous", "name": "Ana"}
            url = f"{a.url}/api/docs/notes/comments/{thread['id']}"
            await http.post(f"{url}/replies", json={"body": "Friday.", "name": "Ben"})
            await http.patch(url, json={"resolved": True, "name": "Ben"})
            await http.patch(url, json={"resolved": False, "name": "Ana"})
            await http.patch(url, json={"body": "When, exactly?", "name": "Ana"})

            # The other hub lists it, and its editors hold the mark
            listed = (await http.get(f"{b.url}/api/docs/notes/comments")).json()
            assert [(t["id"], t["body"], t["quote"]) for t in listed] == [
                (thread["id"], "When, exactly?", "soon")
            ]
            await eventually(
                lambda: editor.call("delta"),
                lambda d: (
                    {"insert": "soon", "attributes": {mark_key(thread["id"]): {"id": thread["id"]}}}
                    in d
                ),
                what="the mark on hub b",
            )
            assert (await http.delete(url)).status_code == 204

        seen = await watcher.wait_for(
            lambda w: len(w.of_type("comment")) == len(EVENTS), what="every comment event on b"
        )
        comments = [e for e in seen if e["type"] == "comment"]
        assert [e["event"] for e in comments] == EVENTS
        assert {e["doc"] for e in comments} == {"notes"} and {e["id"] for e in comments} == {
            thread["id"]
        }
        assert [e["name"] for e in comments] == ["Ana", "Ben", "Ben", "Ana", "Ana", "Anonymous"]
        assert {e["by"] for e in comments} == {"anonymous"}

        async def hooked() -> list[dict[str, object]]:
            bodies = [json.loads(r.body) for r in receiver.delivered()]
            return [body for body in bodies if body.get("type") == "comment"]

        hooks = await eventually(hooked, lambda h: len(h) == len(EVENTS), what="comment webhooks")
        assert [h["event"] for h in hooks] == EVENTS
        assert all(
            r.headers.get("x-tandem-event") == "comment"
            for r in receiver.delivered()
            if json.loads(r.body).get("type") == "comment"
        )
    finally:
        await watcher.close()
