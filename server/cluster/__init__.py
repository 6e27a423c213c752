"""Cross-instance fan-out over a `server.pubsub` broker: `install(hub, broker)` is all an app
needs. The Fanout listens to the hub's rooms, runs as one of its background services, and
reports to /readyz; it reaches the hub only through the `RoomAccess` built here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from server.cluster.access import RoomAccess
from server.cluster.catchup import stored_beyond
from server.cluster.fanout import Fanout
from server.core.listeners import HubListener
from server.core.offload import Offload
from server.core.persistence import Persister
from server.core.room import Room
from server.ops.metrics import Metrics
from server.pubsub.base import Broker
from server.pubsub.urls import follow_store, open_broker
from server.stores.base import Store

__all__ = ["Fanout", "Host", "RoomAccess", "fanout_broker", "install"]


def fanout_broker(broker: str, store: str) -> Broker | None:
    """The pub/sub named by --broker (a URL, or none), else the store's Redis when the store is
    Redis, else none: a single instance; raises ConfigError."""
    url = None if broker == "none" else follow_store(broker, store)
    return None if url is None else open_broker(url, purpose="broker")


class Host(Protocol):
    """What `install` uses of the hub: where to plug the Fanout in, and what its access wraps."""

    rooms: dict[str, Room]
    persister: Persister
    store: Store
    offload: Offload
    metrics: Metrics

    def forget(self, doc: str, *, remote: bool = False) -> bool: ...

    async def erase(self, doc: str) -> bool: ...

    def add_listener(self, listener: HubListener) -> None: ...

    def add_service(self, name: str, run: Callable[[], Awaitable[None]]) -> None: ...

    def add_health_check(self, problem: Callable[[], str | None]) -> None: ...


def install(host: Host, broker: Broker) -> Fanout:
    access = RoomAccess(
        room=host.rooms.get,
        persist=host.persister.add,
        forget=partial(host.forget, remote=True),
        erase=host.erase,
        stored_beyond=partial(stored_beyond, host.store, host.offload),
    )
    fanout = Fanout(access, broker, host.metrics)
    host.persister.flushed_listeners.append(fanout.flushed)
    host.add_listener(fanout)
    host.add_service("broker", fanout.run)
    host.add_health_check(fanout.problem)
    return fanout
