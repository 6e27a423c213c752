"""Recording versions: who edited, when a burst of editing ends, and what it changed.

The recorder is a hub listener plus one background service. Listening is cheap and synchronous:
each local update only notes its author in the document's open *burst*. The Yjs diff of a version
is not assembled from keystrokes: when a version closes, the live document is diffed against the
state vector stored with the previous version, which gives exactly the update that takes the
previous version to this one (deletions included: Yjs always sends the whole delete set).

A burst closes when no update came for `version_idle_seconds`, after `version_max_seconds` of
continuous editing, on request (a labelled version), before and after a restore, when its room
unloads, and when the hub shuts down.

Several instances: updates relayed from another instance (`event.remote`) are not attributed
here; the instance where an edit happened records it. Version numbers are claimed optimistically
(`Store.append_version` refuses a number someone else took); the loser rebases its diff on the
winner's state vector and tries again, so versions never fork.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from crdt import jobs
from crdt.document import Document
from crdt.history import restore_update
from crdt.render import to_prosemirror
from server.core.hub import Hub
from server.core.identity import Identity
from server.core.listeners import HubListener, UpdateEvent
from server.core.room import Room, RoomState
from server.errors import StoreError
from server.history.archive import rebuild_version, version_json, version_parts
from server.stores.base import VersionInfo

log = logging.getLogger("tandem.history")

EMPTY_STATE_VECTOR = b"\x00"
# A document to record a version of: the live one, or the stored one's parts.
Source = Document | list[bytes]
_APPEND_ATTEMPTS = 5
# A document whose version failed is tried again after this, doubling up to the maximum.
_RETRY_FIRST = 2.0
_RETRY_MAX = 60.0


@dataclass(slots=True)
class Burst:
    """Edits since the last version: who made them and when."""

    started: float
    last: float
    authors: dict[str, str] = field(default_factory=dict)  # user id -> display name

    def merge(self, other: Burst) -> None:
        self.started = min(self.started, other.started)
        self.last = max(self.last, other.last)
        for user, name in other.authors.items():
            self.authors.setdefault(user, name)


@dataclass(frozen=True, slots=True)
class _Base:
    """The last recorded version, as the next one is computed against it."""

    version: int
    state_vector: bytes
    # Its full state (None: version 0, the empty document). It may hold edits the live
    # document lacks (another instance recorded it): the next version holds them too.
    state: bytes | None


class HistoryRecorder(HubListener):
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = hub.store
        self.offload = hub.offload
        config = hub.config
        self.idle_seconds = config.version_idle_seconds
        self.max_seconds = config.version_max_seconds
        self.checkpoint_every = config.version_checkpoint_every
        self._bursts: dict[str, Burst] = {}
        # Bursts of rooms that unloaded before their version closed, with their document.
        self._orphans: list[tuple[str, Source, Burst]] = []
        self._bases: dict[str, _Base] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._wakeup = asyncio.Event()
        # Documents whose last attempt failed: (failures in a row, not to be tried before).
        self._failed: dict[str, tuple[int, float]] = {}

    # -- listening (synchronous, on the room's ordered path) --------------------------------

    def update(self, event: UpdateEvent) -> None:
        if event.remote:
            return  # attributed and recorded by the instance where it happened
        now = time.monotonic()
        burst = self._bursts.get(event.room.name)
        if burst is None:
            burst = self._bursts[event.room.name] = Burst(started=now, last=now)
        burst.last = now
        if event.origin is not None:  # None: the server's own change (a restore)
            identity = event.origin.identity
            burst.authors.setdefault(identity.user, identity.name)

    def room_closed(self, room: Room) -> None:
        burst = self._bursts.pop(room.name, None)
        if burst is not None:
            self._orphans.append((room.name, _source(room), burst))
            self._wakeup.set()
        else:
            self._bases.pop(room.name, None)

    def deleted(self, doc: str, *, remote: bool = False) -> None:
        self._bursts.pop(doc, None)
        self._failed.pop(doc, None)
        self._orphans = [orphan for orphan in self._orphans if orphan[0] != doc]
        self._bases.pop(doc, None)

    async def quiesce(self, doc: str) -> None:
        async with self._locks[doc]:  # a version being written: the deletion erases it too
            pass

    def open_bursts(self) -> dict[str, Burst]:
        return dict(self._bursts)

    # -- the background service ------------------------------------------------------------

    async def run(self) -> None:
        """Close versions whose burst ended; on shutdown, close every open one."""
        tick = min(max(self.idle_seconds / 4, 0.05), 1.0)
        try:
            while True:
                try:
                    async with asyncio.timeout(tick):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass
                self._wakeup.clear()
                await self.close_due()
        except asyncio.CancelledError:
            await self.close_all()
            raise

    async def close_due(self) -> None:
        """Close the versions that are due; a document that failed waits for its retry time,
        so it never holds up the others."""
        now = time.monotonic()
        for doc in {doc for doc, _, _ in self._orphans}:
            if self._may_try(doc, now):
                await self._close_safely(doc, orphans_only=True)
        now = time.monotonic()
        for doc, burst in list(self._bursts.items()):
            due = now - burst.last >= self.idle_seconds or now - burst.started >= self.max_seconds
            if due and self._may_try(doc, now):
                await self._close_safely(doc)

    async def close_all(self) -> None:
        """Record every open burst (shutdown): those of unloaded rooms, then live rooms."""
        for doc in {doc for doc, _, _ in self._orphans} | set(self._bursts):
            await self._close_safely(doc)

    def _may_try(self, doc: str, now: float) -> bool:
        failed = self._failed.get(doc)
        return failed is None or now >= failed[1]

    async def _close_safely(self, doc: str, *, orphans_only: bool = False) -> None:
        """Close one document's versions; whatever fails stays queued for a later attempt and
        is logged, and the caller goes on with the other documents."""
        try:
            async with self._locks[doc]:
                await self._close_orphans(doc)
                if not orphans_only and doc in self._bursts:
                    await self._close_locked(doc, await self._document(doc))
                if doc not in self.hub.rooms and doc not in self._bursts:
                    self._bases.pop(doc, None)  # unloaded: keep nothing for it
        except StoreError as exc:
            self._retry_later(doc)
            log.error("event=version_failed doc=%s error=%s", doc, exc)
        except Exception:  # a bug, or content we cannot handle: this document only
            self._retry_later(doc)
            log.exception("event=version_failed doc=%s", doc)
        else:
            self._failed.pop(doc, None)

    def _retry_later(self, doc: str) -> None:
        failures = self._failed.get(doc, (0, 0.0))[0] + 1
        delay = min(_RETRY_FIRST * 2 ** (failures - 1), _RETRY_MAX)
        self._failed[doc] = (failures, time.monotonic() + delay)

    async def _close_orphans(self, doc: str) -> None:
        """Record the bursts of this document's unloaded rooms, oldest first (lock held)."""
        mine = [orphan for orphan in self._orphans if orphan[0] == doc]
        self._orphans = [orphan for orphan in self._orphans if orphan[0] != doc]
        for index, (_, document, burst) in enumerate(mine):
            try:
                await self._close_locked(doc, document, burst=burst, requeue=False)
            except BaseException:
                self._orphans = mine[index:] + self._orphans
                raise

    # -- closing a version -----------------------------------------------------------------

    async def close_version(
        self, doc: str, *, label: str | None = None, force: bool = False
    ) -> VersionInfo | None:
        """Close the open burst as a version; None when nothing was edited since the last one,
        unless `force` (a version asked for by someone, e.g. to give it a label)."""
        async with self._locks[doc]:
            await self._close_orphans(doc)
            document = await self._document(doc)
            return await self._close_locked(doc, document, label=label, force=force)

    async def restore(self, doc: str, version: int, by: Identity) -> VersionInfo:
        """Make the live document equal `version`, as one change every client receives.

        The edits before it become their own version first; the restore is then a version of
        its own, labelled "Restored from version N by NAME" (NoSuchVersion if N is unknown).
        """
        async with self._locks[doc]:
            target = await rebuild_version(self.store, doc, version)
            await self._close_orphans(doc)
            room = await self.hub.open_room(doc)
            await self._close_locked(doc, room.document)
            await self._base(doc)  # cached from here on: nothing awaits between apply and record
            room = await self._open_room(doc)  # it may have unloaded while we awaited
            target_body = to_prosemirror(target.content)
            if to_prosemirror(room.document.content) != target_body:
                update = restore_update(room.document, target)
                room.apply_update(update, origin=None)
            burst = self._bursts.pop(doc, None)
            now = time.monotonic()
            restorer = Burst(started=now, last=now, authors={by.user: by.name})
            if burst is not None:
                restorer.merge(burst)
            info = await self._close_locked(
                doc,
                room.document,
                label=f"Restored from version {version} by {by.name}",
                burst=restorer,
                restored_from=version,
            )
            assert info is not None
            log.info(
                "event=restored doc=%s version=%d as=%d by=%s", doc, version, info.version, by.user
            )
            # Notify /events subscribers (server/events).
            self.hub.events.publish(
                doc, {"type": "restored", "version": version, "by": by.user, "name": by.name}
            )
            return info

    async def _open_room(self, doc: str) -> Room:
        """The document's open room; returns without suspending when it is already loaded."""
        while True:
            room = await self.hub.open_room(doc)
            if room.state is RoomState.OPEN:
                return room

    async def _document(self, doc: str) -> Source:
        """The live document, or the stored one's parts when its room is not open."""
        room = self.hub.rooms.get(doc)
        return _source(room) if room is not None else (await self.store.load(doc)).parts

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

    async def _close_locked(
        self,
        doc: str,
        document: Source,
        *,
        label: str | None = None,
        burst: Burst | None = None,
        restored_from: int | None = None,
        requeue: bool = True,
        force: bool = False,
    ) -> VersionInfo | None:
        if burst is None:  # an explicit burst (unloaded room, restore) leaves the open one alone
            burst = self._bursts.pop(doc, None)
        if burst is None and not force:
            return None
        try:
            for _ in range(_APPEND_ATTEMPTS):
                base = await self._base(doc)
                # The only look at the document: what changed since the last version. The rest
                # runs in the worker for a large document: the new version's state and what
                # it added and removed.
                diff = await self._changes(document, base.state_vector)
                state_vector, state, added, removed = await self.offload.run(
                    len(base.state or b"") + len(diff), jobs.record_version, base.state, diff
                )
                authors = burst.authors if burst is not None else {}
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
                    # Notify /events subscribers and webhooks (server/events).
                    self.hub.events.publish(doc, {"type": "version", "version": version_json(info)})
                    return info
                self._bases.pop(doc, None)  # another instance recorded it: rebase and retry
            raise StoreError(f"could not record a version of {doc!r}: numbers kept moving")
        except BaseException:
            if burst is not None and requeue:  # keep the authors for the next attempt
                pending = self._bursts.get(doc)
                if pending is not None:
                    burst.merge(pending)
                self._bursts[doc] = burst
            raise


def _source(room: Room) -> Source:
    """A room's document to record: a large one as its parts (its diff since the last version
    may be most of it, which the worker computes), a small one itself."""
    return room.sync.parts() if room.sync.base is not None else room.document
