"""The REST API over documents: listing, metadata and presence, content in several formats.

Document ids are checked by the `{doc:docpath}` convertor; errors are raised, not returned
(server/http/errors.py answers them).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.core.timestamps import iso
from server.errors import BadRequest, NotFound
from server.events.service import Events
from server.http.requests import hub_of
from server.security.auth import authenticate_request

# What `?format=` gives of the current content (versions add yjs: server/http/routes/history.py).
CONTENT_FORMATS = ("text", "html", "json", "markdown")
DOWNLOAD_SUFFIXES = {"text": "txt", "html": "html", "json": "json", "markdown": "md"}


async def document_summaries(hub: Hub, identity: Identity | None = None) -> list[dict[str, Any]]:
    """Every stored or live document (that `identity` may read), most recently edited first."""
    infos = {info.doc: info for info in await hub.store.list_docs()}
    docs = []
    for doc in set(infos) | set(hub.rooms):
        if identity is not None and not identity.can_access(doc):
            continue
        info = infos.get(doc)
        room = hub.rooms.get(doc)
        docs.append(
            {
                "id": doc,
                "updated_at": iso(info.updated_at) if info else None,
                "size": info.size if info else 0,
                "editors": len(room.connections) if room else 0,
            }
        )
    # Live documents not flushed yet sort first: they are the most recent of all.
    docs.sort(key=lambda d: (d["updated_at"] or "~", d["id"]), reverse=True)
    return docs


async def list_docs(request: Request) -> Response:
    identity = await authenticate_request(request, None, Role.READ)
    return JSONResponse({"docs": await document_summaries(hub_of(request), identity)})


async def get_doc(request: Request) -> Response:
    hub = hub_of(request)
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.READ)
    fmt = request.query_params.get("format")
    if fmt is not None:
        return await _content(hub, doc, fmt, "download" in request.query_params)
    info = await hub.store.info(doc)
    room = hub.rooms.get(doc)
    if info is None and room is None:
        raise NotFound(f"no document {doc!r}")
    events: Events = request.app.state.events
    return JSONResponse(
        {
            "id": doc,
            "created_at": iso(info.created_at) if info else None,
            "updated_at": iso(info.updated_at) if info else None,
            "size": info.size if info else 0,
            "live": room is not None,
            "editors": len(room.connections) if room else 0,
            "presence": events.people(doc),  # across instances (server/events)
        }
    )


async def delete_doc(request: Request) -> Response:
    """DELETE /api/docs/{doc}: admins only; connected editors are closed with 4404."""
    hub = hub_of(request)
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.ADMIN)
    if not await hub.delete(doc):
        raise NotFound(f"no document {doc!r}")
    return Response(status_code=204)


async def _content(hub: Hub, doc: str, fmt: str, download: bool) -> Response:
    if fmt not in CONTENT_FORMATS:
        raise BadRequest(f"unknown format {fmt!r}: use {', '.join(CONTENT_FORMATS)}")
    content = await hub.documents.read(doc, fmt)  # NotFound if there is none
    headers = {"ETag": f'"{content.etag}"'}
    if download:  # the pages' "Download": a file named after the document
        name = f"{doc}.{DOWNLOAD_SUFFIXES[fmt]}"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(content.body, media_type=content.media_type, headers=headers)
