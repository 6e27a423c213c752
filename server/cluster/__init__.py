"""Cross-instance fan-out: brokers (picked by URL scheme, imported lazily) and the Fanout.

`install(hub, broker)` is all an app needs: the Fanout listens to the hub's rooms, runs as one of
its background services, and reports to /readyz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from server.errors import ConfigError
from server.pubsub.base import Broker, BrokerError, BrokerSink

if TYPE_CHECKING:
    from server.cluster.fanout import Fanout
    from server.core.hub import Hub

__all__ = ["Broker", "BrokerError", "BrokerSink", "broker_url", "install", "open_broker"]


def broker_url(broker: str, store: str) -> str | None:
    """The broker to use: explicit, or "" for the store's Redis (none for SQLite/memory)."""
    if broker == "none":
        return None
    if broker:
        return broker
    return store if urlparse(store).scheme in {"redis", "rediss"} else None


def open_broker(url: str) -> Broker:
    scheme = urlparse(url).scheme
    if scheme in {"redis", "rediss"}:
        from server.pubsub.redis import RedisBroker

        return RedisBroker(url)
    if scheme == "memory":
        from server.pubsub.memory import MemoryBroker

        return MemoryBroker()
    raise ConfigError(f"unsupported broker URL {url!r}: use redis://HOST:PORT/DB or none")


def install(hub: Hub, broker: Broker) -> Fanout:
    from server.cluster.fanout import Fanout

    fanout = Fanout(hub, broker)
    hub.add_listener(fanout)
    hub.add_service("broker", fanout.run)
    hub.add_health_check(fanout.problem)
    return fanout
