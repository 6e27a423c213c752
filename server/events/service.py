"""Events: presence and notifications for `/events` subscribers and webhooks.

The service listens to the hub (joins, leaves, awareness, updates), publishes what happens here
on the bus, and handles what the bus delivers from every instance (this one included):

    {"op": "join"|"update", "from": instance, "record": {...}}   a connection is present
    {"op": "leave", "from": instance, "doc", "key"}              it left
    {"op": "snapshot", "from": instance, "records": [...]}       heartbeat: all of an instance
    {"op": "hello", "from": instance}                            a new instance asks for those
    {"op": "notify", "from": instance, "event": {...}}           changed / version / restored

Other parts of the hub announce notifications with `hub.events.publish(doc, payload)`, e.g.
history: `publish(doc, {"type": "version", "version": {...}})` and
`publish(doc, {"type": "restored", "version": 12, "by": "ana", "name": "Ana"})`. Each subscriber
gets them as JSON text frames through its own bounded outbox (server/connection.py), so a slow
reader is closed instead of slowing anyone down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from server.core.connection import Connection
from server.core.docids import is_valid_doc_id
from server.core.listeners import AwarenessEvent, HubListener, UpdateEvent
from server.core.names import DEFAULT_NAME, announced_user, clean_color, clean_name, color_for
from server.events.bus import Bus, Message, open_bus
from server.events.presence import Change, PresenceTable, Record
from server.events.webhooks import Webhooks

if TYPE_CHECKING:
    from server.core.hub import Hub
    from server.core.room import Room

log = logging.getLogger("tandem.events")

NOTIFICATION_TYPES = frozenset({"changed", "version", "restored"})
WEBHOOK_TYPES = frozenset({"changed", "version"})
# An anonymous connection is announced with the name its awareness carries; one that announces
# nothing within this many seconds is announced as "Anonymous".
ANNOUNCE_GRACE = 1.0
TICK = 0.1


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False, slots=True)
class Subscriber:
    conn: Connection
    docs: frozenset[str] | None  # None: every document the caller may read
    may_read: Callable[[str], bool]


@dataclass(slots=True)
class _Local:
    """A connection of this instance, as presence knows it."""

    key: str
    doc: str
    user: str
    name: str
    color: str
    since: float
    joined_at: float
    anonymous: bool
    announced: bool = False

    def record(self, instance: str) -> Record:
        return Record(self.key, instance, self.doc, self.user, self.name, self.color, self.since)


@dataclass(slots=True)
class _PendingChange:
    first: float  # monotonic time of the first change not yet notified
    last_at: float  # Unix time of the latest one
    authors: dict[str, None] = field(default_factory=dict)  # ordered set


class Events(HubListener):
    def __init__(self, hub: Hub, bus: Bus | None = None) -> None:
        config = hub.config
        self.hub = hub
        self.metrics = hub.metrics
        self.bus = bus if bus is not None else open_bus(config.events_bus, config.store)
        self.instance = secrets.token_hex(6)
        self.presence = PresenceTable()
        self.changed_interval = config.changed_interval
        self.heartbeat = config.presence_heartbeat
        self.webhooks = (
            Webhooks(
                config.webhook,
                config.webhook_secret,
                hub.metrics,
                retries=config.webhook_retries,
                backoff=config.webhook_backoff,
            )
            if config.webhook
            else None
        )
        self._local: dict[Connection, _Local] = {}
        self._subs_by_doc: dict[str, set[Subscriber]] = {}
        self._subs_all: set[Subscriber] = set()
        self._pending: dict[str, _PendingChange] = {}
        self._last_changed: dict[str, float] = {}
        self._heard: dict[str, float] = {}
        hub.add_listener(self)
        hub.add_service("events", self.run)
        if self.webhooks is not None:
            hub.add_service("webhooks", self.webhooks.run)

    # -- the public side ---------------------------------------------------------------------

    def publish(self, doc: str, payload: Mapping[str, Any]) -> None:
        """Announce a notification of `doc` to every subscriber on every instance (and to the
        webhooks for `changed` and `version`). Never blocks; call it from anywhere in the hub."""
        kind = payload.get("type")
        if kind not in NOTIFICATION_TYPES:
            raise ValueError(f"unknown notification type {kind!r}")
        event = {"type": kind, "doc": doc}
        event.update((k, v) for k, v in payload.items() if k not in {"type", "doc"})
        if self.webhooks is not None and kind in WEBHOOK_TYPES:
            self.webhooks.offer(event)
        self.bus.publish({"op": "notify", "from": self.instance, "event": event})

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
        sub = Subscriber(conn, docs, may_read)
        for doc in sorted(docs) if docs is not None else self.presence.docs():
            if not may_read(doc):
                continue
            for count, person in enumerate(self.presence.people(doc), start=1):
                conn.send(
                    _frame(
                        {
                            "type": "presence",
                            "doc": doc,
                            "user": person.user,
                            "name": person.name,
                            "event": "joined",
                            "count": count,
                            "initial": True,
                        }
                    )
                )
        if docs is None:
            self._subs_all.add(sub)
        else:
            for doc in docs:
                self._subs_by_doc.setdefault(doc, set()).add(sub)
        self.metrics.events_subscribers.inc()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub.docs is None:
            self._subs_all.discard(sub)
        else:
            for doc in sub.docs:
                subs = self._subs_by_doc.get(doc)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subs_by_doc[doc]
        self.metrics.events_subscribers.dec()

    # -- hub listener: what happens on this instance ------------------------------------------

    def joined(self, room: Room, conn: Connection) -> None:
        identity = conn.identity
        if identity.anonymous:
            user, name = f"anon-{secrets.token_hex(4)}", DEFAULT_NAME
        else:
            user, name = (
                identity.user,
                clean_name(identity.name, fallback=clean_name(identity.user)),
            )
        local = _Local(
            key=f"{self.instance}:{conn.id}",
            doc=room.name,
            user=user,
            name=name,
            color=color_for(user),
            since=time.time(),
            joined_at=time.monotonic(),
            anonymous=identity.anonymous,
        )
        self._local[conn] = local
        if not local.anonymous:
            self._announce(local)

    def left(self, room: Room, conn: Connection) -> None:
        local = self._local.pop(conn, None)
        if local is not None and local.announced:
            self.bus.publish(
                {"op": "leave", "from": self.instance, "doc": local.doc, "key": local.key}
            )

    def awareness(self, event: AwarenessEvent) -> None:
        if event.remote or event.origin is None:
            return
        local = self._local.get(event.origin)
        if local is None:
            return
        for entry in event.entries:
            user = announced_user(entry.state)
            if user is None:
                continue
            name = clean_name(user.get("name")) if local.anonymous else local.name
            color = clean_color(user.get("color"), local.user)
            if local.announced and (name, color) == (local.name, local.color):
                continue
            local.name, local.color = name, color
            if local.announced:
                self.bus.publish(
                    {"op": "update", "from": self.instance, "record": self._record(local)}
                )
            else:
                self._announce(local)

    def update(self, event: UpdateEvent) -> None:
        if event.remote:
            return  # the instance the client is connected to notifies
        doc = event.room.name
        now = time.monotonic()
        pending = self._pending.get(doc)
        if pending is None:
            pending = self._pending[doc] = _PendingChange(first=now, last_at=time.time())
        pending.last_at = time.time()
        if event.origin is not None:
            local = self._local.get(event.origin)
            pending.authors[local.user if local else event.origin.identity.user] = None
        self._flush_change(doc, pending, now)

    # -- background work --------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.bus.run(self._deliver, self._connected))
            tasks.create_task(self._tick())

    async def _tick(self) -> None:
        last_heartbeat = time.monotonic()
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            for local in self._local.values():
                if not local.announced and now - local.joined_at >= ANNOUNCE_GRACE:
                    self._announce(local)
            for doc, pending in list(self._pending.items()):
                self._flush_change(doc, pending, now)
            if now - last_heartbeat >= self.heartbeat:
                last_heartbeat = now
                self._publish_snapshot()
                self._expire(now)

    def _connected(self) -> None:
        self.bus.publish({"op": "hello", "from": self.instance})
        self._publish_snapshot()

    def _expire(self, now: float) -> None:
        """Forget instances that stopped talking (crashed): their users left."""
        for instance in self.presence.instances() - {self.instance}:
            if now - self._heard.get(instance, now) > 3 * self.heartbeat:
                log.warning("event=instance_expired instance=%s", instance)
                self._heard.pop(instance, None)
                for change in self.presence.drop_instance(instance):
                    self._fanout(_presence_event(change))

    # -- what this instance publishes -------------------------------------------------------

    def _record(self, local: _Local) -> dict[str, Any]:
        return local.record(self.instance).to_json()

    def _announce(self, local: _Local) -> None:
        local.announced = True
        self.bus.publish({"op": "join", "from": self.instance, "record": self._record(local)})

    def _publish_snapshot(self) -> None:
        records = [self._record(local) for local in self._local.values() if local.announced]
        self.bus.publish({"op": "snapshot", "from": self.instance, "records": records})

    def _flush_change(self, doc: str, pending: _PendingChange, now: float) -> None:
        """At most one `changed` per document per interval (counting other instances' too)."""
        last = self._last_changed.get(doc)
        if last is not None and now - last < self.changed_interval:
            return
        del self._pending[doc]
        self._last_changed[doc] = now
        self.publish(
            doc, {"type": "changed", "by": list(pending.authors), "at": iso(pending.last_at)}
        )
        for stale in [d for d, t in self._last_changed.items() if now - t > 60]:
            del self._last_changed[stale]

    # -- what the bus delivers --------------------------------------------------------------

    def _deliver(self, message: Message) -> None:
        try:
            self._handle(message)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("event=bus_message_refused error=%r op=%r", exc, message.get("op"))

    def _handle(self, message: Message) -> None:
        sender = str(message["from"])
        op = message["op"]
        self._heard[sender] = time.monotonic()
        changes: list[Change] = []
        if op in {"join", "update"}:
            record = Record.from_json(sender, message["record"])
            if not is_valid_doc_id(record.doc):
                raise ValueError("invalid document id")
            changes = self.presence.add(record)
        elif op == "leave":
            changes = self.presence.remove(str(message["doc"]), str(message["key"]))
        elif op == "snapshot":
            records = [Record.from_json(sender, r) for r in message["records"]]
            changes = self.presence.replace_instance(sender, records)
        elif op == "hello":
            if sender != self.instance:
                self._publish_snapshot()
        elif op == "notify":
            event = dict(message["event"])
            if event.get("type") not in NOTIFICATION_TYPES or not is_valid_doc_id(event["doc"]):
                raise ValueError("not a notification")
            if event["type"] == "changed" and sender != self.instance:
                self._last_changed[event["doc"]] = time.monotonic()
            self._fanout(event)
        else:
            raise ValueError(f"unknown op {op!r}")
        for change in changes:
            self._fanout(_presence_event(change))

    def _fanout(self, event: dict[str, Any]) -> None:
        doc = event["doc"]
        frame: bytes | None = None
        sent = 0
        for subs in (self._subs_by_doc.get(doc, ()), self._subs_all):
            for sub in subs:
                if sub.may_read(doc):
                    frame = frame or _frame(event)
                    sub.conn.send(frame)
                    sent += 1
        if sent:
            self.metrics.events_sent.inc(sent)


def _presence_event(change: Change) -> dict[str, Any]:
    record = change.record
    return {
        "type": "presence",
        "doc": record.doc,
        "user": record.user,
        "name": record.name,
        "event": change.event,
        "count": change.count,
    }


def _frame(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
