"""Liveness and readiness probes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.errors import StoreError
from server.http.requests import hub_of


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    hub = hub_of(request)
    problems: list[str] = []
    try:
        await hub.store.ping()
    except StoreError as exc:
        problems.append(f"store: {exc}")
    if not hub.persister.healthy:
        problems.append(f"persistence: {hub.persister.last_error}")
    problems += [problem for check in hub.health_checks if (problem := check()) is not None]
    if problems:
        return JSONResponse({"ready": False, "problems": problems}, status_code=503)
    return JSONResponse({"ready": True})
