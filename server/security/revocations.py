"""Taking access back: a user's tokens issued before a moment are refused, on every hub.

Tokens are stateless, so without this a person whose access is withdrawn keeps editing until
`exp`. `revoke(user)` records "tokens of `user` issued before now are refused" in the store
(kept `max_token_ttl`, the longest a token may live, after which every such token has expired),
closes that user's sockets here with 4401, and tells the other hubs on the bus, which do the
same. A hub loads every revocation in force when it starts and again whenever its bus
(re)connects, so one that missed a message (its Redis connection was down) still learns it.

The rule is `iat < before`, both at millisecond precision: the revocation's moment is rounded
down to its millisecond, and `tandem token` writes a millisecond `iat`, so a token minted after
the revocation is accepted. A token whose `iat` is whole seconds, minted in the same second as
the revocation, counts as earlier (it may have been): it is refused, and one minted a second
later works. A credential without an issue time (an `--auth-verifier` identity that leaves
`issued_at` unset) is refused as long as its user's revocation is kept.

Sockets are watched from the moment their connection exists (`watch`), and a socket whose
credential a revocation caught while it was being set up is closed as soon as it is watched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

from server.core.closecodes import CloseCode
from server.core.connection import Connection
from server.core.identity import Identity
from server.errors import StoreError
from server.ops.cancellation import honour_cancellation
from server.ops.metrics import Metrics
from server.pubsub.channel import Channel
from server.stores.base import Revocation, Store

log = logging.getLogger("tandem.revocations")

CHANNEL = "tandem:revocations"  # the pub/sub channel, apart from the notifications'
MAX_USER = 128  # token subjects are cut to this length (auth.py), so are revocations
REASON = "token revoked"


class Revocations:
    def __init__(self, store: Store, bus: Channel, metrics: Metrics, *, keep: float) -> None:
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self.keep = keep
        self.loaded = False
        self._in_force: dict[str, Revocation] = {}
        self._watched: dict[str, set[Connection]] = {}
        self._reload = asyncio.Event()
        self._reload.set()  # first thing the service does

    # -- the checks ---------------------------------------------------------------------------

    def refuses(self, identity: Identity) -> bool:
        """Whether this credential was issued before its user's revocation (still in force)."""
        if identity.anonymous:
            return False
        revocation = self._in_force.get(identity.user)
        if revocation is None:
            return False
        if revocation.until <= time.time():
            del self._in_force[identity.user]
            return False
        return identity.issued_at is None or identity.issued_at < revocation.before

    def watch(self, conn: Connection) -> None:
        """Close `conn` (4401) when its user is revoked; at once if that already happened."""
        if conn.identity.anonymous:
            return
        self._watched.setdefault(conn.identity.user, set()).add(conn)
        if self.refuses(conn.identity):
            self._close(conn)

    def unwatch(self, conn: Connection) -> None:
        watched = self._watched.get(conn.identity.user)
        if watched is not None:
            watched.discard(conn)
            if not watched:
                del self._watched[conn.identity.user]

    # -- revoking -----------------------------------------------------------------------------

    async def revoke(self, user: str) -> Revocation:
        """Refuse `user`'s tokens issued before now, here and on every hub; raises StoreError
        (nothing is applied) when the store cannot keep it."""
        if not user or len(user) > MAX_USER:
            raise ValueError(f"a user id has 1 to {MAX_USER} characters")
        before = math.floor(time.time() * 1000) / 1000
        stored = await self.store.revoke(Revocation(user, before, before + self.keep))
        closed = self._apply(stored)
        message = {"user": stored.user, "before": stored.before, "until": stored.until}
        self.bus.publish(json.dumps({"op": "revoke", **message}, separators=(",", ":")).encode())
        log.info("event=user_revoked user=%r before=%.3f closed=%d", user, stored.before, closed)
        return stored

    def _apply(self, revocation: Revocation) -> int:
        """Take a revocation in force here; returns how many sockets it closed."""
        if revocation.until <= time.time():
            return 0
        earlier = self._in_force.get(revocation.user)
        self._in_force[revocation.user] = (
            revocation if earlier is None else earlier.merge(revocation)
        )
        caught = [c for c in self._watched.get(revocation.user, ()) if self.refuses(c.identity)]
        for conn in caught:
            self._close(conn)
        return len(caught)

    def _close(self, conn: Connection) -> None:
        if not conn.is_open:
            return
        self.metrics.closes.labels(code=str(int(CloseCode.UNAUTHENTICATED))).inc()
        log.warning(
            "event=connection_closed conn=%s user=%r code=%d reason=%r",
            conn.id,
            conn.identity.user,
            CloseCode.UNAUTHENTICATED,
            REASON,
        )
        conn.close(CloseCode.UNAUTHENTICATED, REASON)

    # -- the service: the store at start and on every bus (re)connection, the bus meanwhile ---

    def problem(self) -> str | None:
        """For /readyz: revocations not known yet means a revoked token could still get in."""
        return None if self.loaded else "revocations: not loaded from the store yet"

    async def load(self) -> None:
        """Take in every revocation the store has in force; raises StoreError."""
        for revocation in await self.store.revocations(time.time()):
            self._apply(revocation)
        self.loaded = True

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.bus.run(self._deliver, self._reload.set))
            tasks.create_task(self._reload_loop())

    async def _reload_loop(self) -> None:
        backoff = 0.2
        while True:
            await self._reload.wait()
            self._reload.clear()
            try:
                await self.load()
                honour_cancellation()  # a Redis store may have swallowed our stop
                backoff = 0.2
            except StoreError as exc:
                log.warning("event=revocations_load_failed error=%s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._reload.set()

    def _deliver(self, data: bytes) -> None:
        try:
            revocation = _parse(json.loads(data))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("event=bus_message_refused channel=revocations error=%r", exc)
            return
        self._apply(revocation)


def _parse(message: Any) -> Revocation:
    if not isinstance(message, dict):
        raise TypeError("a revocation message is a JSON object")
    if message["op"] != "revoke":
        raise ValueError(f"unknown op {message['op']!r}")
    user, before, until = message["user"], message["before"], message["until"]
    if not isinstance(user, str) or not 0 < len(user) <= MAX_USER:
        raise ValueError("user must be a user id")
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in (before, until)):
        raise TypeError("before and until must be numbers")
    return Revocation(user, float(before), float(until))
