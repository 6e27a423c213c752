"""WS /ws/{doc}: the y-websocket protocol, server side. Starlette types stop here."""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from crdt.errors import CrdtError, ProtocolError
from server.closecodes import CloseCode
from server.connection import Connection
from server.docids import is_valid_doc_id
from server.errors import StoreError
from server.hub import Hub
from server.room import Room

log = logging.getLogger("tandem.ws")


class WebSocketChannel:
    """Adapts a Starlette WebSocket to the Channel the core speaks to."""

    __slots__ = ("_ws",)

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def send(self, data: bytes) -> None:
        await self._ws.send({"type": "websocket.send", "bytes": data})

    async def close(self, code: int, reason: str) -> None:
        await self._ws.send({"type": "websocket.close", "code": code, "reason": reason[:120]})


async def y_websocket(websocket: WebSocket) -> None:
    doc = websocket.path_params["doc"]
    if not is_valid_doc_id(doc):
        # Refused at the handshake: the server answers 403 and no socket is opened.
        log.info("event=refused reason=invalid_doc_id")
        await websocket.close(code=CloseCode.POLICY)
        return
    hub: Hub = websocket.app.state.hub
    config = hub.config
    await websocket.accept()
    conn = Connection(
        WebSocketChannel(websocket),
        max_frames=config.send_queue_frames,
        max_bytes=config.send_queue_bytes,
    )
    try:
        room = await hub.join(doc, conn)
    except StoreError as exc:
        log.error("event=room_load_failed doc=%s conn=%s error=%s", doc, conn.id, exc)
        await websocket.close(code=CloseCode.SERVER_ERROR, reason="document unavailable")
        return
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(conn.run_writer())
        try:
            await _read_frames(websocket, hub, room, conn)
        finally:
            hub.leave(room, conn)
            if conn.is_open:
                conn.detach()


async def _read_frames(websocket: WebSocket, hub: Hub, room: Room, conn: Connection) -> None:
    receive = websocket.receive
    while conn.is_open:
        try:
            message = await receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        frame = message.get("bytes")
        if frame is None:
            _close(
                hub, conn, room.name, CloseCode.PROTOCOL_ERROR, "text frames are not y-websocket"
            )
            return
        try:
            room.receive(conn, frame)
        except ProtocolError as exc:
            _close(hub, conn, room.name, exc.close_code, f"protocol error: {exc}")
            return
        except CrdtError as exc:
            _close(hub, conn, room.name, CloseCode.PROTOCOL_ERROR, f"update rejected: {exc}")
            return


def _close(hub: Hub, conn: Connection, doc: str, code: int, reason: str) -> None:
    hub.metrics.closes.labels(code=str(code)).inc()
    log.warning(
        "event=connection_closed doc=%s conn=%s code=%d reason=%r", doc, conn.id, code, reason
    )
    conn.close(code, reason)
