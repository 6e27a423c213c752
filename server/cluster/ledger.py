"""The durability ledger: which updates are in the store yet.

Ours: every update we publish waits here until the persister has written it, then the others
hear up to which of our messages is stored (FLUSHED). Theirs: every remote update we applied
waits until its sender says the same; if that does not come in time, the sender may have died
with it unflushed, so we write it ourselves (a repeat costs a few bytes; Yjs ignores it), and
what any live room holds reaches the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from server.cluster.sequence import Sender
from server.ops.metrics import Metrics

log = logging.getLogger("tandem.fanout")

# How long a remote update may stay unconfirmed by its sender before we persist it ourselves.
CONFIRM_TIMEOUT = 5.0

Unconfirmed = deque[tuple[int, bytes, float]]  # (seq, update, when it arrived)


class Ledger:
    def __init__(
        self,
        persist: Callable[[str, bytes], None],
        metrics: Metrics,
        *,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        self.persist = persist
        self.metrics = metrics
        self.confirm_timeout = confirm_timeout
        # Our published updates not yet flushed (same objects the persister holds), by doc.
        self._unflushed: dict[str, deque[tuple[bytes, int]]] = {}
        # Remote updates their sender has not confirmed as stored.
        self._unconfirmed: dict[Sender, Unconfirmed] = {}

    def unconfirmed(self) -> int:
        """How many remote updates wait for their sender's confirmation."""
        return sum(len(waiting) for waiting in self._unconfirmed.values())

    # -- ours ---------------------------------------------------------------------------------

    def published(self, doc: str, update: bytes, seq: int) -> None:
        self._unflushed.setdefault(doc, deque()).append((update, seq))

    def flushed(self, batch: Mapping[str, Sequence[bytes]]) -> dict[str, int]:
        """The persister wrote these: per document, our last message seq now stored."""
        stored: dict[str, int] = {}
        for doc, updates in batch.items():
            waiting = self._unflushed.get(doc)
            if not waiting:
                continue
            for update in updates:
                if waiting and waiting[0][0] is update:
                    stored[doc] = waiting.popleft()[1]
            if not waiting:
                del self._unflushed[doc]
        return stored

    def drop_ours(self, doc: str) -> None:
        """The persister dropped `doc`'s updates (deleted): no FLUSHED will follow."""
        self._unflushed.pop(doc, None)

    # -- theirs -------------------------------------------------------------------------------

    def received(self, sender: Sender, seq: int, update: bytes) -> None:
        self._unconfirmed.setdefault(sender, deque()).append((seq, update, time.monotonic()))

    def confirmed(self, sender: Sender, seq: int) -> None:
        waiting = self._unconfirmed.get(sender)
        while waiting and waiting[0][0] <= seq:
            waiting.popleft()
        if waiting is not None and not waiting:
            del self._unconfirmed[sender]

    def forget(self, doc: str) -> dict[Sender, Unconfirmed]:
        """Stop tracking `doc`'s remote updates; returns those still unconfirmed."""
        return {
            sender: self._unconfirmed.pop(sender)
            for sender in list(self._unconfirmed)
            if sender[1] == doc
        }

    def persist_all(self, unconfirmed: Mapping[Sender, Unconfirmed]) -> None:
        for sender, entries in unconfirmed.items():
            self._persist(sender, entries)

    async def run(self) -> None:
        interval = max(min(self.confirm_timeout / 4, 1.0), 0.05)
        while True:
            await asyncio.sleep(interval)
            self.persist_unconfirmed(time.monotonic())

    def persist_unconfirmed(self, now: float) -> None:
        """Write remote updates whose sender did not confirm them in time (it may be dead)."""
        for sender, waiting in list(self._unconfirmed.items()):
            stale: Unconfirmed = deque()
            while waiting and now - waiting[0][2] > self.confirm_timeout:
                stale.append(waiting.popleft())
            if not waiting:
                del self._unconfirmed[sender]
            if stale:
                self._persist(sender, stale)

    def _persist(self, sender: Sender, entries: Unconfirmed) -> None:
        if not entries:
            return
        peer, doc = sender[0].hex()[:8], sender[1]
        log.warning(
            "event=persisting_unconfirmed doc=%s peer=%s updates=%d", doc, peer, len(entries)
        )
        self.metrics.unconfirmed_persisted.inc(len(entries))
        for _, update, _ in entries:
            self.persist(doc, update)
