"""The editor page in real Chromium: co-editing, cursors, offline editing, undo, the home page."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.names import MAX_NAME, PALETTE
from tests.browser.helpers import (
    DOC,
    doc_html,
    open_editor,
    press_and_settle,
    server_json,
    server_text,
)
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


def marks_of(node: dict[str, Any]) -> set[str]:
    """Every mark name used anywhere in a ProseMirror JSON tree."""
    found = {m["type"] for m in node.get("marks", [])}
    for child in node.get("content", []):
        found |= marks_of(child)
    return found


async def test_two_pages_converge_on_text_and_formatting(
    server: TandemProcess, pages: Pages
) -> None:
    url = f"{server.url}/d/converge"
    ada = await pages.new("ada")
    grace = await pages.new("grace")
    await open_editor(ada, url, "Ada")
    await open_editor(grace, url, "Grace")

    await ada.click(DOC)
    await ada.keyboard.type("# Plan\n")
    await ada.keyboard.type("Ship the ")
    await ada.keyboard.press("Control+b")
    await ada.keyboard.type("editor")
    await ada.keyboard.press("Control+b")
    await ada.keyboard.type(" today.\n")
    await eventually(lambda: doc_html(grace), lambda h: "today." in h, what="Ada's text at Grace")

    # Grace types at the same time, at the end, with the toolbar instead of shortcuts.
    await grace.click(f"{DOC} p >> nth=-1")
    await press_and_settle(grace, "Control+End")
    await grace.click("[data-tool=italic]")
    await grace.keyboard.type("Grace was here")
    await grace.click("[data-tool=bulletList]")
    await press_and_settle(ada, "Control+Home")
    await ada.keyboard.type("Draft ")

    def same(pair: tuple[str, str]) -> bool:
        return pair[0] == pair[1] and "Grace was here" in pair[0] and "Draft Plan" in pair[0]

    async def both() -> tuple[str, str]:
        return await doc_html(ada), await doc_html(grace)

    final, _ = await eventually(both, same, what="both pages show the same document")
    assert "<h1>Draft Plan</h1>" in final
    assert "<strong>editor</strong>" in final
    assert "<em>Grace was here</em>" in final and "<ul>" in final

    body = await eventually(
        lambda: server_json(server, "converge"),
        lambda j: "em" in marks_of(j) and "Grace was here" in str(j),
        what="the server's copy",
    )
    assert body["content"][0] == {
        "type": "heading",
        "attrs": {"level": 1},
        "content": [{"type": "text", "text": "Draft Plan"}],
    }
    assert {"strong", "em"} <= marks_of(body)
    assert "bullet_list" in str(body)
    await screenshot(ada, "editor-ada")
    await screenshot(grace, "editor-grace")


async def test_remote_cursor_is_labelled_with_the_name(server: TandemProcess, pages: Pages) -> None:
    url = f"{server.url}/d/cursors"
    ada = await pages.new("ada")
    lin = await pages.new("lin")
    await open_editor(ada, url, "Ada Lovelace")
    await open_editor(lin, url, "Lin")
    await ada.click(DOC)
    await ada.keyboard.type("Where is everyone?")
    label = lin.locator(".tandem-cursor-label", has_text="Ada Lovelace")
    await label.wait_for()
    # Ada's selection shows too, in her colour (set through the CSSOM: the page's CSP forbids
    # style attributes, and any violation would fail the test as a console error).
    await ada.keyboard.press("Control+a")
    await lin.locator(".tandem-selection").first.wait_for()
    # The presence bar lists both, with their own colours.
    avatars = lin.locator(".topbar .tandem-avatar")
    await eventually(avatars.count, lambda n: n == 2, what="two avatars")
    names = set(await avatars.evaluate_all("els => els.map(e => e.dataset.name)"))
    assert names == {"Ada Lovelace", "Lin"}
    await screenshot(lin, "cursor-label")


async def test_offline_page_keeps_editing_and_merges_on_reconnect(
    server: TandemProcess, pages: Pages
) -> None:
    url = f"{server.url}/d/offline"
    ada = await pages.new("ada")
    bob = await pages.new("bob")
    await open_editor(ada, url, "Ada")
    await open_editor(bob, url, "Bob")
    await ada.click(DOC)
    await ada.keyboard.type("Shared start.")
    await eventually(lambda: server_text(server, "offline"), lambda t: "Shared start." in t)

    await ada.context.set_offline(True)
    await ada.wait_for_selector(".tandem-status[data-state=offline]")
    await ada.keyboard.press("Enter")
    await ada.keyboard.type("Written on a train.")
    await ada.wait_for_selector(".tandem-status[data-unsynced=true]")
    await bob.click(DOC)
    await press_and_settle(bob, "Control+Home")
    await bob.keyboard.type("Meanwhile at the office. ")
    await eventually(
        lambda: server_text(server, "offline"), lambda t: "Meanwhile at the office." in t
    )
    assert "Written on a train." not in await server_text(server, "offline")
    assert "Meanwhile" not in await ada.inner_text(DOC)
    await screenshot(ada, "offline")

    await ada.context.set_offline(False)
    await ada.wait_for_selector(".tandem-status[data-state=connected][data-unsynced=false]")
    text = await eventually(
        lambda: server_text(server, "offline"),
        lambda t: "Written on a train." in t and "Meanwhile at the office." in t,
        what="both edits on the server",
    )
    assert text.splitlines() == ["Meanwhile at the office. Shared start.", "Written on a train."]
    await eventually(
        lambda: ada.inner_text(DOC), lambda t: "Meanwhile at the office." in t, what="Bob at Ada"
    )
    await eventually(lambda: bob.inner_text(DOC), lambda t: "Written on a train." in t)


async def test_undo_takes_back_only_your_own_changes(server: TandemProcess, pages: Pages) -> None:
    url = f"{server.url}/d/undo"
    ada = await pages.new("ada")
    bob = await pages.new("bob")
    await open_editor(ada, url, "Ada")
    await open_editor(bob, url, "Bob")
    await ada.click(DOC)
    await ada.keyboard.type("Ada's line")
    await eventually(lambda: bob.inner_text(DOC), lambda t: "Ada's line" in t)
    await bob.click(DOC)
    await press_and_settle(bob, "Control+End")
    await bob.keyboard.press("Enter")
    await bob.keyboard.type("Bob's line")
    await eventually(lambda: ada.inner_text(DOC), lambda t: "Bob's line" in t)

    await ada.keyboard.press("Control+z")
    text = await eventually(
        lambda: server_text(server, "undo"), lambda t: "Ada's line" not in t, what="undo"
    )
    assert text.strip() == "Bob's line"
    await ada.keyboard.press("Control+Shift+z")
    await eventually(lambda: server_text(server, "undo"), lambda t: "Ada's line" in t, what="redo")


async def test_links_are_added_and_removed_from_the_keyboard(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("page")
    await open_editor(page, f"{server.url}/d/links", "Ada")
    await page.keyboard.type("Read the ")
    await page.keyboard.press("Control+k")
    await page.keyboard.type("example.org/guide")
    await page.keyboard.press("Enter")
    await page.keyboard.type(" today.")
    html = await eventually(lambda: doc_html(page), lambda h: "today." in h)
    assert 'Read the <a href="https://example.org/guide"' in html
    assert html.endswith("https://example.org/guide</a> today.</p>")
    body = await eventually(lambda: server_json(server, "links"), lambda j: "today." in str(j))
    (paragraph,) = body["content"]
    assert paragraph["content"][1] == {
        "type": "text",
        "text": "https://example.org/guide",
        "marks": [{"type": "link", "attrs": {"href": "https://example.org/guide"}}],
    }
    # A javascript: address is refused; removing the link keeps the text.
    await page.click(f"{DOC} a")  # a link in the editor is text to edit, not a way out
    await page.wait_for_function(
        "() => tandem.editor.view.state.selection.$from.marks().length > 0"
    )
    await page.keyboard.press("Control+k")
    await page.fill("dialog input[name=href]", "javascript:alert(1)")
    await page.keyboard.press("Enter")
    assert "web (https://…)" in await page.inner_text("dialog .tandem-dialog-error")
    await page.click("dialog >> text=Remove link")
    await eventually(lambda: doc_html(page), lambda h: "<a " not in h, what="link removed")
    assert "Read the https://example.org/guide today." in await page.inner_text(DOC)


async def test_home_lists_documents_with_who_is_in_them(
    server: TandemProcess, pages: Pages
) -> None:
    writer = await pages.new("writer")
    await open_editor(writer, f"{server.url}/d/roadmap", "Margaret")
    await writer.click(DOC)
    await writer.keyboard.type("Quarterly roadmap")
    await eventually(lambda: server_text(server, "roadmap"), lambda t: "Quarterly" in t)

    home = await pages.new("home")
    await home.goto(f"{server.url}/")
    item = home.locator(".doc-item[data-doc=roadmap]")
    await item.wait_for()
    await eventually(item.inner_text, lambda t: "Margaret is here" in t, what="presence on home")
    assert "Edited" in await item.inner_text()
    await screenshot(home, "home")

    # Creating a document: a name becomes a valid id and opens the editor.
    await home.fill("#create input[name=name]", "Launch Plan: Q3!")
    assert "/d/launch-plan-q3" in await home.inner_text("#create-hint")
    await home.press("#create input[name=name]", "Enter")
    await home.wait_for_url(f"{server.url}/d/launch-plan-q3")
    await home.wait_for_selector("dialog input[name=name]")


async def test_pages_receive_the_servers_notifications(server: TandemProcess, pages: Pages) -> None:
    home = await pages.new("home")
    sockets: list[str] = []
    home.on("websocket", lambda ws: sockets.append(ws.url))
    await home.goto(f"{server.url}/")
    await home.locator(".doc-list").wait_for()
    await home.wait_for_function("() => document.querySelector('.doc-list .empty, .doc-item')")
    assert any("/events?docs=" in url for url in sockets), sockets

    ada = await pages.new("ada")
    await open_editor(ada, f"{server.url}/d/announced", "Ada")
    await ada.evaluate(
        """() => {
            window.heard = []
            document.addEventListener('tandem:notification', (e) => heard.push(e.detail))
        }"""
    )
    # The home page learns of the new document and of who is in it from /events.
    item = home.locator(".doc-item[data-doc=announced]")
    await eventually(item.count, lambda n: n == 1, timeout=5, what="the new document on home")
    # Ada's page hears Bob arrive.
    bob = await pages.new("bob")
    await open_editor(bob, f"{server.url}/d/announced", "Bob")
    heard = await eventually(
        lambda: ada.evaluate("heard"),
        lambda events: any(
            e.get("type") == "presence" and e.get("event") == "joined" for e in events
        ),
        what="a presence notification on the editor page",
    )
    assert all(e["doc"] == "announced" for e in heard)


async def test_narrow_screen_and_keyboard_only_use(server: TandemProcess, pages: Pages) -> None:
    phone = await pages.new("phone", viewport={"width": 390, "height": 760}, is_mobile=True)
    await phone.goto(f"{server.url}/d/narrow")
    # Keyboard only: the name dialog has the focus, Enter submits it.
    await phone.keyboard.type("Kim")
    await phone.keyboard.press("Enter")
    await phone.wait_for_selector(".tandem-status[data-state=connected]")
    await phone.wait_for_function("() => document.activeElement?.classList.contains('ProseMirror')")
    await phone.keyboard.type("Typed on a phone.")
    await phone.keyboard.press("Control+Alt+1")  # heading shortcut
    await eventually(lambda: server_text(server, "narrow"), lambda t: "Typed on a phone." in t)
    assert "<h1>Typed on a phone.</h1>" in await doc_html(phone)
    # Nothing wider than the screen.
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await screenshot(phone, "narrow-editor")


async def test_name_question_offers_the_servers_colours_and_name_length(
    server: TandemProcess, pages: Pages
) -> None:
    page = await pages.new("newcomer")
    await page.goto(f"{server.url}/d/colours")
    swatches = page.locator("dialog input[name=color]")
    await swatches.first.wait_for()
    offered = await swatches.evaluate_all("inputs => inputs.map(i => i.value)")
    assert offered == list(PALETTE)
    assert await page.get_attribute("dialog input[name=name]", "maxlength") == str(MAX_NAME)
    await page.fill("dialog input[name=name]", "x" * (MAX_NAME + 10))
    await page.click("dialog button[type=submit]")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    assert await page.evaluate("tandem.client.user.name") == "x" * MAX_NAME
