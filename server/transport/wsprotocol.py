"""uvicorn's WebSocket protocol, with a direct path for the y-websocket endpoint.

Stock uvicorn hands every message to the app through an asyncio.Queue, pausing reading until the
app has taken it (two epoll changes and a task switch per message), and takes every frame out
as an ASGI message. Tandem's rooms handle a frame synchronously, so once `/ws/{doc}` has accepted
a socket it attaches a sink (`attach`): binary messages then reach the room as they are parsed,
and frames out are framed and written at once (`write_binary`). The handshake, text frames,
ping/pong, close and disconnect stay uvicorn's, as do other WebSocket routes (/events).

Without an extension negotiated (compression is off unless configured), a frame a server sends
is a two-to-ten-byte header and the payload (RFC 6455 §5.2; server frames are not masked), so
`write_binary` writes that itself rather than building a websockets Frame per receiver.

The app finds the protocol in its scope: `scope["extensions"][DIRECT]`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

DIRECT = "tandem.direct"

Sink = Callable[[bytes], None]

_FIN_BINARY = 0x82
# Frames up to this size go out with their header in one write (one syscall); larger ones
# are written after it, so the transport copies at most what the socket did not take.
_JOIN_BELOW = 64 * 1024


def frame_header(size: int) -> bytes:
    """The header of an unmasked, final, binary frame of `size` payload bytes."""
    if size < 126:
        return bytes((_FIN_BINARY, size))
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_BINARY, 126, size)
    return struct.pack("!BBQ", _FIN_BINARY, 127, size)


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    sink: Sink | None = None  # set on the instance by `attach`; a class default saves a slot

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][DIRECT] = self

    def attach(self, sink: Sink | None) -> None:
        """Binary messages go to `sink` from now on (None: back to the app's receive()).

        Called once the socket is accepted, when uvicorn is done with the handshake: its request
        and response (their headers are most of an idle socket's memory) are let go."""
        self.sink = sink
        if self.handshake_complete:
            self.request = self.response = None  # type: ignore[assignment]

    def send_receive_event_to_app(self) -> None:
        sink = self.sink
        if sink is None or self.curr_msg_data_type != "bytes" or self.close_sent:
            super().send_receive_event_to_app()
            return
        frames = self.frames
        self.frames = []
        sink(frames[0] if len(frames) == 1 else b"".join(frames))

    def write_binary(self, data: bytes) -> None:
        """Frame one binary message and hand it to the transport now (it buffers what the
        socket does not take; `writable` is clear while that buffer is over its mark)."""
        if self.disconnected:
            raise ClientDisconnected
        if self.conn.state is not State.OPEN:
            return  # as uvicorn's send: nothing goes out after a close (ours or the peer's)
        if self.conn.extensions:  # compression: websockets frames and deflates
            self.conn.send_binary(data)
            self.transport.write(b"".join(self.conn.data_to_send()))
        elif len(data) < _JOIN_BELOW:
            self.transport.write(frame_header(len(data)) + data)
        else:  # a piece of an initial sync, shared by every joiner: written, not copied
            self.transport.write(frame_header(len(data)))
            self.transport.write(data)
