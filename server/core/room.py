"""A room: the live document of one doc id and the connections editing it.

Every message of a room is handled synchronously, in arrival order, on the event loop: applying
an update and queueing it for the other connections happen with no await in between, so there
is one ordered path per room and no lock. Nothing here does I/O; the hub wires the callbacks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from crdt.awareness import (
    AwarenessEntry,
    AwarenessTable,
    decode_awareness_update,
    encode_awareness_update,
)
from crdt.document import Document
from crdt.errors import UpdateGap
from crdt.protocol import (
    AuthMessage,
    AwarenessMessage,
    MergeableUpdate,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    encode_auth_denied,
    encode_awareness,
    encode_sync_step1,
    encode_sync_update,
    parse_message,
)
from server.core.closecodes import CloseCode
from server.core.connection import Connection
from server.core.initial_sync import Base, InitialSync
from server.core.limits import LimitExceeded, PresenceLimits
from server.core.names import announced_author, stamp_awareness

if TYPE_CHECKING:
    from server.core.identity import Identity
    from server.core.throttle import AwarenessThrottle

log = logging.getLogger("tandem.room")

# A renewal of an unchanged presence state is relayed to others at most this often (seconds).
RENEWAL_RELAY_S = 10.0

# What the room tells the hub (which makes events of it for its listeners, server/core/
# listeners.py): the change, the connection it came from, and whether another instance sent it.
UpdateListener = Callable[["Room", bytes, Connection | None, bool, "Identity | None"], None]
AwarenessListener = Callable[["Room", list[AwarenessEntry], Connection | None, bool], None]
RebaseRequest = Callable[["Room"], None]


class RoomState(Enum):
    OPEN = "open"
    CLOSED = "closed"


class RoomClosed(RuntimeError):
    pass


class Room:
    def __init__(
        self,
        name: str,
        document: Document,
        *,
        on_update: UpdateListener | None = None,
        on_awareness: AwarenessListener | None = None,
        max_frame: int = 8 * 1024 * 1024,
        throttle: AwarenessThrottle | None = None,
        max_doc_bytes: int | None = None,
        size: int = 0,
        sync_chunk_bytes: int = 1024 * 1024,
        base: Base | None = None,
        on_rebase: RebaseRequest | None = None,
        presence: PresenceLimits | None = None,
    ) -> None:
        self.name = name
        self.document = document
        self.connections: set[Connection] = set()
        self.presence = presence = presence or PresenceLimits()
        self.awareness = AwarenessTable(
            max_clients=presence.clients_per_doc, max_bytes=presence.bytes_per_doc
        )
        self.state = RoomState.OPEN
        self.max_frame = max_frame
        # Bytes of updates the document holds (an upper bound, measured exactly near the limit).
        self.max_doc_bytes = max_doc_bytes
        self.size = size
        self.empty_since: float | None = time.monotonic()
        self._on_update = on_update
        self._on_awareness = on_awareness
        # Who announced each present awareness client id: a connection of ours, or the id (hex)
        # of the hub instance it is connected to. Nobody else may change it until it is removed.
        self._awareness_owner: dict[int, Connection | str] = {}
        # When each present awareness client's state was last relayed to everyone: renewals
        # (same state, newer clock) go to others only every RENEWAL_RELAY_S.
        self._relayed_at: dict[int, float] = {}
        # Coalesces awareness bursts per client (server/core/throttle.py); None relays at once.
        self._throttle = throttle
        # Initial syncs: shared, streamed when large (server/core/initial_sync.py); the hub
        # rebuilds the streamed base when asked (`on_rebase`).
        self.sync = InitialSync(document, sync_chunk_bytes, base)
        self._on_rebase = on_rebase

    def __repr__(self) -> str:
        return f"<Room {self.name} {self.state.value} conns={len(self.connections)}>"

    # -- membership -------------------------------------------------------------------------

    def join(self, conn: Connection) -> None:
        if self.state is not RoomState.OPEN:
            raise RoomClosed(f"room {self.name} is {self.state.value}")
        # Encoded before the connection is added: if that fails, nothing of the join stays.
        greeting = [encode_sync_step1(self.document.state_vector())]
        states = self.awareness.states()
        if states:
            greeting.append(encode_awareness(encode_awareness_update(states)))
        self.connections.add(conn)
        self.empty_since = None
        for frame in greeting:
            conn.send(frame)

    def leave(self, conn: Connection) -> None:
        """Forget a connection and remove every awareness client it announced (no ghosts)."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        try:
            self._withdraw_awareness(conn)
        finally:  # whatever happened, an empty room must be able to unload
            if not self.connections:
                self.empty_since = time.monotonic()

    def close(self) -> None:
        self.state = RoomState.CLOSED

    @property
    def is_open(self) -> bool:
        return self.state is RoomState.OPEN

    # -- messages from clients --------------------------------------------------------------

    def receive(self, conn: Connection, frame: bytes) -> None:
        """Handle one frame from a client; raises crdt errors for the caller to close it with."""
        if self.state is RoomState.CLOSED:
            return  # deleted or shut down under a client still sending: keep nothing of it
        message = parse_message(frame, self.max_frame)
        if isinstance(message, SyncUpdate | SyncStep2):
            if not conn.identity.role.can_write:
                self._refuse_update(conn, message.update)
                return
            live = isinstance(message, SyncUpdate)
            # A sync step 2 answered our state vector with all the client had: asking again
            # would bring the same gap back, in a loop.
            self.apply_update(message.update, origin=conn, frame=frame if live else None, ask=live)
        elif isinstance(message, SyncStep1):
            conn.stream(self.sync.answer(message.state_vector))
        elif isinstance(message, AwarenessMessage):
            self._receive_awareness(conn, message.update)
        elif isinstance(message, QueryAwareness):
            conn.send(encode_awareness(encode_awareness_update(self.awareness.states())))
        elif isinstance(message, AuthMessage):
            pass  # clients have nothing to tell the server through auth messages

    def apply_update(
        self,
        update: bytes,
        *,
        origin: Connection | None,
        frame: bytes | None = None,
        remote: bool = False,
        ask: bool = True,
        author: Identity | None = None,
    ) -> bool:
        """Apply an update and relay it to every other connection; False when it had a gap.

        A gap (clocks that start past our state vector) is never applied
        (docs/pycrdt-pitfalls.md#out-of-order-updates): the sender is asked for a state-vector
        sync instead (`ask`), which brings the missing part.
        `remote` marks updates from another hub instance (raises UpdateGap to the caller,
        who catches up from the store). `author`: who made a change the server applies for
        them (the content API); a connection's is its identity.
        """
        if (origin is not None or author is not None) and self.max_doc_bytes is not None:
            self._check_size(update)
        try:
            applied = self.document.apply(update)
        except UpdateGap as gap:
            if remote:
                raise
            log.info(
                "event=update_gap doc=%s conn=%s missing=%s",
                self.name,
                origin.id if origin else "-",
                gap.missing,
            )
            if origin is not None and ask:
                origin.send(encode_sync_step1(self.document.state_vector()))
            return False
        info = applied.info
        if info.struct_count == 0 and info.delete_count == 0:
            return True  # an empty sync reply: nothing to relay or keep
        self.size += len(update)
        relay = frame if frame is not None else encode_sync_update(update)
        if applied.extends:  # may leave merged with the updates queued next to it
            relay = MergeableUpdate(relay)
        for conn in self.connections:
            if conn is not origin and not conn.syncing:  # a sync under way will carry it
                conn.send(relay)
        if self.sync.applied(relay, self.size) and self._on_rebase is not None:
            self._on_rebase(self)
        if self._on_update is not None:
            by = author if author is not None or origin is None else origin.author
            self._on_update(self, update, origin, remote, by)
        return True

    def _check_size(self, update: bytes) -> None:
        """LimitExceeded (4413) when an update from a client would grow the document too big."""
        assert self.max_doc_bytes is not None
        if self.size + len(update) <= self.max_doc_bytes or not self.document.adds_anything(update):
            return
        # The running sum overcounts: measure, with what yrs holds back (stored before the
        # reference check) that encode() does not show.
        self.size = self.sync.size() + self.document.pending_bytes()
        if self.size + len(update) > self.max_doc_bytes:
            raise LimitExceeded(
                "doc_size",
                CloseCode.DOCUMENT_TOO_LARGE,
                f"document size limit reached ({self.max_doc_bytes} bytes); update refused",
            )

    def _refuse_update(self, conn: Connection, update: bytes) -> None:
        """A read-only client may sync, but anything new it sends is refused and reported."""
        if self.document.adds_anything(update):
            log.info(
                "event=update_refused doc=%s conn=%s user=%s reason=read-only",
                self.name,
                conn.id,
                conn.identity.user,
            )
            conn.send(encode_auth_denied("read-only access: updates are refused"))

    # -- awareness --------------------------------------------------------------------------

    def _receive_awareness(self, conn: Connection, payload: bytes) -> None:
        entries = decode_awareness_update(payload)
        owner = self._awareness_owner
        mine = [e for e in entries if owner.get(e.client_id, conn) is conn]
        # Names others see come from the identity the server accepted (server/core/names.py).
        mine = stamp_awareness(conn.identity, mine)
        conn.author = announced_author(conn.identity, conn.guest, mine) or conn.author
        now = time.monotonic()
        applied = self.awareness.apply(mine, now)
        changed = applied.changed
        for entry in changed:
            if entry.state is None:
                owner.pop(entry.client_id, None)
                conn.awareness_ids.discard(entry.client_id)
            else:
                owner[entry.client_id] = conn
                conn.awareness_ids.add(entry.client_id)
        try:
            self.presence.check_connection(
                len(conn.awareness_ids),
                sum(self.awareness.state_bytes(cid) for cid in conn.awareness_ids),
            )
            if applied.refused:
                raise self.presence.doc_full(len(self.awareness))
        except LimitExceeded:
            self._withdraw_awareness(conn)  # it is closed: nothing it announced stays
            raise
        if not changed:
            return  # echoes of what everyone already has die here
        if applied.renewed:
            changed = self._thin_renewals(conn, changed, applied.renewed, now)
        if self._throttle is not None:
            changed = self._throttle.admit(self, changed, conn, now)
        if changed:
            self._broadcast_awareness(changed, origin=conn)

    def _thin_renewals(
        self, conn: Connection, changed: list[AwarenessEntry], renewed: frozenset[int], now: float
    ) -> list[AwarenessEntry]:
        """Our client renews its presence every few seconds, as its heartbeat: the sender gets
        each renewal back (its proof that the link lives), everyone else one every
        RENEWAL_RELAY_S, well within the 30 s after which y-protocols drops a silent peer. A
        peer that dies is removed by the server (server/core/liveness.py), not by others'
        timers. Stock clients renew every 15 s: always relayed."""
        held = [
            e
            for e in changed
            if e.client_id in renewed
            and now - self._relayed_at.get(e.client_id, -RENEWAL_RELAY_S) < RENEWAL_RELAY_S
        ]
        if not held:
            return changed
        conn.send(encode_awareness(encode_awareness_update(held)))
        return [e for e in changed if e not in held]

    def withdraw_presence(self, conn: Connection) -> None:
        """Remove what a connection announced, for everyone, while it stays (it went silent:
        server/core/liveness.py); what it announces afterwards is taken as from anyone new."""
        self._withdraw_awareness(conn)

    def _withdraw_awareness(self, conn: Connection) -> None:
        """Remove every awareness client a connection announced, for everyone."""
        if not conn.awareness_ids:
            return
        ids = [cid for cid in conn.awareness_ids if self._awareness_owner.get(cid) is conn]
        for cid in ids:
            del self._awareness_owner[cid]
        conn.awareness_ids.clear()
        removed = self.awareness.remove(ids, time.monotonic())
        if self._throttle is not None:
            self._throttle.forget(self, ids)
        if removed:
            self._broadcast_awareness(removed, origin=None)

    def relay_awareness(self, entries: list[AwarenessEntry], origin: Connection) -> None:
        """Relay states the throttle held back (their latest version, already applied)."""
        if self.is_open:
            self._broadcast_awareness(entries, origin=origin)

    def apply_remote_awareness(
        self, entries: list[AwarenessEntry], instance: str
    ) -> list[AwarenessEntry]:
        """Awareness of the clients of another hub `instance`: the same clock rules, relayed
        to local connections. Ids someone else announced first (a connection here, or another
        instance) are not that instance's to change; they are ignored."""
        owner = self._awareness_owner
        theirs = [e for e in entries if owner.get(e.client_id, instance) == instance]
        applied = self.awareness.apply(theirs, time.monotonic())
        if applied.refused:
            log.warning(
                "event=remote_awareness_refused doc=%s peer=%s clients=%d reason=presence_full",
                self.name,
                instance[:8],
                applied.refused,
            )
        changed = applied.changed
        for entry in changed:
            if entry.state is None:
                owner.pop(entry.client_id, None)
            else:
                owner[entry.client_id] = instance
        if changed:
            self._broadcast_awareness(changed, origin=None, remote=True)
        return changed

    def local_awareness(self) -> list[AwarenessEntry]:
        """The states announced by this instance's own connections (what other instances are
        told: each instance speaks only for its own clients)."""
        owner = self._awareness_owner
        return [e for e in self.awareness.states() if owner.get(e.client_id) in self.connections]

    def _broadcast_awareness(
        self, entries: list[AwarenessEntry], *, origin: Connection | None, remote: bool = False
    ) -> None:
        # The sender gets its own change back too, as the reference server does: for a client
        # alone in a room this is the traffic that keeps its 30 s liveness timer happy.
        frame = encode_awareness(encode_awareness_update(entries))
        for conn in self.connections:
            conn.send(frame)
        now = time.monotonic()
        for entry in entries:
            if entry.state is None:
                self._relayed_at.pop(entry.client_id, None)
            else:
                self._relayed_at[entry.client_id] = now
        if self._on_awareness is not None:
            self._on_awareness(self, entries, origin, remote)
