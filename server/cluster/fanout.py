"""Cross-instance fan-out: what one hub applies, every other hub with the room open applies too.

`Fanout` is a hub listener (it hears local updates and presence changes and publishes them) and
a broker sink (it applies what other instances publish). Redis pub/sub is at most once, so a
receiver never trusts it to be complete:

- each instance numbers its messages per document (`seq`); a jump means messages were missed;
- a remote update whose clocks start past our state is never applied (yrs would diverge,
  docs/pycrdt-pitfalls.md#out-of-order-updates): it is held back, and re-tried after later updates;
- either case, and every (re)subscription, triggers a catch-up: a SYNC_REQUEST carrying our
  state vector, answered by every instance with the room open with exactly what we lack (their
  unflushed updates included), and after a reconnect a state-vector diff against the store too.

Remote updates are persisted by the instance that received them from a client, which says so
(FLUSHED) after each flush. If that confirmation does not come in time, the sender may have died
with them unflushed: every instance that applied them writes them itself (a repeat costs a few
bytes; Yjs ignores it), so what any live room holds reaches the store.

A document deleted on one instance (DELETED) is forgotten by every instance with its room open:
editors closed with 4404, nothing of it kept or written (unconfirmed updates are dropped), and
its data deleted once more after their own writes of it under way, which could otherwise bring
it back.

Only instances with a room open subscribe to its channel (room_opened / room_closed). Each
instance speaks only for the presence of its own clients; an awareness client id belongs to the
instance that announced it first (Room.apply_remote_awareness), and presence from other
instances expires here if not renewed (their hub may have died without a word).
Publishing goes through a bounded in-order queue, so a Redis outage delays fan-out instead of
blocking rooms; the queue is retried with backoff and flushed first thing when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crdt import jobs
from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.errors import CrdtError, ProtocolError, UpdateGap
from server.cluster.envelope import (
    EVERYONE,
    Envelope,
    Kind,
    decode_reply,
    decode_seq,
    encode_reply,
    encode_seq,
)
from server.core.listeners import AwarenessEvent, HubListener, UpdateEvent
from server.core.offload import OffloadFailed
from server.core.room import Room, RoomState
from server.errors import StoreError
from server.pubsub.base import Broker, BrokerError

if TYPE_CHECKING:
    from server.core.hub import Hub

log = logging.getLogger("tandem.fanout")

# y-protocols' outdatedTimeout: clients renew their presence every 15 s.
AWARENESS_TIMEOUT = 30.0
# How long a remote update may stay unconfirmed by its sender before we persist it ourselves.
CONFIRM_TIMEOUT = 5.0
MAX_HELD = 256  # remote updates held back per room while a gap is being filled
OUTBOX_LIMIT = 50_000  # messages queued while Redis is away; the oldest go first after that
PUBLISH_BATCH = 256


@dataclass(slots=True)
class _Want:
    peers: bool = False
    store: bool = False


class Fanout(HubListener):
    def __init__(
        self,
        hub: Hub,
        broker: Broker,
        *,
        awareness_timeout: float = AWARENESS_TIMEOUT,
        outbox_limit: int = OUTBOX_LIMIT,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        self.hub = hub
        self.broker = broker
        self.instance = uuid.uuid4().bytes
        self.name = self.instance.hex()[:8]
        self.awareness_timeout = awareness_timeout
        self.outbox_limit = outbox_limit
        self.confirm_timeout = confirm_timeout
        self.metrics = hub.metrics
        self.publish_error: str | None = None
        self.subscribe_error: str | None = None
        self._seq: dict[str, int] = {}
        self._seen: dict[tuple[bytes, str], int] = {}
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._wants: dict[str, _Want] = {}
        self._wants_ready = asyncio.Event()
        self._subscribed_before: set[str] = set()
        self._held: dict[str, list[bytes]] = {}
        # doc -> awareness client id -> (clock, when heard, the instance (hex) it is on).
        self._remote_presence: dict[str, dict[int, tuple[int, float, str]]] = {}
        self._was_connected = False
        # Our published updates not yet flushed (same objects the persister holds), by doc.
        self._unflushed: dict[str, deque[tuple[bytes, int]]] = {}
        # Remote updates their sender has not confirmed as stored: (seq, update, arrived).
        self._unconfirmed: dict[tuple[bytes, str], deque[tuple[int, bytes, float]]] = {}
        # Documents deleted on another instance, to erase here too (after our own writes).
        self._erase: set[str] = set()
        self._erase_ready = asyncio.Event()
        self.metrics.broker_queue.set_function(lambda: len(self._outbox))
        hub.persister.flushed_listeners.append(self._flushed)

    def __repr__(self) -> str:
        return f"<Fanout {self.name} via {self.broker!r}>"

    def problem(self) -> str | None:
        """Why this instance is not fully connected to the others (for /readyz), or None."""
        if not self.broker.connected:
            return f"broker: not subscribed ({self.subscribe_error or 'connecting'})"
        if self.publish_error is not None:
            return f"broker: publishing fails ({self.publish_error})"
        return None

    # -- the service ------------------------------------------------------------------------

    async def run(self) -> None:
        await self.broker.open()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.broker.run(self), name="tandem-broker-subscriber")
                tasks.create_task(self._publish_loop(), name="tandem-broker-publisher")
                tasks.create_task(self._catch_up_loop(), name="tandem-broker-catch-up")
                tasks.create_task(self._expire_presence_loop(), name="tandem-broker-presence")
                tasks.create_task(self._unconfirmed_loop(), name="tandem-broker-unconfirmed")
                tasks.create_task(self._erase_loop(), name="tandem-broker-erase")
        finally:
            # Last words (presence removals of the sockets just closed) go out if they can.
            if self._outbox:
                with contextlib.suppress(BrokerError, TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self.broker.publish(list(self._outbox))
            await self.broker.close()

    # -- local changes out (HubListener) ----------------------------------------------------

    def room_opened(self, room: Room) -> None:
        self.broker.subscribe(room.name)

    def room_closed(self, room: Room) -> None:
        for key, entries in self._forget(room.name).items():
            self._persist_unconfirmed(key, entries)

    def deleted(self, doc: str, *, remote: bool = False) -> None:
        self._forget(doc)  # its unconfirmed updates go with it
        self._unflushed.pop(doc, None)  # the persister dropped them: no FLUSHED will follow
        if not remote:
            self._send(doc, Kind.DELETED, b"")

    def _forget(self, doc: str) -> dict[tuple[bytes, str], deque[tuple[int, bytes, float]]]:
        """Unsubscribe and drop what we keep for `doc`; returns its unconfirmed updates."""
        self.broker.unsubscribe(doc)
        self._held.pop(doc, None)
        self._remote_presence.pop(doc, None)
        self._wants.pop(doc, None)
        self._subscribed_before.discard(doc)
        for key in [key for key in self._seen if key[1] == doc]:
            del self._seen[key]
        return {key: self._unconfirmed.pop(key) for key in list(self._unconfirmed) if key[1] == doc}

    def update(self, event: UpdateEvent) -> None:
        if not event.remote:
            doc = event.room.name
            seq = self._send(doc, Kind.UPDATE, event.update)
            self._unflushed.setdefault(doc, deque()).append((event.update, seq))

    def _flushed(self, batch: Mapping[str, Sequence[bytes]]) -> None:
        """The persister wrote these: tell the others up to which of our updates is stored."""
        for doc, updates in batch.items():
            waiting = self._unflushed.get(doc)
            if not waiting:
                continue
            last = None
            for update in updates:
                if waiting and waiting[0][0] is update:
                    last = waiting.popleft()[1]
            if not waiting:
                del self._unflushed[doc]
            if last is not None:
                self._send(doc, Kind.FLUSHED, encode_seq(last))

    def awareness(self, event: AwarenessEvent) -> None:
        if not event.remote:
            self._send(event.room.name, Kind.AWARENESS, encode_awareness_update(event.entries))

    def _send(self, doc: str, kind: Kind, body: bytes, target: bytes = EVERYONE) -> int:
        seq = self._seq[doc] = self._seq.get(doc, 0) + 1
        data = Envelope(kind, self.instance, seq, time.time(), target, body).encode()
        self._outbox.append((doc, data))
        self.metrics.broker_messages.labels(direction="out", kind=kind.name.lower()).inc()
        self._trim_outbox()
        self._outbox_ready.set()
        return seq

    def _trim_outbox(self) -> None:
        excess = len(self._outbox) - self.outbox_limit
        if excess <= 0:
            return
        for _ in range(excess):
            self._outbox.popleft()  # receivers see the seq jump and catch up
        self.metrics.broker_dropped.inc(excess)
        log.warning("event=broker_queue_overflow dropped=%d limit=%d", excess, self.outbox_limit)

    async def _publish_loop(self) -> None:
        backoff = 0.05
        while True:
            await self._outbox_ready.wait()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 256))]
                started = time.perf_counter()
                try:
                    await self.broker.publish(batch)
                except BrokerError as exc:
                    self._outbox.extendleft(reversed(batch))  # in order, first in line again
                    self._trim_outbox()
                    self.metrics.broker_errors.labels(op="publish").inc()
                    if self.publish_error is None:
                        log.error(
                            "event=broker_publish_failed queued=%d error=%s",
                            len(self._outbox),
                            exc,
                        )
                    self.publish_error = str(exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                self.metrics.broker_seconds.labels(op="publish").observe(
                    time.perf_counter() - started
                )
                if self.publish_error is not None:
                    log.info("event=broker_publish_recovered queued=%d", len(self._outbox))
                    self.publish_error = None
                backoff = 0.05
            self._outbox_ready.clear()

    # -- remote changes in (BrokerSink) -----------------------------------------------------

    def message(self, doc: str, data: bytes) -> None:
        try:
            envelope = Envelope.decode(data)
        except ProtocolError as exc:
            log.warning("event=broker_message_refused doc=%s error=%s", doc, exc)
            return
        if envelope.instance == self.instance:
            return  # our own echo
        if envelope.kind is Kind.DELETED:
            self._deleted_elsewhere(doc, envelope.instance.hex()[:8])
            return
        room = self.hub.rooms.get(doc)
        if room is None or room.state is not RoomState.OPEN:
            return
        instance = envelope.instance.hex()
        peer = instance[:8]
        key = (envelope.instance, doc)
        last = self._seen.get(key)
        if last is not None:
            if envelope.seq <= last:
                return  # a repeat: a publish retried after it had partly gone through
            if envelope.seq > last + 1:
                log.info(
                    "event=broker_messages_missed doc=%s peer=%s missed=%d",
                    doc,
                    peer,
                    envelope.seq - last - 1,
                )
                self._want(doc, peers=True, reason="missed")
        self._seen[key] = envelope.seq
        if envelope.target not in (EVERYONE, self.instance):
            return
        kind = envelope.kind
        self.metrics.broker_messages.labels(direction="in", kind=kind.name.lower()).inc()
        try:
            if kind is Kind.UPDATE:
                self._unconfirmed.setdefault(key, deque()).append(
                    (envelope.seq, envelope.body, time.monotonic())
                )
                self._apply(room, envelope.body, peer)
                self.metrics.broker_delivery_seconds.observe(
                    max(0.0, time.time() - envelope.sent_at)
                )
            elif kind is Kind.FLUSHED:
                self._confirmed(key, decode_seq(envelope.body))
            elif kind is Kind.AWARENESS:
                self._presence(room, decode_awareness_update(envelope.body), instance)
            elif kind is Kind.SYNC_REQUEST:
                self._reply(room, envelope.body, envelope.instance)
            elif kind is Kind.SYNC_REPLY:
                update, awareness = decode_reply(envelope.body)
                self._apply(room, update, peer)
                self._presence(room, decode_awareness_update(awareness), instance)
        except CrdtError as exc:
            log.warning(
                "event=broker_message_refused doc=%s peer=%s kind=%s error=%s",
                doc,
                peer,
                kind.name.lower(),
                exc,
            )
        except Exception:  # a bug of ours on one document: the subscriber serves the others
            log.exception(
                "event=broker_message_failed doc=%s peer=%s kind=%s", doc, peer, kind.name.lower()
            )

    def subscribed(self, doc: str) -> None:
        first = doc not in self._subscribed_before
        self._subscribed_before.add(doc)
        if not self._was_connected:
            self._was_connected = True
            self.subscribe_error = None
        # A first subscription follows the room's load from the store: the peers have the rest.
        # A re-subscription follows an outage: the store may hold what a dead peer flushed.
        self._want(
            doc, peers=True, store=not first, reason="subscribed" if first else "resubscribed"
        )

    def disconnected(self, error: str) -> None:
        self.subscribe_error = error
        if self._was_connected:
            self._was_connected = False
            self.metrics.redis_reconnects.labels(client="broker").inc()

    def _apply(self, room: Room, update: bytes, peer: str) -> None:
        started = time.perf_counter()
        try:
            room.apply_update(update, origin=None, remote=True)
        except UpdateGap as gap:
            held = self._held.setdefault(room.name, [])
            if len(held) < MAX_HELD:
                held.append(update)
            log.info(
                "event=remote_update_gap doc=%s peer=%s missing=%s held=%d",
                room.name,
                peer,
                gap.missing,
                len(held),
            )
            self._want(room.name, peers=True, reason="gap")
            return
        self.metrics.fanout_seconds.observe(time.perf_counter() - started)
        waiting = self._held.get(room.name)
        if waiting:
            self._retry_held(room, waiting)

    def _retry_held(self, room: Room, held: list[bytes]) -> None:
        progress = True
        while held and progress:
            progress = False
            for update in list(held):
                if not room.document.adds_anything(update):
                    held.remove(update)
                    continue
                try:
                    room.apply_update(update, origin=None, remote=True)
                except UpdateGap:
                    continue
                held.remove(update)
                progress = True
        if not held:
            self._held.pop(room.name, None)

    def _presence(self, room: Room, entries: list[AwarenessEntry], instance: str) -> None:
        changed = room.apply_remote_awareness(entries, instance)
        if not changed:
            return
        now = time.monotonic()
        presence = self._remote_presence.setdefault(room.name, {})
        for entry in changed:
            if entry.state is None:
                presence.pop(entry.client_id, None)
            else:
                presence[entry.client_id] = (entry.clock, now, instance)

    def _reply(self, room: Room, state_vector: bytes, requester: bytes) -> None:
        missing = room.document.diff(state_vector)
        awareness = encode_awareness_update(room.local_awareness())
        self._send(room.name, Kind.SYNC_REPLY, encode_reply(missing, awareness), requester)

    # -- deletions on other instances ------------------------------------------------------

    def _deleted_elsewhere(self, doc: str, peer: str) -> None:
        self.metrics.broker_messages.labels(direction="in", kind="deleted").inc()
        log.info("event=document_deleted_elsewhere doc=%s peer=%s", doc, peer)
        self.hub.forget(doc, remote=True)
        self._erase.add(doc)
        self._erase_ready.set()

    async def _erase_loop(self) -> None:
        while True:
            await self._erase_ready.wait()
            self._erase_ready.clear()
            docs, self._erase = self._erase, set()
            for doc in docs:
                if doc in self.hub.rooms:
                    continue  # opened again since: a new document by that name, not erased
                try:
                    await self.hub.erase(doc)
                except StoreError as exc:
                    log.warning("event=erase_failed doc=%s error=%s", doc, exc)
                    self._erase.add(doc)
            if self._erase:
                await asyncio.sleep(1.0)
                self._erase_ready.set()

    # -- durability of remote updates ------------------------------------------------------

    def _confirmed(self, key: tuple[bytes, str], seq: int) -> None:
        waiting = self._unconfirmed.get(key)
        while waiting and waiting[0][0] <= seq:
            waiting.popleft()
        if waiting is not None and not waiting:
            del self._unconfirmed[key]

    async def _unconfirmed_loop(self) -> None:
        interval = max(min(self.confirm_timeout / 4, 1.0), 0.05)
        while True:
            await asyncio.sleep(interval)
            self.persist_unconfirmed(time.monotonic())

    def persist_unconfirmed(self, now: float) -> None:
        """Write remote updates whose sender did not confirm them in time (it may be dead)."""
        for key, waiting in list(self._unconfirmed.items()):
            stale: deque[tuple[int, bytes, float]] = deque()
            while waiting and now - waiting[0][2] > self.confirm_timeout:
                stale.append(waiting.popleft())
            if not waiting:
                del self._unconfirmed[key]
            if stale:
                self._persist_unconfirmed(key, stale)

    def _persist_unconfirmed(
        self, key: tuple[bytes, str], entries: deque[tuple[int, bytes, float]]
    ) -> None:
        if not entries:
            return
        peer, doc = key[0].hex()[:8], key[1]
        log.warning(
            "event=persisting_unconfirmed doc=%s peer=%s updates=%d", doc, peer, len(entries)
        )
        self.metrics.unconfirmed_persisted.inc(len(entries))
        for _, update, _ in entries:
            self.hub.persister.add(doc, update)

    # -- catching up ------------------------------------------------------------------------

    def _want(self, doc: str, *, peers: bool = False, store: bool = False, reason: str) -> None:
        want = self._wants.setdefault(doc, _Want())
        want.peers |= peers
        want.store |= store
        self.metrics.catchups.labels(reason=reason).inc()
        self._wants_ready.set()

    async def _catch_up_loop(self) -> None:
        while True:
            await self._wants_ready.wait()
            self._wants_ready.clear()
            wants, self._wants = self._wants, {}
            failed = False
            for doc, want in wants.items():
                room = self.hub.rooms.get(doc)
                if room is None or room.state is not RoomState.OPEN:
                    continue
                if want.peers:
                    self._send(doc, Kind.SYNC_REQUEST, room.document.state_vector())
                if want.store:
                    try:
                        await self._catch_up_from_store(room)
                    except (StoreError, OffloadFailed) as exc:
                        log.warning("event=catch_up_failed doc=%s error=%s", doc, exc)
                        self._want(doc, store=True, reason="retry")
                        failed = True
            if failed:
                await asyncio.sleep(1.0)

    async def _catch_up_from_store(self, room: Room) -> None:
        stored = await self.hub.store.load(room.name)
        if stored.empty:
            return
        # What the store has beyond this room, worked out in the worker for a large document.
        missing = await self.hub.offload.run(
            stored.nbytes, jobs.diff_since, stored.parts, room.document.state_vector()
        )
        if self.hub.rooms.get(room.name) is not room or room.state is not RoomState.OPEN:
            return
        if room.document.adds_anything(missing):
            log.info("event=caught_up_from_store doc=%s bytes=%d", room.name, len(missing))
            self._apply(room, missing, "store")

    # -- presence of clients on other instances ---------------------------------------------

    async def _expire_presence_loop(self) -> None:
        interval = max(min(self.awareness_timeout / 6, 5.0), 0.05)
        while True:
            await asyncio.sleep(interval)
            self.expire_presence(time.monotonic())

    def expire_presence(self, now: float) -> None:
        """Remove remote clients whose presence was not renewed in time (their hub may be gone)."""
        for doc, presence in list(self._remote_presence.items()):
            room = self.hub.rooms.get(doc)
            if room is None:
                continue
            stale: dict[str, list[AwarenessEntry]] = {}
            for cid, (clock, seen, instance) in list(presence.items()):
                if now - seen > self.awareness_timeout:
                    del presence[cid]
                    stale.setdefault(instance, []).append(AwarenessEntry(cid, clock, None))
            for instance, entries in stale.items():
                log.info(
                    "event=remote_presence_expired doc=%s peer=%s clients=%d",
                    doc,
                    instance[:8],
                    len(entries),
                )
                room.apply_remote_awareness(entries, instance)
