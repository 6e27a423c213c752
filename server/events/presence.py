"""Who is in each document, across instances: a pure table fed by the bus's ordered stream.

Each instance announces its own connections as records (one per connection, keyed by instance
and connection id); the table groups them by user, so a user with two tabs is present once. A
user's first record makes them `joined`, their last one leaving makes them `left`, and `count` is
the number of distinct users present afterwards. Every instance applies the same stream, so they
agree on the list and the counts.

Records of an instance that stops talking (it crashed) expire after a few missed heartbeats; a
heartbeat is a snapshot of the instance's records that replaces what was known about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    key: str  # "<instance>:<connection id>"
    instance: str
    doc: str
    user: str
    name: str
    color: str
    since: float  # Unix time

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "doc": self.doc,
            "user": self.user,
            "name": self.name,
            "color": self.color,
            "since": self.since,
        }

    @classmethod
    def from_json(cls, instance: str, data: dict[str, Any]) -> Record:
        return cls(
            key=str(data["key"]),
            instance=instance,
            doc=str(data["doc"]),
            user=str(data["user"]),
            name=str(data["name"]),
            color=str(data["color"]),
            since=float(data["since"]),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """A user joined or left a document; `record` is the one that made the difference."""

    event: str  # "joined" | "left"
    record: Record
    count: int


@dataclass(frozen=True, slots=True)
class Person:
    user: str
    name: str
    color: str
    since: float
    connections: int


class PresenceTable:
    def __init__(self) -> None:
        self._docs: dict[str, dict[str, Record]] = {}
        # doc -> user -> keys of that user's records: joins, leaves and counts in O(1).
        self._users: dict[str, dict[str, set[str]]] = {}
        self._by_instance: dict[str, set[tuple[str, str]]] = {}

    # -- reading ----------------------------------------------------------------------------

    def people(self, doc: str) -> list[Person]:
        """One entry per user, oldest first; name and colour of their latest connection."""
        records = self._docs.get(doc, {})
        people = []
        for user, keys in self._users.get(doc, {}).items():
            mine = [records[key] for key in keys]
            latest = max(mine, key=lambda r: (r.since, r.key))
            since = min(r.since for r in mine)
            people.append(Person(user, latest.name, latest.color, since, len(mine)))
        people.sort(key=lambda p: (p.since, p.user))
        return people

    def count(self, doc: str) -> int:
        return len(self._users.get(doc, ()))

    def docs(self) -> list[str]:
        return sorted(self._docs)

    def instances(self) -> set[str]:
        return set(self._by_instance)

    # -- changing ---------------------------------------------------------------------------

    def add(self, record: Record) -> list[Change]:
        """Add or replace a record (a name change replaces it without a notification)."""
        records = self._docs.setdefault(record.doc, {})
        previous = records.get(record.key)
        if previous is not None and previous.user != record.user:
            changes = self.remove(record.doc, record.key)
            return changes + self.add(record)
        records[record.key] = record
        self._by_instance.setdefault(record.instance, set()).add((record.doc, record.key))
        users = self._users.setdefault(record.doc, {})
        keys = users.get(record.user)
        if keys is not None:
            keys.add(record.key)
            return []
        users[record.user] = {record.key}
        return [Change("joined", record, len(users))]

    def remove(self, doc: str, key: str) -> list[Change]:
        records = self._docs.get(doc)
        record = records.pop(key, None) if records is not None else None
        if record is None:
            return []
        if not records:
            del self._docs[doc]
        owned = self._by_instance.get(record.instance)
        if owned is not None:
            owned.discard((doc, key))
            if not owned:
                del self._by_instance[record.instance]
        users = self._users[doc]
        keys = users[record.user]
        keys.discard(key)
        if keys:
            return []
        del users[record.user]
        if not users:
            del self._users[doc]
        return [Change("left", record, len(users))]

    def replace_instance(self, instance: str, records: Iterable[Record]) -> list[Change]:
        """What one instance reports having now (its heartbeat): joins and leaves to get there."""
        wanted = {(r.doc, r.key): r for r in records if r.instance == instance}
        changes: list[Change] = []
        for doc, key in list(self._by_instance.get(instance, ())):
            if (doc, key) not in wanted:
                changes += self.remove(doc, key)
        for record in wanted.values():
            changes += self.add(record)
        return changes

    def drop_instance(self, instance: str) -> list[Change]:
        return self.replace_instance(instance, [])
