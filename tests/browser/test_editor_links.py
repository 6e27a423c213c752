"""Links in real Chromium: Ctrl+K on no selection, the popover at a link (open, edit, remove),
keyboard use of it, read-only editors, and clicks that never leave the editor."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page

from tests.browser.helpers import DOC, doc_html, open_editor, press_and_settle, server_json
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

POPOVER = ".tandem-link-popover:not([hidden])"
IN_EDITOR = "() => document.activeElement?.classList.contains('ProseMirror')"


async def put_markdown(server: TandemProcess, doc: str, text: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.put(
            f"/api/docs/{doc}", content=text, headers={"Content-Type": "text/markdown"}
        )
        assert response.status_code in (200, 201), response.text


async def caret_in_link(page: Page) -> None:
    await page.wait_for_function(
        "() => tandem.editor.view.state.selection.$from.marks().some(m => m.type.name === 'link')"
    )


async def into_link(page: Page) -> None:
    """The caret to "Go t|here now.", inside the link, from outside it."""
    await press_and_settle(page, "Control+Home")
    for _ in range(4):
        await page.keyboard.press("ArrowRight")
    await caret_in_link(page)


async def test_ctrl_k_without_a_selection_inserts_the_address_as_its_own_word(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/links-insert", "Ada")
    await page.keyboard.type("See")
    await page.keyboard.press("Control+k")
    await page.fill("dialog input[name=href]", "example.org/a")
    await page.keyboard.press("Enter")
    await page.keyboard.type(" and")  # after a space: none added
    await page.keyboard.press("Control+k")
    await page.fill("dialog input[name=href]", "https://example.org/b")
    await page.keyboard.press("Enter")
    await page.keyboard.type(".")
    html = await eventually(lambda: doc_html(page), lambda h: h.endswith(".</p>"))
    assert html.startswith('<p>See <a href="https://example.org/a"'), html
    assert '>https://example.org/a</a> and <a href="https://example.org/b"' in html, html
    assert html.endswith(">https://example.org/b</a>.</p>"), html
    body = await eventually(
        lambda: server_json(server, "links-insert"), lambda j: "." in str(j), what="server"
    )
    texts = [(n["text"], bool(n.get("marks"))) for n in body["content"][0]["content"]]
    assert texts == [
        ("See ", False),
        ("https://example.org/a", True),
        (" and ", False),
        ("https://example.org/b", True),
        (".", False),
    ]


async def test_the_popover_of_a_link_opens_edits_and_removes(
    server: TandemProcess, pages: Pages
) -> None:
    target = f"{server.url}/healthz"
    await put_markdown(server, "links-popover", f"Read [the guide]({target}) first.\n")
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/links-popover", "Ada")
    await page.wait_for_selector(f"{DOC} a")

    # A click puts the caret in the link, never follows it; the popover names the address.
    # (Each click lands elsewhere in the link: the same spot twice is a double click.)
    await page.click(f"{DOC} a", position={"x": 4, "y": 5})
    popover = page.locator(POPOVER)
    await popover.wait_for()
    assert page.url == f"{server.url}/d/links-popover"
    assert len(page.context.pages) == 1
    address = popover.locator("a")
    assert await address.get_attribute("href") == target
    assert await address.get_attribute("target") == "_blank"
    assert "noopener" in (await address.get_attribute("rel") or "")
    await screenshot(page, "link-popover")

    # Open: a new tab without a way back to the editor's window.
    async with page.context.expect_page() as opened:
        await address.click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert tab.url == target
    assert await tab.evaluate("window.opener") is None
    await tab.close()

    # Edit: the link dialog, with the current address.
    await page.click(f"{DOC} a", position={"x": 20, "y": 5})
    await popover.locator("button[data-action=edit]").click()
    field = page.locator("dialog input[name=href]")
    assert await field.input_value() == target
    await field.fill(f"{server.url}/readyz")
    await page.keyboard.press("Enter")
    await eventually(lambda: doc_html(page), lambda h: "/readyz" in h, what="edited link")
    await page.wait_for_function(IN_EDITOR)

    # Remove: the text stays, the link goes.
    await page.click(f"{DOC} a", position={"x": 36, "y": 5})
    await popover.locator("button[data-action=remove]").click()
    await eventually(lambda: doc_html(page), lambda h: "<a " not in h, what="link removed")
    assert await page.inner_text(DOC) == "Read the guide first."
    await page.wait_for_function(IN_EDITOR)
    await page.wait_for_selector(".tandem-link-popover", state="hidden")


async def test_the_popover_by_keyboard(server: TandemProcess, pages: Pages) -> None:
    await put_markdown(server, "links-keys", "Go [there](https://example.org/x) now.\n")
    page = await pages.new("page", color_scheme="dark")
    await open_editor(page, f"{server.url}/d/links-keys", "Ada")
    await page.wait_for_selector(f"{DOC} a")
    await into_link(page)
    popover = page.locator(POPOVER)
    await popover.wait_for()
    await screenshot(page, "link-popover-dark")

    # Escape closes it and leaves the caret where it was (no block selected).
    await page.keyboard.press("Escape")
    await page.wait_for_selector(".tandem-link-popover", state="hidden")
    await page.wait_for_function(IN_EDITOR)
    assert await page.evaluate("tandem.editor.view.state.selection.empty")

    # Closed for this link until the caret leaves it.
    await page.keyboard.press("ArrowRight")
    await caret_in_link(page)
    assert await popover.count() == 0

    # Back into the link: Tab reaches the popover, Escape there returns to the text.
    await into_link(page)
    await popover.wait_for()
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.matches('.tandem-link-popover a')")
    await page.keyboard.press("Escape")
    await page.wait_for_function(IN_EDITOR)
    await page.wait_for_selector(".tandem-link-popover", state="hidden")

    # Tab, Tab, Tab to Remove, Enter.
    await into_link(page)
    await popover.wait_for()
    for _ in range(3):
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.dataset.action") == "remove"
    await page.keyboard.press("Enter")
    await eventually(lambda: doc_html(page), lambda h: "<a " not in h, what="link removed")
    await page.wait_for_function(IN_EDITOR)
    await page.keyboard.type("!")
    assert await page.inner_text(DOC) == "Go t!here now."


async def test_a_read_only_editor_offers_only_to_open_the_link(
    server: TandemProcess, pages: Pages
) -> None:
    await put_markdown(server, "links-readonly", "See [the site](https://example.org/ro).\n")
    page = await pages.new("reader")
    await page.goto(f"{server.url}/embed/links-readonly?readonly=1&name=Rea")
    await page.wait_for_selector(f"{DOC} a")
    await page.click(f"{DOC} a")
    popover = page.locator(POPOVER)
    await popover.wait_for()
    assert await popover.locator("button:visible").count() == 0
    assert await popover.locator("a").get_attribute("href") == "https://example.org/ro"
    assert page.url.startswith(f"{server.url}/embed/links-readonly")
    assert len(page.context.pages) == 1
    await page.keyboard.press("Escape")
    await page.wait_for_selector(".tandem-link-popover", state="hidden")
