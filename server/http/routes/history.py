"""The history API: versions, content at a version, diffs, restore (README, History).

Every route checks its caller once, through `authenticate_request(request, doc, role)`: reading
needs `read`, recording a version or restoring needs `write`. Document ids are checked by the
`{doc:docid}` convertor, errors answered by server/http/errors.py (NoSuchVersion is a 404, the
document's content refusing a restore a 409, a store failure a 503).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt.sanitize import is_utf8_text
from server.core.identity import Role
from server.errors import BadRequest
from server.history import archive
from server.history.recorder import HistoryRecorder
from server.http.requests import hub_of, json_object, require_document
from server.security.auth import authenticate_request

MAX_LABEL = 200


def _recorder(request: Request) -> HistoryRecorder:
    recorder: HistoryRecorder = request.app.state.history
    return recorder


async def list_versions(request: Request) -> Response:
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.READ)
    hub = hub_of(request)
    versions = await hub.store.list_versions(doc)
    if not versions:
        await require_document(hub, doc)
    return JSONResponse([archive.version_json(info) for info in versions])


async def record_version(request: Request) -> Response:
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.WRITE)
    body = await json_object(request)
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        raise BadRequest(f"label must be a string of at most {MAX_LABEL} characters")
    if label is not None and not is_utf8_text(label):
        raise BadRequest("label must be text (valid UTF-8)")
    hub = hub_of(request)
    await require_document(hub, doc)
    recorder = _recorder(request)
    # Right after an automatic version, a named save names it (200) rather than add an empty one.
    info, named = await recorder.save_version(doc, (label or "").strip() or None)
    return JSONResponse(archive.version_json(info), status_code=200 if named else 201)


async def get_version(request: Request) -> Response:
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.READ)
    fmt = request.query_params.get("format", "json")
    if fmt not in archive.FORMATS:
        raise BadRequest(f"unknown format {fmt!r}: use {', '.join(archive.FORMATS)}")
    try:
        version = int(request.path_params["version"])
    except ValueError:
        raise BadRequest("the version must be a number") from None
    hub = hub_of(request)
    parts = await archive.version_parts(hub.store, doc, version)
    media, content = await archive.render(hub.offload, parts, fmt)
    return Response(content, media_type=media)


async def diff(request: Request) -> Response:
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.READ)
    hub = hub_of(request)
    try:
        after = archive.parse_ref(request.query_params.get("to"), default=archive.CURRENT)
        default_from = after - 1 if isinstance(after, int) and after > 0 else None
        if default_from is None:
            last = await hub.store.last_version(doc)
            default_from = last.info.version if last is not None else 0
        before = archive.parse_ref(request.query_params.get("from"), default=default_from)
    except ValueError:
        raise BadRequest("from and to must be version numbers or 'current'") from None
    await require_document(hub, doc)

    async def current() -> list[bytes]:
        return await hub.document_parts(doc)

    return JSONResponse(await archive.compare(hub.store, doc, before, after, current, hub.offload))


async def restore(request: Request) -> Response:
    doc = request.path_params["doc"]
    identity = await authenticate_request(request, doc, Role.WRITE)
    body = await json_object(request)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BadRequest('the body must be {"version": N} with N >= 1')
    info = await _recorder(request).restore(doc, version, identity)
    return JSONResponse(archive.version_json(info))


routes = [
    Route("/api/docs/{doc:docid}/versions", list_versions, methods=["GET"]),
    Route("/api/docs/{doc:docid}/versions", record_version, methods=["POST"]),
    Route("/api/docs/{doc:docid}/versions/{version}", get_version, methods=["GET"]),
    Route("/api/docs/{doc:docid}/diff", diff, methods=["GET"]),
    Route("/api/docs/{doc:docid}/restore", restore, methods=["POST"]),
]
