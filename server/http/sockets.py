"""What the WebSocket routes (/ws/{doc} and /events) share: refusing a handshake so that the
browser sees the close code, closing a socket with its reason logged, and the timer that closes
a socket when its token expires."""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.websockets import WebSocket

from server.core.closecodes import CloseCode
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import Identity

log = logging.getLogger("tandem.ws")  # the logger these lines had when they lived in routes/ws


async def refuse(websocket: WebSocket, hub: Hub, doc: str, code: int, reason: str) -> None:
    """Accept, then close at once: browsers only see the code of a socket that was opened."""
    hub.metrics.closes.labels(code=str(code)).inc()
    client = websocket.client.host if websocket.client else "-"
    log.info("event=refused doc=%s code=%d reason=%r client=%s", doc, code, reason, client)
    await websocket.accept()
    await websocket.close(code=code, reason=reason[:120])


def close_at_expiry(
    hub: Hub, conn: Connection, doc: str, identity: Identity
) -> asyncio.TimerHandle | None:
    """A token does not outlive its `exp`: the socket closes with 4401 then (one timer each;
    /events sockets too, with `doc` "-"). Cancel the timer when the socket is gone."""
    if identity.expires_at is None:
        return None
    delay = max(identity.expires_at - time.time(), 0.0)
    return asyncio.get_running_loop().call_later(
        delay, close_connection, hub, conn, doc, CloseCode.UNAUTHENTICATED, "token expired"
    )


def close_connection(
    hub: Hub, conn: Connection, doc: str, code: int, reason: str, *, detail: str | None = None
) -> None:
    """Close with `reason` for the client; `detail` (how it failed inside) is only logged."""
    hub.metrics.closes.labels(code=str(code)).inc()
    log.warning(
        "event=connection_closed doc=%s conn=%s code=%d reason=%r%s",
        doc,
        conn.id,
        code,
        reason,
        "" if detail is None else f" error={detail!r}",
    )
    conn.close(code, reason)
