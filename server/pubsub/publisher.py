"""Publishing an outbox through a broker: in order, in batches, retried with backoff while the
broker fails (the batch goes back to the head of the outbox), and flushed first thing once it
works again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from server.ops.cancellation import honour_cancellation
from server.ops.metrics import Metrics
from server.pubsub.base import Broker, BrokerError
from server.pubsub.outbox import Outbox

log = logging.getLogger("tandem.pubsub")

BATCH = 256
_FIRST_BACKOFF = 0.05
_MAX_BACKOFF = 2.0


class Publisher:
    def __init__(
        self, broker: Broker, outbox: Outbox, *, name: str, metrics: Metrics | None = None
    ) -> None:
        self.broker = broker
        self.outbox = outbox
        self.name = name  # in logs: whose messages these are
        self.metrics = metrics
        self.error: str | None = None  # why the last publish failed, until one works

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Publish until cancelled; with `ready`, only while it is set (e.g. subscribed)."""
        backoff = _FIRST_BACKOFF
        while True:
            await self.outbox.wait()
            if ready is not None:
                await ready.wait()
            batch = self.outbox.take(BATCH)
            started = time.perf_counter()
            try:
                await self.broker.publish(batch)
                honour_cancellation()
            except BrokerError as exc:
                self.outbox.put_back(batch)
                self._failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            if self.metrics is not None:
                self.metrics.broker_seconds.labels(op="publish").observe(
                    time.perf_counter() - started
                )
            if self.error is not None:
                log.info(
                    "event=broker_publish_recovered publisher=%s queued=%d",
                    self.name,
                    len(self.outbox),
                )
                self.error = None
            backoff = _FIRST_BACKOFF

    async def flush(self, timeout: float) -> None:
        """Last words at a stop: whatever is queued, if the broker takes it within `timeout`."""
        if self.outbox:
            with contextlib.suppress(BrokerError, TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.broker.publish(self.outbox.take(len(self.outbox)))

    def _failed(self, exc: BrokerError) -> None:
        if self.metrics is not None:
            self.metrics.broker_errors.labels(op="publish").inc()
        if self.error is None:
            log.error(
                "event=broker_publish_failed publisher=%s queued=%d error=%s",
                self.name,
                len(self.outbox),
                exc,
            )
        self.error = str(exc)
