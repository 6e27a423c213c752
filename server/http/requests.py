"""What the HTTP routes share about a request: the hub behind it, its JSON body, whether the
document it names exists. Routes import this, never each other."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import HTTPConnection, Request

from server.core.hub import Hub
from server.errors import BadRequest, NotFound


def hub_of(conn: HTTPConnection) -> Hub:
    hub: Hub = conn.app.state.hub
    return hub


async def require_document(hub: Hub, doc: str) -> None:
    """NotFound unless `doc` is live here or stored."""
    if doc not in hub.rooms and await hub.store.info(doc) is None:
        raise NotFound(f"no document {doc!r}")


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (an empty body is {}); BadRequest otherwise."""
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body
