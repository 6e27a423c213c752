"""Undo with co-authors in real Chromium: a step ends at a pause or at someone else's change,
takes back only one's own text, and redo survives undoing to an empty document."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page

from tests.browser.helpers import DOC, open_editor, press_and_settle, server_text
from tests.support.browser import Pages
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Longer than the editor's capture time (client_js/src/editor/undo.js, CAPTURE_MS = 500): a
# person's pause between two undo steps. It is input, not a wait for a result.
PAUSE = 1.0


async def text_of(page: Page) -> str:
    """The page's document as text, blocks separated by '|'."""
    return str(
        await page.evaluate(
            "(() => { const d = tandem.editor.view.state.doc;"
            " return d.textBetween(0, d.content.size, '|') })()"
        )
    )


async def undo_steps(page: Page) -> int:
    return int(
        await page.evaluate("tandem.editor.view.state['y-undo$'].undoManager.undoStack.length")
    )


async def test_a_coauthors_change_ends_the_step_and_stays(
    server: TandemProcess, pages: Pages
) -> None:
    url = f"{server.url}/d/undo-coauthor"
    ada = await pages.new("ada")
    bob = await pages.new("bob")
    await open_editor(ada, url, "Ada")
    await open_editor(bob, url, "Bob")
    await bob.keyboard.type("Bob says")
    await eventually(lambda: text_of(ada), lambda t: t == "Bob says", what="Bob's line at Ada")

    # Ada types without a pause, in a new paragraph, while Bob types at the start.
    await ada.click(DOC)
    await press_and_settle(ada, "Control+End")
    await ada.keyboard.press("Enter")
    await ada.keyboard.type("Ada")

    async def ada_keeps_typing() -> None:
        for _ in range(500):  # a key every few milliseconds, far inside one capture time
            await ada.keyboard.type(".")
            if "Hi Bob" in await text_of(ada):
                return
        raise AssertionError("Bob's change never reached Ada")

    async def bob_types() -> None:
        await press_and_settle(bob, "Control+Home")
        await bob.keyboard.type("Hi ")

    await asyncio.gather(ada_keeps_typing(), bob_types())
    await ada.keyboard.type(" end")

    # One undo takes back what Ada typed since Bob's change, not her whole burst.
    await ada.keyboard.press("Control+z")
    after = await eventually(lambda: text_of(ada), lambda t: " end" not in t, what="undo")
    assert after.startswith("Hi Bob says|Ada"), after
    await eventually(lambda: text_of(bob), lambda t: t == after, what="the undo at Bob")

    # Undoing everything leaves Bob's text exactly as he typed it.
    while await undo_steps(ada):
        await ada.keyboard.press("Control+z")
    await eventually(lambda: text_of(bob), lambda t: t == "Hi Bob says", what="only Bob's text")
    await eventually(
        lambda: server_text(server, "undo-coauthor"),
        lambda t: t.strip() == "Hi Bob says",
        what="the server's copy",
    )


async def test_undo_to_an_empty_document_keeps_redo(server: TandemProcess, pages: Pages) -> None:
    ada = await pages.new("ada")
    await open_editor(ada, f"{server.url}/d/undo-empty", "Ada")
    await ada.keyboard.type("Hello world")
    await eventually(lambda: server_text(server, "undo-empty"), lambda t: "Hello world" in t)
    await ada.keyboard.press("Control+z")
    await eventually(lambda: text_of(ada), lambda t: t == "", what="undo to empty")
    await eventually(lambda: server_text(server, "undo-empty"), lambda t: t.strip() == "")
    # The toolbar says redo is there, and it is.
    await ada.wait_for_selector("[data-tool=redo]:not([disabled])")
    await ada.keyboard.press("Control+Shift+z")
    await eventually(lambda: text_of(ada), lambda t: t == "Hello world", what="redo")
    await eventually(
        lambda: server_text(server, "undo-empty"), lambda t: t.strip() == "Hello world"
    )
    # And undo again, then redo with the toolbar.
    await ada.keyboard.press("Control+z")
    await eventually(lambda: text_of(ada), lambda t: t == "")
    await ada.click("[data-tool=redo]")
    await eventually(lambda: text_of(ada), lambda t: t == "Hello world", what="toolbar redo")


async def test_steps_separated_by_a_pause_undo_separately(
    server: TandemProcess, pages: Pages
) -> None:
    ada = await pages.new("ada")
    await open_editor(ada, f"{server.url}/d/undo-pause", "Ada")
    await ada.keyboard.type("First words.")
    await asyncio.sleep(PAUSE)
    await ada.keyboard.type(" Second thought.")
    await ada.keyboard.press("Control+z")
    await eventually(lambda: text_of(ada), lambda t: t == "First words.", what="first undo")
    await ada.keyboard.press("Control+z")
    await eventually(lambda: text_of(ada), lambda t: t == "", what="second undo")
    await ada.keyboard.press("Control+Shift+z")
    await eventually(lambda: text_of(ada), lambda t: t == "First words.", what="first redo")
    await ada.keyboard.press("Control+Shift+z")
    await eventually(
        lambda: text_of(ada), lambda t: t == "First words. Second thought.", what="second redo"
    )
