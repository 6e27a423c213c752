"""What the bus delivers, from every instance (this one included), in the bus's order:

    {"op": "join"|"update", "from": instance, "record": {...}}   a connection is present
    {"op": "leave", "from": instance, "doc", "key"}              it left
    {"op": "snapshot", "from": instance, "records": [...]}       heartbeat: all of an instance
    {"op": "hello", "from": instance}                            a new instance asks for those
    {"op": "notify", "from": instance, "event": {...}}           a notification: changed,
                                                                 version, restored, title,
                                                                 comment

Presence messages update the table (and subscribers hear who joined and left); notifications go
to the subscribers as they are. Instances that stop talking (crashed) expire: their users left.
A message that does not parse is logged and dropped; the ones after it are handled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from server.core.docids import is_valid_doc_id
from server.events.bus import Message
from server.events.presence import Change, PresenceTable, Record
from server.events.subscribers import Subscribers

log = logging.getLogger("tandem.events")

NOTIFICATION_TYPES = frozenset({"changed", "version", "restored", "title", "comment"})


class Inbox:
    def __init__(
        self,
        instance: str,
        presence: PresenceTable,
        subscribers: Subscribers,
        *,
        on_hello: Callable[[], None],
        on_changed: Callable[[str], None],
        on_title: Callable[[str], None],
    ) -> None:
        self.instance = instance
        self.presence = presence
        self.subscribers = subscribers
        self._on_hello = on_hello  # another instance asks for this one's snapshot
        self._on_changed = on_changed  # another instance notified a `changed` of a document
        self._on_title = on_title  # another instance notified a `title` of a document
        self._heard: dict[str, float] = {}  # instance -> monotonic time of its last message

    def deliver(self, message: Message) -> None:
        try:
            self._handle(message)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("event=bus_message_refused error=%r op=%r", exc, message.get("op"))

    def expire(self, silent_for: float) -> None:
        """Forget instances not heard from for `silent_for` seconds: their users left."""
        now = time.monotonic()
        for instance in self.presence.instances() - {self.instance}:
            if now - self._heard.get(instance, now) > silent_for:
                log.warning("event=instance_expired instance=%s", instance)
                self._heard.pop(instance, None)
                self.subscribers.send_presence(self.presence.drop_instance(instance))

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
                self._on_hello()
        elif op == "notify":
            event = dict(message["event"])
            if event.get("type") not in NOTIFICATION_TYPES or not is_valid_doc_id(event["doc"]):
                raise ValueError("not a notification")
            if event["type"] == "changed" and sender != self.instance:
                self._on_changed(event["doc"])
            elif event["type"] == "title" and sender != self.instance:
                self._on_title(event["doc"])
            self.subscribers.send(event)
        else:
            raise ValueError(f"unknown op {op!r}")
        self.subscribers.send_presence(changes)
