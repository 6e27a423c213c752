"""The pages on a hub with auth, as each role meets them: links that keep the page's token, an
editor that a visitor without a token cannot type into, a history page that offers a reader
only what a reader can do, and a widget without a token that says what it lacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import expect

from server.security.auth import mint_token
from tests.browser.helpers import DOC, host_page
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "browser-roles-secret-of-at-least-32-bytes"


def token(user: str, name: str, role: str = "write") -> str:
    return mint_token(SECRET, user=user, name=name, docs=["team-*"], role=role, ttl=3600)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("roles") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


def token_of(href: str | None) -> str | None:
    assert href is not None
    return parse_qs(urlsplit(href).query).get("token", [None])[0]


async def test_every_in_app_link_keeps_the_token_and_share_never_has_it(
    server: TandemProcess, pages: Pages
) -> None:
    wu = token("wu", "Wu Writer")
    page = await pages.new("wu", permissions=["clipboard-read", "clipboard-write"])
    await page.goto(f"{server.url}/d/team-plan?token={wu}")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    await page.click(DOC)
    await page.keyboard.type("Links keep the token.")
    assert token_of(await page.get_attribute("#history", "href")) == wu
    assert token_of(await page.get_attribute(".topbar .brand", "href")) == wu

    await page.click("#share")
    await expect(page.locator("#share-feedback")).to_have_text("Link copied")
    shared = await page.evaluate("() => navigator.clipboard.readText()")
    assert shared == f"{server.url}/d/team-plan"  # each person has a token of their own

    await page.click("#history")
    await page.wait_for_url("**/d/team-plan/history?token=*")
    await expect(page.locator("#history-status")).not_to_contain_text("Loading")
    assert "Could not" not in await page.inner_text("#history-status")
    assert token_of(await page.get_attribute("#history-doc", "href")) == wu

    await page.click("#history-doc")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    await eventually(
        lambda: page.inner_text(DOC), lambda t: "Links keep the token." in t, what="the text"
    )
    await page.click(".topbar .brand")
    await page.locator(".doc-item[data-doc=team-plan]").wait_for()
    link = page.locator(".doc-item[data-doc=team-plan] a").first
    assert token_of(await link.get_attribute("href")) == wu
    await screenshot(page, "roles-home-with-token")


async def test_without_a_token_the_editor_is_not_editable_and_says_how_to_get_in(
    server: TandemProcess, pages: Pages
) -> None:
    stranger = await pages.new("stranger")
    await stranger.goto(f"{server.url}/d/team-secret")
    await expect(stranger.locator("#notice")).to_contain_text("access link")
    doc = stranger.locator(DOC)
    await expect(doc).to_have_attribute("contenteditable", "false")
    await stranger.click(DOC)
    await stranger.keyboard.type("typed without access")
    assert "typed without access" not in await doc.inner_text()
    status = stranger.locator(".tandem-status")
    await expect(status).to_have_attribute("data-state", "unauthorized")
    said = await status.inner_text()
    assert "Connecting" not in said and "kept on this device" not in said, said
    assert "expired" not in said, said  # nothing expired: there never was a token
    assert await stranger.locator(".tandem-toolbar").count() == 0
    await expect(stranger.locator("#activity")).to_be_hidden()  # nothing to show without access
    await screenshot(stranger, "roles-no-token")


async def test_a_reader_sees_no_save_or_restore_on_the_history_page(
    server: TandemProcess, pages: Pages
) -> None:
    wu = token("wu", "Wu Writer")
    writer = await pages.new("writer")
    await writer.goto(f"{server.url}/d/team-history?token={wu}")
    await writer.wait_for_selector(".tandem-status[data-state=connected]")
    await writer.click(DOC)
    await writer.keyboard.type("A version to look at.")
    await writer.wait_for_selector(".tandem-status[data-unsynced=false]")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {wu}"}
    ) as http:
        saved = await http.post("/api/docs/team-history/versions", json={"label": "first"})
        assert saved.status_code in (200, 201), saved.text

    reader = await pages.new("reader")
    rae = token("rae", "Rae Reader", "read")
    await reader.goto(f"{server.url}/d/team-history/history?token={rae}")
    await expect(reader.locator("#history-versions button")).to_have_count(1)
    await expect(reader.locator("#history-content")).to_contain_text("A version to look at.")
    await expect(reader.locator("#history-save")).to_be_hidden()
    await expect(reader.locator("#history-restore")).to_be_hidden()
    await screenshot(reader, "roles-history-reader")

    # The writer, on the same page, has both.
    await writer.goto(f"{server.url}/d/team-history/history?token={wu}")
    await expect(writer.locator("#history-versions button")).to_have_count(1)
    await expect(writer.locator("#history-save")).to_be_visible()
    await expect(writer.locator("#history-restore")).to_be_enabled()


async def test_a_widget_without_a_token_says_it_needs_one(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    widget = f'<tandem-editor server="{server.url}" doc="team-widget"></tandem-editor>'
    (root / "tokenless.html").write_text(host_page(server.url, widget))
    page = await pages.new("visitor")
    await page.goto(f"{url}/tokenless.html")
    status = page.locator("tandem-editor .tandem-status")
    await expect(status).to_have_attribute("data-state", "unauthorized")
    said = await status.inner_text()
    assert "token" in said and "expired" not in said, said
    await expect(page.locator(f"tandem-editor {DOC}")).to_have_attribute("contenteditable", "false")
    await screenshot(page, "roles-widget-no-token")


async def test_a_document_deleted_while_open_says_so_and_turns_read_only(
    server: TandemProcess, pages: Pages
) -> None:
    wu = token("wu", "Wu Writer")
    page = await pages.new("wu")
    await page.goto(f"{server.url}/d/team-doomed?token={wu}")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    await page.click(DOC)
    await page.keyboard.type("Soon gone.")
    await page.keyboard.press("Control+k")
    await page.fill("dialog input[name=href]", "https://example.org/gone")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"{DOC} a")
    await page.wait_for_selector(".tandem-status[data-unsynced=false]")
    admin = {"Authorization": f"Bearer {token('root', 'Root', 'admin')}"}
    async with httpx.AsyncClient(base_url=server.url, headers=admin) as http:
        assert (await http.delete("/api/docs/team-doomed")).status_code == 204
    status = page.locator(".tandem-status")
    await expect(status).to_have_attribute("data-state", "deleted")
    assert "deleted" in (await status.inner_text()).lower()
    await expect(page.locator(DOC)).to_have_attribute("contenteditable", "false")
    await expect(page.locator("#notice")).to_contain_text("deleted")
    await expect(page.locator(".tandem-toolbar")).to_be_hidden()
    await page.keyboard.type(" More.")
    assert "More." not in await page.inner_text(DOC)
    # Its links only open now: no Edit, no Remove.
    await page.click(f"{DOC} a")
    popover = page.locator(".tandem-link-popover:not([hidden])")
    await popover.wait_for()
    assert await popover.locator("button:visible").count() == 0
    await page.keyboard.press("Escape")
    await screenshot(page, "roles-deleted")


async def test_a_commenter_views_the_body_and_is_offered_no_edit_save_or_restore(
    server: TandemProcess, pages: Pages
) -> None:
    wu = token("wu", "Wu Writer")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {wu}"}
    ) as http:
        put = await http.put(
            "/api/docs/team-review",
            content="Please review.",
            headers={"Content-Type": "text/plain"},
        )
        assert put.status_code == 200, put.text
        saved = await http.post("/api/docs/team-review/versions", json={"label": "draft"})
        assert saved.status_code in (200, 201), saved.text
    cy = token("cy", "Cy Commenter", "comment")
    page = await pages.new("commenter")
    await page.goto(f"{server.url}/d/team-review?token={cy}")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    doc = page.locator(DOC)
    await eventually(doc.inner_text, lambda t: "Please review." in t, what="the commenter sees it")
    assert await doc.get_attribute("contenteditable") == "false"
    # No formatting toolbar: the Comment button alone (tests/browser/test_comments.py).
    assert await page.locator(".tandem-toolbar[aria-label=Formatting]").count() == 0
    await expect(page.locator(".tandem-toolbar button[aria-label=Comment]")).to_have_count(1)
    await expect(page.locator("#save-version")).to_be_hidden()
    await screenshot(page, "roles-editor-commenter")
    await page.goto(f"{server.url}/d/team-review/history?token={cy}")
    await expect(page.locator("#history-versions button")).to_have_count(1)
    await expect(page.locator("#history-save")).to_be_hidden()
    await expect(page.locator("#history-restore")).to_be_hidden()
