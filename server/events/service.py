"""Events: presence and notifications for `/events` subscribers and webhooks.

The service listens to the hub (joins, leaves, awareness, updates), publishes what happens here
on the bus, and handles what the bus delivers from every instance (this one included; the
messages are listed in server/events/inbox.py). Its parts, one job each:

- `announcer`: this instance's connections, announced on the bus;
- `changes`: `changed` notifications, at most one per document per interval;
- `inbox`: the bus's messages, into the presence table and out to subscribers;
- `subscribers`: who listens, and sending them what they may read.

Other parts of the hub announce notifications through `publish(doc, payload)` (server/app.py
hands it to them), e.g. history: `publish(doc, {"type": "version", "version": {...}})` and
`publish(doc, {"type": "restored", "version": 12, "by": "ana", "name": "Ana"})`; the API a
document's new title: `publish(doc, {"type": "title", "title": "Plan", "by": "ana", ...})`;
and comments (server/core/comments.py): `publish(doc, {"type": "comment", "event": "replied",
"id": …, "by": "ben", "name": "Ben"})`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from server.config import Config
from server.core.connection import Connection
from server.core.listeners import AwarenessEvent, HubListener, UpdateEvent
from server.core.room import Room
from server.core.timestamps import iso
from server.events.announcer import Announcer
from server.events.bus import Bus
from server.events.changes import ChangeNotifier
from server.events.inbox import NOTIFICATION_TYPES, Inbox
from server.events.presence import PresenceTable
from server.events.subscribers import Subscriber, Subscribers
from server.events.titles import TitleNotifier
from server.events.webhooks import Webhooks
from server.ops.metrics import Metrics

WEBHOOK_TYPES = frozenset({"changed", "version", "comment"})


class Events(HubListener):
    def __init__(
        self, config: Config, metrics: Metrics, bus: Bus, webhooks: Webhooks | None = None
    ) -> None:
        self.bus = bus
        self.webhooks = webhooks
        self.instance = secrets.token_hex(6)
        self.heartbeat = config.presence_heartbeat
        self.presence = PresenceTable()
        self.subscribers = Subscribers(self.presence, metrics)
        self.announcer = Announcer(self.instance, bus.publish)
        self.changes = ChangeNotifier(config.changed_interval, self.publish)
        self.titles = TitleNotifier(config.changed_interval, self.publish)
        self.inbox = Inbox(
            self.instance,
            self.presence,
            self.subscribers,
            on_hello=self.announcer.publish_snapshot,
            on_changed=self.changes.heard,
            on_title=self.titles.heard,
        )

    # -- the public side ---------------------------------------------------------------------

    def publish(self, doc: str, payload: Mapping[str, Any]) -> None:
        """Announce a notification of `doc` to every subscriber on every instance (and to the
        webhooks for `changed`, `version` and `comment`). Never blocks; call it from anywhere
        in the hub."""
        kind = payload.get("type")
        if kind not in NOTIFICATION_TYPES:
            raise ValueError(f"unknown notification type {kind!r}")
        event = {"type": kind, "doc": doc}
        event.update((k, v) for k, v in payload.items() if k not in {"type", "doc"})
        if self.webhooks is not None and kind in WEBHOOK_TYPES:
            self.webhooks.offer(event)
        self.bus.publish({"op": "notify", "from": self.instance, "event": event})

    def titled(self, doc: str, payload: Mapping[str, Any]) -> None:
        """Announce a rename (`{"type": "title", …}`) like `publish`, but at most one per
        document per `changed_interval` here: the first at once, the latest when it ends."""
        self.titles.titled(doc, payload)

    def people(self, doc: str) -> list[dict[str, Any]]:
        """The presence list of a document across instances (for the REST API)."""
        return [
            {"user": p.user, "name": p.name, "color": p.color, "since": iso(p.since)}
            for p in self.presence.people(doc)
        ]

    def subscribe(
        self, conn: Connection, docs: frozenset[str] | None, may_read: Callable[[str], bool]
    ) -> Subscriber:
        """Register a subscriber; it first gets the current presence of each of its documents."""
        return self.subscribers.subscribe(conn, docs, may_read)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.unsubscribe(sub)

    # -- hub listener: what happens on this instance ------------------------------------------

    def joined(self, room: Room, conn: Connection) -> None:
        self.announcer.joined(room.name, conn)

    def left(self, room: Room, conn: Connection) -> None:
        self.announcer.left(conn)

    def silent(self, room: Room, conn: Connection) -> None:
        self.announcer.silent(conn)

    def returned(self, room: Room, conn: Connection) -> None:
        self.announcer.returned(conn)

    def awareness(self, event: AwarenessEvent) -> None:
        self.announcer.awareness(event)

    def update(self, event: UpdateEvent) -> None:
        if event.remote:
            return  # the instance the client is connected to notifies
        origin, author = event.origin, event.author
        by = self.announcer.author(origin) if origin else author.user if author else None
        self.changes.edited(event.room.name, by)

    # -- background work --------------------------------------------------------------------

    async def run(self) -> None:
        """The hub service: the bus, and this instance's heartbeat."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.bus.run(self.inbox.deliver, self._connected))
                tasks.create_task(self._beat())
        except asyncio.CancelledError:  # the hub is stopping: no timer outlives it
            self.announcer.stop()
            self.changes.stop()
            self.titles.stop()
            raise

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            self.announcer.publish_snapshot()
            self.inbox.expire(silent_for=3 * self.heartbeat)

    def _connected(self) -> None:
        self.bus.publish({"op": "hello", "from": self.instance})
        self.announcer.publish_snapshot()
