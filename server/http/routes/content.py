"""The content API's writes (README, Content API): PUT /api/docs/{doc} makes the document the
body's content, POST /api/docs/{doc}/append adds it at the end; both in one minimal change
through the live room (server/core/documents.py), attributed to the caller (write role).
A PUT with `If-Match: <the ETag of a GET ?format=…>` changes only the blocks the caller changed
since that read, so what others typed meanwhile stays (412 if that read is not known here).

The body's Content-Type says what it is: text/markdown, text/html, application/json (a
ProseMirror document) or text/plain, in UTF-8. Bodies over `max_body` are refused (413) by the
security middleware before they are read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.core.identity import Role
from server.errors import BadRequest, UnsupportedType
from server.http.requests import hub_of
from server.security.auth import authenticate_request

CONTENT_TYPES = {
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/json": "json",
    "text/plain": "text",
}


def _kind(content_type: str | None) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    kind = CONTENT_TYPES.get(media)
    if kind is None:
        shown = media[:60] or "none"
        raise UnsupportedType(
            f"Content-Type {shown!r} is not taken: use text/markdown, text/html, "
            "application/json (ProseMirror JSON) or text/plain"
        )
    return kind


async def _write(request: Request, *, append: bool) -> Response:
    doc = request.path_params["doc"]
    identity = await authenticate_request(request, doc, Role.WRITE)
    kind = _kind(request.headers.get("content-type"))
    try:
        body = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body must be UTF-8 text") from None
    base = request.headers.get("if-match")
    if base is not None:
        base = base.strip().removeprefix("W/").strip('"')
    documents = hub_of(request).documents
    change = await documents.write(doc, kind, body, by=identity, append=append, base=base)
    return JSONResponse(change.as_json(), headers={"ETag": f'"{change.etag}"'})


async def put_doc(request: Request) -> Response:
    return await _write(request, append=False)


async def append_doc(request: Request) -> Response:
    return await _write(request, append=True)


routes = [
    Route("/api/docs/{doc:docid}/append", append_doc, methods=["POST"]),
    Route("/api/docs/{doc:docpath}", put_doc, methods=["PUT"]),
]
