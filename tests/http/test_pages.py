"""The pages as HTTP sees them: routes, escaping, static bundles, no inline script or style."""

from __future__ import annotations

import re

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from server.http.routes import pages
from tests.support.tandem import TandemProcess

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle=", re.IGNORECASE)


def assert_no_inline_code(page: str) -> None:
    assert not INLINE_SCRIPT.search(page), "inline <script>"
    assert not STYLE_ATTRIBUTE.search(page), "style attribute"
    assert "<style" not in page.lower(), "inline <style>"


async def test_pages_are_served_with_their_bundles(tandem: TandemProcess) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        for path, script in [
            ("/", "/static/home.js"),
            ("/d/notes", "/static/editor.js"),
            ("/embed/notes", "/static/embed.js"),
        ]:
            page = await http.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html")
            assert f'src="{script}"' in page.text and 'href="/static/tandem.css"' in page.text
            assert_no_inline_code(page.text)
            # The pages run under the server's strict policy; only /embed may be framed.
            csp = page.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            framing = (
                "frame-ancestors *" if path.startswith("/embed/") else "frame-ancestors 'none'"
            )
            assert framing in csp
            asset = await http.get(script)
            assert asset.status_code == 200
            assert "javascript" in asset.headers["content-type"]
            assert len(asset.content) > 1000
        css = await http.get("/static/tandem.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        widget = await http.get("/static/tandem.js")
        assert widget.status_code == 200 and b"tandem-editor" in widget.content
        assert (await http.get("/favicon.ico")).headers["content-type"] == "image/svg+xml"


async def test_editor_page_carries_its_settings_in_data_attributes(tandem: TandemProcess) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        page = (await http.get("/d/Team.notes_2024-01")).text
    assert 'data-doc="Team.notes_2024-01"' in page
    assert "<title>Team.notes_2024-01 — Tandem</title>" in page
    # The page offers history and live notifications because this server has their routes.
    assert 'data-history="true"' in page and 'data-events="/events"' in page


async def test_invalid_document_ids_are_refused(tandem: TandemProcess) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        for path in ["/d/-leading-dash", "/d/a%20b", "/embed/%3Cscript%3E", "/d/" + "x" * 129]:
            response = await http.get(path)
            assert response.status_code == 400, path
            assert "<script>" not in response.text
        # A path with a slash is no document page at all.
        assert (await http.get("/d/a/b")).status_code == 404


def test_features_are_offered_only_when_their_routes_exist() -> None:
    async def endpoint(request: Request) -> Response:
        return Response()

    routes: list[BaseRoute] = [Route("/d/{doc}", endpoint)]
    assert not pages.serves(routes, "/d/notes/history")
    assert not pages.serves(routes, "/events")
    routes += [Route("/d/{doc}/history", endpoint), WebSocketRoute("/events", endpoint)]
    assert pages.serves(routes, "/d/notes/history") and pages.serves(routes, "/events")


async def test_the_service_worker_is_served_at_the_root_versioned_by_the_bundles(
    tandem: TandemProcess,
) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        worker = await http.get("/sw.js")
        page = await http.get("/d/notes?token=secret-in-the-url")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"  # a deploy's new worker is seen at once
    version = re.search(r"const VERSION = '([0-9a-f]{16})'", worker.text)
    assert version is not None, "the worker carries the bundles' digest"
    for kept in ("/static/editor.js", "/static/embed.js", "/static/tandem.css"):
        assert kept in worker.text
    # The page shell holds no token (the worker keeps pages under their URL without the query).
    assert "secret-in-the-url" not in page.text
