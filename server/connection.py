"""One client socket as the room sees it: identity, a bounded outbox, and a writer loop.

The room never awaits a client: it puts frames in the outbox and moves on. A client whose outbox
passes its bounds is closed (1013) and re-syncs when it reconnects, so one slow reader never
stalls a room.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from enum import Enum
from typing import Protocol

from server.closecodes import CloseCode
from server.identity import ANONYMOUS, Identity

log = logging.getLogger("tandem.connection")

_ids = itertools.count(1)


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
        "_close",
        "_outbox",
        "_outbox_bytes",
        "_overflow_cancel",
        "_sending",
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
        self._wakeup = asyncio.Event()
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
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to send what is queued, then close with this code."""
        if self.state is not ConnectionState.OPEN:
            return
        self.state = ConnectionState.CLOSING
        self._close = (code, reason)
        self._wakeup.set()

    def detach(self) -> None:
        """The peer is gone: drop whatever is queued and let the writer finish."""
        self.state = ConnectionState.CLOSED
        self._outbox.clear()
        self._outbox_bytes = 0
        self._wakeup.set()

    async def run_writer(self) -> None:
        """Drain the outbox to the channel until the connection closes."""
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
        if self.state is ConnectionState.CLOSING and self._close is not None:
            self.state = ConnectionState.CLOSED
            code, reason = self._close
            try:
                async with asyncio.timeout(5):
                    await self.channel.close(code, reason)
            except Exception as exc:
                log.debug("event=close_failed conn=%s error=%r", self.id, exc)

    async def _drain(self) -> None:
        channel = self.channel
        outbox = self._outbox
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while outbox and self.state is not ConnectionState.CLOSED:
                frame = outbox.popleft()
                self._outbox_bytes -= len(frame)
                self._sending = True
                await channel.send(frame)
                self._sending = False
            if self.state is not ConnectionState.OPEN:
                return
