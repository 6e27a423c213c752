"""The Broker protocol: how hub instances pass messages about a document to each other.

A broker only moves bytes on one channel per document; what they mean (updates, presence,
catch-up requests) is `server.cluster.fanout`'s business. Delivery is at most once and in order
per publisher while a subscription lasts: whenever a subscription (re)starts, the broker says so
with `BrokerSink.subscribed`, and the receiver catches up on whatever it may have missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from server.errors import TandemError


class BrokerError(TandemError):
    """The broker backend failed (Redis errors are translated into this)."""


class BrokerSink(Protocol):
    """Who hears what arrives; called on the event loop, must not block."""

    def message(self, doc: str, data: bytes) -> None: ...

    def subscribed(self, doc: str) -> None:
        """The channel of `doc` delivers from now on; anything earlier may have been missed."""

    def disconnected(self, error: str) -> None:
        """The subscription connection broke; `subscribed` follows once it is back."""


class Broker(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool:
        """Whether subscriptions are live right now."""

    def subscribe(self, doc: str) -> None:
        """Start receiving `doc`'s channel (returns at once; `subscribed` confirms)."""

    def unsubscribe(self, doc: str) -> None: ...

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish in order (doc, data) pairs; raises BrokerError when the backend fails."""

    async def run(self, sink: BrokerSink) -> None:
        """Keep the subscriptions alive and deliver to `sink` until cancelled; reconnects."""
