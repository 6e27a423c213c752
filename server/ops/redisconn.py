"""What the Redis store and the Redis broker share: key naming and connecting.

Every key of a document goes through `doc_key`, which escapes the id and wraps it in a hash tag
(`tandem:{doc}:part`), so a Redis Cluster keeps all of a document's keys, and its pub/sub
channel, on one shard. A URL names either a single server or any node of a cluster: `connect`
asks the server which it is.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote, urlparse

from redis.asyncio import Redis, RedisCluster
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger("tandem.redis")

__all__ = ["INDEX_KEY", "REVOCATIONS_KEY", "RedisClient", "connect", "doc_key", "safe_url"]

RedisClient = Redis | RedisCluster

# The set of every stored document id (a key of its own: listing needs no SCAN over a cluster).
INDEX_KEY = "tandem:docs"
# Revoked users, a hash of its own: user -> "issued_before keep_until" (no document's hash tag).
REVOCATIONS_KEY = "tandem:revocations"

# Calls fail fast while Redis is away: the callers (flusher, broker) retry with their own backoff.
_TIMEOUTS: dict[str, Any] = {
    "socket_timeout": 5.0,
    "socket_connect_timeout": 2.0,
    "health_check_interval": 10,
}


def doc_key(doc: str, part: str) -> str:
    """`tandem:{<escaped doc>}:<part>`; braces, colons and anything unusual are %-escaped."""
    return "tandem:{" + quote(doc, safe="") + "}:" + part


def safe_url(url: str) -> str:
    """The URL without its password, for logs and errors."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def client_options(*, retries: int) -> dict[str, Any]:
    retry = (
        Retry(ExponentialBackoff(cap=0.5, base=0.05), retries) if retries else Retry(NoBackoff(), 0)
    )
    return {**_TIMEOUTS, "retry": retry}


async def close_quietly(closeable: Any, *, timeout: float = 2.0) -> None:
    """Close a Redis client or pub/sub within `timeout`: a stop never hangs on a dead Redis."""
    close = getattr(closeable, "aclose", None) or closeable.close
    try:
        async with asyncio.timeout(timeout):
            await close()
    except (TimeoutError, RedisError, OSError) as exc:
        log.warning("event=redis_close_failed error=%r", exc)


async def connect(url: str, *, retries: int = 2) -> RedisClient:
    """A client for `url`: a RedisCluster when the server says it runs in cluster mode.

    Raises RedisError when the server cannot be reached.
    """
    single = Redis.from_url(url, **client_options(retries=retries))
    try:
        info = await single.info("cluster")
    except BaseException:
        await single.aclose()
        raise
    if not info.get("cluster_enabled"):
        return single
    await single.aclose()
    parsed = urlparse(url)
    if parsed.path not in {"", "/", "/0"}:
        raise RedisError(f"{safe_url(url)}: a Redis Cluster has only database 0")
    cluster = RedisCluster.from_url(
        parsed._replace(path="").geturl(), **client_options(retries=retries)
    )
    try:
        await cluster.initialize()
    except BaseException:
        await cluster.aclose()
        raise
    return cluster
