"""The hub: the registry of open rooms and the background work that keeps them durable.

Rooms load from the store on first join (concurrent first joins share one load) and unload once
they have been empty for `unload_delay` and everything they applied is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from crdt.awareness import AwarenessEntry
from crdt.document import Document
from crdt.jobs import split_state
from crdt.protocol import SyncUpdate, parse_message
from server.config import Config
from server.core.closecodes import CloseCode
from server.core.connection import Connection
from server.core.documents import Documents
from server.core.identity import Identity
from server.core.initial_sync import Base
from server.core.instrumented_store import InstrumentedStore
from server.core.limits import LimitExceeded, PresenceLimits
from server.core.listeners import AwarenessEvent, HubListener, UpdateEvent
from server.core.liveness import Liveness
from server.core.offload import Offload
from server.core.persistence import Persister
from server.core.room import Room, RoomState
from server.core.services import SLOW_SHUTDOWN_SECONDS, log_pending_tasks, supervised
from server.core.throttle import AwarenessThrottle
from server.errors import TandemError
from server.ops.metrics import Metrics
from server.stores.base import Store

log = logging.getLogger("tandem.hub")


class DocumentDeleted(TandemError):
    """A join of a document an admin deleted (and nobody created again): 4404, as its open
    editors were closed, and nothing of it is opened or stored."""

    close_code = CloseCode.NOT_FOUND
    reason = "document deleted"

    def __init__(self, doc: str) -> None:
        super().__init__(f"document {doc!r} was deleted")
        self.doc = doc


class Hub:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.metrics = Metrics()
        self.store: Store = InstrumentedStore(store, self.metrics)  # latency/errors per call
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        # Large documents' whole-document work runs in a worker process (server/core/offload.py).
        self.offload = Offload(config.sync_chunk_bytes)
        self.persister = Persister(
            self.store,
            flush_interval=config.flush_interval,
            compact_max_updates=config.compact_max_updates,
            compact_max_bytes=config.compact_max_bytes,
            offload=self.offload,
        )
        self._tasks: asyncio.TaskGroup | None = None
        self.presence_limits = PresenceLimits.of(config)
        self.started_at = time.time()
        self.listeners: list[HubListener] = []
        self._services: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self.health_checks: list[Callable[[], str | None]] = []
        # Coalesced awareness relays (server/core/throttle.py).
        self.awareness_throttle = AwarenessThrottle(
            config.presence_interval, on_coalesced=self.metrics.awareness_coalesced.inc
        )
        self.add_service("awareness-throttle", self.awareness_throttle.run)
        # Dead peers lose their presence within `presence_timeout` (server/core/liveness.py).
        self.liveness = Liveness(
            config.presence_timeout,
            self.rooms.values,
            on_silent=lambda room, conn: self._tell("silent", room, conn),
            on_returned=lambda room, conn: self._tell("returned", room, conn),
        )
        self.add_service("liveness", self.liveness.run)
        self.documents = Documents(self)  # the content API (server/core/documents.py)

    def add_listener(self, listener: HubListener) -> None:
        self.listeners.append(listener)

    def add_service(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Background work (broker, webhooks, …) run in the hub's task group until shutdown."""
        self._services.append((name, run))

    def add_health_check(self, problem: Callable[[], str | None]) -> None:
        """A readiness check for /readyz: returns what is wrong, or None when all is well."""
        self.health_checks.append(problem)

    # -- lifecycle --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Hub]:
        """Open the store and run the background work until the block exits, then flush."""
        await self.store.open()
        watchdog: asyncio.TimerHandle | None = None
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                background = [
                    tasks.create_task(self.persister.run(), name="tandem-flush"),
                    tasks.create_task(self._reap_idle_rooms(), name="tandem-reaper"),
                ]
                background += [
                    tasks.create_task(supervised(name, run), name=f"tandem-{name}")
                    for name, run in self._services
                ]
                try:
                    yield self
                finally:
                    self._tasks = None
                    watchdog = asyncio.get_running_loop().call_later(
                        SLOW_SHUTDOWN_SECONDS, log_pending_tasks
                    )
                    for task in background:
                        task.cancel()
        finally:
            await self._shutdown()
            self.offload.close()
            if watchdog is not None:
                watchdog.cancel()

    async def _shutdown(self) -> None:
        for room in list(self.rooms.values()):
            for conn in list(room.connections):
                conn.close(CloseCode.RESTART, "server restarting")
        for attempt in range(5):
            if await self.persister.flush():
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        else:
            log.error("event=shutdown_flush_failed pending=%d", self.persister.pending_count)
        for room in self.rooms.values():
            room.close()
        self.rooms.clear()
        await self.store.close()

    # -- rooms ------------------------------------------------------------------------------

    async def join(self, doc: str, conn: Connection) -> Room:
        """Admit a connection to the document's room, opening it if needed; a deleted document
        (its tombstone in the store, shared by every hub) is refused: DocumentDeleted."""
        if doc not in self.rooms and await self.store.deleted_at(doc) is not None:
            raise DocumentDeleted(doc)
        while True:
            room = await self.open_room(doc)
            if room.state is RoomState.OPEN:  # else it was unloaded while we waited: reopen
                break
        room.join(conn)
        self.metrics.connections.inc()
        try:
            for listener in self.listeners:
                listener.joined(room, conn)
        except BaseException:
            self.leave(room, conn)  # a join that failed half-way leaves nothing behind
            raise
        log.info(
            "event=joined doc=%s conn=%s user=%s conns=%d",
            doc,
            conn.id,
            conn.identity.user,
            len(room.connections),
        )
        return room

    def leave(self, room: Room, conn: Connection) -> None:
        """Release a connection. Whatever fails on the way, the gauge and every listener still
        hear of it: a connection half released would pin its room and stay in presence."""
        try:
            room.leave(conn)
        finally:
            self.metrics.connections.dec()
            for listener in self.listeners:
                try:
                    listener.left(room, conn)
                except Exception:
                    log.exception(
                        "event=listener_failed hook=left doc=%s conn=%s", room.name, conn.id
                    )
            log.info(
                "event=left doc=%s conn=%s conns=%d", room.name, conn.id, len(room.connections)
            )

    async def open_room(self, doc: str) -> Room:
        room = self.rooms.get(doc)
        if room is not None:
            return room
        loading = self._loading.get(doc)
        if loading is not None:
            return await asyncio.shield(loading)
        if len(self.rooms) + len(self._loading) >= self.config.max_rooms:
            too_many = f"too many documents open ({self.config.max_rooms}); try again later"
            raise LimitExceeded("rooms", CloseCode.TRY_AGAIN_LATER, too_many)
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._loading[doc] = future
        try:
            room = await self._load(doc)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the waiters (if any) re-raise it; don't warn when there are none
            raise
        finally:
            del self._loading[doc]
        self.rooms[doc] = room
        future.set_result(room)
        for listener in self.listeners:
            listener.room_opened(room)
        return room

    async def document_parts(self, doc: str) -> list[bytes]:
        """The document's current content as updates (the live room's when it is open, else
        the store's), for whole-document work in the worker (crdt/jobs.py)."""
        room = self.rooms.get(doc)
        if room is not None:
            return room.sync.parts()
        return (await self.store.load(doc)).parts

    async def delete(self, doc: str) -> bool:
        """Delete a document: its editors are closed (4404, no reconnect), then its data.

        Listeners hear it first (`deleted`): the broker tells every other instance, which
        forgets and erases the document in turn (`forget`, `erase`).
        """
        had_room = self.forget(doc)
        existed = await self.erase(doc)
        log.info("event=document_deleted doc=%s existed=%s", doc, existed)
        return existed or had_room

    def forget(self, doc: str, *, remote: bool = False) -> bool:
        """Close a deleted document's editors (4404) and its room, and tell the listeners to
        drop what they keep for it; `remote`: it was deleted on another instance."""
        room = self.rooms.pop(doc, None)
        if room is not None:
            room.close()  # frames still arriving from its editors are ignored
            for conn in list(room.connections):
                conn.close(CloseCode.NOT_FOUND, "document deleted")
        for listener in self.listeners:
            listener.deleted(doc, remote=remote)
        return room is not None

    async def erase(self, doc: str) -> bool:
        """Delete a forgotten document's data once every write of it already under way here
        has landed (a flush, a version), so that nothing of it is written afterwards."""
        for listener in self.listeners:
            await listener.quiesce(doc)
        return await self.persister.delete(doc)

    async def _load(self, doc: str) -> Room:
        started = time.perf_counter()
        stored = await self.store.load(doc)
        size = stored.nbytes
        base = None
        if size >= self.config.sync_chunk_bytes:
            # Rebuilt and split in the worker, then applied here a piece per turn of the loop:
            # the pieces become the base that joiners are streamed (server/core/initial_sync.py).
            frames, delete_set, state_vector = await self.offload.run(
                size, split_state, stored.parts, self.config.sync_chunk_bytes
            )
            document = Document()
            for frame in frames:
                message = parse_message(frame, len(frame))
                assert isinstance(message, SyncUpdate)
                document.apply_stored(message.update)
                await asyncio.sleep(0)
            document.apply_stored(delete_set)
            base = Base(tuple(frames), state_vector)
        else:
            document = await asyncio.to_thread(Document.load, stored.snapshot, stored.updates)
        log.info(
            "event=room_loaded doc=%s updates=%d bytes=%d ms=%.1f",
            doc,
            len(stored.updates),
            size,
            (time.perf_counter() - started) * 1e3,
        )
        return Room(
            doc,
            document,
            on_update=self._on_update,
            on_awareness=self._on_awareness,
            max_frame=self.config.max_frame,
            throttle=self.awareness_throttle,
            max_doc_bytes=self.config.max_doc_bytes,
            size=size,
            sync_chunk_bytes=self.config.sync_chunk_bytes,
            base=base,
            on_rebase=self._rebase_soon,
            presence=self.presence_limits,
        )

    def _rebase_soon(self, room: Room) -> None:
        """The room's streamed base is due for a rebuild (on the room's path: no awaiting)."""
        if self._tasks is not None:
            parts = room.sync.start_rebuild()  # the document now, taken in the same turn
            self._tasks.create_task(self._rebase(room, parts), name=f"tandem-rebase-{room.name}")

    async def _rebase(self, room: Room, parts: list[bytes]) -> None:
        try:
            frames, _, state_vector = await self.offload.run(
                sum(len(part) for part in parts),
                split_state,
                parts,
                self.config.sync_chunk_bytes,
            )
        except Exception:  # the old base (or none) keeps serving; asked again on a change
            log.exception("event=rebase_failed doc=%s", room.name)
            room.sync.rebased(None)
            return
        room.sync.rebased(Base(tuple(frames), state_vector) if room.is_open else None)
        log.info("event=rebased doc=%s frames=%d", room.name, len(frames))
        if room.is_open and room.sync.rebuild_due(room.size):  # it grew fast meanwhile
            self._rebase_soon(room)

    def _on_update(
        self,
        room: Room,
        update: bytes,
        origin: Connection | None,
        remote: bool,
        by: Identity | None,
    ) -> None:
        tally = self.metrics.updates
        if not remote:  # the instance that received it from a client persists it
            self.persister.add(room.name, update)
            tally.updates_in += 1
            tally.bytes_in += len(update)
        receivers = len(room.connections) - (origin is not None)
        tally.updates_out += receivers
        tally.bytes_out += receivers * len(update)
        event = UpdateEvent(room, update, origin, remote, by)
        for listener in self.listeners:
            listener.update(event)

    def _tell(self, hook: str, room: Room, conn: Connection) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, hook)(room, conn)
            except Exception:
                log.exception("event=listener_failed hook=%s doc=%s", hook, room.name)

    def _on_awareness(
        self, room: Room, entries: list[AwarenessEntry], origin: Connection | None, remote: bool
    ) -> None:
        event = AwarenessEvent(room, entries, origin, remote)
        for listener in self.listeners:
            listener.awareness(event)

    async def _reap_idle_rooms(self) -> None:
        interval = max(min(self.config.unload_delay / 2, 1.0), 0.05)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            idle = [
                room
                for room in self.rooms.values()
                if room.empty_since is not None
                and now - room.empty_since >= self.config.unload_delay
            ]
            if not idle or not await self.persister.flush():
                continue
            for room in idle:
                # Re-check after the await: someone may have joined, or written, meanwhile.
                if (
                    room.empty_since is not None
                    and not self.persister.has_pending(room.name)
                    and self.rooms.get(room.name) is room
                ):
                    del self.rooms[room.name]
                    room.close()
                    for listener in self.listeners:
                        listener.room_closed(room)
                    log.info("event=room_unloaded doc=%s", room.name)
