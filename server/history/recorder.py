"""Recording versions: who edited, when a burst of editing ends, and what it changed.

The recorder is a hub listener plus one background service. Listening is cheap and synchronous:
each local update only notes its author in the document's open *burst*. What a version changed
is computed when it closes, from the live document (server/history/writer.py).

A burst closes when no update came for `version_idle_seconds`, after `version_max_seconds` of
continuous editing, on request (a labelled version), before and after a restore, when its room
unloads, and when the hub shuts down.

Several instances: updates relayed from another instance (`event.remote`) are not attributed
here; the instance where an edit happened records it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crdt.history import restore_update
from crdt.render import to_prosemirror
from server.config import Config
from server.core.identity import Identity
from server.core.listeners import HubListener, UpdateEvent
from server.core.offload import Offload
from server.core.room import Room, RoomState
from server.errors import StoreError
from server.history.archive import rebuild_version, version_json
from server.history.writer import Source, VersionWriter
from server.stores.base import Store, VersionInfo

log = logging.getLogger("tandem.history")

# A document whose version failed is tried again after this, doubling up to the maximum.
_RETRY_FIRST = 2.0
_RETRY_MAX = 60.0

# What the recorder needs of the rest of the hub (wired in server/app.py):
OpenRoom = Callable[[str], Awaitable[Room]]  # the document's room, loaded if need be
FindRoom = Callable[[str], Room | None]  # its room if open; never loads
Publish = Callable[[str, Mapping[str, Any]], None]  # a notification of a document (events)


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


class HistoryRecorder(HubListener):
    def __init__(
        self,
        config: Config,
        store: Store,
        offload: Offload,
        *,
        open_room: OpenRoom,
        find_room: FindRoom,
        publish: Publish,
    ) -> None:
        self.store = store
        self.versions = VersionWriter(
            store, offload, checkpoint_every=config.version_checkpoint_every
        )
        self._open_room = open_room
        self._find_room = find_room
        self._publish = publish
        self.idle_seconds = config.version_idle_seconds
        self.max_seconds = config.version_max_seconds
        self._bursts: dict[str, Burst] = {}
        # Bursts of rooms that unloaded before their version closed, with their document.
        self._orphans: list[tuple[str, Source, Burst]] = []
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
        if event.author is not None:  # None: the server's own change (a restore)
            burst.authors[event.author.user] = event.author.name  # the latest name it gave

    def room_closed(self, room: Room) -> None:
        burst = self._bursts.pop(room.name, None)
        if burst is not None:
            self._orphans.append((room.name, _source(room), burst))
            self._wakeup.set()
        else:
            self.versions.forget(room.name)

    def deleted(self, doc: str, *, remote: bool = False) -> None:
        self._bursts.pop(doc, None)
        self._failed.pop(doc, None)
        self._orphans = [orphan for orphan in self._orphans if orphan[0] != doc]
        self.versions.forget(doc)

    async def quiesce(self, doc: str) -> None:
        async with self._locks[doc]:  # a version being written: the deletion erases it too
            pass

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
                if self._find_room(doc) is None and doc not in self._bursts:
                    self.versions.forget(doc)  # unloaded: keep nothing for it
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

    async def save_version(self, doc: str, label: str | None) -> tuple[VersionInfo, bool]:
        """A version someone asked for: the open burst closed under `label`. When no edit came
        since the newest version and that one has no name (an automatic one), it gets `label`
        instead of an empty version after it; the flag says so (True: named, not new)."""
        async with self._locks[doc]:
            await self._close_orphans(doc)
            if label is not None and doc not in self._bursts:
                newest = await self.store.last_version(doc)
                if newest is not None and newest.info.label is None:
                    named = await self.store.name_version(doc, newest.info, label)
                    if named is not None:
                        log.info("event=version_named doc=%s version=%d", doc, named.version)
                        self._publish(doc, {"type": "version", "version": version_json(named)})
                        return named, True
            document = await self._document(doc)
            info = await self._close_locked(doc, document, label=label, force=True)
            assert info is not None  # forced: always a version
            return info, False

    async def restore(self, doc: str, version: int, by: Identity) -> VersionInfo:
        """Make the live document equal `version`, as one change every client receives.

        The edits before it become their own version first; the restore is then a version of
        its own, labelled "Restored from version N by NAME" (NoSuchVersion if N is unknown).
        """
        async with self._locks[doc]:
            target = await rebuild_version(self.store, doc, version)
            await self._close_orphans(doc)
            room = await self._open_room(doc)
            await self._close_locked(doc, room.document)
            # Cached from here on: nothing awaits between applying the restore and recording it.
            await self.versions.prepare(doc)
            room = await self._open_live_room(doc)  # it may have unloaded while we awaited
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
            self._publish(
                doc, {"type": "restored", "version": version, "by": by.user, "name": by.name}
            )
            return info

    async def _open_live_room(self, doc: str) -> Room:
        """The document's open room; returns without suspending when it is already loaded."""
        while True:
            room = await self._open_room(doc)
            if room.state is RoomState.OPEN:
                return room

    async def _document(self, doc: str) -> Source:
        """The live document, or the stored one's parts when its room is not open."""
        room = self._find_room(doc)
        return _source(room) if room is not None else (await self.store.load(doc)).parts

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
            info = await self.versions.write(
                doc,
                document,
                burst.authors if burst is not None else {},
                label=label,
                restored_from=restored_from,
            )
        except BaseException:
            if burst is not None and requeue:  # keep the authors for the next attempt
                pending = self._bursts.get(doc)
                if pending is not None:
                    burst.merge(pending)
                self._bursts[doc] = burst
            raise
        # Notify /events subscribers and webhooks (server/events).
        self._publish(doc, {"type": "version", "version": version_json(info)})
        return info


def _source(room: Room) -> Source:
    """A room's document to record: a large one as its parts (its diff since the last version
    may be most of it, which the worker computes), a small one itself."""
    return room.sync.parts() if room.sync.base is not None else room.document
