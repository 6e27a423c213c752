"""WS /ws/{doc}: the y-websocket protocol, server side. Starlette types stop here."""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

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


class AsgiChannel:
    """The raw ASGI `send` of one socket as the Channel the core speaks to.

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


class YWebSocketDispatch:
    """Hands `/ws/{doc}` sockets straight to the y-websocket endpoint.

    It sits inside the security middleware (host and origin checks still apply) and skips the
    router and exception layers, whose frames would otherwise stay on every socket's stack for
    its whole life: memory per idle connection is one of the figures we are measured on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path.startswith(PREFIX):
                scope["path_params"] = {"doc": path[len(PREFIX) :]}
                await y_websocket(scope, receive, send)
                return
        await self.app(scope, receive, send)


PREFIX = "/ws/"


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
        await _serve(receive, send, hub, doc, identity)
    finally:
        limiter.release(doc, address)


async def _admit(websocket: WebSocket, hub: Hub, doc: str) -> Identity | None:
    """Check the handshake; the identity to serve, or None when it was refused."""
    if not is_valid_doc_id(doc):
        # Refused at the handshake: the server answers 403 and no socket is opened.
        log.info("event=refused reason=invalid_doc_id")
        await websocket.close(code=CloseCode.POLICY)
        return None
    try:
        return await authenticate_request(websocket, doc, Role.READ)
    except AuthError as exc:
        await refuse(websocket, hub, doc, exc.close_code, str(exc))
        return None


async def refuse(websocket: WebSocket, hub: Hub, doc: str, code: int, reason: str) -> None:
    """Accept, then close at once: browsers only see the code of a socket that was opened."""
    hub.metrics.closes.labels(code=str(code)).inc()
    log.info("event=refused doc=%s code=%d reason=%r", doc, code, reason)
    await websocket.accept()
    await websocket.close(code=code, reason=reason[:120])


async def _serve(receive: Receive, send: Send, hub: Hub, doc: str, identity: Identity) -> None:
    config = hub.config
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    async with asyncio.TaskGroup() as tasks:  # writer tasks, only while a socket is full
        conn = Connection(
            AsgiChannel(send),
            identity=identity,
            max_frames=config.send_queue_frames,
            max_bytes=config.send_queue_bytes,
            spawn=tasks.create_task,
            merge_updates=True,
        )
        try:
            await _serve_connection(receive, hub, doc, identity, conn)
        finally:
            if conn.is_open:
                conn.detach()  # the peer went away: nothing more to send
            else:
                conn.flush()  # we closed it: what is queued and the close go out before we return


async def _serve_connection(
    receive: Receive, hub: Hub, doc: str, identity: Identity, conn: Connection
) -> None:
    try:
        room = await hub.join(doc, conn)
    except LimitExceeded as exc:
        hub.metrics.limits.labels(limit=exc.limit).inc()
        hub.metrics.closes.labels(code=str(exc.close_code)).inc()
        log.warning("event=refused doc=%s conn=%s reason=%r", doc, conn.id, exc.reason)
        conn.close(exc.close_code, exc.reason)
        return
    except StoreError as exc:
        log.error("event=room_load_failed doc=%s conn=%s error=%s", doc, conn.id, exc)
        conn.close(CloseCode.SERVER_ERROR, "document unavailable")
        return
    expiry = _close_at_expiry(hub, conn, doc, identity)
    try:
        await _read_frames(receive, hub, room, conn, MessageRates(hub.config))
    finally:
        if expiry is not None:
            expiry.cancel()
        hub.leave(room, conn)


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
    receive: Receive, hub: Hub, room: Room, conn: Connection, rates: MessageRates
) -> None:
    while conn.is_open:
        message = await receive()
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
