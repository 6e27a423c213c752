"""The Store protocol: what the hub needs from persistence, in bytes and small dataclasses.

A document is a compacted snapshot (one Yjs update) plus an append-only tail of updates.
Compaction is optimistic: it names the snapshot generation and the last tail entry it folded,
and the store applies it only if nobody compacted in between, keeping any later appends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredDoc:
    snapshot: bytes | None
    updates: list[bytes]
    generation: int
    # Opaque marker of the last tail entry read ("" when the tail is empty).
    tail_end: str

    @property
    def empty(self) -> bool:
        return self.snapshot is None and not self.updates


@dataclass(frozen=True, slots=True)
class TailStats:
    count: int
    size: int


@dataclass(frozen=True, slots=True)
class DocInfo:
    doc: str
    created_at: float
    updated_at: float
    size: int
    tail_count: int


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreError when the backend cannot be reached."""

    async def load(self, doc: str) -> StoredDoc: ...

    async def append(self, batch: Mapping[str, Sequence[bytes]]) -> dict[str, TailStats]:
        """Append every document's updates in one transaction; return each tail's new size."""

    async def compact(self, doc: str, snapshot: bytes, *, generation: int, tail_end: str) -> bool:
        """Replace the snapshot and drop tail entries up to tail_end, unless generation moved on."""

    async def list_docs(self) -> list[DocInfo]: ...

    async def info(self, doc: str) -> DocInfo | None: ...

    async def delete(self, doc: str) -> bool: ...


EMPTY = StoredDoc(snapshot=None, updates=[], generation=0, tail_end="")
