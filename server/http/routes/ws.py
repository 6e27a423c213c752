"""WS /ws/{doc}: the y-websocket protocol, server side. Starlette types stop here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from crdt.errors import CrdtError, ProtocolError
from server.core.closecodes import CloseCode
from server.core.connection import Connection
from server.core.docids import is_valid_doc_id
from server.core.hub import DocumentDeleted, Hub
from server.core.identity import Identity, Role
from server.core.limits import ConnectionLimiter, LimitExceeded, MessageRates
from server.core.liveness import promised_heartbeat
from server.core.room import Room
from server.errors import StoreError
from server.http.sockets import close_at_expiry, close_connection, refuse
from server.security.auth import AuthError, authenticate_request
from server.security.revocations import Revocations
from server.transport.wsprotocol import DIRECT, DirectWebSocketProtocol

log = logging.getLogger("tandem.ws")


class DirectChannel:
    """A socket served by DirectWebSocketProtocol (transport/wsprotocol.py): frames are written
    straight to its transport; a send waits only while the transport is over its mark."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: DirectWebSocketProtocol) -> None:
        self._protocol = protocol

    async def send(self, data: bytes) -> None:
        protocol = self._protocol
        if not protocol.writable.is_set():
            await protocol.writable.wait()
        protocol.write_binary(data)

    async def close(self, code: int, reason: str) -> None:
        await self._protocol.send({"type": "websocket.close", "code": code, "reason": reason[:120]})


class AsgiChannel:
    """The raw ASGI `send` of one socket as the Channel the core speaks to, under an ASGI server
    other than ours (see DirectChannel).

    Raw, not through a Starlette WebSocket: a send completes without suspending unless the
    transport is full, which is what lets Connection write most frames without a task.
    """

    __slots__ = ("_send",)

    def __init__(self, send: Send) -> None:
        self._send = send

    async def send(self, data: bytes) -> None:
        await self._send({"type": "websocket.send", "bytes": data})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason[:120]})


PREFIX = "/ws/"


def doc_of(scope: Scope) -> str | None:
    """The doc id of a `/ws/{doc}` WebSocket, None for any other request."""
    if scope["type"] != "websocket":
        return None
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path[len(PREFIX) :] if path.startswith(PREFIX) else None


async def y_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    doc = scope["path_params"]["doc"]
    hub: Hub = scope["app"].state.hub
    identity = await _admit(WebSocket(scope, receive, send), hub, doc)
    if identity is None:
        return
    limiter: ConnectionLimiter = scope["app"].state.connection_limiter
    client = scope.get("client")
    address = client[0] if client else None
    try:
        limiter.acquire(doc, address)
    except LimitExceeded as exc:
        hub.metrics.limits.labels(limit=exc.limit).inc()
        await refuse(WebSocket(scope, receive, send), hub, doc, exc.close_code, exc.reason)
        return
    try:
        await _serve(scope, receive, send, hub, doc, identity)
    finally:
        limiter.release(doc, address)


async def _admit(websocket: WebSocket, hub: Hub, doc: str) -> Identity | None:
    """Check the handshake; the identity to serve, or None when it was refused."""
    if not is_valid_doc_id(doc):  # the router is bypassed (app.py): the docid convertor's rule
        # Refused at the handshake: the server answers 403 and no socket is opened.
        log.info("event=refused reason=invalid_doc_id")
        await websocket.close(code=CloseCode.POLICY)
        return None
    try:
        return await authenticate_request(websocket, doc, Role.READ)
    except AuthError as exc:
        await refuse(websocket, hub, doc, exc.close_code, str(exc))
        return None


async def _serve(
    scope: Scope, receive: Receive, send: Send, hub: Hub, doc: str, identity: Identity
) -> None:
    config = hub.config
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    direct: DirectWebSocketProtocol | None = scope.get("extensions", {}).get(DIRECT)
    conn = Connection(
        DirectChannel(direct) if direct is not None else AsgiChannel(send),
        identity=identity,
        max_frames=config.send_queue_frames,
        max_bytes=config.send_queue_bytes,
        spawn=asyncio.create_task,  # a writer task, only while the socket is full
        heartbeat=promised_heartbeat(
            QueryParams(scope.get("query_string", b"")).get("heartbeat"), config.presence_timeout
        ),
    )
    try:
        room = await _join(hub, doc, conn)
        if room is not None:
            expiry = close_at_expiry(hub, conn, doc, identity)
            revocations: Revocations = scope["app"].state.revocations
            revocations.watch(conn)  # a revocation of its user closes it with 4401
            try:
                await _read_frames(receive, direct, hub, room, conn, MessageRates(config))
            finally:
                if expiry is not None:
                    expiry.cancel()
                revocations.unwatch(conn)
                hub.leave(room, conn)
    finally:
        if conn.is_open:
            conn.detach()  # the peer went away: nothing more to send
        else:
            conn.flush()  # we closed it: what is queued, then the close, go out now
        await conn.finished()


async def _join(hub: Hub, doc: str, conn: Connection) -> Room | None:
    """The room, or None when the join was refused (the connection is closing with why)."""
    try:
        return await hub.join(doc, conn)
    except (LimitExceeded, DocumentDeleted) as exc:
        if isinstance(exc, LimitExceeded):
            hub.metrics.limits.labels(limit=exc.limit).inc()
        hub.metrics.closes.labels(code=str(exc.close_code)).inc()
        log.warning("event=refused doc=%s conn=%s reason=%r", doc, conn.id, exc.reason)
        conn.close(exc.close_code, exc.reason)
    except StoreError as exc:
        log.error("event=room_load_failed doc=%s conn=%s error=%s", doc, conn.id, exc)
        conn.close(CloseCode.SERVER_ERROR, "document unavailable")
    return None


FrameHandler = Callable[[bytes], None]


def _frame_handler(hub: Hub, room: Room, conn: Connection, rates: MessageRates) -> FrameHandler:
    """What to do with each binary message: into the room, or close this connection alone."""

    heard = hub.liveness.heard

    def handle(frame: bytes) -> None:
        if not conn.is_open:
            return  # closing: what still arrives is ignored
        heard(room, conn)
        started = time.perf_counter()
        try:
            rates.check(frame)
            room.receive(conn, frame)
        except LimitExceeded as exc:
            hub.metrics.limits.labels(limit=exc.limit).inc()
            close_connection(hub, conn, room.name, exc.close_code, exc.reason)
            return
        except ProtocolError as exc:
            close_connection(hub, conn, room.name, exc.close_code, f"protocol error: {exc}")
            return
        except CrdtError as exc:  # pycrdt's words go to the log, not to the client
            reason = "update refused: the document cannot apply it"
            code = CloseCode.PROTOCOL_ERROR
            close_connection(hub, conn, room.name, code, reason, detail=str(exc))
            return
        except Exception:  # a bug of ours: this connection closes, the room carries on
            log.exception("event=frame_failed doc=%s conn=%s", room.name, conn.id)
            close_connection(hub, conn, room.name, CloseCode.SERVER_ERROR, "internal error")
            return
        if frame[:1] == b"\x00" and frame[1:2] in {b"\x01", b"\x02"}:  # an update: applied, relayed
            hub.metrics.fanout_seconds.observe(time.perf_counter() - started)

    return handle


async def _read_frames(
    receive: Receive,
    direct: DirectWebSocketProtocol | None,
    hub: Hub,
    room: Room,
    conn: Connection,
    rates: MessageRates,
) -> None:
    """Handle the socket's messages until the peer is gone (after a close, until it answers)."""
    handle = _frame_handler(hub, room, conn, rates)
    if direct is not None:  # binary messages reach `handle` as they are parsed, not through here
        direct.attach(handle)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("bytes")
            if frame is not None:
                handle(frame)
            elif conn.is_open:
                reason = "text frames are not y-websocket"
                close_connection(hub, conn, room.name, CloseCode.PROTOCOL_ERROR, reason)
    finally:
        if direct is not None:
            direct.attach(None)
