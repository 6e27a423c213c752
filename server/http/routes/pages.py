"""HTML pages: home, editor, embed, history. Each is a small template under http/templates/
filled with escaped values; the pages' code and styles come from /static (built from
client_js/), and the server's hints and rules (document ids, colours, name length) reach the
scripts through data- attributes (no inline script or style). The `{doc:docid}` convertor has
checked the id (an invalid one gets server/http/errors.py's page)."""

from __future__ import annotations

import hashlib
import html
from functools import cache
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from server.core.docids import DOC_ID_PATTERN
from server.core.names import MAX_NAME, PALETTE

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# The bundles built from client_js/ (committed, so a Python-only install serves the pages).
STATIC = Path(__file__).resolve().parent.parent / "static"

# Where the notification socket lives when the server has one (the pages open it only then).
EVENTS_PATH = "/events"


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    """Fill a template; every value is HTML-escaped (quotes included), so none can break out."""
    return _template(name).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def serves(routes: list[BaseRoute], path: str) -> bool:
    """Whether the app has a route for this concrete path (features that may not be built in)."""
    return any(
        isinstance(route, Route | WebSocketRoute) and route.path_regex.fullmatch(path) is not None
        for route in routes
    )


def _common(request: Request) -> dict[str, str]:
    routes = request.app.routes
    auth = getattr(request.app.state, "auth", None)
    return {
        "base": request.scope.get("root_path", "").rstrip("/"),
        "events": EVENTS_PATH if serves(routes, EVENTS_PATH) else "",
        # With auth on, the pages need a token (?token=…) before they ask the API for anything.
        "auth": "true" if auth is not None and auth.enabled else "false",
        # The server's rules, so the browser checks ids and picks colours exactly as it does.
        "doc_id_pattern": DOC_ID_PATTERN,
        "colours": " ".join(PALETTE),
        "max_name": str(MAX_NAME),
    }


def _page(body: str, status: int = 200) -> Response:
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-cache"})


async def home(request: Request) -> Response:
    return _page(render("home.html", **_common(request)))


async def editor(request: Request) -> Response:
    doc = request.path_params["doc"]
    common = _common(request)
    history = "true" if serves(request.app.routes, f"/d/{doc}/history") else "false"
    return _page(render("editor.html", doc=doc, history=history, **common))


async def embed(request: Request) -> Response:
    doc = request.path_params["doc"]
    # The widget's server is this page's own origin (plus the mount prefix, if any).
    return _page(render("embed.html", doc=doc, **_common(request)))


async def history(request: Request) -> Response:
    """/d/{doc}/history: the history viewer's shell; the script draws it from the API."""
    doc = request.path_params["doc"]
    return _page(render("history.html", doc=doc, **_common(request)))


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page says; answer with the icon."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@cache
def _service_worker() -> str:
    """The service worker (templates/sw.js), versioned by a digest of the bundles it keeps."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    source = (TEMPLATES / "sw.js").read_text(encoding="utf-8")
    return source.replace("__VERSION__", digest.hexdigest()[:16]).replace(
        "__DOC_ID__", DOC_ID_PATTERN
    )


async def service_worker(request: Request) -> Response:
    """/sw.js: at the service's root, so its scope covers /d/ and /embed/ (under a base path
    too: the browser scopes it to the directory it came from)."""
    return Response(
        _service_worker(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )
