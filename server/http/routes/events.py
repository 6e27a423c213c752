"""WS /events?docs=a,b (or docs=*): JSON notifications of the listed documents.

The server only sends: presence (current presence first, then joins and leaves), `changed`,
`version` and `restored` (server/events/service.py). Anything the client sends is ignored. A
subscriber that reads too slowly overflows its bounded outbox and is closed with 1013; one whose
token expires is closed with 4401 then, as on /ws.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.core.closecodes import CloseCode
from server.core.connection import Connection
from server.core.docids import is_valid_doc_id
from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.core.limits import ConnectionLimiter, LimitExceeded
from server.events.service import Events
from server.http.requests import hub_of
from server.http.sockets import close_at_expiry, refuse
from server.security.auth import Authenticator, AuthError, authenticate_request
from server.security.revocations import Revocations

log = logging.getLogger("tandem.events.ws")

MAX_DOCS = 256


class TextChannel:
    """Sends each queued frame (UTF-8 JSON) as a WebSocket text frame."""

    __slots__ = ("_ws",)

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def send(self, data: bytes) -> None:
        await self._ws.send({"type": "websocket.send", "text": data.decode()})

    async def close(self, code: int, reason: str) -> None:
        await self._ws.send({"type": "websocket.close", "code": code, "reason": reason[:120]})


@dataclass(frozen=True, slots=True)
class Access:
    identity: Identity
    may_read: Callable[[str], bool]


async def access(websocket: WebSocket, docs: frozenset[str] | None) -> Access:
    """Who is asking and which documents they may read; raises AuthError (4401/4403).

    The one place /events decides permissions (security/auth.py): `docs=*` means every document the
    token covers; a list naming a document outside it is refused. Without auth everyone may
    read everything (the service is loopback-only then).
    """
    identity = await authenticate_request(websocket, None, Role.READ)
    for doc in sorted(docs or ()):
        Authenticator.authorize(identity, doc, Role.READ)
    return Access(identity, identity.can_access)


def parse_docs(raw: str | None) -> frozenset[str] | None:
    """`*` (None: every document) or a comma-separated list of valid ids; ValueError else."""
    if raw is None or not raw.strip():
        raise ValueError("docs is required: docs=a,b or docs=*")
    if raw.strip() == "*":
        return None
    docs = [d.strip() for d in raw.split(",") if d.strip()]
    if len(docs) > MAX_DOCS:
        raise ValueError(f"at most {MAX_DOCS} documents per subscription")
    bad = [d for d in docs if not is_valid_doc_id(d)]
    if bad or not docs:
        raise ValueError("invalid document id")
    return frozenset(docs)


async def events(websocket: WebSocket) -> None:
    hub = hub_of(websocket)
    try:
        docs = parse_docs(websocket.query_params.get("docs"))
    except ValueError as exc:
        log.info("event=events_refused reason=%r", str(exc))
        await websocket.close(code=CloseCode.POLICY)  # before accept: the handshake gets 403
        return
    try:
        who = await access(websocket, docs)
    except AuthError as exc:
        await refuse(websocket, hub, "-", exc.close_code, str(exc))
        return
    limiter: ConnectionLimiter = websocket.app.state.connection_limiter
    address = websocket.client.host if websocket.client else None
    with contextlib.ExitStack() as admitted:
        try:
            admitted.enter_context(limiter.admit(None, address))
        except LimitExceeded as exc:
            hub.metrics.limits.labels(limit=exc.limit).inc()
            await refuse(websocket, hub, "-", exc.close_code, exc.reason)
            return
        await _subscribe(websocket, hub, docs, who)


async def _subscribe(
    websocket: WebSocket, hub: Hub, docs: frozenset[str] | None, who: Access
) -> None:
    await websocket.accept()
    conn = Connection(
        TextChannel(websocket),
        identity=who.identity,
        max_frames=hub.config.send_queue_frames,
        max_bytes=hub.config.send_queue_bytes,
        spawn=asyncio.create_task,  # a writer task, only while the socket is full
    )
    events: Events = websocket.app.state.events
    sub = events.subscribe(conn, docs, who.may_read)
    revocations = _close_on_revocation(websocket, conn)
    log.info(
        "event=events_subscribed conn=%s user=%s docs=%s",
        conn.id,
        who.identity.user,
        "*" if docs is None else ",".join(sorted(docs)),
    )
    expiry = close_at_expiry(hub, conn, "-", who.identity)
    try:
        try:
            await _drain_input(websocket, conn)
        finally:
            if conn.is_open:
                conn.detach()  # the client went away: nothing more to send
            else:
                conn.flush()  # we closed it: what is queued, then the close, go out now
            await conn.finished()
    finally:
        if expiry is not None:
            expiry.cancel()
        revocations.unwatch(conn)
        events.unsubscribe(sub)
        log.info("event=events_unsubscribed conn=%s", conn.id)


def _close_on_revocation(websocket: WebSocket, conn: Connection) -> Revocations:
    """A revocation of the subscriber's user closes it with 4401 (unwatch it at the end)."""
    revocations: Revocations = websocket.app.state.revocations
    revocations.watch(conn)
    return revocations


async def _drain_input(websocket: WebSocket, conn: Connection) -> None:
    """Wait for the client to go away; what it sends is not part of the protocol."""
    while conn.is_open:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
