"""The editor page and the widget on an open hub, where they must say the right thing: a guest
name after Escape on the first question, the own avatar as the way to rename, a widget on a
site the hub does not allow, a document deleted while open, and an invalid id's page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.helpers import DOC, host_page, open_editor, server_text
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SELF = ".topbar .tandem-avatar.is-self"


async def test_escape_on_the_first_question_leaves_a_working_guest_name(
    server: TandemProcess, pages: Pages
) -> None:
    guest = await pages.new("guest")
    await guest.goto(f"{server.url}/d/escape")
    await guest.wait_for_selector("dialog[open] input[name=name]")
    # Chromium lets a page keep its dialog open on the first Escape only: press it twice.
    await guest.keyboard.press("Escape")
    await guest.keyboard.press("Escape")
    await expect(guest.locator("dialog[open]")).to_have_count(0)
    await guest.wait_for_selector(".tandem-status[data-state=connected]")
    avatar = guest.locator(SELF)
    await expect(avatar).to_have_count(1)
    name = await avatar.get_attribute("data-name")
    assert name and name.startswith("Guest "), name

    other = await pages.new("other")
    await open_editor(other, f"{server.url}/d/escape", "Olga")
    await other.locator(f".topbar .tandem-avatar[data-name='{name}']").wait_for()
    await guest.click(DOC)
    await guest.keyboard.type("A guest writes.")
    await eventually(lambda: server_text(server, "escape"), lambda t: "A guest writes." in t)
    await expect(other.locator(".ProseMirror-yjs-cursor").first).to_contain_text(name)
    # The guest name stays for the next visit: no question again.
    await guest.reload()
    await guest.wait_for_selector(".tandem-status[data-state=connected]")
    assert await guest.locator("dialog[open]").count() == 0
    assert await guest.locator(SELF).get_attribute("data-name") == name
    await screenshot(other, "states-guest-name")


async def test_the_own_avatar_is_a_button_that_renames(server: TandemProcess, pages: Pages) -> None:
    ada = await pages.new("ada")
    await open_editor(ada, f"{server.url}/d/rename", "Ada")
    button = ada.locator(f"{SELF} button")
    await expect(button).to_have_count(1)
    await button.click()
    dialog = ada.locator("dialog[open]")
    await expect(dialog).to_contain_text("Change your name")
    await dialog.locator("input[name=name]").fill("Ada Lovelace")
    await dialog.locator("button[type=submit]").click()
    await expect(ada.locator(SELF)).to_have_attribute("data-name", "Ada Lovelace")

    # By keyboard: Tab from the logo and the title reaches it (the status between is no stop),
    # Enter opens it.
    await ada.focus(".topbar .brand")
    await ada.keyboard.press("Tab")
    assert await ada.evaluate("() => document.activeElement.matches('.doc-title-input')")
    await ada.keyboard.press("Tab")
    assert await ada.evaluate("() => document.activeElement.closest('.is-self') !== null")
    await ada.keyboard.press("Enter")
    await expect(ada.locator("dialog[open]")).to_contain_text("Change your name")
    await screenshot(ada, "states-rename")
    await ada.locator("dialog[open] button", has_text="Cancel").click()
    await expect(ada.locator("dialog[open]")).to_have_count(0)


async def test_a_widget_on_a_site_the_hub_does_not_allow_says_so(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    seed = await pages.new("seed")
    await open_editor(seed, f"{server.url}/d/guarded", "Seed")
    await seed.click(DOC)
    await seed.keyboard.type("Content the other site may not see.")
    await eventually(lambda: server_text(server, "guarded"), lambda t: "Content" in t)

    widgets = (
        f'<tandem-editor id="w" server="{server.url}" doc="guarded"></tandem-editor>'
        f'<tandem-editor id="r" server="{server.url}" doc="guarded" readonly></tandem-editor>'
    )
    (root / "elsewhere.html").write_text(host_page(server.url, widgets))
    page = await pages.new("elsewhere")
    await page.goto(f"{url}/elsewhere.html")
    for widget in ("#w", "#r"):
        status = page.locator(f"{widget} .tandem-status")
        await expect(status).to_have_attribute("data-state", "forbidden")
        said = await status.inner_text() + " " + (await status.get_attribute("title") or "")
        assert "--allow-origin" in said and "kept" not in said, said
        await expect(page.locator(f"{widget} {DOC}")).to_have_attribute("contenteditable", "false")
        empty = await page.eval_on_selector(
            f"{widget} {DOC} > p",
            "p => getComputedStyle(p, '::before').content",
        )
        assert "empty" not in empty, empty  # it has content; this site may not see it
    await screenshot(page, "states-origin-refused")


async def test_an_invalid_id_gets_a_styled_page_with_a_way_home(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("lost")
    response = await page.goto(f"{server.url}/d/..not%20an%20id")
    assert response is not None and response.status == 400
    # Chromium logs every 4xx page load as a console error: that one is expected here.
    pages.errors[:] = [e for e in pages.errors if "status of 400" not in e]
    await expect(page.locator("h1")).to_contain_text("not a document id")
    home = page.locator("a.brand, a.tandem-button")
    assert await home.count() >= 1
    # Tandem's own stylesheet is in effect (not the browser's default serif page).
    font = await page.eval_on_selector("body", "b => getComputedStyle(b).fontFamily")
    assert font.strip().lower() != "serif" and "Times" not in font, font
    await screenshot(page, "states-invalid-id")
    await page.locator("a.tandem-button").click()
    await page.wait_for_url(f"{server.url}/")
    await screenshot(page, "states-invalid-id-home")
