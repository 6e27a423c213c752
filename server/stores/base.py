"""The Store protocol: what the hub needs from persistence, in bytes and small dataclasses.

A document is a compacted snapshot (one Yjs update) plus an append-only tail of updates.
Compaction is optimistic: it names the snapshot generation and the last tail entry it folded,
and the store applies it only if nobody compacted in between, keeping any later appends.

History lives apart from the live state (its own tables or keys), so compaction never touches
it: per version, the Yjs update from the previous version, the state vector at the version, and
its metadata; every so often a full-state checkpoint bounds the cost of rebuilding a version.

A document's title is metadata of its live record (null until someone names it): setting one
creates the record of a document that has none yet, so a document named before anyone typed in
it is listed; deleting the document deletes its title.
Deleting leaves a tombstone: the document id and the time of deletion, so that a client that
still holds a copy cannot bring the document back by syncing it (README, Offline). Tombstones
are tiny and kept until an intentional creation (`undelete`: a content write, a title, an
import) frees the name again; a second delete moves the time forward.
Comment threads are per document (server/stores/threads.py), kept until they or the document
are deleted; a change to one is a function of the thread, applied atomically (so that two
hubs' replies to one thread both land).

Revocations are per user, not per document: "this user's tokens issued before `before` are
refused", kept until `until` (when every such token has expired). A later one for the same user
moves both times forward; an earlier one changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.stores.threads import Thread


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

    @property
    def parts(self) -> list[bytes]:
        """The snapshot and the tail, as updates to apply in order."""
        return [self.snapshot, *self.updates] if self.snapshot is not None else self.updates

    @property
    def nbytes(self) -> int:
        return len(self.snapshot or b"") + sum(len(update) for update in self.updates)


@dataclass(frozen=True, slots=True)
class TailStats:
    count: int
    size: int
    snapshot_size: int = 0


@dataclass(frozen=True, slots=True)
class DocInfo:
    doc: str
    created_at: float
    updated_at: float
    size: int
    tail_count: int
    title: str | None = None


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A version's metadata (README, History); `at` is Unix time."""

    version: int
    at: float
    authors: tuple[str, ...] = ()
    label: str | None = None
    added: int = 0
    removed: int = 0
    # Set on the version a restore made: the version whose content it brought back.
    restored_from: int | None = None
    # Display names of the authors, as their identities gave them.
    names: Mapping[str, str] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "at": self.at,
                "authors": list(self.authors),
                "label": self.label,
                "added": self.added,
                "removed": self.removed,
                "restored_from": self.restored_from,
                "names": dict(self.names),
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> VersionInfo:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            version=int(data["version"]),
            at=float(data["at"]),
            authors=tuple(str(a) for a in data.get("authors", [])),
            label=data.get("label"),
            added=int(data.get("added", 0)),
            removed=int(data.get("removed", 0)),
            restored_from=data.get("restored_from"),
            names={str(k): str(v) for k, v in (data.get("names") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class StoredVersion:
    info: VersionInfo
    # The document's state vector at this version: the next version's diff starts from it.
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class Revocation:
    user: str
    before: float  # Unix time: tokens issued earlier are refused
    until: float  # Unix time after which it no longer matters (kept no longer)

    def merge(self, other: Revocation) -> Revocation:
        """The revocation in force when both were made (the later times win)."""
        return Revocation(self.user, max(self.before, other.before), max(self.until, other.until))


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

    async def delete(self, doc: str) -> bool:
        """Remove the document: live state, history and comment threads; leave a tombstone
        (the time of deletion) in the same transaction, whether or not it existed."""

    async def deleted_at(self, doc: str) -> float | None:
        """When the document was deleted (Unix time), or None: never, or created again since."""

    async def undelete(self, doc: str) -> None:
        """Remove the document's tombstone (before an intentional creation of it)."""

    async def set_title(self, doc: str, title: str | None) -> DocInfo:
        """Give the document this title (None clears it), creating its record if it has none
        yet (an empty document, listed from now on); returns its metadata after."""

    # -- history ----------------------------------------------------------------------------

    async def append_version(
        self,
        doc: str,
        info: VersionInfo,
        diff: bytes,
        state_vector: bytes,
        checkpoint: bytes | None = None,
    ) -> bool:
        """Record version `info.version` with the update from the previous version (and, every
        so often, the full state at it); False, and nothing written, unless it follows the
        last recorded version (someone else recorded that number first)."""

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        """Every version's metadata, oldest first."""

    async def name_version(self, doc: str, info: VersionInfo, label: str) -> VersionInfo | None:
        """Give the unnamed newest version `info` the name `label` (what a named save right
        after an automatic one does instead of recording an empty version); None, and nothing
        written, unless `info` is still the newest version exactly as it was read."""

    async def last_version(self, doc: str) -> StoredVersion | None: ...

    async def version_diffs(self, doc: str, first: int, last: int) -> list[bytes]:
        """The diffs of versions first..last (inclusive), in order."""

    async def checkpoint(self, doc: str, at_most: int) -> tuple[int, bytes] | None:
        """The latest full-state checkpoint at a version <= at_most, as (version, state)."""

    # -- comment threads --------------------------------------------------------------------

    async def add_thread(self, doc: str, thread: Thread) -> None:
        """Keep a new thread (its id is new: the server makes it)."""

    async def threads(self, doc: str) -> list[Thread]:
        """The document's threads, oldest first."""

    async def thread(self, doc: str, thread: str) -> Thread | None: ...

    async def change_thread(
        self, doc: str, thread: str, change: Callable[[Thread], Thread]
    ) -> Thread | None:
        """Replace the thread with `change(thread)`, atomically (a concurrent change is not
        lost: `change` is called again on the newer thread); None when there is no such
        thread. An exception from `change` leaves the thread as it was."""

    async def delete_thread(self, doc: str, thread: str) -> bool: ...

    # -- revocations ------------------------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> Revocation:
        """Record a revocation, merged with the user's earlier one; returns what is in force."""

    async def revocations(self, now: float) -> list[Revocation]:
        """Every revocation still in force at `now` (those past `until` are dropped)."""


EMPTY = StoredDoc(snapshot=None, updates=[], generation=0, tail_end="")
