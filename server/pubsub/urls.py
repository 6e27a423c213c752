"""Which pub/sub backend a URL names, and which URL a deployment uses by default."""

from __future__ import annotations

from urllib.parse import urlparse

from server.errors import ConfigError
from server.pubsub.base import Broker

_REDIS = {"redis", "rediss"}


def follow_store(explicit: str, store: str) -> str | None:
    """The pub/sub URL: the explicit one, else the store's when the store is Redis, else None
    (this process only)."""
    if explicit:
        return explicit
    return store if urlparse(store).scheme in _REDIS else None


def open_broker(url: str, *, purpose: str = "pub/sub") -> Broker:
    """memory:// (this process only) or redis://HOST:PORT/DB (every instance on that Redis,
    or Redis Cluster); raises ConfigError, naming `purpose`, for anything else."""
    scheme = urlparse(url).scheme
    if scheme in _REDIS:
        from server.pubsub.redis import RedisBroker

        return RedisBroker(url)
    if scheme == "memory":
        from server.pubsub.memory import MemoryBroker

        return MemoryBroker()
    raise ConfigError(f"unsupported {purpose} URL {url!r}: use memory:// or redis://HOST:PORT/DB")
