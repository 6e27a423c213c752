"""One client socket as the room sees it: identity, a bounded outbox, and how frames leave.

The room never awaits a client. Frames leave in one way: `flush` writes what is queued, then the
close if one was asked for, as far as the socket takes it now. uvicorn's send completes without
suspending unless the transport is full, so the common case costs no task switch and no task;
a write that would wait goes on in a writer task (made by `spawn`), which flushes again once it
is done. A connection made with `spawn` (the routes) flushes once the current callback is done
(one `call_soon` per connection and turn of the loop); one made without it holds its frames
until `flush` is called (tests read them with `queued`). A client whose queue passes its bounds
is closed (1013) and re-syncs when it reconnects, so one slow reader never stalls a room.

An initial sync (the answer to a client's sync step 1) is not backlog: it is a `SyncStream`, a
sequence of frames pulled one at a time as the socket drains and never counted against the
queue's bounds, so a document of any size up to its limit reaches a joiner however slow the link
(README, Large documents). The room skips a syncing connection when it relays
updates; the stream's last frame, computed when the writer reaches it, carries them.

A run of document updates waiting together for one client (a burst read in one go, or a client
that reads slower than others write) leaves as one merged update frame when the room marked
them `MergeableUpdate`: one send and one apply on the client instead of one per update. Order
is kept; nothing is dropped; other messages (awareness, sync steps) are never merged or moved.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
import types
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Sequence
from enum import Enum
from typing import Any, Protocol

from crdt.errors import CrdtError
from crdt.protocol import MergeableUpdate, merge_sync_updates
from server.core.closecodes import CloseCode
from server.core.identity import ANONYMOUS, Identity

log = logging.getLogger("tandem.connection")

_ids = itertools.count(1)

# Updates merged into one frame at most (pycrdt's merge is superlinear in their number; at this
# size it costs about a microsecond per update); also the outbox length that flushes at once.
MERGE_RUN = 100
# A close that has to wait (the peer reads nothing) is given up after this many seconds.
CLOSE_WAIT = 5.0

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class Channel(Protocol):
    """The transport a connection speaks over (a WebSocket in production, a queue in tests)."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class SyncStream:
    """An initial sync: shared frames sent in order as the socket drains, then `final()`
    (computed when the writer gets there, so it holds whatever the room applied meanwhile)."""

    __slots__ = ("final", "frames", "index")

    def __init__(self, frames: Sequence[bytes], final: Callable[[], bytes]) -> None:
        self.frames = frames
        self.index = 0
        self.final = final

    @property
    def sent_bytes(self) -> int:
        return sum(len(frame) for frame in self.frames[: self.index])


class ConnectionState(Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Connection:
    __slots__ = (
        "_close",
        "_flush_due",
        "_outbox",
        "_outbox_bytes",
        "_spawn",
        "_sync",
        "_sync_next",
        "_writer",
        "author",
        "awareness_ids",
        "channel",
        "guest",
        "heard",
        "heartbeat",
        "id",
        "identity",
        "max_bytes",
        "max_frames",
        "silent",
        "state",
        "syncing",
    )

    def __init__(
        self,
        channel: Channel,
        *,
        identity: Identity = ANONYMOUS,
        max_frames: int = 2048,
        max_bytes: int = 16 * 1024 * 1024,
        spawn: Spawn | None = None,
        heartbeat: float = 0.0,
    ) -> None:
        self.id = f"c{next(_ids)}"
        self.channel = channel
        self.identity = identity
        # Who its edits are by: an anonymous one's is `guest` under the name it announced (room).
        self.author = identity
        self.guest = f"anon-{secrets.token_hex(4)}" if identity.anonymous else identity.user
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.state = ConnectionState.OPEN
        # Awareness client ids this connection announced: removed for everyone when it leaves.
        self.awareness_ids: set[int] = set()
        # Liveness (server/core/liveness.py): the renewal period the client promised (0: none,
        # a stock client), when it was last heard from, and whether its presence was withdrawn
        # for its silence (the socket stays: it may be a slow link that comes back).
        self.heartbeat = heartbeat
        self.heard = time.monotonic()
        self.silent = False
        # Made on the first queued frame and dropped when empty: most sockets are idle.
        self._outbox: deque[bytes] | None = None
        self._outbox_bytes = 0
        self._spawn = spawn
        self._flush_due = False  # a flush is scheduled for after the current callback
        # The task finishing a write that had to wait: it owns the socket until it is done.
        self._writer: asyncio.Task[None] | None = None
        self._close: tuple[int, str] | None = None
        # The initial sync under way (see SyncStream), and one asked for while it runs.
        self._sync: SyncStream | None = None
        self._sync_next: SyncStream | None = None
        self.syncing = False  # the room relays no updates to it meanwhile: the sync carries them

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.identity.user} {self.state.value}>"

    @property
    def is_open(self) -> bool:
        return self.state is ConnectionState.OPEN

    @property
    def queued(self) -> tuple[bytes, ...]:
        """The frames waiting to be written, oldest first (not an initial sync under way)."""
        return tuple(self._outbox or ())

    @property
    def sync(self) -> SyncStream | None:
        """The initial sync under way, if any."""
        return self._sync

    @property
    def closed_with(self) -> tuple[int, str] | None:
        """The code and reason it was closed with (None: open, or the peer went away)."""
        return self._close

    def send(self, frame: bytes) -> None:
        """Queue a frame without waiting; overflow closes the connection instead of blocking."""
        if self.state is not ConnectionState.OPEN:
            return
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        outbox.append(frame)
        self._outbox_bytes += len(frame)
        if len(outbox) > self.max_frames or self._outbox_bytes > self.max_bytes:
            log.warning(
                "event=send_queue_overflow conn=%s frames=%d bytes=%d",
                self.id,
                len(outbox),
                self._outbox_bytes,
            )
            self._outbox = None
            self._outbox_bytes = 0
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.cancel()  # stuck on a full socket (or not started): the close goes next
            self.close(CloseCode.TRY_AGAIN_LATER, "too slow: send queue overflowed")
        elif len(outbox) >= MERGE_RUN and self._spawn is not None and self._writer is None:
            self.flush()  # a long burst in one callback: send it in runs, not all at the end
        else:
            self._flush_soon()

    def stream(self, sync: SyncStream) -> None:
        """Start an initial sync, or run it after the one under way (only the latest waits)."""
        if self.state is not ConnectionState.OPEN:
            return
        if self._sync is not None:
            self._sync_next = sync
            return
        self._sync = sync
        self.syncing = True
        self._flush_soon()

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with this code (a sync under way is dropped)."""
        if self.state is not ConnectionState.OPEN:
            return
        self.state = ConnectionState.CLOSING
        self._close = (code, reason)
        self._end_sync()
        self._flush_soon()

    def detach(self) -> None:
        """The peer is gone: drop whatever is queued; a write under way just ends."""
        self.state = ConnectionState.CLOSED
        self._outbox = None
        self._outbox_bytes = 0
        self._end_sync()

    def _end_sync(self) -> None:
        self._sync = self._sync_next = None
        self.syncing = False

    async def finished(self) -> None:
        """Return once the writes under way are done (what was queued and the close are out,
        or given up). Cancelling the caller stops the writer too."""
        while (writer := self._writer) is not None:
            try:
                await asyncio.wait([writer])
            except asyncio.CancelledError:
                writer.cancel()
                raise

    # -- how frames leave ------------------------------------------------------------------

    def _flush_soon(self) -> None:
        if self._spawn is not None and self._writer is None and not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_due = False
        self.flush()

    def flush(self) -> None:
        """Write what is queued, then the close if one was asked for, as far as the socket
        takes it now; a write that would wait goes on in a writer task."""
        while self._writer is None and self.state is not ConnectionState.CLOSED:
            if self._outbox or self._sync is not None:
                self._write(self.channel.send(self._next_frame()), closing=False)
            elif self.state is ConnectionState.CLOSING and self._close is not None:
                self.state = ConnectionState.CLOSED
                self._write(self.channel.close(*self._close), closing=True)
            else:
                return

    def _next_frame(self) -> bytes:
        """The next frame to send: the head of the outbox, merged with the updates right
        behind it when it and they are `MergeableUpdate`s; with nothing queued, the next frame
        of the initial sync (queued frames, e.g. presence, never wait behind a long sync)."""
        outbox = self._outbox
        if not outbox:
            return self._next_sync_frame()
        frame = outbox.popleft()
        self._outbox_bytes -= len(frame)
        if outbox and type(frame) is MergeableUpdate and type(outbox[0]) is MergeableUpdate:
            run: list[bytes] = [frame]
            while outbox and len(run) < MERGE_RUN and type(outbox[0]) is MergeableUpdate:
                run.append(outbox.popleft())
            try:
                merged = merge_sync_updates(run)
            except CrdtError as exc:  # never expected (they were all applied): one by one
                log.error("event=merge_failed conn=%s frames=%d error=%s", self.id, len(run), exc)
                outbox.extendleft(reversed(run[1:]))
            else:
                self._outbox_bytes -= sum(len(f) for f in run) - len(frame)
                frame = merged
        if not outbox:
            self._outbox = None
        return frame

    def _next_sync_frame(self) -> bytes:
        sync = self._sync
        assert sync is not None
        if sync.index < len(sync.frames):
            frame = sync.frames[sync.index]
            sync.index += 1
            return frame
        # The last frame: from here on the room relays updates to this connection again, so
        # nothing applied after this moment is missed and nothing before it comes twice.
        frame = sync.final()
        self._sync, self._sync_next = self._sync_next, None
        self.syncing = self._sync is not None
        return frame

    def _write(self, write: Coroutine[Any, Any, None], *, closing: bool) -> None:
        """Run a channel write by hand; if it would wait, a writer task finishes it."""
        try:
            waiting = write.send(None)
        except StopIteration:
            return
        except Exception as exc:  # the peer is gone; the reader loop sees it too
            self._failed(exc, closing=closing)
            return
        spawn = self._spawn or asyncio.create_task
        writer = self._writer = spawn(self._finish(write, waiting, closing=closing))
        writer.add_done_callback(self._writer_done)

    async def _finish(
        self, write: Coroutine[Any, Any, None], waiting: Any, *, closing: bool
    ) -> None:
        """Complete a write that had to wait; a close within CLOSE_WAIT (the peer may have
        stopped reading altogether: the ping timeout then ends the socket)."""
        try:
            async with asyncio.timeout(CLOSE_WAIT if closing else None):
                await _resume(write, waiting)
        except Exception as exc:
            self._failed(exc, closing=closing)

    def _failed(self, exc: Exception, *, closing: bool) -> None:
        log.debug(
            "event=%s conn=%s error=%r", "close_failed" if closing else "write_failed", self.id, exc
        )
        self.state = ConnectionState.CLOSED

    def _writer_done(self, writer: asyncio.Task[None]) -> None:
        if writer is not self._writer:
            return  # let go when the queue overflowed
        self._writer = None
        if writer.cancelled():
            self.detach()  # stopped from outside: nothing more goes out
        self.flush()


@types.coroutine
def _resume(write: Coroutine[Any, Any, None], waiting: Any) -> Generator[Any, Any, None]:
    """Go on with a coroutine started by hand, in the task that awaits this, as if that task had
    run it from the start: what it yielded (`waiting`, a future it waits on or None for one loop
    turn) and all it yields after go to the task, and what the task sends or throws goes back."""
    while True:
        try:
            sent = yield waiting
        except GeneratorExit:
            write.close()
            raise
        except BaseException as exc:
            try:
                waiting = write.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = write.send(sent)
            except StopIteration:
                return
