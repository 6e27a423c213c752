"""One client socket as the room sees it: identity, a bounded outbox, and how frames leave.

The room never awaits a client. A connection made with a `spawn` function (the WebSocket route)
writes its queued frames once the current callback is done (one `call_soon` per connection and
turn of the loop): uvicorn's send completes without suspending unless the transport is full, so
the common case costs no task switch and no task. Only when a write would wait is a writer task
spawned; it finishes that write and drains the frames queued meanwhile. A connection without
`spawn` (tests, /events) queues every frame for `run_writer`. Either way a client whose queue
passes its bounds is closed (1013) and re-syncs when it reconnects, so one slow reader never
stalls a room.

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
        "_busy",
        "_close",
        "_flush_scheduled",
        "_outbox",
        "_outbox_bytes",
        "_overflow_cancel",
        "_overflowed",
        "_sending",
        "_spawn",
        "_sync",
        "_sync_next",
        "_wakeup",
        "_writer",
        "awareness_ids",
        "channel",
        "id",
        "identity",
        "max_bytes",
        "max_frames",
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
    ) -> None:
        self.id = f"c{next(_ids)}"
        self.channel = channel
        self.identity = identity
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.state = ConnectionState.OPEN
        # Awareness client ids this connection announced: removed for everyone when it leaves.
        self.awareness_ids: set[int] = set()
        # Made on the first queued frame and dropped when empty: most sockets are idle.
        self._outbox: deque[bytes] | None = None
        self._outbox_bytes = 0
        self._spawn = spawn
        self._flush_scheduled = False
        # A writer task owns the socket (a write had to wait): later frames queue behind it.
        self._busy = False
        self._wakeup: asyncio.Event | None = None if spawn is not None else asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._sending = False
        self._overflow_cancel = False
        self._overflowed = False
        # The initial sync under way (see SyncStream), and one asked for while it runs.
        self._sync: SyncStream | None = None
        self._sync_next: SyncStream | None = None
        self.syncing = False  # the room relays no updates to it meanwhile: the sync carries them

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.identity.user} {self.state.value}>"

    @property
    def is_open(self) -> bool:
        return self.state is ConnectionState.OPEN

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
            self.close(CloseCode.TRY_AGAIN_LATER, "too slow: send queue overflowed")
            self._overflowed = True  # a writer task not started yet sends the close at once
            if self._sending and self._writer is not None:
                self._overflow_cancel = True
                self._writer.cancel()  # stuck on a full socket: stop waiting, send the close
            return
        if self._spawn is None:
            self._wake()
        elif not self._busy:
            if len(outbox) >= MERGE_RUN:
                self.flush()  # a long burst in one callback: send it in runs, not all at the end
            else:
                self._schedule_flush()

    def stream(self, sync: SyncStream) -> None:
        """Start an initial sync, or run it after the one under way (only the latest waits)."""
        if self.state is not ConnectionState.OPEN:
            return
        if self._sync is not None:
            self._sync_next = sync
            return
        self._sync = sync
        self.syncing = True
        if self._spawn is None:
            self._wake()
        elif not self._busy:
            self._schedule_flush()

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with this code (a sync under way is dropped)."""
        if self.state is not ConnectionState.OPEN:
            return
        self.state = ConnectionState.CLOSING
        self._close = (code, reason)
        self._end_sync()
        if self._spawn is None:
            self._wake()
        elif not self._busy:
            self._schedule_flush()

    def detach(self) -> None:
        """The peer is gone: drop whatever is queued and let the writer finish."""
        self.state = ConnectionState.CLOSED
        self._outbox = None
        self._outbox_bytes = 0
        self._end_sync()
        self._wake()

    def _end_sync(self) -> None:
        self._sync = self._sync_next = None
        self.syncing = False

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    # -- writing after the current callback, or in a writer task when the socket is full ---

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> None:
        """Write what is queued (then the close, if asked) as far as the socket takes it now;
        the rest goes to a writer task. Only for connections made with `spawn`."""
        while not self._busy and self.state is not ConnectionState.CLOSED:
            if self._outbox or self._sync is not None:
                self._write_now(self.channel.send(self._next_frame()))
            elif self.state is ConnectionState.CLOSING and self._close is not None:
                self.state = ConnectionState.CLOSED
                code, reason = self._close
                self._write_now(self.channel.close(code, reason))
            else:
                return

    async def finished(self) -> None:
        """Return once a writer task under way is done (queued frames and the close sent).
        Cancelling the caller cancels the writer too."""
        if self._writer is not None:
            await self._writer

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

    def _write_now(self, write: Coroutine[Any, Any, None]) -> None:
        """Run a channel write by hand; if it would wait, hand it to a writer task."""
        try:
            waiting = write.send(None)
        except StopIteration:
            return
        except Exception as exc:  # the peer is gone; the reader loop sees it too
            log.debug("event=write_failed conn=%s error=%r", self.id, exc)
            self.state = ConnectionState.CLOSED
            return
        assert self._spawn is not None
        self._busy = True
        self._writer = self._spawn(self._finish(write, waiting))

    async def _finish(self, write: Coroutine[Any, Any, None], waiting: Any) -> None:
        """Complete the suspended write, then everything queued behind it, then the close."""
        try:
            if self._overflowed:
                write.close()  # the queue overflowed before this task ran: give up the write
            else:
                self._sending = True
                await _resume(write, waiting)
                self._sending = False
                await self._send_queued()
        except asyncio.CancelledError:
            task = self._writer
            if not self._overflow_cancel or task is None or task.uncancel() > 0:
                raise
        except Exception as exc:
            log.debug("event=writer_stopped conn=%s error=%r", self.id, exc)
            self.state = ConnectionState.CLOSED
        finally:
            self._sending = False
            self._writer = None
            self._busy = False
        await self._send_close()

    async def _send_queued(self) -> None:
        while (self._outbox or self._sync is not None) and self.state is not ConnectionState.CLOSED:
            frame = self._next_frame()
            self._sending = True
            await self.channel.send(frame)
            self._sending = False

    async def _send_close(self) -> None:
        if self.state is ConnectionState.CLOSING and self._close is not None:
            self.state = ConnectionState.CLOSED
            code, reason = self._close
            try:
                async with asyncio.timeout(5):
                    await self.channel.close(code, reason)
            except Exception as exc:
                log.debug("event=close_failed conn=%s error=%r", self.id, exc)

    # -- the queue-only mode ---------------------------------------------------------------

    async def run_writer(self) -> None:
        """Drain the outbox to the channel until the connection closes (no `spawn` given)."""
        if self._wakeup is None:
            raise RuntimeError(f"{self!r} writes by itself: it was given a spawn function")
        self._writer = asyncio.current_task()
        try:
            await self._drain()
        except asyncio.CancelledError:
            # Only our own cancel (overflow while blocked in send) is absorbed, then we close.
            task = self._writer
            if not self._overflow_cancel or task is None or task.uncancel() > 0:
                raise
        except Exception as exc:  # the socket went away under us; the reader sees it too
            log.debug("event=writer_stopped conn=%s error=%r", self.id, exc)
            self.state = ConnectionState.CLOSED
            return
        await self._send_close()

    async def _drain(self) -> None:
        wakeup = self._wakeup
        assert wakeup is not None
        while True:
            await wakeup.wait()
            wakeup.clear()
            await self._send_queued()
            if self.state is not ConnectionState.OPEN:
                return


async def _resume(write: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive a coroutine started by hand to its end, as a Task would: `waiting` is what it
    yielded, a future it waits on (uvicorn's "writable" event) or None for one loop turn."""
    while True:
        try:
            if waiting is None:
                await _yield_once()
            else:
                # The write marked the future as awaited by a task; this task now is the one.
                waiting._asyncio_future_blocking = False
                await waiting
        except BaseException as exc:
            try:
                waiting = write.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = write.send(None)  # the future is done: the write reads its result
            except StopIteration:
                return


class _YieldOnce:
    """What a bare `yield` in a coroutine asks for: one turn of the event loop."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def _yield_once() -> _YieldOnce:
    return _YieldOnce()
