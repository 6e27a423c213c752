"""On an open hub, edits are by the names people gave the editor: the history page, the version
toasts and the Activity panel say "Ana" and "Ben Okafor", not "Anonymous" (the server's
sanitized name, as the presence bar shows it: tests/core/test_announced_author.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import DOC, open_editor, press_and_settle
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOASTS = ".tandem-toast:not(.is-leaving) .tandem-toast-text"


async def toasts(page: Page) -> list[str]:
    return await page.locator(TOASTS).all_inner_texts()


async def versions(server: TandemProcess, doc: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(f"/api/docs/{doc}/versions")
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_versions_and_activity_name_the_people_who_edited(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "named-edits"
    url = f"{server.url}/d/{doc}"
    ana = await pages.new("ana")
    await open_editor(ana, url, "Ana")
    await ana.wait_for_function("() => tandem.feed.selfIds.size > 0")
    ben = await pages.new("ben")
    await open_editor(ben, url, "Ben Okafor")
    await ben.wait_for_function("() => tandem.feed.selfIds.size > 0")

    await ana.click(DOC)
    await ana.keyboard.type("Ana writes.")
    await ben.locator(DOC, has_text="Ana writes.").wait_for()
    await ben.click(DOC)
    await press_and_settle(ben, "Control+End")
    await ben.keyboard.type(" Ben adds.")
    await ana.locator(DOC, has_text="Ben adds.").wait_for()

    async with httpx.AsyncClient(base_url=server.url) as http:
        saved = await http.post(f"/api/docs/{doc}/versions", json={"label": "Draft"})
    assert saved.status_code in (200, 201), saved.text
    [version] = await versions(server, doc)
    assert sorted(version["names"].values()) == ["Ana", "Ben Okafor"], version
    assert all(user.startswith("anon-") for user in version["authors"]), version

    # Each page tells the version with the other's name, and itself as "you".
    await eventually(
        lambda: toasts(ana),
        lambda t: "Version 1 saved by you and Ben Okafor" in t,
        what="Ana's version toast",
    )
    await eventually(
        lambda: toasts(ben),
        lambda t: "Version 1 saved by Ana and you" in t,
        what="Ben's version toast",
    )
    await ana.click("#activity")
    entries = await ana.locator("#activity-panel .activity-text").all_inner_texts()
    assert "Version 1 saved by you and Ben Okafor" in entries, entries
    assert not [e for e in entries if "Anonymous" in e], entries
    await screenshot(ana, "authors-activity")

    # The history page names them too.
    await ben.goto(f"{url}/history")
    authors = ben.locator(".history-version .history-authors")
    await expect(authors).to_have_text(["Ana, Ben Okafor"])
    await expect(ben.locator("#history-summary")).to_contain_text("Ana, Ben Okafor")
    await screenshot(ben, "authors-history")


async def test_one_who_renames_is_recorded_under_the_new_name(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "renamed-edits"
    cy = await pages.new("cy")
    await open_editor(cy, f"{server.url}/d/{doc}", "Cy")
    await cy.click(".topbar .tandem-avatar.is-self button")
    dialog = cy.locator("dialog[open]")
    await dialog.locator("input[name=name]").fill("Cyrus")
    await dialog.locator("button[type=submit]").click()
    await expect(cy.locator(".topbar .tandem-avatar.is-self")).to_have_attribute(
        "data-name", "Cyrus"
    )
    await cy.click(DOC)
    await cy.keyboard.type("Signed Cyrus.")

    async def stored() -> str:
        async with httpx.AsyncClient(base_url=server.url) as http:
            return (await http.get(f"/api/docs/{doc}", params={"format": "text"})).text

    await eventually(stored, lambda text: "Signed Cyrus." in text, what="the edit stored")
    async with httpx.AsyncClient(base_url=server.url) as http:
        saved = await http.post(f"/api/docs/{doc}/versions", json={})
    assert saved.status_code in (200, 201), saved.text
    [version] = await versions(server, doc)
    assert list(version["names"].values()) == ["Cyrus"], version
