"""The events service inside a running hub (no network): presence, changed, publish."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc, Text

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.protocol import AwarenessMessage, encode_awareness, encode_sync_update, parse_message
from server.app import add_events
from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import ANONYMOUS, Identity
from server.events.service import Events
from server.stores.memory import MemoryStore
from tests.support.channels import RecordingChannel
from tests.support.waiting import eventually, now


class Watcher:
    def __init__(
        self, events: Events, docs: frozenset[str] | None, tasks: asyncio.TaskGroup
    ) -> None:
        self.channel = RecordingChannel()
        self.conn = Connection(self.channel, spawn=tasks.create_task)
        self.sub = events.subscribe(self.conn, docs, lambda doc: doc != "secret")

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.channel.sent]


@pytest.fixture
async def started() -> AsyncIterator[tuple[Hub, Events]]:
    hub = Hub(Config(store="memory://", changed_interval=0.3), MemoryStore())
    events = add_events(hub)
    async with hub.running():
        yield hub, events


@pytest.fixture
def hub(started: tuple[Hub, Events]) -> Hub:
    return started[0]


@pytest.fixture
def events(started: tuple[Hub, Events]) -> Events:
    return started[1]


async def join(hub: Hub, doc: str, name: str, identity: Identity | None = None) -> Connection:
    conn = Connection(RecordingChannel(), identity=identity or ANONYMOUS)
    await hub.join(doc, conn)
    room = hub.rooms[doc]
    state = json.dumps({"user": {"name": name, "color": "#123456"}})
    client_id = 1000 + int(conn.id[1:])
    room.receive(
        conn, encode_awareness(encode_awareness_update([AwarenessEntry(client_id, 1, state)]))
    )
    return conn


def presence_of(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["name"], e["event"], e["count"]) for e in events if e["type"] == "presence"]


async def test_a_watcher_sees_joins_and_leaves_in_order(hub: Hub, events: Events) -> None:
    async with asyncio.TaskGroup() as tasks:
        watcher = Watcher(events, frozenset({"notes"}), tasks)
        ana = await join(hub, "notes", "Ana")
        ben = await join(hub, "notes", "Ben")
        await join(hub, "other", "Cy")  # not subscribed
        await eventually(lambda: _ready(lambda: len(watcher.events) == 2), what="two joins")
        hub.leave(hub.rooms["notes"], ana)
        hub.leave(hub.rooms["notes"], ben)
        await eventually(lambda: _ready(lambda: len(watcher.events) == 4), what="two leaves")
        assert presence_of(watcher.events) == [
            ("Ana", "joined", 1),
            ("Ben", "joined", 2),
            ("Ana", "left", 1),
            ("Ben", "left", 0),
        ]
        assert watcher.events[0]["user"].startswith("anon-")
        watcher.conn.detach()


async def test_a_new_subscriber_first_gets_current_presence(hub: Hub, events: Events) -> None:
    await join(hub, "notes", "Ana")
    await join(hub, "secret", "Sam")
    await eventually(lambda: _ready(lambda: events.presence.count("secret") == 1))
    async with asyncio.TaskGroup() as tasks:
        watcher = Watcher(events, None, tasks)
        await eventually(lambda: _ready(lambda: len(watcher.events) == 1))
        (first,) = watcher.events
        assert first == {
            "type": "presence",
            "doc": "notes",
            "user": first["user"],
            "name": "Ana",
            "event": "joined",
            "count": 1,
            "initial": True,
        }
        assert [p["name"] for p in events.people("notes")] == ["Ana"]
        watcher.conn.detach()


async def test_a_forged_name_is_shown_under_the_real_identity(hub: Hub, events: Events) -> None:
    ana = Identity(user="ana", name="Ana", anonymous=False)
    other = await join(hub, "notes", "Ben")
    other.flush()
    await join(hub, "notes", "Boss", identity=ana)
    relayed = [parse_message(f) for f in other.queued]
    (entries,) = [
        decode_awareness_update(m.update) for m in relayed if isinstance(m, AwarenessMessage)
    ]
    assert json.loads(entries[0].state or "")["user"]["name"] == "Ana"
    people = await eventually(now(lambda: events.people("notes")), lambda p: len(p) == 2)
    assert sorted((p["user"], p["name"]) for p in people)[0] == ("ana", "Ana")


async def test_changes_are_notified_at_most_once_per_interval_with_their_authors(
    hub: Hub, events: Events
) -> None:
    async with asyncio.TaskGroup() as tasks:
        watcher = Watcher(events, frozenset({"notes"}), tasks)
        ana = await join(hub, "notes", "Ana", Identity(user="ana", name="Ana", anonymous=False))
        ben = await join(hub, "notes", "Ben", Identity(user="ben", name="Ben", anonymous=False))
        room = hub.rooms["notes"]
        doc = Doc(client_id=1)
        other = Doc(client_id=2)
        for n in range(20):
            for conn, ydoc in ((ana, doc), (ben, other)):
                before = ydoc.get_state()
                text = ydoc.get("t", type=Text)
                text += f"{n}"
                room.receive(conn, encode_sync_update(ydoc.get_update(before)))
            await asyncio.sleep(0.02)
        changed = await eventually(
            now(lambda: [e for e in watcher.events if e["type"] == "changed"]),
            lambda c: len(c) >= 2 and sorted(c[-1]["by"]) == ["ana", "ben"],
            what="trailing changed",
        )
        assert changed[0]["by"] == ["ana"]  # the first edit is notified at once
        # 40 edits in ~0.5 s, at most one notification per 0.3 s: a few, not one per edit.
        assert len(changed) < 20
        assert changed[0]["at"].endswith("Z")
        watcher.conn.detach()


async def test_published_notifications_reach_subscribers_who_may_read(events: Events) -> None:
    async with asyncio.TaskGroup() as tasks:
        everything = Watcher(events, None, tasks)
        events.publish("secret", {"type": "version", "version": {"version": 1}})
        events.publish("notes", {"type": "restored", "version": 3, "by": "ana"})
        await eventually(lambda: _ready(lambda: len(everything.events) == 1))
        assert everything.events == [
            {"type": "restored", "doc": "notes", "version": 3, "by": "ana"}
        ]
        with pytest.raises(ValueError):
            events.publish("notes", {"type": "bogus"})
        everything.conn.detach()


async def _ready(check: Any) -> bool:
    return bool(check())


async def test_a_client_that_never_says_its_name_is_announced_as_anonymous(
    hub: Hub, events: Events
) -> None:
    async with asyncio.TaskGroup() as tasks:
        watcher = Watcher(events, frozenset({"quiet"}), tasks)
        conn = Connection(RecordingChannel())
        await hub.join("quiet", conn)
        seen = await eventually(
            now(lambda: watcher.events), lambda e: len(e) == 1, what="grace expiry"
        )
        assert (seen[0]["name"], seen[0]["event"], seen[0]["count"]) == (
            "Anonymous",
            "joined",
            1,
        )
        hub.leave(hub.rooms["quiet"], conn)
        await eventually(now(lambda: len(watcher.events)), lambda n: n == 2)
        assert watcher.events[1]["event"] == "left"
        watcher.conn.detach()


async def test_a_connection_that_leaves_before_it_is_announced_leaves_no_trace(
    hub: Hub, events: Events
) -> None:
    async with asyncio.TaskGroup() as tasks:
        watcher = Watcher(events, frozenset({"brief", "after"}), tasks)
        conn = Connection(RecordingChannel())
        await hub.join("brief", conn)
        hub.leave(hub.rooms["brief"], conn)
        await join(hub, "after", "Ana")  # a marker: everything before it has been handled
        await eventually(now(lambda: len(watcher.events)), lambda n: n >= 1)
        await asyncio.sleep(0)
        assert [(e["doc"], e["name"]) for e in watcher.events] == [("after", "Ana")]
        watcher.conn.detach()
