"""Presence and /events against a real `tandem serve` with stock Yjs clients from npm."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.events import EventWatcher
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually


@pytest.fixture
async def watchers() -> AsyncIterator[Callable[..., Awaitable[EventWatcher]]]:
    opened: list[EventWatcher] = []

    async def open_watcher(base_url: str, docs: str) -> EventWatcher:
        watcher = await EventWatcher.connect(base_url, docs)
        opened.append(watcher)
        return watcher

    yield open_watcher
    for watcher in opened:
        await watcher.close()


def named(name: str, color: str = "#3366ff") -> dict[str, Any]:
    return {"user": {"name": name, "color": color}}


async def test_a_watcher_sees_two_users_join_and_leave(tandem, yjs_clients, watchers) -> None:
    watcher = await watchers(tandem.url, "plan")
    other = await watchers(tandem.url, "elsewhere")
    ana = await yjs_clients(tandem.ws_url, "plan", awareness=named("Ana"))
    await watcher.wait_for(lambda w: len(w.events) == 1, what="Ana joined")
    ben = await yjs_clients(tandem.ws_url, "plan", awareness=named("Ben"))
    await watcher.wait_for(lambda w: len(w.events) == 2, what="Ben joined")
    await ana.call("disconnect")  # a clean close
    await watcher.wait_for(lambda w: len(w.events) == 3, what="Ana left")
    await ben.kill()  # no close frame at all
    await watcher.wait_for(lambda w: len(w.events) == 4, what="Ben left")
    assert watcher.presence() == [
        ("Ana", "joined", 1),
        ("Ben", "joined", 2),
        ("Ana", "left", 1),
        ("Ben", "left", 0),
    ]
    first = watcher.events[0]
    assert set(first) == {"type", "doc", "user", "name", "event", "count"}
    assert first["doc"] == "plan" and first["user"].startswith("anon-")
    users = [e["user"] for e in watcher.events]
    assert users[0] == users[2] != users[1] == users[3]  # one anonymous id per connection
    assert other.events == []


async def test_a_new_watcher_first_gets_current_presence(tandem, yjs_clients, watchers) -> None:
    await yjs_clients(tandem.ws_url, "a", awareness=named("Ana"))
    await yjs_clients(tandem.ws_url, "b", awareness=named("Ben"))
    await yjs_clients(tandem.ws_url, "b", awareness=named("Cy"))
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        people = await eventually(
            lambda: http.get("/api/docs/b"),
            lambda r: len(r.json()["presence"]) == 2,
            what="presence list",
        )
    assert [(p["name"], p["color"]) for p in people.json()["presence"]] == [
        ("Ben", "#3366ff"),
        ("Cy", "#3366ff"),
    ]
    everything = await watchers(tandem.url, "*")
    await everything.wait_for(lambda w: len(w.events) == 3, what="current presence")
    assert [(e["doc"], e["name"], e["count"], e["initial"]) for e in everything.events] == [
        ("a", "Ana", 1, True),
        ("b", "Ben", 1, True),
        ("b", "Cy", 2, True),
    ]
    just_b = await watchers(tandem.url, "b,nothing-here")
    await just_b.wait_for(lambda w: len(w.events) == 2, what="presence of b")
    assert just_b.presence() == [("Ben", "joined", 1), ("Cy", "joined", 2)]


async def test_a_killed_client_leaves_presence_and_awareness_at_once(
    tandem, yjs_clients, watchers
) -> None:
    ana = await yjs_clients(tandem.ws_url, "crash", awareness=named("Ana"))
    ben = await yjs_clients(tandem.ws_url, "crash", awareness=named("Ben"))
    await eventually(
        lambda: ben.call("awareness"), lambda s: str(ana.client_id) in s, what="Ben sees Ana"
    )
    watcher = await watchers(tandem.url, "crash")
    await watcher.wait_for(lambda w: len(w.events) == 2, what="current presence")
    started = time.monotonic()
    await ana.kill()  # SIGKILL: the socket dies without a close frame
    await watcher.wait_for(lambda w: ("Ana", "left", 1) in w.presence(), timeout=5, what="left")
    await eventually(
        lambda: ben.call("awareness"),
        lambda s: str(ana.client_id) not in s,
        timeout=5,
        what="Ana gone from Ben's awareness",
    )
    print(f"killed client removed from presence and awareness in {time.monotonic() - started:.2f}s")
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        meta = (await http.get("/api/docs/crash")).json()
    assert [p["name"] for p in meta["presence"]] == ["Ben"]


async def test_a_name_is_sanitized_before_anyone_sees_it(tandem, yjs_clients, watchers) -> None:
    watcher = await watchers(tandem.url, "names")
    await yjs_clients(
        tandem.ws_url, "names", awareness=named("<img src=x>Mallory\u202e\u200b", "red;x:y")
    )
    ben = await yjs_clients(tandem.ws_url, "names", awareness=named("Ben"))
    states = await eventually(
        lambda: ben.call("awareness"), lambda s: len(s) == 1, what="Ben sees the other"
    )
    (user,) = [s["user"] for s in states.values()]
    assert user["name"] == "Mallory"  # bleach strips the whole tag
    assert user["color"].startswith("#") and ";" not in user["color"]
    await watcher.wait_for(lambda w: len(w.events) == 2)
    assert watcher.events[0]["name"] == "Mallory"


async def test_cursor_bursts_reach_others_as_a_bounded_number_of_messages(
    tandem, yjs_clients
) -> None:
    ana = await yjs_clients(tandem.ws_url, "cursors", awareness=named("Ana"))
    ben = await yjs_clients(tandem.ws_url, "cursors", awareness=named("Ben"))
    await eventually(lambda: ben.call("awareness"), lambda s: len(s) == 1, what="Ben sees Ana")
    before = await ben.call("awarenessCount")
    await ana.call("cursorBurst", count=200, durationMs=1000)
    await eventually(
        lambda: ben.call("awareness"),
        lambda s: s.get(str(ana.client_id), {}).get("cursor", {}).get("position") == 200,
        what="Ben sees Ana's final cursor",
    )
    received = await ben.call("awarenessCount") - before
    print(f"200 cursor moves in 1 s reached the other client as {received} awareness messages")
    # One relay per 80 ms at most (plus the first and the last): far below 200.
    assert 2 <= received <= 20


async def test_edits_are_notified_as_changed_with_their_authors(
    tandem, yjs_clients, watchers
) -> None:
    watcher = await watchers(tandem.url, "*")
    ana = await yjs_clients(tandem.ws_url, "edits", awareness=named("Ana"))
    await watcher.wait_for(lambda w: len(w.presence()) == 1)
    ana_id = watcher.events[0]["user"]
    for n in range(30):
        await ana.call("append", text=f"line {n}")
        await asyncio.sleep(0.05)
    changed = await watcher.wait_for(
        lambda w: len(w.of_type("changed")) >= 2, what="changed notifications"
    )
    changes = [e for e in changed if e["type"] == "changed"]
    assert all(e["doc"] == "edits" and e["by"] == [ana_id] for e in changes)
    assert all(e["at"].endswith("Z") for e in changes)
    # 30 edits over ~1.5 s: about one notification a second (plus a trailing one), not one each.
    assert len(changes) < 15


@pytest.mark.parametrize("query", ["", "?docs=", "?docs=../etc", "?docs=a,%20b%2Fc"])
async def test_invalid_subscriptions_are_refused_at_the_handshake(tandem, query) -> None:
    url = tandem.url.replace("http://", "ws://") + "/events" + query
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    assert refused.value.response.status_code == 403


async def test_events_metrics_are_exported(tandem: TandemProcess, watchers) -> None:
    await watchers(tandem.url, "*")
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        text = (await http.get("/metrics")).text
    assert "tandem_events_subscribers 1.0" in text
    assert "tandem_awareness_coalesced_total" in text


async def test_versions_and_restores_are_notified(tandem, yjs_clients, watchers) -> None:
    watcher = await watchers(tandem.url, "story")
    ana = await yjs_clients(tandem.ws_url, "story", awareness=named("Ana"))
    await ana.call("append", text="once upon a time")
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        await eventually(
            lambda: http.get("/api/docs/story", params={"format": "text"}),
            lambda r: "once" in r.text,
            what="the edit reaches the server",
        )
        first = (await http.post("/api/docs/story/versions", json={"label": "opening"})).json()
        await ana.call("append", text="the end")
        await eventually(
            lambda: http.get("/api/docs/story", params={"format": "text"}),
            lambda r: "the end" in r.text,
        )
        restored = await http.post("/api/docs/story/restore", json={"version": 1})
        assert restored.status_code == 200, restored.text
    await watcher.wait_for(lambda w: len(w.of_type("restored")) == 1, what="restored")
    versions = [e["version"] for e in watcher.of_type("version")]
    assert versions[0] == first and first["label"] == "opening"
    assert [v["version"] for v in versions] == [1, 2, 3]  # the edits before it, the restore
    assert versions[2]["restored_from"] == 1
    assert watcher.of_type("restored") == [
        {
            "type": "restored",
            "doc": "story",
            "version": 1,
            "by": "anonymous",
            "name": "Anonymous",
        }
    ]
