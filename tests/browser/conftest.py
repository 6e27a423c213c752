"""Browser tests: one Chromium and one `tandem serve` per module, fresh contexts per test, and a
static site on another port for pages that embed Tandem."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, async_playwright
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.app import create_app
from server.config import Config
from tests.browser.helpers import BASE
from tests.support.browser import Pages, launch_chromium
from tests.support.services import free_port
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db: Path = tmp_path_factory.mktemp("browser") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}")
    await process.start()
    yield process
    await process.stop()


def mounted(prefix: str, app: ASGIApp) -> ASGIApp:
    """The app under `prefix`, as a parent app or a proxy that keeps the path would mount it:
    the ASGI root_path says where, the path keeps the prefix."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
        elif scope["path"].startswith(prefix + "/"):
            await app({**scope, "root_path": prefix}, receive, send)
        else:
            await PlainTextResponse("not under the base path", 404)(scope, receive, send)

    return asgi


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def under_base(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A hub served under /tandem (in this process); yields its URL with the base path."""
    db: Path = tmp_path_factory.mktemp("based") / "tandem.db"
    port = free_port()
    app = mounted(BASE, create_app(Config(store=f"sqlite:///{db}")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the hub under a base path did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}{BASE}"
    server.should_exit = True
    await serving


@pytest_asyncio.fixture(loop_scope="module")
async def pages(browser: Browser) -> AsyncIterator[Pages]:
    """Pages for one test; the test fails if any of them logged a console error."""
    opened = Pages(browser)
    yield opened
    await opened.close()
    assert not opened.errors, "\n".join(opened.errors)


@pytest.fixture(scope="module")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A static web server on another port (so another origin) serving the host pages."""
    root = tmp_path_factory.mktemp("host")
    (root / "host.css").write_text(
        "body { font-family: Georgia, serif; max-width: 50rem; margin: 2rem auto; }\n"
        "tandem-editor { height: 16rem; margin-bottom: 1.5rem; }\n"
        "iframe { width: 100%; height: 18rem; border: 0; }\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}", root
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest_asyncio.fixture(loop_scope="module")
async def site(host_site: tuple[str, Path]) -> AsyncIterator[tuple[str, Path]]:
    url, _ = host_site

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(url + "/host.css")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(up, timeout=10, what="the host site")
    yield host_site
