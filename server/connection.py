"""One client socket as the room sees it: identity, a bounded outbox, and how frames leave.

The room never awaits a client. A connection made with a `spawn` function (the WebSocket route)
writes each frame at once when the socket can take it: uvicorn's send completes without
suspending unless the transport is full, so the common case costs no task switch and no task.
Only when a write would wait is a writer task spawned; it finishes that write and drains the
frames queued meanwhile. A connection without `spawn` (tests, /events) queues every frame for
`run_writer`. Either way a client whose queue passes its bounds is closed (1013) and re-syncs
when it reconnects, so one slow reader never stalls a room.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from enum import Enum
from typing import Any, Protocol

from server.closecodes import CloseCode
from server.identity import ANONYMOUS, Identity

log = logging.getLogger("tandem.connection")

_ids = itertools.count(1)

Spawn = Callable[[Coroutine[Any, Any, None]], object]


class Channel(Protocol):
    """The transport a connection speaks over (a WebSocket in production, a queue in tests)."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class ConnectionState(Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Connection:
    __slots__ = (
        "_busy",
        "_close",
        "_outbox",
        "_outbox_bytes",
        "_overflow_cancel",
        "_sending",
        "_spawn",
        "_wakeup",
        "_writer",
        "awareness_ids",
        "channel",
        "id",
        "identity",
        "max_bytes",
        "max_frames",
        "state",
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
        self._outbox: deque[bytes] = deque()
        self._outbox_bytes = 0
        self._spawn = spawn
        # A writer task owns the socket (a write had to wait): later frames queue behind it.
        self._busy = False
        self._wakeup: asyncio.Event | None = None if spawn is not None else asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._sending = False
        self._overflow_cancel = False

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.identity.user} {self.state.value}>"

    @property
    def is_open(self) -> bool:
        return self.state is ConnectionState.OPEN

    def send(self, frame: bytes) -> None:
        """Queue a frame without waiting; overflow closes the connection instead of blocking."""
        if self.state is not ConnectionState.OPEN:
            return
        if self._spawn is not None and not self._busy and not self._outbox:
            self._write_now(self.channel.send(frame))
            return
        self._outbox.append(frame)
        self._outbox_bytes += len(frame)
        if len(self._outbox) > self.max_frames or self._outbox_bytes > self.max_bytes:
            log.warning(
                "event=send_queue_overflow conn=%s frames=%d bytes=%d",
                self.id,
                len(self._outbox),
                self._outbox_bytes,
            )
            self._outbox.clear()
            self._outbox_bytes = 0
            self.close(CloseCode.TRY_AGAIN_LATER, "too slow: send queue overflowed")
            if self._sending and self._writer is not None:
                self._overflow_cancel = True
                self._writer.cancel()  # stuck on a full socket: stop waiting, send the close
            return
        self._wake()

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with this code."""
        if self.state is not ConnectionState.OPEN:
            return
        self.state = ConnectionState.CLOSING
        self._close = (code, reason)
        if self._spawn is not None and not self._busy:
            self.state = ConnectionState.CLOSED
            self._write_now(self.channel.close(code, reason))
            return
        self._wake()

    def detach(self) -> None:
        """The peer is gone: drop whatever is queued and let the writer finish."""
        self.state = ConnectionState.CLOSED
        self._outbox.clear()
        self._outbox_bytes = 0
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    # -- writing at once, or in a writer task when the socket is full ----------------------

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
        self._spawn(self._finish(write, waiting))

    async def _finish(self, write: Coroutine[Any, Any, None], waiting: Any) -> None:
        """Complete the suspended write, then everything queued behind it, then the close."""
        self._writer = asyncio.current_task()
        try:
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
        outbox = self._outbox
        while outbox and self.state is not ConnectionState.CLOSED:
            frame = outbox.popleft()
            self._outbox_bytes -= len(frame)
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
    """Drive a coroutine that was started by hand and suspended on `waiting` to its end."""
    while True:
        try:
            value = await (_yield_once() if waiting is None else waiting)
        except BaseException as exc:
            try:
                waiting = write.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = write.send(value)
            except StopIteration:
                return


class _YieldOnce:
    """What a bare `yield` in a coroutine asks for: one turn of the event loop."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def _yield_once() -> _YieldOnce:
    return _YieldOnce()
