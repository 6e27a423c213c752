"""The comments API (README, Comments): threads of a document, their replies, resolving,
editing and deleting them. Reading needs `read`; everything else `comment` (or above), and the
thread service (server/core/comments.py) checks authorship: only its author edits a body, its
author or an admin deletes a thread. A forged `author` in a body is ignored: authors come from
the token (on an open hub, `name` gives the anonymous author's display name).

Document ids are checked by the `{doc:docid}` convertor; errors are raised and answered by
server/http/errors.py (400 malformed, 403 role or not the author, 404 no such document or
thread, 413 too many threads or replies).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.core.comments import Comments
from server.core.identity import Role
from server.errors import BadRequest
from server.http.requests import json_object
from server.security.auth import authenticate_request


def _comments(request: Request) -> Comments:
    comments: Comments = request.app.state.comments
    return comments


def _thread_id(request: Request) -> str:
    thread: str = request.path_params["thread"]
    if not 0 < len(thread) <= 64:
        raise BadRequest("invalid comment thread id")
    return thread


async def list_threads(request: Request) -> Response:
    doc = request.path_params["doc"]
    await authenticate_request(request, doc, Role.READ)
    return JSONResponse(await _comments(request).list(doc))


async def get_thread(request: Request) -> Response:
    doc, thread = request.path_params["doc"], _thread_id(request)
    await authenticate_request(request, doc, Role.READ)
    return JSONResponse(await _comments(request).get(doc, thread))


async def create_thread(request: Request) -> Response:
    doc = request.path_params["doc"]
    identity = await authenticate_request(request, doc, Role.COMMENT)
    body = await json_object(request)
    thread = await _comments(request).create(
        doc, by=identity, body=body.get("body"), anchor=body.get("anchor"), name=body.get("name")
    )
    return JSONResponse(thread, status_code=201)


async def reply(request: Request) -> Response:
    doc, thread = request.path_params["doc"], _thread_id(request)
    identity = await authenticate_request(request, doc, Role.COMMENT)
    body = await json_object(request)
    answer = await _comments(request).reply(
        doc, thread, by=identity, body=body.get("body"), name=body.get("name")
    )
    return JSONResponse(answer, status_code=201)


async def change_thread(request: Request) -> Response:
    doc, thread = request.path_params["doc"], _thread_id(request)
    identity = await authenticate_request(request, doc, Role.COMMENT)
    body = await json_object(request)
    answer = await _comments(request).change(
        doc,
        thread,
        by=identity,
        resolved=body.get("resolved"),
        body=body.get("body"),
        reply=body.get("reply"),
        name=body.get("name"),
    )
    return JSONResponse(answer)


async def delete_thread(request: Request) -> Response:
    doc, thread = request.path_params["doc"], _thread_id(request)
    identity = await authenticate_request(request, doc, Role.COMMENT)
    await _comments(request).delete(doc, thread, by=identity)
    return Response(status_code=204)


routes = [
    Route("/api/docs/{doc:docid}/comments", list_threads, methods=["GET"]),
    Route("/api/docs/{doc:docid}/comments", create_thread, methods=["POST"]),
    Route("/api/docs/{doc:docid}/comments/{thread}", get_thread, methods=["GET"]),
    Route("/api/docs/{doc:docid}/comments/{thread}", change_thread, methods=["PATCH"]),
    Route("/api/docs/{doc:docid}/comments/{thread}", delete_thread, methods=["DELETE"]),
    Route("/api/docs/{doc:docid}/comments/{thread}/replies", reply, methods=["POST"]),
]
