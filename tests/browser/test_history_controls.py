"""Saving and restoring versions as people do it: *Save version* in the editor's header (for
those who may write), a named save right after an automatic version that names it instead of
adding an empty one, and a history page with the top bar's way home, dark like the other pages,
that asks before a restore in a dialog of its own (not the browser's confirm())."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from server.security.auth import mint_token
from tests.browser.helpers import DOC, open_editor, press_and_settle
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "history-controls-secret-of-at-least-32-bytes"
SAVE = "#save-version"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def quick(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    """A hub that records a version half a second after editing stops."""
    db = tmp_path_factory.mktemp("quick") / "tandem.db"
    env = {"TANDEM_VERSION_IDLE_SECONDS": "0.5"}
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", env=env)
    await process.start()
    yield process
    await process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("secured") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


async def versions(server: TandemProcess, doc: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(f"/api/docs/{doc}/versions")
    return list(response.json()) if response.status_code == 200 else []


async def save_from_the_editor(page: Page, label: str) -> None:
    await page.click(SAVE)
    dialog = page.locator("dialog[open].version-dialog")
    await expect(dialog).to_contain_text("Save a version")
    await dialog.locator("input[name=label]").fill(label)
    await dialog.locator("button", has_text="Save version").click()
    await expect(dialog).to_have_count(0)


async def test_save_in_the_editor_then_a_dark_history_page_that_asks_before_restoring(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "saved-here"
    ana = await pages.new("ana")
    await open_editor(ana, f"{server.url}/d/{doc}", "Ana")
    await ana.click(DOC)
    await ana.keyboard.type("The first draft.")
    await ana.wait_for_selector(".tandem-status[data-unsynced=false]")
    await expect(ana.locator(SAVE)).to_be_visible()
    # Escape on the question saves nothing.
    await ana.click(SAVE)
    await expect(ana.locator("dialog[open].version-dialog")).to_have_count(1)
    await ana.keyboard.press("Escape")
    await expect(ana.locator("dialog[open]")).to_have_count(0)
    assert await ana.evaluate("document.activeElement.id") == "save-version"
    assert await versions(server, doc) == []
    await save_from_the_editor(ana, "First draft")
    await expect(ana.locator("#share-feedback")).to_have_text("Saved version 1 “First draft”.")
    [first] = await versions(server, doc)
    assert first["label"] == "First draft" and first["names"] == {first["authors"][0]: "Ana"}
    await ana.click(DOC)  # (the focus went back to the button)
    await press_and_settle(ana, "Control+End")
    await ana.keyboard.type(" Then more.")
    await ana.wait_for_selector(".tandem-status[data-unsynced=false]")
    await ana.click(SAVE)  # no name, and Enter: a version all the same
    await ana.locator("dialog[open].version-dialog input[name=label]").press("Enter")
    await expect(ana.locator("dialog[open]")).to_have_count(0)
    await expect(ana.locator("#share-feedback")).to_have_text("Saved version 2.")
    await screenshot(ana, "history-controls-editor-saved")

    # The history page, in a dark browser: the top bar of the other pages, dark colours.
    dark = await pages.new("dark", color_scheme="dark")
    await dark.goto(f"{server.url}/d/{doc}/history")
    picks = dark.locator("#history-versions button")
    await expect(picks).to_have_count(2)
    background = "(sel) => getComputedStyle(document.querySelector(sel)).backgroundColor"
    assert await dark.evaluate(background, "body") == "rgb(22, 24, 27)"  # tokens.css --bg
    assert await dark.evaluate(background, ".history-view") == "rgb(28, 31, 35)"  # --surface
    ink = await dark.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert ink == "rgb(230, 230, 227)", ink  # --ink
    await expect(dark.locator(".topbar .brand")).to_be_visible()
    await expect(dark.locator(".topbar .history-back")).to_have_attribute("href", f"/d/{doc}")
    await screenshot(dark, "history-controls-dark")

    # Restore asks in the page: Escape (or Cancel) changes nothing, the focus comes back.
    await picks.nth(1).click()  # version 1
    restore = dark.locator("#history-restore")
    await restore.click()
    question = dark.locator("dialog[open].restore-dialog")
    await expect(question).to_contain_text("Restore version 1?")
    await screenshot(dark, "history-controls-restore-question")
    await dark.keyboard.press("Escape")
    await expect(question).to_have_count(0)
    assert await dark.evaluate("document.activeElement.id") == "history-restore"
    assert len(await versions(server, doc)) == 2
    await restore.click()
    await question.locator("button", has_text="Restore version 1").click()
    await expect(dark.locator("#history-status")).to_contain_text("Restored version 1")
    await ana.locator(DOC, has_text="Then more.").wait_for(state="detached")
    assert [v["restored_from"] for v in await versions(server, doc)] == [None, None, 1]

    # The logo goes home.
    await dark.click(".topbar .brand")
    await dark.wait_for_url(f"{server.url}/")


async def test_a_named_save_right_after_an_automatic_version_names_it(
    quick: TandemProcess, pages: Pages
) -> None:
    doc = "named-after"
    ben = await pages.new("ben")
    await open_editor(ben, f"{quick.url}/d/{doc}", "Ben")
    await ben.click(DOC)
    await ben.keyboard.insert_text("Typed, then a pause.")  # one edit: one automatic version
    automatic = await eventually(
        lambda: versions(quick, doc), lambda vs: len(vs) == 1, what="the automatic version"
    )
    assert automatic[0]["label"] is None
    await save_from_the_editor(ben, "Reviewed")
    await expect(ben.locator("#share-feedback")).to_have_text(
        "Nothing changed since version 1: it is now named “Reviewed”."
    )
    [named] = await versions(quick, doc)
    assert {**named, "label": None} == automatic[0] and named["label"] == "Reviewed"

    # On the history page too: it shows the name, and still one version.
    await ben.goto(f"{quick.url}/d/{doc}/history")
    await expect(ben.locator("#history-versions button")).to_have_count(1)
    await expect(ben.locator(".history-label")).to_have_text("Reviewed")
    await screenshot(ben, "history-controls-named")


async def test_save_version_is_offered_only_to_those_who_may_write(
    secured: TandemProcess, pages: Pages
) -> None:
    def token(user: str, role: str) -> str:
        return mint_token(SECRET, user=user, name=user.title(), docs=["*"], role=role, ttl=600)

    writer = await pages.new("writer")
    await writer.goto(f"{secured.url}/d/guarded?token={token('wu', 'write')}")
    await writer.wait_for_selector(".tandem-status[data-state=connected]")
    await expect(writer.locator(SAVE)).to_be_visible()
    reader = await pages.new("reader")
    await reader.goto(f"{secured.url}/d/guarded?token={token('rae', 'read')}")
    await reader.wait_for_selector(".tandem-status[data-state=connected]")
    await expect(reader.locator(SAVE)).to_be_hidden()
    stranger = await pages.new("stranger")
    await stranger.goto(f"{secured.url}/d/guarded")
    await expect(stranger.locator("#notice")).to_contain_text("access link")
    await expect(stranger.locator(SAVE)).to_be_hidden()
