"""Prometheus metrics, one registry per app (tests build many apps in one process).

Other modules record through the `Metrics` object the hub carries (`hub.metrics`); the names
below are the ones operators see on `GET /metrics`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "UpdateHistogram", "UpdateTally"]


class UpdateTally(Collector):
    """The per-update counters: plain integers on the hot path, read out at scrape time
    (a prometheus Counter takes a lock on every increment, several times per update)."""

    __slots__ = ("bytes_in", "bytes_out", "updates_in", "updates_out")

    def __init__(self) -> None:
        self.updates_in = 0
        self.bytes_in = 0
        self.updates_out = 0
        self.bytes_out = 0

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "tandem_updates_received", "Updates applied from clients", value=self.updates_in
        )
        yield CounterMetricFamily(
            "tandem_bytes_received", "Bytes of updates received from clients", value=self.bytes_in
        )
        yield CounterMetricFamily(
            "tandem_updates_sent", "Update frames queued to clients", value=self.updates_out
        )
        yield CounterMetricFamily(
            "tandem_bytes_sent", "Bytes of updates queued to clients", value=self.bytes_out
        )


class UpdateHistogram(Collector):
    """A histogram observed once per update: a bisect and two additions, no lock; the
    cumulative buckets are made at scrape time."""

    __slots__ = ("_bounds", "_counts", "_sum", "documentation", "name")

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self._bounds = tuple(buckets)
        self._counts = [0] * (len(self._bounds) + 1)  # the last one: above every bound
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1  # first bound >= value: its `le`
        self._sum += value

    def collect(self) -> Iterator[HistogramMetricFamily]:
        buckets = []
        total = 0
        for bound, count in zip((*self._bounds, math.inf), self._counts, strict=True):
            total += count
            buckets.append(("+Inf" if math.isinf(bound) else repr(bound), total))
        yield HistogramMetricFamily(
            self.name, self.documentation, buckets=buckets, sum_value=self._sum
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("tandem_connections", "Open WebSocket connections", registry=r)
        self.rooms = Gauge("tandem_rooms", "Documents loaded in memory", registry=r)
        self.updates = UpdateTally()
        r.register(self.updates)
        self.closes = Counter(
            "tandem_connection_closes_total",
            "Connections closed by the server, by close code",
            ["code"],
            registry=r,
        )
        self.limits = Counter(
            "tandem_limit_exceeded_total",
            "Requests or connections refused or closed because a limit was exceeded",
            ["limit"],
            registry=r,
        )
        self.fanout_seconds = UpdateHistogram(
            "tandem_fanout_seconds",
            "Time from receiving an update to queueing it for every other connection",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
        )
        r.register(self.fanout_seconds)
        self.store_seconds = Histogram(
            "tandem_store_seconds", "Store call latency", ["op"], registry=r
        )
        self.store_errors = Counter(
            "tandem_store_errors_total", "Failed store calls", ["op"], registry=r
        )
        # Cross-instance fan-out (server/cluster) and Redis.
        self.broker_messages = Counter(
            "tandem_broker_messages_total",
            "Messages published to, or received from, other instances",
            ["direction", "kind"],
            registry=r,
        )
        self.broker_seconds = Histogram(
            "tandem_broker_seconds", "Broker call latency", ["op"], registry=r
        )
        self.broker_errors = Counter(
            "tandem_broker_errors_total", "Failed broker calls", ["op"], registry=r
        )
        self.broker_delivery_seconds = Histogram(
            "tandem_broker_delivery_seconds",
            "From an update's publication on another instance to its application here",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
            registry=r,
        )
        self.broker_queue = Gauge(
            "tandem_broker_queue", "Messages waiting to be published", registry=r
        )
        self.broker_dropped = Counter(
            "tandem_broker_dropped_total",
            "Messages dropped because the publish queue overflowed during an outage",
            registry=r,
        )
        self.unconfirmed_persisted = Counter(
            "tandem_broker_unconfirmed_persisted_total",
            "Remote updates written here because their sender never confirmed storing them",
            registry=r,
        )
        self.catchups = Counter(
            "tandem_catchups_total",
            "Catch-ups with other instances and the store, by reason",
            ["reason"],
            registry=r,
        )
        self.redis_reconnects = Counter(
            "tandem_redis_reconnects_total",
            "Redis connections lost (and then re-established)",
            ["client"],
            registry=r,
        )

        # -- presence, /events and webhooks (server/events/) ------------------------------------
        self.events_subscribers = Gauge(
            "tandem_events_subscribers", "Open /events subscriptions", registry=r
        )
        self.events_sent = Counter(
            "tandem_events_sent_total", "Notifications queued to /events subscribers", registry=r
        )
        self.awareness_coalesced = Counter(
            "tandem_awareness_coalesced_total",
            "Awareness states superseded before relay by the presence throttle",
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "tandem_webhook_deliveries_total",
            "Webhook deliveries and attempts by outcome (delivered, retried, failed, dropped)",
            ["outcome"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
