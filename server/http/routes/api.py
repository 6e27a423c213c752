"""The REST API over documents: listing, metadata and presence, content in several formats,
titles (`PATCH {"title": …}`, told to open editors as a `title` notification), deleting.

Document ids are checked by the `{doc:docpath}` convertor; errors are raised, not returned
(server/http/errors.py answers them).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.core.names import TitleTooLong, clean_title
from server.core.timestamps import iso
from server.errors import BadRequest, NotFound
from server.events.service import Events
from server.http.requests import hub_of, json_object
from server.security.auth import authenticate_request
from server.stores.base import DocInfo

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
                "title": info.title if info else None,
                "created_at": iso(info.created_at) if info else None,
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
    if info is None and doc not in hub.rooms:
        if await hub.store.deleted_at(doc) is not None:
            raise NotFound(f"document {doc!r} was deleted")
        raise NotFound(f"no document {doc!r}")
    return JSONResponse(_metadata(request, doc, info))


async def patch_doc(request: Request) -> Response:
    """PATCH /api/docs/{doc} `{"title": "…"}` (write role): set the title, or clear it with
    "" or null; a document that does not exist yet is created (empty, and listed). Open
    editors on every instance hear it as `{"type": "title", "doc", "title", "by", "name"}`."""
    hub = hub_of(request)
    doc = request.path_params["doc"]
    identity = await authenticate_request(request, doc, Role.WRITE)
    body = await json_object(request)
    if set(body) != {"title"}:
        raise BadRequest('the body must be {"title": "…"} (a string, or null to clear it)')
    raw = body["title"]
    if raw is not None and not isinstance(raw, str):
        raise BadRequest("the title must be a string, or null to clear it")
    try:
        title = clean_title(raw) if raw is not None else None
    except TitleTooLong as exc:
        raise BadRequest(str(exc)) from None
    before = await hub.store.info(doc)
    await hub.store.undelete(doc)  # naming it creates it: a deleted one's name is free again
    info = await hub.store.set_title(doc, title)
    if before is None or before.title != title:
        events: Events = request.app.state.events
        name = identity.name
        events.titled(doc, {"type": "title", "title": title, "by": identity.user, "name": name})
    return JSONResponse(_metadata(request, doc, info))


def _metadata(request: Request, doc: str, info: DocInfo | None) -> dict[str, Any]:
    room = hub_of(request).rooms.get(doc)
    events: Events = request.app.state.events
    return {
        "id": doc,
        "title": info.title if info else None,
        "created_at": iso(info.created_at) if info else None,
        "updated_at": iso(info.updated_at) if info else None,
        "size": info.size if info else 0,
        "live": room is not None,
        "editors": len(room.connections) if room else 0,
        "presence": events.people(doc),  # across instances (server/events)
    }


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
