"""The Starlette application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server.auth import Authenticator, AuthError, auth_error_response
from server.broker import Broker, broker_url, open_broker
from server.broker import install as install_broker
from server.config import Config
from server.history.recorder import HistoryRecorder
from server.hub import Hub
from server.limits import ConnectionLimiter
from server.routes import api, events, health, history, history_page, metrics, pages, ws
from server.security import SecurityMiddleware
from server.stores import Store, open_store

STATIC = Path(__file__).resolve().parent / "static"


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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            yield

    routes = [
        Route("/", pages.home),
        Route("/d/{doc}", pages.editor),
        Route("/embed/{doc}", pages.embed),
        Route("/favicon.ico", pages.favicon),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", metrics.metrics),
        Route("/api/docs", api.list_docs),
        *history.routes,  # before the catch-all below
        Route("/api/docs/{doc:path}", api.get_doc),
        Route("/api/docs/{doc:path}", api.delete_doc, methods=["DELETE"]),
        Route("/d/{doc}/history", history_page.history_page),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        WebSocketRoute("/events", events.events),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityMiddleware, config=config, metrics=hub.metrics),
            Middleware(ws.YWebSocketDispatch),  # WS /ws/{doc}, past the router (see there)
        ],
        exception_handlers={AuthError: auth_error_response},
    )
    app.state.hub = hub
    app.state.history = recorder
    app.state.auth = Authenticator.from_config(config)
    app.state.connection_limiter = ConnectionLimiter(config)
    app.state.config = config
    app.state.fanout = fanout
    return app
