"""The history API: versions, content at a version, diffs, restore (DESIGN.md, HTTP table).

Every route checks its caller once, through `_caller(request, doc, role)`: reading needs
`read`, recording a version or restoring needs `write`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt.errors import UpdateRejected
from crdt.sanitize import is_utf8_text
from server.core.docids import is_valid_doc_id
from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.errors import StoreError
from server.history import archive
from server.history.archive import NoSuchVersion
from server.history.recorder import HistoryRecorder
from server.http.routes.api import error
from server.security.auth import authenticate_request

MAX_LABEL = 200


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


async def _caller(request: Request, doc: str, need: Role) -> Identity:
    """Who is asking, checked for `need` on `doc`; raises Refused or an AuthError otherwise.

    The request's token is checked by `security/auth.py` (an AuthError becomes 401/403 in the app);
    without auth configured every caller is the anonymous writer (loopback only).
    """
    if not is_valid_doc_id(doc):
        raise Refused(error(400, "invalid document id"))
    return await authenticate_request(request, doc, need)


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _recorder(request: Request) -> HistoryRecorder:
    recorder: HistoryRecorder = request.app.state.history
    return recorder


async def _exists(hub: Hub, doc: str) -> bool:
    return doc in hub.rooms or await hub.store.info(doc) is not None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
        raise Refused(error(400, "the body must be JSON")) from None
    if not isinstance(body, dict):
        raise Refused(error(400, "the body must be a JSON object"))
    return body


def _handled(route: Any) -> Any:
    """Turn Refused, NoSuchVersion and StoreError into their responses, in one place."""

    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await route(request)
        except Refused as refused:
            return refused.response
        except NoSuchVersion as exc:
            return error(404, str(exc))
        except UpdateRejected as exc:  # the document's content forbids the change asked for
            return error(409, str(exc))
        except StoreError:
            return error(503, "the store is unavailable")
        return response

    endpoint.__name__ = route.__name__
    return endpoint


@_handled
async def list_versions(request: Request) -> Response:
    doc = request.path_params["doc"]
    await _caller(request, doc, Role.READ)
    hub = _hub(request)
    versions = await hub.store.list_versions(doc)
    if not versions and not await _exists(hub, doc):
        return error(404, f"no document {doc!r}")
    return JSONResponse([archive.version_json(info) for info in versions])


@_handled
async def record_version(request: Request) -> Response:
    doc = request.path_params["doc"]
    await _caller(request, doc, Role.WRITE)
    body = await _json_body(request)
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        return error(400, f"label must be a string of at most {MAX_LABEL} characters")
    if label is not None and not is_utf8_text(label):
        return error(400, "label must be text (valid UTF-8)")
    hub = _hub(request)
    if not await _exists(hub, doc):
        return error(404, f"no document {doc!r}")
    recorder = _recorder(request)
    info = await recorder.close_version(doc, label=(label or "").strip() or None, force=True)
    assert info is not None  # forced: always a version
    return JSONResponse(archive.version_json(info), status_code=201)


@_handled
async def get_version(request: Request) -> Response:
    doc = request.path_params["doc"]
    await _caller(request, doc, Role.READ)
    fmt = request.query_params.get("format", "json")
    if fmt not in archive.FORMATS:
        return error(400, f"unknown format {fmt!r}: use {', '.join(archive.FORMATS)}")
    try:
        version = int(request.path_params["version"])
    except ValueError:
        return error(400, "the version must be a number")
    hub = _hub(request)
    parts = await archive.version_parts(hub.store, doc, version)
    media, content = await archive.render(hub.offload, parts, fmt)
    return Response(content, media_type=media)


@_handled
async def diff(request: Request) -> Response:
    doc = request.path_params["doc"]
    await _caller(request, doc, Role.READ)
    hub = _hub(request)
    try:
        after = archive.parse_ref(request.query_params.get("to"), default=archive.CURRENT)
        default_from = after - 1 if isinstance(after, int) and after > 0 else None
        if default_from is None:
            last = await hub.store.last_version(doc)
            default_from = last.info.version if last is not None else 0
        before = archive.parse_ref(request.query_params.get("from"), default=default_from)
    except ValueError:
        return error(400, "from and to must be version numbers or 'current'")
    if not await _exists(hub, doc):
        return error(404, f"no document {doc!r}")

    async def current() -> list[bytes]:
        return await hub.document_parts(doc)

    return JSONResponse(await archive.compare(hub.store, doc, before, after, current, hub.offload))


@_handled
async def restore(request: Request) -> Response:
    doc = request.path_params["doc"]
    identity = await _caller(request, doc, Role.WRITE)
    body = await _json_body(request)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return error(400, 'the body must be {"version": N} with N >= 1')
    info = await _recorder(request).restore(doc, version, identity)
    return JSONResponse(archive.version_json(info))


routes = [
    Route("/api/docs/{doc}/versions", list_versions, methods=["GET"]),
    Route("/api/docs/{doc}/versions", record_version, methods=["POST"]),
    Route("/api/docs/{doc}/versions/{version}", get_version, methods=["GET"]),
    Route("/api/docs/{doc}/diff", diff, methods=["GET"]),
    Route("/api/docs/{doc}/restore", restore, methods=["POST"]),
]
