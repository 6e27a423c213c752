"""Who listens on `/events`, and sending each of them the notifications they may read.

Each subscriber gets JSON text frames through its own bounded outbox (server/core/connection.py),
so a slow reader is closed instead of slowing anyone down.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.core.connection import Connection
from server.events.presence import Change, PresenceTable
from server.ops.metrics import Metrics


@dataclass(eq=False, slots=True)
class Subscriber:
    conn: Connection
    docs: frozenset[str] | None  # None: every document the caller may read
    may_read: Callable[[str], bool]


class Subscribers:
    def __init__(self, presence: PresenceTable, metrics: Metrics) -> None:
        self.presence = presence
        self.metrics = metrics
        self._by_doc: dict[str, set[Subscriber]] = {}
        self._of_all: set[Subscriber] = set()

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
            self._of_all.add(sub)
        else:
            for doc in docs:
                self._by_doc.setdefault(doc, set()).add(sub)
        self.metrics.events_subscribers.inc()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub.docs is None:
            self._of_all.discard(sub)
        else:
            for doc in sub.docs:
                subs = self._by_doc.get(doc)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_doc[doc]
        self.metrics.events_subscribers.dec()

    def send(self, event: dict[str, Any]) -> None:
        """Queue `event` to every subscriber of its document who may read it."""
        doc = event["doc"]
        frame: bytes | None = None
        sent = 0
        for subs in (self._by_doc.get(doc, ()), self._of_all):
            for sub in subs:
                if sub.may_read(doc):
                    frame = frame or _frame(event)
                    sub.conn.send(frame)
                    sent += 1
        if sent:
            self.metrics.events_sent.inc(sent)

    def send_presence(self, changes: list[Change]) -> None:
        for change in changes:
            record = change.record
            self.send(
                {
                    "type": "presence",
                    "doc": record.doc,
                    "user": record.user,
                    "name": record.name,
                    "event": change.event,
                    "count": change.count,
                }
            )


def _frame(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
