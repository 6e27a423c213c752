"""The notification bus over Redis pub/sub (channel `tandem:events`), for several instances.

Pub/sub keeps the publish order of each connection, so one publisher task per instance gives
every subscriber the same per-instance order. A lost connection is retried with backoff; what was
published meanwhile waits in the bounded outbox, and `connected` lets the caller resynchronise
(presence snapshots) once the subscription is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.events.bus import Deliver, Message, Outbox
from server.ops.redisconn import close_quietly

log = logging.getLogger("tandem.events.redis")

CHANNEL = "tandem:events"


class RedisBus:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._outbox = Outbox()

    def publish(self, message: Message) -> None:
        self._outbox.put(message)

    async def run(self, deliver: Deliver, connected: Callable[[], None]) -> None:
        backoff = 0.2
        while True:
            try:
                await self._session(deliver, connected)
            except (RedisError, OSError) as exc:
                log.warning("event=bus_disconnected url=%s error=%r", _safe(self.url), exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _session(self, deliver: Deliver, connected: Callable[[], None]) -> None:
        client = aioredis.Redis.from_url(self.url)
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(self.channel)
            log.info("event=bus_connected url=%s channel=%s", _safe(self.url), self.channel)
            connected()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._send(client))
                tasks.create_task(self._receive(pubsub, deliver))
        except* (RedisError, OSError) as group:
            raise group.exceptions[0] from None
        finally:
            await close_quietly(client)

    async def _send(self, client: aioredis.Redis) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await client.publish(self.channel, json.dumps(message, separators=(",", ":")))
            except BaseException:
                self._outbox.unget(message)
                raise

    async def _receive(self, pubsub: aioredis.client.PubSub, deliver: Deliver) -> None:
        while True:
            item = await pubsub.get_message(timeout=None)
            if item is None or item.get("type") != "message":
                continue
            try:
                message = json.loads(item["data"])
            except ValueError:
                log.warning("event=bus_bad_message channel=%s", self.channel)
                continue
            if isinstance(message, dict):
                deliver(message)


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
