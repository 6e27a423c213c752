"""The history page live: new versions appear through /events without a reload, and the page
works when the service is mounted under a base path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, WebSocket, expect

from tests.browser.helpers import BASE
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def writer() -> AsyncIterator[Callable[[str, str], Awaitable[None]]]:
    """Types into a document with a stock Yjs client (versions need a document to exist)."""
    clients: list[YjsClient] = []

    async def write(url: str, doc: str) -> None:
        ws_url = "ws" + url.removeprefix("http") + "/ws"
        client = await YjsClient.connected(ws_url, doc)
        clients.append(client)
        await client.call("append", text=f"Notes on {doc}")

        async def stored() -> int:
            async with httpx.AsyncClient(base_url=url) as http:
                return (await http.get(f"/api/docs/{doc}", params={"format": "text"})).status_code

        await eventually(stored, lambda status: status == 200, what="the hub has the document")

    yield write
    for client in clients:
        await client.close()


async def _save_version(url: str, doc: str, label: str) -> int:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(f"/api/docs/{doc}/versions", json={"label": label})
        assert response.status_code in (200, 201), response.text
        return int(response.json()["version"])


def _announced(page: Page) -> list[dict[str, object]]:
    """The notifications the page receives on its /events socket."""
    seen: list[dict[str, object]] = []

    def on_socket(socket: WebSocket) -> None:
        if "/events" in socket.url:
            socket.on("framereceived", lambda frame: seen.append(json.loads(frame)))

    page.on("websocket", on_socket)
    return seen


async def test_a_new_version_appears_without_a_reload(
    server: TandemProcess, pages: Pages, writer: Callable[[str, str], Awaitable[None]]
) -> None:
    await writer(server.url, "live-history")
    await _save_version(server.url, "live-history", "before the page opened")
    page = await pages.new("reader")
    announced = _announced(page)
    await page.goto(f"{server.url}/d/live-history/history")
    picks = page.locator("#history-versions button")
    await expect(picks).to_have_count(1)
    await expect(page.locator("#history-content")).to_have_attribute("data-view", "preview")
    await page.click("#history-tab-diff")  # the reader's place, which a new version keeps

    await _save_version(server.url, "live-history", "saved elsewhere")
    await expect(picks).to_have_count(2)
    assert "saved elsewhere" in await picks.first.inner_text()
    assert any(event.get("type") == "version" for event in announced)  # told, not polled
    await expect(page.locator("#history-status")).to_have_text("2 versions")
    assert await page.get_attribute("#history-tab-diff", "aria-selected") == "true"
    assert await picks.nth(1).get_attribute("aria-current") == "true"
    await screenshot(page, "history-live")


async def test_history_page_under_a_base_path(
    under_base: str, pages: Pages, writer: Callable[[str, str], Awaitable[None]]
) -> None:
    await writer(under_base, "notes")
    page = await pages.new("based")
    await page.goto(f"{under_base}/d/notes/history")
    await expect(page.locator("#history-status")).to_contain_text("No versions yet")
    # Its stylesheet came from under the base path (else the timeline would be a plain list).
    display = await page.eval_on_selector(".history-body", "el => getComputedStyle(el).display")
    assert display == "grid"
    assert await page.get_attribute("#history-doc", "href") == f"{BASE}/d/notes"

    await page.fill("#history-label", "through the page")
    await page.click("#history-save button[type=submit]")
    await expect(page.locator("#history-status")).to_contain_text("Saved version 1")
    await expect(page.locator("#history-content")).to_be_visible()

    await _save_version(under_base, "notes", "from the API")  # announced on <base>/events
    await expect(page.locator("#history-versions button")).to_have_count(2)
    await screenshot(page, "history-base-path")
