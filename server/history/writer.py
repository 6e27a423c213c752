"""Writing one version: what changed since the last one, counted, and appended to the store.

The Yjs diff of a version is the live document diffed against the state vector stored with the
previous version: exactly the update that takes the previous version to this one (deletions
included: Yjs always sends the whole delete set). Version numbers are claimed optimistically
(`Store.append_version` refuses a number someone else took); the loser rebases its diff on the
winner's state vector and tries again, so versions never fork.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from crdt import jobs
from crdt.document import Document
from server.core.offload import Offload
from server.errors import StoreError
from server.history.archive import version_parts
from server.stores.base import Store, VersionInfo

log = logging.getLogger("tandem.history")

EMPTY_STATE_VECTOR = b"\x00"
# A document to record a version of: the live one, or the stored one's parts.
Source = Document | list[bytes]
_APPEND_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class _Base:
    """The last recorded version, as the next one is computed against it."""

    version: int
    state_vector: bytes
    # Its full state (None: version 0, the empty document). It may hold edits the live
    # document lacks (another instance recorded it): the next version holds them too.
    state: bytes | None


class VersionWriter:
    def __init__(self, store: Store, offload: Offload, *, checkpoint_every: int) -> None:
        self.store = store
        self.offload = offload
        self.checkpoint_every = checkpoint_every
        self._bases: dict[str, _Base] = {}

    def forget(self, doc: str) -> None:
        """Drop what is cached of the document's last version (it unloaded, or was deleted)."""
        self._bases.pop(doc, None)

    async def prepare(self, doc: str) -> None:
        """Cache the document's last version, so that `write` then starts without awaiting it."""
        await self._base(doc)

    async def write(
        self,
        doc: str,
        document: Source,
        authors: dict[str, str],
        *,
        label: str | None = None,
        restored_from: int | None = None,
    ) -> VersionInfo:
        """Record `document` as the next version, by `authors` (user id -> display name)."""
        for _ in range(_APPEND_ATTEMPTS):
            base = await self._base(doc)
            # The only look at the document: what changed since the last version. The rest
            # runs in the worker for a large document: the new version's state and what it
            # added and removed.
            diff = await self._changes(document, base.state_vector)
            state_vector, state, added, removed = await self.offload.run(
                len(base.state or b"") + len(diff), jobs.record_version, base.state, diff
            )
            info = VersionInfo(
                version=base.version + 1,
                at=time.time(),
                authors=tuple(authors),
                label=label,
                added=added,
                removed=removed,
                restored_from=restored_from,
                names=dict(authors),
            )
            checkpoint = None if info.version % self.checkpoint_every else state
            if await self.store.append_version(doc, info, diff, state_vector, checkpoint):
                self._bases[doc] = _Base(info.version, state_vector, state)
                log.info(
                    "event=version doc=%s version=%d authors=%s added=%d removed=%d",
                    doc,
                    info.version,
                    ",".join(info.authors) or "-",
                    info.added,
                    info.removed,
                )
                return info
            self._bases.pop(doc, None)  # another instance recorded it: rebase and retry
        raise StoreError(f"could not record a version of {doc!r}: numbers kept moving")

    async def _changes(self, source: Source, state_vector: bytes) -> bytes:
        """What `source` holds beyond `state_vector`: in a live document that costs the change
        only; a stored one is rebuilt in the worker when large."""
        if isinstance(source, Document):
            return source.diff(state_vector)
        return await self.offload.run(sum(map(len, source)), jobs.diff_since, source, state_vector)

    async def _base(self, doc: str) -> _Base:
        base = self._bases.get(doc)
        if base is not None:
            return base
        last = await self.store.last_version(doc)
        if last is None:
            base = _Base(0, EMPTY_STATE_VECTOR, None)
        else:
            parts = await version_parts(self.store, doc, last.info.version)
            state = await self.offload.run(sum(map(len, parts)), jobs.encode, parts)
            base = _Base(last.info.version, last.state_vector, state)
        self._bases[doc] = base
        return base
