"""The error tree of server/errors.py as HTTP answers: the app's exception handlers, in one place.

Routes raise (NotFound, BadRequest…) instead of building error responses; every JSON error is
{"error": message}. WebSocket routes answer with close codes of their own, so a socket's
exception passes through here untouched.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import urlencode

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ExceptionHandler

from crdt.errors import UpdateRejected
from server.core.docids import InvalidDocId
from server.errors import Refused, StoreError

API_PREFIX = "/api/"
INVALID_PAGE = Path(__file__).resolve().parent / "templates" / "invalid.html"


@cache
def _invalid_page() -> Template:
    return Template(INVALID_PAGE.read_text(encoding="utf-8"))


def _http_only(conn: HTTPConnection, exc: Exception) -> None:
    if conn.scope["type"] != "http":
        raise exc


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def refused(conn: HTTPConnection, exc: Exception) -> Response:
    _http_only(conn, exc)
    assert isinstance(exc, Refused)
    return _error(exc.status, str(exc), exc.headers)


async def invalid_doc_id(conn: HTTPConnection, exc: Exception) -> Response:
    """The API answers in JSON; a page (/d/…, /embed/…) with a page that shows the id, escaped."""
    _http_only(conn, exc)
    assert isinstance(exc, InvalidDocId)
    if _route_path(conn).startswith(API_PREFIX):
        return _error(400, "invalid document id")
    base = conn.scope.get("root_path", "").rstrip("/")
    # The way home keeps the page's token (with auth, the home page needs it).
    token = conn.query_params.get("token")
    home = f"{base}/" + (f"?{urlencode({'token': token})}" if token else "")
    values = {"doc": exc.doc[:140], "base": base, "home": home}
    text = _invalid_page().substitute({k: html.escape(v, quote=True) for k, v in values.items()})
    return HTMLResponse(text, status_code=400, headers={"Cache-Control": "no-cache"})


async def store_unavailable(conn: HTTPConnection, exc: Exception) -> Response:
    _http_only(conn, exc)
    return _error(503, "the store is unavailable")


async def update_rejected(conn: HTTPConnection, exc: Exception) -> Response:
    """The document's content forbids the change asked for (a restore, say)."""
    _http_only(conn, exc)
    return _error(409, str(exc))


def _route_path(conn: HTTPConnection) -> str:
    """The request's path below the mount prefix, if any."""
    path: str = conn.scope["path"]
    root: str = conn.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


HANDLERS: Mapping[type[Exception], ExceptionHandler] = {
    Refused: refused,
    InvalidDocId: invalid_doc_id,
    StoreError: store_unavailable,
    UpdateRejected: update_rejected,
}
