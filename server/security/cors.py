"""CORS for the HTTP API, for the pages whose origin the guard lets in: a `<tandem-editor>` on
another site reads and writes comments (and the content API) with its token in
`Authorization`. Credentials are never cookies, so an allowed origin gets what its token may
have and nothing more; an origin the guard refuses gets no CORS headers, and the browser keeps
the answer from it."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Scope

API_PREFIX = "/api/"
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match"
EXPOSE_HEADERS = "ETag, Content-Disposition"
MAX_AGE = "600"  # seconds a browser may keep a preflight's answer


def is_api(scope: Scope) -> bool:
    """Whether the request is for the API (under the app's root path, if mounted)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith(API_PREFIX)


def is_preflight(scope: Scope, headers: Headers) -> bool:
    return scope["method"] == "OPTIONS" and "access-control-request-method" in headers


def allow(headers: MutableHeaders, origin: str, *, preflight: bool = False) -> None:
    """Let `origin` read this answer (and, for a preflight, send the request it asked about)."""
    headers["Access-Control-Allow-Origin"] = origin
    headers.add_vary_header("Origin")
    headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if preflight:
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = MAX_AGE
