"""Batched, ordered writes of applied updates to the store, and compaction of long tails.

Updates collect in memory and are written every `flush_interval` in one store call (one
transaction), so persistence costs one round trip per batch, never one per keystroke. A failed
write keeps the batch, in order, for the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from crdt.document import merge_into_snapshot
from server.core.offload import Offload, OffloadFailed
from server.errors import StoreError
from server.ops.cancellation import honour_cancellation
from server.stores.base import Store, TailStats

log = logging.getLogger("tandem.persistence")


class Persister:
    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float,
        compact_max_updates: int,
        compact_max_bytes: int,
        offload: Offload,
    ) -> None:
        self.store = store
        self.offload = offload
        self.flush_interval = flush_interval
        self.compact_max_updates = compact_max_updates
        self.compact_max_bytes = compact_max_bytes
        self._pending: dict[str, list[bytes]] = {}
        self._wakeup = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self.healthy = True
        self.last_error: str | None = None
        # Told what each successful flush wrote (the broker confirms it to other instances).
        self.flushed_listeners: list[Callable[[Mapping[str, Sequence[bytes]]], None]] = []

    def add(self, doc: str, update: bytes) -> None:
        self._pending.setdefault(doc, []).append(update)
        self._wakeup.set()

    def has_pending(self, doc: str) -> bool:
        return doc in self._pending

    async def delete(self, doc: str) -> bool:
        """Drop a deleted document's unwritten updates and delete it from the store, after a
        flush already under way (which may hold some of them) has finished."""
        async with self._flush_lock:
            self._pending.pop(doc, None)
            return await self.store.delete(doc)

    @property
    def pending_count(self) -> int:
        return sum(len(v) for v in self._pending.values())

    async def run(self) -> None:
        """Flush forever: wait for work, let a batch gather for one interval, write it."""
        backoff = self.flush_interval
        while True:
            await self._wakeup.wait()
            await asyncio.sleep(backoff)
            flushed = await self.flush()
            honour_cancellation()  # a Redis store may have swallowed our stop
            if flushed:
                backoff = self.flush_interval
            else:
                backoff = min(max(backoff * 2, 0.1), 5.0)
                self._wakeup.set()

    async def flush(self) -> bool:
        """Write everything pending; True when the store took it all."""
        async with self._flush_lock:
            self._wakeup.clear()
            batch, self._pending = self._pending, {}
            if not batch:
                return True
            started = time.perf_counter()
            try:
                stats = await self.store.append(batch)
            except StoreError as exc:
                self._requeue(batch)
                if self.healthy:
                    log.error("event=flush_failed docs=%d error=%s", len(batch), exc)
                self.healthy, self.last_error = False, str(exc)
                return False
            for listener in self.flushed_listeners:
                listener(batch)
            if not self.healthy:
                log.info("event=flush_recovered docs=%d", len(batch))
            self.healthy, self.last_error = True, None
            log.debug(
                "event=flushed docs=%d updates=%d ms=%.1f",
                len(batch),
                sum(len(v) for v in batch.values()),
                (time.perf_counter() - started) * 1e3,
            )
        await self._compact_long_tails(stats)
        return True

    def _requeue(self, batch: Mapping[str, list[bytes]]) -> None:
        # Older updates go first: order within a document is preserved across retries.
        for doc, updates in batch.items():
            newer = self._pending.get(doc, [])
            self._pending[doc] = updates + newer

    async def _compact_long_tails(self, stats: Mapping[str, TailStats]) -> None:
        for doc, tail in stats.items():
            # The bounds grow with the snapshot (an eighth of it, past the configured bytes):
            # folding rewrites the whole document, so a large one is folded in proportion.
            scale = max(1, tail.snapshot_size // (8 * self.compact_max_bytes))
            if (
                tail.count > self.compact_max_updates * scale
                or tail.size > self.compact_max_bytes * scale
            ):
                try:
                    await compact(self.store, doc, self.offload)
                except (StoreError, OffloadFailed) as exc:
                    log.warning("event=compact_failed doc=%s error=%s", doc, exc)


async def compact(store: Store, doc: str, offload: Offload | None = None) -> bool:
    """Fold a document's tail into its snapshot; a concurrent append is kept, never lost.
    A large document is folded in the worker process (`offload`), a small one here."""
    stored = await store.load(doc)
    if not stored.updates:
        return False
    if offload is None:
        snapshot = merge_into_snapshot(stored.snapshot, stored.updates)
    else:
        snapshot = await offload.run(
            stored.nbytes, merge_into_snapshot, stored.snapshot, stored.updates
        )
    done = await store.compact(
        doc, snapshot, generation=stored.generation, tail_end=stored.tail_end
    )
    log.info(
        "event=compacted doc=%s updates=%d snapshot_bytes=%d applied=%s",
        doc,
        len(stored.updates),
        len(snapshot),
        done,
    )
    return done
