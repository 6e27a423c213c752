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

from server.cluster import Broker, broker_url, open_broker
from server.cluster import install as install_broker
from server.config import Config
from server.core.hub import Hub
from server.core.limits import ConnectionLimiter
from server.errors import StoreError
from server.events.bus import bus_url, open_bus
from server.history.recorder import HistoryRecorder
from server.http import errors
from server.http.routes import api, events, health, history, history_page, metrics, pages, users, ws
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
    recorder = HistoryRecorder(hub)  # versions: a listener plus its background service
    hub.add_listener(recorder)
    hub.add_service("history", recorder.run)
    # Several instances: fan updates and presence out through the broker (Redis by default).
    if broker is None and (url := broker_url(config.broker, config.store)) is not None:
        broker = open_broker(url)
    fanout = install_broker(hub, broker) if broker is not None else None
    # Revocations: kept in the store, told to the other instances on a bus channel of their own.
    revocations = Revocations(
        hub.store,
        open_bus(bus_url(config.events_bus, config.store), channel=REVOCATIONS_CHANNEL),
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
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", metrics.metrics),
        Route("/api/docs", api.list_docs),
        *history.routes,  # before the catch-all below
        Route("/api/docs/{doc:docpath}", api.get_doc),
        Route("/api/docs/{doc:docpath}", api.delete_doc, methods=["DELETE"]),
        Route("/api/users/{user:path}/revoke", users.revoke, methods=["POST"]),
        Route("/d/{doc:docid}/history", history_page.history_page),
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
    app.state.history = recorder
    app.state.auth = Authenticator.from_config(config, revocations=revocations)
    app.state.revocations = revocations
    app.state.connection_limiter = ConnectionLimiter(config)
    app.state.config = config
    app.state.fanout = fanout
    return app
