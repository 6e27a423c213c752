"""Announcing this instance's connections on the bus, so every instance knows who is present.

A signed-in connection is announced when it joins, under the identity the server accepted. An
anonymous one is announced with the name its awareness carries; one that says nothing within
`ANNOUNCE_GRACE` seconds is announced as "Anonymous" (a timer per connection, cancelled when it
speaks or leaves first). A connection never announced leaves without a trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.core.connection import Connection
from server.core.listeners import AwarenessEvent
from server.core.names import DEFAULT_NAME, announced_user, clean_color, clean_name, color_for
from server.events.bus import Message
from server.events.presence import Record

log = logging.getLogger("tandem.events")

ANNOUNCE_GRACE = 1.0


@dataclass(slots=True)
class _Local:
    """A connection of this instance, as presence knows it."""

    key: str
    doc: str
    user: str
    name: str
    color: str
    since: float
    anonymous: bool
    announced: bool = False
    grace: asyncio.TimerHandle | None = None  # announces it as it is when the grace ends

    def record(self, instance: str) -> Record:
        return Record(self.key, instance, self.doc, self.user, self.name, self.color, self.since)


class Announcer:
    def __init__(self, instance: str, publish: Callable[[Message], None]) -> None:
        self.instance = instance
        self._publish = publish
        self._local: dict[Connection, _Local] = {}

    def joined(self, doc: str, conn: Connection) -> None:
        identity = conn.identity
        if identity.anonymous:
            user, name = conn.guest, DEFAULT_NAME
        else:
            user, name = (
                identity.user,
                clean_name(identity.name, fallback=clean_name(identity.user)),
            )
        local = _Local(
            key=f"{self.instance}:{conn.id}",
            doc=doc,
            user=user,
            name=name,
            color=color_for(user),
            since=time.time(),
            anonymous=identity.anonymous,
        )
        self._local[conn] = local
        if local.anonymous:
            local.grace = asyncio.get_running_loop().call_later(
                ANNOUNCE_GRACE, self._grace_ended, local
            )
        else:
            self._announce(local)

    def left(self, conn: Connection) -> None:
        local = self._local.pop(conn, None)
        if local is None:
            return
        if local.grace is not None:
            local.grace.cancel()
        if local.announced:
            leave = {"op": "leave", "from": self.instance, "doc": local.doc, "key": local.key}
            self._publish(leave)

    def silent(self, conn: Connection) -> None:
        """Its network died, as far as anyone can tell: it leaves presence now (its socket may
        linger until the pings close it; that close then says nothing more)."""
        local = self._local.get(conn)
        if local is None or not local.announced:
            return
        local.announced = False
        self._publish({"op": "leave", "from": self.instance, "doc": local.doc, "key": local.key})

    def returned(self, conn: Connection) -> None:
        """A silent connection spoke again: present again."""
        local = self._local.get(conn)
        if local is not None and not local.announced and local.grace is None:
            self._announce(local)

    def awareness(self, event: AwarenessEvent) -> None:
        """A name or colour its awareness announces (an anonymous connection's own name)."""
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
                record = self._record(local)
                self._publish({"op": "update", "from": self.instance, "record": record})
            else:
                self._announce(local)

    def author(self, conn: Connection) -> str:
        """The user id an edit of `conn` is notified under (anonymous: its presence id)."""
        local = self._local.get(conn)
        return local.user if local else conn.identity.user

    def publish_snapshot(self) -> None:
        """Every announced connection of this instance (the heartbeat, and answers to hello)."""
        records = [self._record(local) for local in self._local.values() if local.announced]
        self._publish({"op": "snapshot", "from": self.instance, "records": records})

    def stop(self) -> None:
        """Cancel the grace timers (the service is stopping)."""
        for local in self._local.values():
            if local.grace is not None:
                local.grace.cancel()
                local.grace = None

    def _grace_ended(self, local: _Local) -> None:
        local.grace = None  # cancelled when it leaves: it is still here
        if not local.announced:
            self._announce(local)

    def _record(self, local: _Local) -> dict[str, Any]:
        return local.record(self.instance).to_json()

    def _announce(self, local: _Local) -> None:
        if local.grace is not None:
            local.grace.cancel()
            local.grace = None
        local.announced = True
        self._publish({"op": "join", "from": self.instance, "record": self._record(local)})
