"""An in-memory Store: the fast twin of the real backends for unit tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from server.stores.base import (
    EMPTY,
    DocInfo,
    Revocation,
    StoredDoc,
    StoredVersion,
    TailStats,
    VersionInfo,
)
from server.stores.threads import Thread


@dataclass
class _Record:
    created_at: float
    updated_at: float
    snapshot: bytes | None = None
    generation: int = 0
    tail: list[tuple[int, bytes]] = field(default_factory=list)
    title: str | None = None


@dataclass
class _History:
    versions: list[tuple[VersionInfo, bytes, bytes]] = field(default_factory=list)
    checkpoints: dict[int, bytes] = field(default_factory=dict)


class MemoryStore:
    def __init__(self) -> None:
        self._docs: dict[str, _Record] = {}
        self._history: dict[str, _History] = {}
        self._revocations: dict[str, Revocation] = {}
        self._threads: dict[str, dict[str, Thread]] = {}
        self._tombstones: dict[str, float] = {}
        self._seq = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def load(self, doc: str) -> StoredDoc:
        record = self._docs.get(doc)
        if record is None:
            return EMPTY
        return StoredDoc(
            snapshot=record.snapshot,
            updates=[data for _, data in record.tail],
            generation=record.generation,
            tail_end=str(record.tail[-1][0]) if record.tail else "",
        )

    async def append(self, batch: Mapping[str, Sequence[bytes]]) -> dict[str, TailStats]:
        now = time.time()
        stats: dict[str, TailStats] = {}
        for doc, updates in batch.items():
            if not updates:
                continue
            record = self._docs.setdefault(doc, _Record(created_at=now, updated_at=now))
            for update in updates:
                self._seq += 1
                record.tail.append((self._seq, bytes(update)))
            record.updated_at = now
            stats[doc] = TailStats(
                len(record.tail),
                sum(len(d) for _, d in record.tail),
                len(record.snapshot or b""),
            )
        return stats

    async def compact(self, doc: str, snapshot: bytes, *, generation: int, tail_end: str) -> bool:
        record = self._docs.get(doc)
        if record is None or record.generation != generation:
            return False
        end = int(tail_end) if tail_end else 0
        record.snapshot = snapshot
        record.generation += 1
        record.tail = [(seq, data) for seq, data in record.tail if seq > end]
        return True

    async def list_docs(self) -> list[DocInfo]:
        return [self._info(doc, record) for doc, record in sorted(self._docs.items())]

    async def info(self, doc: str) -> DocInfo | None:
        record = self._docs.get(doc)
        return None if record is None else self._info(doc, record)

    async def delete(self, doc: str) -> bool:
        had_history = self._history.pop(doc, None) is not None
        self._threads.pop(doc, None)
        self._tombstones[doc] = time.time()
        return self._docs.pop(doc, None) is not None or had_history

    async def deleted_at(self, doc: str) -> float | None:
        return self._tombstones.get(doc)

    async def undelete(self, doc: str) -> None:
        self._tombstones.pop(doc, None)

    async def set_title(self, doc: str, title: str | None) -> DocInfo:
        now = time.time()
        record = self._docs.setdefault(doc, _Record(created_at=now, updated_at=now))
        record.title = title
        return self._info(doc, record)

    async def append_version(
        self,
        doc: str,
        info: VersionInfo,
        diff: bytes,
        state_vector: bytes,
        checkpoint: bytes | None = None,
    ) -> bool:
        history = self._history.setdefault(doc, _History())
        if info.version != len(history.versions) + 1:
            return False
        history.versions.append((info, bytes(diff), bytes(state_vector)))
        if checkpoint is not None:
            history.checkpoints[info.version] = bytes(checkpoint)
        return True

    async def name_version(self, doc: str, info: VersionInfo, label: str) -> VersionInfo | None:
        history = self._history.get(doc)
        if history is None or not history.versions or history.versions[-1][0] != info:
            return None
        named = replace(info, label=label)
        history.versions[-1] = (named, *history.versions[-1][1:])
        return named

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        history = self._history.get(doc)
        return [] if history is None else [info for info, _, _ in history.versions]

    async def last_version(self, doc: str) -> StoredVersion | None:
        history = self._history.get(doc)
        if history is None or not history.versions:
            return None
        info, _, state_vector = history.versions[-1]
        return StoredVersion(info, state_vector)

    async def version_diffs(self, doc: str, first: int, last: int) -> list[bytes]:
        history = self._history.get(doc)
        if history is None:
            return []
        return [diff for _, diff, _ in history.versions[max(first, 1) - 1 : max(last, 0)]]

    async def checkpoint(self, doc: str, at_most: int) -> tuple[int, bytes] | None:
        history = self._history.get(doc)
        if history is None:
            return None
        found = [v for v in history.checkpoints if v <= at_most]
        return None if not found else (max(found), history.checkpoints[max(found)])

    async def add_thread(self, doc: str, thread: Thread) -> None:
        self._threads.setdefault(doc, {})[thread.id] = thread

    async def threads(self, doc: str) -> list[Thread]:
        kept = self._threads.get(doc, {}).values()
        return sorted(kept, key=lambda t: (t.created, t.id))

    async def thread(self, doc: str, thread: str) -> Thread | None:
        return self._threads.get(doc, {}).get(thread)

    async def change_thread(
        self, doc: str, thread: str, change: Callable[[Thread], Thread]
    ) -> Thread | None:
        kept = self._threads.get(doc, {})
        if thread not in kept:
            return None
        changed = kept[thread] = change(kept[thread])
        return changed

    async def delete_thread(self, doc: str, thread: str) -> bool:
        return self._threads.get(doc, {}).pop(thread, None) is not None

    async def revoke(self, revocation: Revocation) -> Revocation:
        earlier = self._revocations.get(revocation.user)
        merged = revocation if earlier is None else earlier.merge(revocation)
        self._revocations[revocation.user] = merged
        return merged

    async def revocations(self, now: float) -> list[Revocation]:
        for user in [u for u, r in self._revocations.items() if r.until <= now]:
            del self._revocations[user]
        return sorted(self._revocations.values(), key=lambda r: r.user)

    @staticmethod
    def _info(doc: str, record: _Record) -> DocInfo:
        size = len(record.snapshot or b"") + sum(len(d) for _, d in record.tail)
        return DocInfo(
            doc, record.created_at, record.updated_at, size, len(record.tail), record.title
        )
