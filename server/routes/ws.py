"""WS /ws/{doc}: the y-websocket protocol, server side. Starlette types stop here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from crdt.errors import CrdtError, ProtocolError
from server.auth import AuthError, authenticate_request
from server.closecodes import CloseCode
from server.connection import Connection
from server.docids import is_valid_doc_id
from server.errors import StoreError
from server.hub import Hub
from server.identity import Identity, Role
from server.limits import ConnectionLimiter, LimitExceeded, MessageRates
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
    try:
        identity = await authenticate_request(websocket, doc, Role.READ)
    except AuthError as exc:
        await refuse(websocket, hub, doc, exc.close_code, str(exc))
        return
    limiter: ConnectionLimiter = websocket.app.state.connection_limiter
    address = websocket.client.host if websocket.client else None
    with contextlib.ExitStack() as admitted:
        try:
            admitted.enter_context(limiter.admit(doc, address))
        except LimitExceeded as exc:
            hub.metrics.limits.labels(limit=exc.limit).inc()
            await refuse(websocket, hub, doc, exc.close_code, exc.reason)
            return
        await _serve(websocket, hub, doc, identity)


async def refuse(websocket: WebSocket, hub: Hub, doc: str, code: int, reason: str) -> None:
    """Accept, then close at once: browsers only see the code of a socket that was opened."""
    hub.metrics.closes.labels(code=str(code)).inc()
    log.info("event=refused doc=%s code=%d reason=%r", doc, code, reason)
    await websocket.accept()
    await websocket.close(code=code, reason=reason[:120])


async def _serve(websocket: WebSocket, hub: Hub, doc: str, identity: Identity) -> None:
    config = hub.config
    await websocket.accept()
    conn = Connection(
        WebSocketChannel(websocket),
        identity=identity,
        max_frames=config.send_queue_frames,
        max_bytes=config.send_queue_bytes,
    )
    try:
        room = await hub.join(doc, conn)
    except LimitExceeded as exc:
        hub.metrics.limits.labels(limit=exc.limit).inc()
        hub.metrics.closes.labels(code=str(exc.close_code)).inc()
        log.warning("event=refused doc=%s conn=%s reason=%r", doc, conn.id, exc.reason)
        await websocket.close(code=exc.close_code, reason=exc.reason)
        return
    except StoreError as exc:
        log.error("event=room_load_failed doc=%s conn=%s error=%s", doc, conn.id, exc)
        await websocket.close(code=CloseCode.SERVER_ERROR, reason="document unavailable")
        return
    expiry = _close_at_expiry(hub, conn, doc, identity)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(conn.run_writer())
        try:
            await _read_frames(websocket, hub, room, conn, MessageRates(config))
        finally:
            if expiry is not None:
                expiry.cancel()
            hub.leave(room, conn)
            if conn.is_open:
                conn.detach()


def _close_at_expiry(
    hub: Hub, conn: Connection, doc: str, identity: Identity
) -> asyncio.TimerHandle | None:
    """A token does not outlive its `exp`: the socket closes with 4401 then (one timer each)."""
    if identity.expires_at is None:
        return None
    delay = max(identity.expires_at - time.time(), 0.0)
    return asyncio.get_running_loop().call_later(
        delay, _close, hub, conn, doc, CloseCode.UNAUTHENTICATED, "token expired"
    )


async def _read_frames(
    websocket: WebSocket, hub: Hub, room: Room, conn: Connection, rates: MessageRates
) -> None:
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
        started = time.perf_counter()
        try:
            rates.check(frame)
            room.receive(conn, frame)
        except LimitExceeded as exc:
            hub.metrics.limits.labels(limit=exc.limit).inc()
            _close(hub, conn, room.name, exc.close_code, exc.reason)
            return
        except ProtocolError as exc:
            _close(hub, conn, room.name, exc.close_code, f"protocol error: {exc}")
            return
        except CrdtError as exc:
            _close(hub, conn, room.name, CloseCode.PROTOCOL_ERROR, f"update rejected: {exc}")
            return
        if frame[:1] == b"\x00" and frame[1:2] in {b"\x01", b"\x02"}:  # an update: applied, relayed
            hub.metrics.fanout_seconds.observe(time.perf_counter() - started)


def _close(hub: Hub, conn: Connection, doc: str, code: int, reason: str) -> None:
    hub.metrics.closes.labels(code=str(code)).inc()
    log.warning(
        "event=connection_closed doc=%s conn=%s code=%d reason=%r", doc, conn.id, code, reason
    )
    conn.close(code, reason)
