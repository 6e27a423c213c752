"""The error tree answered over HTTP, and the docid convertor, in-process on a bare app."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from crdt.errors import UpdateRejected
from server.errors import BadRequest, NotFound, StoreError, Unavailable
from server.http import errors
from server.security.auth import Forbidden, Unauthenticated


async def _doc(request: Request) -> Response:
    return PlainTextResponse(request.path_params["doc"])


def _raising(exc: Exception) -> Route:
    async def endpoint(request: Request) -> Response:
        raise exc

    return Route(f"/raise/{type(exc).__name__}", endpoint)


RAISED: list[Exception] = [
    BadRequest("bad"),
    NotFound("no document 'x'"),
    Unavailable("later"),
    StoreError("disk on fire"),
    UpdateRejected("not XML"),
    Unauthenticated("token expired"),
    Forbidden("no access"),
]


def _client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/d/{doc:docid}", _doc),
            Route("/api/docs/{doc:docid}/versions", _doc),
            Route("/api/docs/{doc:docpath}", _doc),
            *map(_raising, RAISED),
        ],
        exception_handlers=dict(errors.HANDLERS),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_each_error_has_its_status_and_json_body() -> None:
    expected = {
        "BadRequest": (400, "bad"),
        "NotFound": (404, "no document 'x'"),
        "Unavailable": (503, "later"),
        "StoreError": (503, "the store is unavailable"),  # no internals in the answer
        "UpdateRejected": (409, "not XML"),
        "Unauthenticated": (401, "token expired"),
        "Forbidden": (403, "no access"),
    }
    async with _client() as http:
        for name, (status, message) in expected.items():
            response = await http.get(f"/raise/{name}")
            assert (response.status_code, response.json()) == (status, {"error": message}), name
            challenged = "www-authenticate" in response.headers
            assert challenged == (status == 401), name


async def test_the_docid_convertor_refuses_invalid_ids_with_400() -> None:
    async with _client() as http:
        assert (await http.get("/d/Team.notes_2024-01")).text == "Team.notes_2024-01"
        page = await http.get("/d/%3Cscript%3E")
        assert page.status_code == 400 and "<script>" not in page.text
        assert page.headers["content-type"].startswith("text/html")
        for path in ("/api/docs/a%20b", "/api/docs/x%20/versions", "/api/docs/a/b", "/api/docs/"):
            response = await http.get(path)
            assert response.status_code == 400, path
            assert response.json() == {"error": "invalid document id"}, path
        assert (await http.get("/d/a/b")).status_code == 404  # no document page at all
