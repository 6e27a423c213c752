"""uvicorn's HTTP protocol (httptools), with bounds on the request head.

Stock uvicorn waits for a request head for as long as its peer likes and keeps whatever header
bytes arrive: a silent socket, or one that trickles a byte at a time (its keep-alive timer
restarts on every byte), stays open forever, and unfinished headers grow without limit (httptools
accumulates a header value until it ends). Here a head must be complete within `head_timeout`
seconds of the connection (or of the previous response) and within `max_head_bytes`; past
either, the socket is answered 408 or 431 and closed. Once the head is in, nothing changes:
bodies are bounded by `server.security.guard`, WebSocket frames by `ws_max_size`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("tandem.http")

OnRefused = Callable[[str], None]  # called with the limit's name
_LINGER = 2.0  # seconds a refused socket is still read (and its bytes dropped) before closing


class HeadBoundedProtocol(HttpToolsProtocol):
    # Set per server by `head_bounded_protocol`.
    max_head_bytes = 64 * 1024
    head_timeout = 10.0
    on_refused: OnRefused | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._awaiting_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._lingering = False
        self._heads = 0  # request heads completed on this connection
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # refused: read and dropped, so that the peer gets our answer (no reset)
        awaiting, heads = self._awaiting_head, self._heads
        super().data_received(data)
        # A chunk counts against the head only if it was all head: no head completed in it (it
        # may hold whole requests, bodies and all) and none was under way before nor after.
        # A chunk that ends one request and begins the next is not counted: one read of slack.
        if awaiting and self._awaiting_head and heads == self._heads:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
                self._refuse(431, "head_size", f"request head over {self.max_head_bytes} bytes")

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._awaiting_head = False
        self._head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if not self.parser.should_upgrade():
            self._awaiting_head = True  # what comes next is the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._awaiting_head and not self.transport.is_closing():
            self._start_head_timer()  # uvicorn's keep-alive timer restarts on every byte

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._awaiting_head:
            return
        if self._head_bytes == 0:
            self._refused("head_timeout", "no request")
            self.transport.close()  # nothing was asked: nothing to answer
            return
        reason = f"request head not received within {self.head_timeout:g} s"
        self._refuse(408, "head_timeout", reason)

    def _refuse(self, status: int, limit: str, reason: str) -> None:
        self._refused(limit, reason)
        body = json.dumps({"error": reason}).encode()
        phrase = {408: "Request Timeout", 431: "Request Header Fields Too Large"}[status]
        self.transport.write(
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nx-content-type-options: nosniff\r\n"
            "connection: close\r\n\r\n".encode()
            + body
        )
        # Closing now, with the peer's bytes unread, would send a reset that can destroy the
        # answer before the peer reads it: end our side, drop what still comes, close soon.
        self._lingering = True
        self._stop_head_timer()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER, self.transport.close)

    def _refused(self, limit: str, reason: str) -> None:
        client = self.client[0] if self.client else "-"
        log.warning("event=refused limit=%s reason=%r client=%s", limit, reason, client)
        if self.on_refused is not None:
            self.on_refused(limit)


def head_bounded_protocol(
    *, max_head_bytes: int, head_timeout: float, on_refused: OnRefused | None = None
) -> type[HeadBoundedProtocol]:
    """The protocol class to give uvicorn (`http=`), with this server's bounds."""
    attributes: dict[str, Any] = {
        "max_head_bytes": max_head_bytes,
        "head_timeout": head_timeout,
        "on_refused": staticmethod(on_refused) if on_refused is not None else None,
    }
    return type("HeadBoundedProtocol", (HeadBoundedProtocol,), attributes)
