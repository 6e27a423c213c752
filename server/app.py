"""The Starlette application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from server.cluster import fanout_broker
from server.cluster import install as install_fanout
from server.config import Config
from server.core.comments import Comments
from server.core.hub import Hub
from server.core.limits import ConnectionLimiter
from server.errors import StoreError
from server.events.bus import Bus, events_broker, open_bus
from server.events.service import Events
from server.events.webhooks import Webhooks
from server.history.recorder import HistoryRecorder, Publish
from server.http import errors
from server.http.routes import (
    api,
    comments,
    content,
    events,
    health,
    history,
    metrics,
    pages,
    users,
    ws,
)
from server.pubsub.base import Broker
from server.pubsub.channel import Channel
from server.security.auth import Authenticator
from server.security.guard import SecurityMiddleware
from server.security.revocations import CHANNEL as REVOCATIONS_CHANNEL
from server.security.revocations import Revocations
from server.stores import Store, open_store

STATIC = Path(__file__).resolve().parent / "http" / "static"


class TandemApp(Starlette):
    """Starlette, except that `/ws/{doc}` sockets go straight to the y-websocket endpoint with
    only the security checks in front: the router's and exception layers' frames would
    otherwise stay on every socket's stack for its whole life, and memory per idle connection
    is one of the figures we are measured on."""

    def __init__(self, *, y_websocket: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._y_websocket = y_websocket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        doc = ws.doc_of(scope)
        if doc is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        scope["path_params"] = {"doc": doc}
        await self._y_websocket(scope, receive, send)


def create_app(
    config: Config | None = None, *, store: Store | None = None, broker: Broker | None = None
) -> Starlette:
    config = config or Config()
    hub = Hub(config, store if store is not None else open_store(config.store))
    notifications = add_events(hub)  # presence and notifications (/events, webhooks)
    recorder = add_history(hub, notifications.publish)
    # Several instances: fan updates and presence out through the broker (Redis by default).
    if broker is None:
        broker = fanout_broker(config.broker, config.store)
    if broker is not None:
        install_fanout(hub, broker)
    # Revocations: kept in the store, told to the other instances on a channel of their own of
    # the events' pub/sub.
    revocations = Revocations(
        hub.store,
        Channel(events_broker(config.events_bus, config.store), REVOCATIONS_CHANNEL),
        hub.metrics,
        keep=config.max_token_ttl,
    )
    hub.add_service("revocations", revocations.run)
    hub.add_health_check(revocations.problem)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            with contextlib.suppress(StoreError):  # the service retries; /readyz says so
                await revocations.load()  # before the first request: none slips through
            yield

    routes = [
        Route("/", pages.home),
        Route("/d/{doc:docid}", pages.editor),
        Route("/embed/{doc:docid}", pages.embed),
        Route("/favicon.ico", pages.favicon),
        Route("/sw.js", pages.service_worker),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", metrics.metrics),
        Route("/api/docs", api.list_docs),
        *history.routes,  # before the catch-all below
        *comments.routes,
        *content.routes,
        Route("/api/docs/{doc:docpath}", api.get_doc),
        Route("/api/docs/{doc:docpath}", api.patch_doc, methods=["PATCH"]),
        Route("/api/docs/{doc:docpath}", api.delete_doc, methods=["DELETE"]),
        Route("/api/users/{user:path}/revoke", users.revoke, methods=["POST"]),
        Route("/d/{doc:docid}/history", pages.history),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        WebSocketRoute("/events", events.events),
    ]
    app = TandemApp(
        y_websocket=SecurityMiddleware(ws.y_websocket, config=config, metrics=hub.metrics),
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityMiddleware, config=config, metrics=hub.metrics)],
        exception_handlers=dict(errors.HANDLERS),
    )
    app.state.hub = hub
    app.state.events = notifications
    app.state.history = recorder
    app.state.comments = Comments(hub, notifications.publish)
    app.state.auth = Authenticator.from_config(config, revocations=revocations)
    app.state.revocations = revocations
    app.state.connection_limiter = ConnectionLimiter(config)
    return app


def add_events(hub: Hub, bus: Bus | None = None) -> Events:
    """Presence and notifications: a hub listener plus its services (the bus, webhooks)."""
    config = hub.config
    webhooks = (
        Webhooks(
            config.webhook,
            config.webhook_secret,
            hub.metrics,
            retries=config.webhook_retries,
            backoff=config.webhook_backoff,
        )
        if config.webhook
        else None
    )
    if bus is None:
        bus = open_bus(config.events_bus, config.store)
    events = Events(config, hub.metrics, bus, webhooks)
    hub.add_listener(events)
    hub.add_service("events", events.run)
    if webhooks is not None:
        hub.add_service("webhooks", webhooks.run)
    return events


def add_history(hub: Hub, publish: Publish) -> HistoryRecorder:
    """Versions: a hub listener plus its background service; they are notified by `publish`."""
    recorder = HistoryRecorder(
        hub.config,
        hub.store,
        hub.offload,
        open_room=hub.open_room,
        find_room=hub.rooms.get,
        publish=publish,
    )
    hub.add_listener(recorder)
    hub.add_service("history", recorder.run)
    return recorder
