"""uvicorn's WebSocket protocol, with a direct path for the y-websocket endpoint.

Stock uvicorn hands every message to the app through an asyncio.Queue, pausing reading until the
app has taken it (two epoll changes and a task switch per message), and takes every frame out
as an ASGI message. Tandem's rooms handle a frame synchronously, so once `/ws/{doc}` has accepted
a socket it attaches a sink (`attach`): binary messages then reach the room as they are parsed,
and frames out are framed and written at once (`write_binary`). The handshake, text frames,
ping/pong, close and disconnect stay uvicorn's, as do other WebSocket routes (/events).

The app finds the protocol in its scope: `scope["extensions"][DIRECT]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DIRECT = "tandem.direct"

Sink = Callable[[bytes], None]


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    sink: Sink | None = None  # set on the instance by `attach`; a class default saves a slot

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][DIRECT] = self

    def attach(self, sink: Sink | None) -> None:
        """Binary messages go to `sink` from now on (None: back to the app's receive())."""
        self.sink = sink

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
        if self.close_sent:
            return  # as uvicorn's send: nothing goes out after the close
        self.conn.send_binary(data)
        self.transport.write(b"".join(self.conn.data_to_send()))
