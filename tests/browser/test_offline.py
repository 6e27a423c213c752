"""Changes kept on this device: the editor keeps the document in the browser (IndexedDB) and its
page shell in a service worker, so edits made offline survive closing the tab, the page opens
offline, and everything reaches the server when the network is back (README, Offline)."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Dialog, Page, expect

from tests.browser.helpers import DOC, open_editor
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

STATUS = ".tandem-status"


async def _page_kept(page: Page) -> bool:
    """Whether the service worker holds this page (under its URL without the query)."""
    script = "async () => Boolean(await caches.match(location.origin + location.pathname))"
    return bool(await page.evaluate(script))


async def _text(base: str, doc: str) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.get(f"/api/docs/{doc}", params={"format": "text"})
        return response.text if response.status_code == 200 else ""


@pytest.fixture(params=["root", "base-path"])
def hub(request: pytest.FixtureRequest) -> str:
    """The service's URL: at the root of its origin, or mounted under /tandem."""
    if request.param == "root":
        server: TandemProcess = request.getfixturevalue("server")
        return server.url
    return str(request.getfixturevalue("under_base"))


async def test_edits_made_offline_survive_closing_the_tab_and_reach_the_server(
    hub: str, pages: Pages
) -> None:
    doc = "kept-offline"
    url = f"{hub}/d/{doc}"
    ada = await pages.new("ada")
    await open_editor(ada, url, "Ada")
    await ada.click(DOC)
    await ada.keyboard.type("Online start.")
    await eventually(lambda: _text(hub, doc), lambda t: "Online start." in t)
    await eventually(lambda: _page_kept(ada), what="the page kept by the service worker")

    context = ada.context
    await context.set_offline(True)
    await ada.wait_for_selector(f"{STATUS}[data-state=offline]")
    await ada.keyboard.press("Enter")
    await ada.keyboard.type("Written offline.")
    await expect(ada.locator(STATUS)).to_have_text("Offline · changes kept on this device")
    await expect(ada.locator(STATUS)).to_have_attribute("data-unsynced", "true")
    await expect(ada.locator(STATUS)).to_have_attribute("data-kept", "true")  # all of it stored

    # Leaving now asks first: these changes have not reached the server.
    asked: list[Dialog] = []

    async def on_dialog(dialog: Dialog) -> None:
        asked.append(dialog)
        await dialog.dismiss()  # stay

    ada.on("dialog", on_dialog)
    await ada.close(run_before_unload=True)
    await eventually(lambda: _count(asked), lambda n: n == 1, what="the leave warning")
    assert asked[0].type == "beforeunload"
    assert not ada.is_closed()
    await ada.close()  # closed for good, without asking

    # A new tab, still offline: the page comes from the service worker, the text from IndexedDB.
    again = await pages.another(context, "ada-again")
    response = await again.goto(url)
    assert response is not None and response.from_service_worker
    await again.locator(DOC, has_text="Written offline.").wait_for()
    assert "Online start." in await again.inner_text(DOC)
    await expect(again.locator(STATUS)).to_have_text("Offline · changes kept on this device")
    await screenshot(again, f"offline-reopened-{hub.rsplit('/', 1)[-1]}")
    assert "Written offline." not in await _text(hub, doc)

    await context.set_offline(False)
    await again.wait_for_selector(f"{STATUS}[data-state=connected][data-unsynced=false]")
    await eventually(
        lambda: _text(hub, doc),
        lambda t: "Online start." in t and "Written offline." in t,
        what="the offline edit on the server",
    )
    bob = await pages.new("bob")
    await open_editor(bob, url, "Bob")
    await bob.locator(DOC, has_text="Written offline.").wait_for()
    assert (await _text(hub, doc)).count("Written offline.") == 1

    # Synced: leaving asks nothing.
    again.on("dialog", on_dialog)
    await again.close(run_before_unload=True)
    await eventually(lambda: _closed(again), what="the synced page closed without asking")
    assert len(asked) == 1


async def _count(items: list[Dialog]) -> int:
    return len(items)


async def _closed(page: Page) -> bool:
    return page.is_closed()


async def test_the_embed_page_opens_offline_with_what_was_typed(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "kept-embed"
    url = f"{server.url}/embed/{doc}?name=Eve"
    page = await pages.new("eve")
    await page.goto(url)
    await page.wait_for_selector(f"{STATUS}[data-state=connected]")
    await page.click(DOC)
    await page.keyboard.type("Embedded, online.")
    await eventually(lambda: _text(server.url, doc), lambda t: "Embedded, online." in t)
    await eventually(lambda: _page_kept(page), what="the embed page kept by the service worker")
    await page.context.set_offline(True)
    await page.wait_for_selector(f"{STATUS}[data-state=offline]")
    await page.keyboard.type(" And offline.")
    await expect(page.locator(STATUS)).to_have_text("Offline · changes kept on this device")
    await expect(page.locator(STATUS)).to_have_attribute("data-kept", "true")
    await page.close()

    again = await pages.another(page.context, "eve-again")
    response = await again.goto(url)
    assert response is not None and response.from_service_worker
    await again.locator(DOC, has_text="Embedded, online. And offline.").wait_for()
    await again.context.set_offline(False)
    await eventually(
        lambda: _text(server.url, doc),
        lambda t: "Embedded, online. And offline." in t,
        what="the offline edit on the server",
    )
