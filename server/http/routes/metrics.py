"""GET /metrics in Prometheus text format."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.http.requests import hub_of
from server.ops.metrics import CONTENT_TYPE_LATEST


async def metrics(request: Request) -> Response:
    hub = hub_of(request)
    hub.metrics.rooms.set(len(hub.rooms))
    return Response(hub.metrics.render(), media_type=CONTENT_TYPE_LATEST)
