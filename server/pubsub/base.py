"""The Broker protocol: how hub instances pass bytes to each other on named channels.

A broker only moves bytes; what they mean is its users' business: fan-out's envelopes on one
channel per document (`server.cluster`), events' and revocations' JSON on a channel each
(`server.events`, `server.security.revocations`). Delivery is at most once and in order per
publisher while a subscription lasts: whenever a subscription (re)starts, the broker says so
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

    def message(self, channel: str, data: bytes) -> None: ...

    def subscribed(self, channel: str) -> None:
        """`channel` delivers from now on; anything earlier may have been missed."""

    def disconnected(self, error: str) -> None:
        """The subscription connection broke; `subscribed` follows once it is back."""


class Broker(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool:
        """Whether subscriptions are live right now."""

    def subscribe(self, channel: str) -> None:
        """Start receiving `channel` (returns at once; `subscribed` confirms)."""

    def unsubscribe(self, channel: str) -> None: ...

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish in order (channel, data) pairs; raises BrokerError when the backend fails."""

    async def run(self, sink: BrokerSink) -> None:
        """Keep the subscriptions alive and deliver to `sink` until cancelled; reconnects."""
