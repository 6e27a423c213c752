"""A deleted document stays deleted (README, Offline): a browser that kept a copy while an admin
deleted the document does not bring it back when it opens it again; it shows the deletion, drops
its copy, and a writer (never a reader) may create a new, empty document under the name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from server.security.auth import mint_token
from tests.browser.helpers import DOC
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "browser-tests-secret-of-at-least-32-bytes"
STATUS = ".tandem-status"
CREATE = "Create a new document with this name"


def token(user: str, role: str = "write") -> str:
    return mint_token(SECRET, user=user, name=user.title(), docs=["team-*"], role=role, ttl=3600)


ADMIN = {"Authorization": f"Bearer {token('root', 'admin')}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("deleted") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


async def _text(server: TandemProcess, doc: str) -> str | None:
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
        response = await http.get(f"/api/docs/{doc}", params={"format": "text"})
        return response.text if response.status_code == 200 else None


async def _listed(server: TandemProcess) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
        return [d["id"] for d in (await http.get("/api/docs")).json()["docs"]]


async def _copies(page: Page, doc: str) -> list[str]:
    """The IndexedDB databases of this page's origin that keep `doc`."""
    names = await page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
    return [name for name in names if f":{doc}:" in name]


async def test_a_copy_kept_while_the_document_was_deleted_does_not_bring_it_back(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-deleted-away"
    url = f"{server.url}/d/{doc}?token={token('wu')}"
    wu = await pages.new("wu")
    await wu.goto(url)
    await wu.wait_for_selector(f"{STATUS}[data-state=connected]")
    await wu.click(DOC)
    await wu.keyboard.type("Before the deletion.")
    await eventually(lambda: _text(server, doc), lambda t: t is not None and "Before" in t)
    context = wu.context
    await context.set_offline(True)
    await wu.wait_for_selector(f"{STATUS}[data-state=offline]")
    await wu.keyboard.type(" Typed while away.")
    await expect(wu.locator(STATUS)).to_have_attribute("data-kept", "true")
    assert await _copies(wu, doc)
    await wu.close()  # away, with a copy on this device
    await context.set_offline(False)
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
        assert (await http.delete(f"/api/docs/{doc}")).status_code == 204

    back = await pages.another(context, "wu-back")
    await back.goto(url)
    await back.wait_for_selector(f"{STATUS}[data-state=deleted]")
    notice = back.locator("#notice")
    await expect(notice).to_contain_text("This document was deleted.")
    await eventually(lambda: _copies(back, doc), lambda c: not c, what="the copy dropped")
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
        gone = await http.get(f"/api/docs/{doc}")
        assert gone.status_code == 404 and "deleted" in gone.json()["error"]
    assert doc not in await _listed(server)
    await screenshot(back, "deleted-reopened")
    await back.set_viewport_size({"width": 390, "height": 800})
    await back.emulate_media(color_scheme="dark")
    await screenshot(back, "deleted-reopened-390-dark")

    await notice.get_by_role("button", name=CREATE).click()
    await back.wait_for_selector(f"{STATUS}[data-state=connected]")
    await expect(back.locator("#notice")).to_be_empty()
    assert "Before the deletion." not in await back.inner_text(DOC)
    assert doc in await _listed(server)
    assert (await _text(server, doc) or "").strip() == ""
    await back.click(DOC)
    await back.keyboard.type("A new life.")
    await eventually(lambda: _text(server, doc), lambda t: (t or "").strip() == "A new life.")


async def test_a_reader_sees_the_deletion_and_no_way_to_create(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-deleted-read"
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
        put = await http.put(
            f"/api/docs/{doc}", content=b"Was here.", headers={"Content-Type": "text/plain"}
        )
        assert put.status_code == 200
        assert (await http.delete(f"/api/docs/{doc}")).status_code == 204
    lee = await pages.new("lee")
    await lee.goto(f"{server.url}/d/{doc}?token={token('lee', 'read')}")
    await lee.wait_for_selector(f"{STATUS}[data-state=deleted]")
    await expect(lee.locator("#notice")).to_contain_text("This document was deleted.")
    await expect(lee.get_by_role("button", name=CREATE)).to_have_count(0)
    assert doc not in await _listed(server)
