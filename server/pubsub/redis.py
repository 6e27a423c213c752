"""The Redis broker: Redis pub/sub channels, reached through `redisconn.connect`.

On a single Redis it uses SUBSCRIBE/PUBLISH. On a Redis Cluster it uses sharded pub/sub
(SSUBSCRIBE/SPUBLISH, Redis 7): a channel lives on the shard that owns its hash slot (a
document's channel, `tandem:{doc}:bus`, on the shard of its hash tag), so messages stay on one
shard instead of being broadcast to every node; there is one subscription connection per
master that owns a subscribed channel.

Subscriptions live in a session; when any of its connections breaks, the whole session ends,
the sink hears `disconnected`, and a new session (after a backoff) subscribes everything again,
confirming each channel with `subscribed` so the receiver catches up on what it missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.ops.cancellation import honour_cancellation
from server.ops.redisconn import (
    RedisClient,
    client_options,
    close_quietly,
    connect,
    safe_url,
)
from server.pubsub.base import BrokerError, BrokerSink

log = logging.getLogger("tandem.broker.redis")

_MAX_BACKOFF = 1.0


class _Node:
    """One subscription connection (to the single server, or to one cluster master)."""

    def __init__(self, client: Redis, sharded: bool) -> None:
        self.client = client
        self.pubsub: PubSub = client.pubsub()
        self.sharded = sharded
        self.active = asyncio.Event()  # set after the first subscribe opened the connection

    async def subscribe(self, channel: str) -> None:
        if self.sharded:
            await self.pubsub.ssubscribe(channel)
        else:
            await self.pubsub.subscribe(channel)
        self.active.set()

    async def unsubscribe(self, channel: str) -> None:
        if self.sharded:
            await self.pubsub.sunsubscribe(channel)
        else:
            await self.pubsub.unsubscribe(channel)

    async def close(self) -> None:
        await close_quietly(self.pubsub)
        await close_quietly(self.client)


class RedisBroker:
    def __init__(self, url: str) -> None:
        self.url = url
        self._publisher: RedisClient | None = None
        self._channels: set[str] = set()  # every wanted channel
        self._changes: asyncio.Queue[tuple[bool, str]] = asyncio.Queue()
        self._connected = False

    def __repr__(self) -> str:
        return f"<RedisBroker {safe_url(self.url)}>"

    @property
    def connected(self) -> bool:
        return self._connected

    async def open(self) -> None:
        return None  # connections are made by run() and by the first publish

    async def close(self) -> None:
        if self._publisher is not None:
            client, self._publisher = self._publisher, None
            await close_quietly(client)

    def subscribe(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.add(channel)
            self._changes.put_nowait((True, channel))

    def unsubscribe(self, channel: str) -> None:
        if channel in self._channels:
            self._channels.discard(channel)
            self._changes.put_nowait((False, channel))

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        try:
            client = self._publisher
            if client is None:
                client = self._publisher = await connect(self.url)
            if isinstance(client, Redis):
                async with client.pipeline(transaction=False) as pipe:
                    for channel, data in messages:
                        pipe.publish(channel, data)
                    await pipe.execute()
            else:
                # In order, one shard at a time: a channel's messages all go to its shard.
                for channel, data in messages:
                    await client.spublish(channel, data)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            raise BrokerError(f"redis publish ({safe_url(self.url)}): {exc}") from exc

    # -- subscriptions ----------------------------------------------------------------------

    async def run(self, sink: BrokerSink) -> None:
        backoff = 0.1
        while True:
            error = "the subscription session ended"
            try:
                await self._session(sink)
            except* (RedisError, OSError) as group:
                first = group.exceptions[0]
                error = f"{type(first).__name__}: {first}"
            was_connected, self._connected = self._connected, False
            sink.disconnected(error)
            if was_connected:
                backoff = 0.1
                log.warning("event=broker_disconnected error=%r", error)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _session(self, sink: BrokerSink) -> None:
        client = await connect(self.url, retries=0)
        nodes: dict[str, _Node] = {}
        try:
            async with asyncio.TaskGroup() as tasks:

                def reading(node: _Node) -> _Node:
                    tasks.create_task(self._read(node, sink))
                    return node

                route = self._router(client, nodes, reading)
                # Changes queued before this session are covered by subscribing the current set.
                while not self._changes.empty():
                    self._changes.get_nowait()
                for channel in list(self._channels):
                    await route(channel).subscribe(channel)
                self._connected = True
                log.info("event=broker_connected channels=%d", len(self._channels))
                await self._apply_changes(route)
        finally:
            for node in nodes.values():
                await node.close()
            await close_quietly(client)

    def _router(
        self, client: RedisClient, nodes: dict[str, _Node], reading: Callable[[_Node], _Node]
    ) -> Callable[[str], _Node]:
        """Which subscription connection a channel belongs on (made, and read, on first use)."""
        if isinstance(client, Redis):
            nodes["main"] = reading(_Node(client, sharded=False))
            return lambda channel: nodes["main"]
        options: dict[str, Any] = client_options(retries=0)
        auth = client.get_connection_kwargs()

        def route(channel: str) -> _Node:
            owner = client.get_node_from_key(channel)
            if owner is None:
                raise RedisError(f"no cluster node serves {channel}")
            node = nodes.get(owner.name)
            if node is None:
                single = Redis(
                    host=owner.host,
                    port=int(owner.port),
                    username=auth.get("username"),
                    password=auth.get("password"),
                    **options,
                )
                node = nodes[owner.name] = reading(_Node(single, sharded=True))
            return node

        return route

    async def _apply_changes(self, route: Callable[[str], _Node]) -> None:
        while True:
            subscribe, channel = await self._changes.get()
            node = route(channel)
            if subscribe:
                if channel in self._channels:
                    await node.subscribe(channel)
            elif node.active.is_set():
                await node.unsubscribe(channel)
            honour_cancellation()

    async def _read(self, node: _Node, sink: BrokerSink) -> None:
        await node.active.wait()
        while True:
            message = await node.pubsub.get_message(timeout=None)
            honour_cancellation()
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            if name not in self._channels:
                continue  # unsubscribed meanwhile
            if kind in {"message", "smessage"}:
                sink.message(name, bytes(message["data"]))
            elif kind in {"subscribe", "ssubscribe"}:
                sink.subscribed(name)
