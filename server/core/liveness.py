"""Dead peers: the presence of a client that stops talking goes within `timeout` seconds.

A network that dies tells nobody: no close frame, no FIN. The WebSocket pings (20 s + 20 s)
notice eventually, but pings cannot be made much faster: a pong queues behind whatever the
server is still writing, and a joiner of a large document on a slow link may take minutes to
read its initial sync, so a short ping deadline would close exactly those joiners.

So liveness is judged on what the client sends, which no download holds back. A client that
promises to send something at least every `heartbeat` seconds (Tandem's own client renews its
presence every 4 s and says so with `?heartbeat=4` on the WebSocket URL) and is then silent for
`timeout` seconds loses its presence: its awareness states are removed for everyone (avatar and
cursor go) and the listeners hear `silent` (the /events presence says it left). The socket is
left alone. A frame from it later brings it back (`returned`; its next presence renewal shows it
again); a dead one is closed by the pings in the end. Stock y-websocket clients renew every 15 s
and promise nothing, so they are never judged by this.

One shared sweep for the whole hub (no timer per connection): idle sockets cost one float and
a flag each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.core.connection import Connection
    from server.core.room import Room

log = logging.getLogger("tandem.liveness")

Notify = Callable[["Room", "Connection"], None]


def promised_heartbeat(raw: str | None, timeout: float) -> float:
    """The renewal period a client announced, if it is one the timeout can judge (at most half
    of it: one renewal may be late); 0 otherwise (malformed, absent, too slow)."""
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return value if 0 < value <= timeout / 2 else 0.0


class Liveness:
    def __init__(
        self,
        timeout: float,
        rooms: Callable[[], Iterable[Room]],
        *,
        on_silent: Notify,
        on_returned: Notify,
    ) -> None:
        self.timeout = timeout
        self._rooms = rooms
        self._on_silent = on_silent
        self._on_returned = on_returned

    def heard(self, room: Room, conn: Connection) -> None:
        """A frame arrived from `conn` (called for every frame: keep it cheap)."""
        conn.heard = time.monotonic()
        if conn.silent:
            conn.silent = False
            log.info("event=peer_returned doc=%s conn=%s", room.name, conn.id)
            self._on_returned(room, conn)

    def sweep(self, now: float) -> None:
        """Withdraw the presence of every promising connection silent for too long."""
        deadline = now - self.timeout
        for room in list(self._rooms()):
            silent = [
                conn
                for conn in room.connections
                if conn.heartbeat and not conn.silent and conn.heard < deadline and conn.is_open
            ]
            for conn in silent:
                conn.silent = True
                log.info(
                    "event=peer_silent doc=%s conn=%s seconds=%.1f",
                    room.name,
                    conn.id,
                    now - conn.heard,
                )
                try:
                    room.withdraw_presence(conn)
                    self._on_silent(room, conn)
                except Exception:  # one room's failure must not stop the sweep of the others
                    log.exception("event=peer_silent_failed doc=%s conn=%s", room.name, conn.id)

    async def run(self) -> None:
        """The hub service: sweep ten times per timeout (a peer goes within 1.1 x timeout)."""
        while True:
            await asyncio.sleep(self.timeout / 10)
            self.sweep(time.monotonic())
