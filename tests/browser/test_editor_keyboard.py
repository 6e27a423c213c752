"""The editor from the keyboard in real Chromium: the skip link, Tab in and out of the document,
Escape, leaving a code block, and the shortcut help (Ctrl+/)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.browser.helpers import DOC, doc_html, open_editor, press_and_settle
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

IN_EDITOR = "() => document.activeElement?.classList.contains('ProseMirror')"


async def focused(page: Page) -> str:
    """What has the focus, in words: 'editor', 'body' or the element's tag and class."""
    return str(
        await page.evaluate(
            """() => {
                const el = document.activeElement
                if (el?.classList.contains('ProseMirror')) return 'editor'
                if (!el || el === document.body) return 'body'
                return `${el.tagName.toLowerCase()}.${el.className}`
            }"""
        )
    )


async def test_the_skip_link_puts_the_caret_in_the_document(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/keys-skip", "Ada")
    await page.keyboard.type("Some text")
    await page.focus(".skip-link")
    assert await page.is_visible(".skip-link")
    await page.keyboard.press("Enter")
    await page.wait_for_function(IN_EDITOR)
    await page.keyboard.type("!")
    await eventually(lambda: page.inner_text(DOC), lambda t: "!" in t, what="typing after skip")


async def test_tab_leaves_the_document_and_indents_in_lists(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/keys-tab", "Ada")
    await page.keyboard.type("A paragraph")
    # Tab: the next control. Nothing follows the document on this page, so the first one.
    await page.keyboard.press("Tab")
    assert await focused(page) == "a.skip-link"
    await page.click(DOC)
    # Shift+Tab: the control before it, the toolbar (its one tab stop).
    await page.keyboard.press("Shift+Tab")
    assert await focused(page) == "select.tandem-block-select"
    assert await page.inner_text(DOC) == "A paragraph"  # no tab character typed

    # In a list, Tab indents the item when it can; on the first item it leaves instead.
    await page.click(DOC)
    await press_and_settle(page, "Control+End")
    await page.keyboard.press("Enter")
    await page.keyboard.type("- one\ntwo")
    await page.keyboard.press("Tab")
    await eventually(lambda: doc_html(page), lambda h: "<li><p>one</p><ul><li><p>two" in h)
    assert await focused(page) == "editor"
    await page.keyboard.press("Shift+Tab")
    await eventually(lambda: doc_html(page), lambda h: "<li><p>one</p></li><li><p>two" in h)
    assert await focused(page) == "editor"
    await page.keyboard.press("ArrowUp")
    await page.wait_for_function(
        "() => tandem.editor.view.state.selection.$from.parent.textContent === 'one'"
    )
    await page.keyboard.press("Tab")
    assert await focused(page) == "a.skip-link"


async def test_escape_keeps_the_caret_and_enter_twice_leaves_a_code_block(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/keys-code", "Ada")
    await page.keyboard.type("Before")
    await page.keyboard.press("Escape")
    selection = await page.evaluate(
        "(() => { const s = tandem.editor.view.state.selection;"
        " return {empty: s.empty, node: !!s.node, from: s.from} })()"
    )
    assert selection == {"empty": True, "node": False, "from": 7}
    await page.keyboard.type("\n```")
    await page.keyboard.type("let a = 1\nlet b = 2\n\nAfter")
    html = await eventually(lambda: doc_html(page), lambda h: "After" in h)
    assert html == "<p>Before</p><pre><code>let a = 1\nlet b = 2</code></pre><p>After</p>", html
    # One Enter at the end of a code block is still a new line in it.
    await page.evaluate(
        """() => {
            const view = tandem.editor.view
            let end = 0
            view.state.doc.descendants((node, pos) => {
                if (node.type.name === 'code_block') end = pos + 1 + node.content.size
            })
            const { state } = view
            view.dispatch(state.tr.setSelection(state.selection.constructor.near(state.doc.resolve(end))))
        }"""
    )
    await page.keyboard.type("\nlet c = 3")
    await eventually(lambda: doc_html(page), lambda h: "let b = 2\nlet c = 3</code>" in h)


async def test_the_shortcut_help_lists_the_real_bindings(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/keys-help", "Ada")
    await page.keyboard.type("Hello")
    await page.keyboard.press("Control+/")
    dialog = page.locator("dialog.tandem-shortcuts")
    await dialog.wait_for()
    assert await page.evaluate(
        "document.querySelector('dialog.tandem-shortcuts').matches(':modal')"
    )
    rows = await dialog.locator("section").evaluate_all(
        """sections => sections.flatMap(s => [...s.querySelectorAll('tr')].map(r =>
            [s.querySelector('h3').textContent, r.cells[0].textContent, r.cells[1].textContent]))"""
    )
    table = {(group, label): keys for group, label, keys in rows}
    assert table["Text", "Bold"] == "Ctrl+B"
    assert table["Text", "Add or edit a link"] == "Ctrl+K"
    assert table["Blocks", "Heading 2"] == "Ctrl+Alt+2 or Shift+Ctrl+2"
    assert table["Lists", "Bulleted list"] == "Shift+Ctrl+8"
    assert table["Editing", "Redo"] == "Shift+Ctrl+Z or Ctrl+Y"
    assert table["Editing", "Keyboard shortcuts"] == "Ctrl+/"
    assert table["Editing", "Comment on the selection"] == "Ctrl+Alt+M"
    assert table["Typed at the start of a line", "Heading 1"] == "# then Space"
    assert table["Typed at the start of a line", "Code block"] == "```"
    # Every shortcut the toolbar names is in the help.
    titles = await page.locator(".tandem-toolbar [title]").evaluate_all(
        "els => els.map(e => e.title.match(/\\((.+)\\)$/)?.[1]).filter(Boolean)"
    )
    listed = " or ".join(table.values())
    assert titles and all(t in listed for t in titles), (titles, listed)
    await screenshot(page, "shortcuts-help")

    # The focus stays in the dialog; Escape closes it and the caret is back where it was.
    for _ in range(3):
        await page.keyboard.press("Tab")
        assert await page.evaluate("!!document.activeElement.closest('dialog.tandem-shortcuts')")
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="detached")
    await page.wait_for_function(IN_EDITOR)
    await page.keyboard.type(" world")
    await eventually(lambda: page.inner_text(DOC), lambda t: t == "Hello world")

    # The toolbar's button opens it as well, and the focus goes back to the button.
    await page.focus(".tandem-block-select")
    for _ in range(30):
        await page.keyboard.press("ArrowRight")
        if await page.evaluate("document.activeElement.dataset.tool === 'keyboard'"):
            break
    await page.keyboard.press("Enter")
    await dialog.wait_for()
    await page.click("dialog.tandem-shortcuts button:has-text('Close')")
    await dialog.wait_for(state="detached")
    assert await page.evaluate("document.activeElement.dataset.tool") == "keyboard"


async def test_the_shortcut_help_dark_and_narrow(server: TandemProcess, pages: Pages) -> None:
    page = await pages.new(
        "phone", color_scheme="dark", viewport={"width": 390, "height": 760}, is_mobile=True
    )
    await open_editor(page, f"{server.url}/d/keys-help-dark", "Kim")
    await page.click("[data-tool=keyboard]")
    dialog = page.locator("dialog.tandem-shortcuts")
    await dialog.wait_for()
    box = await dialog.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "shortcuts-help-narrow-dark")
