"""Cross-instance fan-out: what one hub applies, every other hub with the room open applies too.

`Fanout` is a hub listener (it hears local updates and presence changes and publishes them) and
a broker sink (it applies what other instances publish), on one channel per document. Redis
pub/sub is at most once, so a receiver never trusts it to be complete; the jobs that make up
for it each have their module:

- `sequence`: each instance numbers its messages per document; a jump means messages were
  missed;
- `held`: a remote update whose clocks start past our state is held back, not applied (yrs
  would diverge, docs/pycrdt-pitfalls.md#out-of-order-updates);
- `catchup`: either case, and every (re)subscription, asks the peers (and the store) for
  what we lack;
- `ledger`: remote updates are persisted by the instance that received them from a client,
  which says so (FLUSHED); unconfirmed ones are written by every instance that applied them;
- `deletions`: a document deleted on one instance (DELETED) is forgotten and erased by all;
- `presence`: remote clients' presence, expired if not renewed.

Only instances with a room open subscribe to its channel (room_opened / room_closed).
Publishing goes through a bounded in-order outbox (`server.pubsub.outbox`), so a Redis outage
delays fan-out instead of blocking rooms; it is retried with backoff and flushed first thing
when Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence

from crdt.awareness import decode_awareness_update, encode_awareness_update
from crdt.errors import CrdtError, ProtocolError, UpdateGap
from server.cluster.access import RoomAccess
from server.cluster.catchup import CatchUp
from server.cluster.deletions import Deletions
from server.cluster.envelope import (
    EVERYONE,
    Envelope,
    Kind,
    decode_reply,
    decode_seq,
    encode_reply,
    encode_seq,
)
from server.cluster.held import HeldUpdates
from server.cluster.ledger import CONFIRM_TIMEOUT, Ledger, Unconfirmed
from server.cluster.presence import AWARENESS_TIMEOUT, RemotePresence
from server.cluster.sequence import Sender, Sequences
from server.core.listeners import AwarenessEvent, HubListener, UpdateEvent
from server.core.room import Room
from server.ops.metrics import Metrics
from server.ops.redisconn import doc_key
from server.pubsub.base import Broker
from server.pubsub.outbox import Outbox
from server.pubsub.publisher import Publisher

log = logging.getLogger("tandem.fanout")

OUTBOX_LIMIT = 50_000  # messages queued while Redis is away; the oldest go first after that


def channel_of(doc: str) -> str:
    """A document's channel, `tandem:{doc}:bus`: on a Redis Cluster, the shard of its keys."""
    return doc_key(doc, "bus")


class Fanout(HubListener):
    def __init__(
        self,
        access: RoomAccess,
        broker: Broker,
        metrics: Metrics,
        *,
        awareness_timeout: float = AWARENESS_TIMEOUT,
        outbox_limit: int = OUTBOX_LIMIT,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        self.access = access
        self.broker = broker
        self.metrics = metrics
        self.instance = uuid.uuid4().bytes
        self.name = self.instance.hex()[:8]
        self.subscribe_error: str | None = None
        self.outbox = Outbox(outbox_limit, dropped=metrics.broker_dropped.inc)
        self.publisher = Publisher(broker, self.outbox, name="fanout", metrics=metrics)
        self.sequences = Sequences()
        self.held = HeldUpdates()
        self.ledger = Ledger(access.persist, metrics, confirm_timeout=confirm_timeout)
        self.presence = RemotePresence(access.room, timeout=awareness_timeout)
        self.deletions = Deletions(access)
        self.catchup = CatchUp(access, metrics, ask_peers=self._ask_peers, apply=self._apply)
        self._docs: dict[str, str] = {}  # channel -> doc, for every subscribed document
        self._subscribed_before: set[str] = set()
        self._was_connected = False
        metrics.broker_queue.set_function(lambda: len(self.outbox))

    def __repr__(self) -> str:
        return f"<Fanout {self.name} via {self.broker!r}>"

    def problem(self) -> str | None:
        """Why this instance is not fully connected to the others (for /readyz), or None."""
        if not self.broker.connected:
            return f"broker: not subscribed ({self.subscribe_error or 'connecting'})"
        if self.publisher.error is not None:
            return f"broker: publishing fails ({self.publisher.error})"
        return None

    @property
    def idle(self) -> bool:
        """Nothing waiting to be published or caught up on."""
        return not self.outbox and self.catchup.idle

    async def run(self) -> None:
        await self.broker.open()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.broker.run(self), name="tandem-broker-subscriber")
                tasks.create_task(self.publisher.run(), name="tandem-broker-publisher")
                tasks.create_task(self.catchup.run(), name="tandem-broker-catch-up")
                tasks.create_task(self.presence.run(), name="tandem-broker-presence")
                tasks.create_task(self.ledger.run(), name="tandem-broker-unconfirmed")
                tasks.create_task(self.deletions.run(), name="tandem-broker-erase")
        finally:
            # Last words (presence removals of the sockets just closed) go out if they can.
            await self.publisher.flush(timeout=1.0)
            await self.broker.close()

    # -- local changes out (HubListener) ----------------------------------------------------

    def room_opened(self, room: Room) -> None:
        channel = channel_of(room.name)
        self._docs[channel] = room.name
        self.broker.subscribe(channel)

    def room_closed(self, room: Room) -> None:
        self.ledger.persist_all(self._forget(room.name))

    def deleted(self, doc: str, *, remote: bool = False) -> None:
        self._forget(doc)  # its unconfirmed updates go with it
        self.ledger.drop_ours(doc)
        if not remote:
            self._send(doc, Kind.DELETED, b"")

    def _forget(self, doc: str) -> dict[Sender, Unconfirmed]:
        """Unsubscribe and drop what we keep for `doc`; returns its unconfirmed updates."""
        channel = channel_of(doc)
        self._docs.pop(channel, None)
        self.broker.unsubscribe(channel)
        self.held.forget(doc)
        self.presence.forget(doc)
        self.catchup.forget(doc)
        self._subscribed_before.discard(doc)
        self.sequences.forget(doc)
        return self.ledger.forget(doc)

    def update(self, event: UpdateEvent) -> None:
        if not event.remote:
            doc = event.room.name
            seq = self._send(doc, Kind.UPDATE, event.update)
            self.ledger.published(doc, event.update, seq)

    def flushed(self, batch: Mapping[str, Sequence[bytes]]) -> None:
        """The persister wrote these: tell the others up to which of our updates is stored."""
        for doc, seq in self.ledger.flushed(batch).items():
            self._send(doc, Kind.FLUSHED, encode_seq(seq))

    def awareness(self, event: AwarenessEvent) -> None:
        if not event.remote:
            self._send(event.room.name, Kind.AWARENESS, encode_awareness_update(event.entries))

    def _send(self, doc: str, kind: Kind, body: bytes, target: bytes = EVERYONE) -> int:
        seq = self.sequences.next(doc)
        data = Envelope(kind, self.instance, seq, time.time(), target, body).encode()
        self.outbox.put(channel_of(doc), data)
        self.metrics.broker_messages.labels(direction="out", kind=kind.name.lower()).inc()
        return seq

    def _ask_peers(self, room: Room) -> None:
        self._send(room.name, Kind.SYNC_REQUEST, room.document.state_vector())

    # -- remote changes in (BrokerSink) -----------------------------------------------------

    def message(self, channel: str, data: bytes) -> None:
        doc = self._docs.get(channel)
        if doc is None:
            return  # unsubscribed meanwhile
        try:
            envelope = Envelope.decode(data)
        except ProtocolError as exc:
            log.warning("event=broker_message_refused doc=%s error=%s", doc, exc)
            return
        if envelope.instance == self.instance:
            return  # our own echo
        if envelope.kind is Kind.DELETED:
            self.metrics.broker_messages.labels(direction="in", kind="deleted").inc()
            log.info(
                "event=document_deleted_elsewhere doc=%s peer=%s", doc, envelope.instance.hex()[:8]
            )
            self.deletions.deleted_elsewhere(doc)
            return
        room = self.access.open_room(doc)
        if room is None:
            return
        sender = (envelope.instance, doc)
        missed = self.sequences.arrived(sender, envelope.seq)
        if missed is None:
            return  # a repeat: a publish retried after it had partly gone through
        instance = envelope.instance.hex()
        peer = instance[:8]
        if missed:
            log.info("event=broker_messages_missed doc=%s peer=%s missed=%d", doc, peer, missed)
            self.catchup.want(doc, peers=True, reason="missed")
        if envelope.target not in (EVERYONE, self.instance):
            return
        kind = envelope.kind
        self.metrics.broker_messages.labels(direction="in", kind=kind.name.lower()).inc()
        try:
            if kind is Kind.UPDATE:
                self.ledger.received(sender, envelope.seq, envelope.body)
                self._apply(room, envelope.body, peer)
                self.metrics.broker_delivery_seconds.observe(
                    max(0.0, time.time() - envelope.sent_at)
                )
            elif kind is Kind.FLUSHED:
                self.ledger.confirmed(sender, decode_seq(envelope.body))
            elif kind is Kind.AWARENESS:
                self.presence.apply(room, decode_awareness_update(envelope.body), instance)
            elif kind is Kind.SYNC_REQUEST:
                self._reply(room, envelope.body, envelope.instance)
            elif kind is Kind.SYNC_REPLY:
                update, awareness = decode_reply(envelope.body)
                self._apply(room, update, peer)
                self.presence.apply(room, decode_awareness_update(awareness), instance)
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

    def subscribed(self, channel: str) -> None:
        if not self._was_connected:
            self._was_connected = True
            self.subscribe_error = None
        doc = self._docs.get(channel)
        if doc is None:
            return
        first = doc not in self._subscribed_before
        self._subscribed_before.add(doc)
        # A first subscription follows the room's load from the store: the peers have the rest.
        # A re-subscription follows an outage: the store may hold what a dead peer flushed.
        self.catchup.want(
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
            held = self.held.hold(room.name, update)
            log.info(
                "event=remote_update_gap doc=%s peer=%s missing=%s held=%d",
                room.name,
                peer,
                gap.missing,
                held,
            )
            self.catchup.want(room.name, peers=True, reason="gap")
            return
        self.metrics.fanout_seconds.observe(time.perf_counter() - started)
        self.held.retry(room)

    def _reply(self, room: Room, state_vector: bytes, requester: bytes) -> None:
        missing = room.document.diff(state_vector)
        awareness = encode_awareness_update(room.local_awareness())
        self._send(room.name, Kind.SYNC_REPLY, encode_reply(missing, awareness), requester)
