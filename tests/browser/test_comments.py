"""Comments in the browser, on a hub with auth: a comment made on one page is highlighted and
listed live on another, replied to, resolved (its highlight hidden), reopened and deleted; what
a reader, a commenter and a keyboard see; the widget's panel; the history page's highlight."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Locator, Page, expect

from server.security.auth import mint_token
from tests.browser.helpers import DOC, open_editor, press_and_settle
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "browser-comments-secret-of-at-least-32-bytes"
PANEL = "[aria-label=Comments]"
THREAD = f"{PANEL} .tandem-thread[data-thread]"
COMMENT = "button[aria-label=Comment]"
ACTIVE = re.compile(r"\bis-active\b")
TOASTS = ".tandem-toast:not(.is-leaving) .tandem-toast-text"


def token(user: str, name: str, role: str = "write") -> str:
    return mint_token(SECRET, user=user, name=name, docs=["team-*"], role=role, ttl=3600)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("comments") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


async def api(server: TandemProcess, who: str, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {who}"}
    ) as http:
        response = await http.request(method, path, **kw)
    assert response.is_success, response.text
    return response.json() if response.content else None


async def open_doc(page: Page, server: TandemProcess, doc: str, who: str) -> None:
    await page.goto(f"{server.url}/d/{doc}?token={who}")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    await page.wait_for_selector(f"{PANEL}[data-state=ready]")


async def write(page: Page, text: str) -> None:
    await page.click(DOC)
    await page.keyboard.type(text)
    await page.wait_for_selector(".tandem-status[data-unsynced=false]")


async def select_text(page: Page, text: str, root: str = DOC) -> None:
    """Select `text` in the document as a mouse would (a DOM range), and wait until the editor
    has taken the selection (the Comment button comes alive)."""
    await page.locator(root, has_text=text).wait_for()
    await page.evaluate(
        """([root, text]) => {
            const host = document.querySelector('tandem-editor')?.shadowRoot || document
            const doc = host.querySelector(root)
            const walker = document.createTreeWalker(doc, NodeFilter.SHOW_TEXT)
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf(text)
                if (at < 0) continue
                const range = document.createRange()
                range.setStart(node, at)
                range.setEnd(node, at + text.length)
                const selection = (host.getSelection ? host : document).getSelection()
                selection.removeAllRanges()
                selection.addRange(range)
                return
            }
            throw new Error('no such text: ' + text)
        }""",
        [root, text],
    )
    # The editor takes the selection from the browser's selectionchange, a moment later.
    await page.wait_for_function(
        """(text) => {
            const el = document.querySelector('tandem-editor')
            const view = el ? el._editor.view : tandem.editor.view
            const { from, to } = view.state.selection
            return view.state.doc.textBetween(from, to) === text
        }""",
        arg=text,
    )


def highlight(page: Page, quote: str) -> Locator:
    return page.locator(f"{DOC} .tandem-comment", has_text=quote)


async def highlighted(page: Page, quote: str) -> bool:
    """Whether the commented text shows its highlight (a background colour)."""
    spans = highlight(page, quote)
    if not await spans.count():
        return False
    colour = await spans.first.evaluate("el => getComputedStyle(el).backgroundColor")
    return colour not in ("rgba(0, 0, 0, 0)", "transparent")


async def comment_on(page: Page, quote: str, body: str) -> Locator:
    await select_text(page, quote)
    button = page.locator(COMMENT)
    await expect(button).to_be_enabled()
    await button.click()
    box = page.get_by_role("textbox", name="Comment text")
    await expect(box).to_be_focused()
    await box.fill(body)
    await box.press("Enter")
    thread = page.locator(THREAD, has_text=body)
    await expect(thread).to_be_visible()
    return page.locator(f'{THREAD}[data-thread="{await thread.get_attribute("data-thread")}"]')


async def test_a_comment_is_live_on_the_other_page_then_replied_resolved_reopened_deleted(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-review"
    ana_token, ben_token = token("ana", "Ana Lima"), token("ben", "Ben Okafor")
    ana = await pages.new("ana")
    await open_doc(ana, server, doc, ana_token)
    await expect(ana.locator(PANEL)).to_contain_text("No comments yet")
    await write(ana, "The plan is ready for review by Friday.")
    ben = await pages.new("ben")
    await open_doc(ben, server, doc, ben_token)
    await ben.locator(DOC, has_text="by Friday.").wait_for()
    await ben.wait_for_function("(user) => tandem.feed.names.has(user)", arg="ana")

    # Ana comments on "ready": the highlight and the thread, on her page and on Ben's.
    await expect(ana.locator(COMMENT)).to_be_disabled()  # nothing selected yet
    thread = await comment_on(ana, "ready", "Is it <b>really</b>?")
    await expect(highlight(ana, "ready")).to_have_count(1)
    await expect(highlight(ana, "ready")).to_have_text("ready")
    await eventually(lambda: highlighted(ana, "ready"), what="Ana's highlight")
    await expect(thread.locator(".tandem-note-body").first).to_have_text("Is it <b>really</b>?")
    await expect(thread).to_contain_text("Ana Lima")
    await expect(thread).to_contain_text("just now")
    await expect(thread).to_contain_text("ready")  # the quote

    await eventually(lambda: highlighted(ben, "ready"), what="Ben's highlight")
    theirs = ben.locator(THREAD, has_text="Is it <b>really</b>?")
    await expect(theirs).to_be_visible()
    await expect(theirs).to_contain_text("Ana Lima")
    assert await theirs.locator("b").count() == 0  # text, never markup
    await eventually(
        lambda: ben.locator(TOASTS).all_inner_texts(),
        lambda t: "Ana Lima commented" in t,
        what="Ben's toast",
    )
    # Ben may not edit or delete Ana's comment; he replies.
    await expect(theirs.get_by_role("button", name="Edit")).to_be_hidden()
    await expect(theirs.get_by_role("button", name="Delete")).to_be_hidden()
    await theirs.locator(".tandem-note-body").first.click()  # the active thread takes replies
    await expect(theirs).to_have_class(ACTIVE)
    reply = theirs.get_by_role("textbox", name="Reply")
    await reply.fill("Yes: the numbers are in.")
    await reply.press("Enter")
    await expect(theirs).to_contain_text("Yes: the numbers are in.")
    await expect(thread).to_contain_text("Yes: the numbers are in.")
    await expect(thread.locator(".tandem-thread-replies")).to_contain_text("Ben Okafor")
    await screenshot(ana, "comments-thread-with-reply")

    # Ben resolves it: the highlight goes on both pages, the thread moves to "Resolved".
    await theirs.get_by_role("button", name="Resolve").click()
    await eventually(lambda: highlighted(ben, "ready"), lambda on: not on, what="Ben: hidden")
    await eventually(lambda: highlighted(ana, "ready"), lambda on: not on, what="Ana: hidden")
    resolved = ana.locator(f"{PANEL} .tandem-comments-resolved")
    await expect(resolved).to_be_visible()
    await expect(resolved.locator("summary")).to_have_text("Resolved (1)")
    await expect(ana.locator(f"{PANEL} .tandem-comments-threads")).not_to_contain_text("Is it")
    await expect(highlight(ana, "ready")).to_have_count(1)  # the anchor stays in the text

    # Ana reopens it from the Resolved section.
    await resolved.locator("summary").click()
    await resolved.get_by_role("button", name="Reopen").click()
    await eventually(lambda: highlighted(ana, "ready"), what="Ana: shown again")
    await eventually(lambda: highlighted(ben, "ready"), what="Ben: shown again")
    await expect(resolved).to_be_hidden()

    # Ana deletes it, after a question in the page (no confirm()).
    ana.on("dialog", lambda d: pytest.fail(f"a browser dialog: {d.message}"))
    await thread.get_by_role("button", name="Delete").click()
    await expect(thread).to_contain_text("Delete this comment and its replies")
    await expect(thread.get_by_role("button", name="Cancel")).to_be_focused()
    await thread.locator(".tandem-thread-confirm").get_by_role("button", name="Delete").click()
    await expect(ana.locator(THREAD)).to_have_count(0)
    await expect(ben.locator(THREAD)).to_have_count(0)
    await expect(highlight(ben, "ready")).to_have_count(0)  # the server took the mark away
    await expect(ben.locator(PANEL)).to_contain_text("No comments yet")
    assert await ana.inner_text(DOC) == "The plan is ready for review by Friday."

    # Ana's Activity lists what Ben did.
    await ana.click("#activity")
    texts = await ana.locator("#activity-panel .activity-text").all_inner_texts()
    assert "Ben Okafor replied to a comment" in texts, texts
    assert "Ben Okafor resolved a comment" in texts, texts


async def test_typing_next_to_a_highlight_or_pasting_one_adds_no_anchor(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-edges"
    who = token("ana", "Ana Lima")
    ana = await pages.new("ana")
    await open_doc(ana, server, doc, who)
    await write(ana, "alpha beta gamma")
    await comment_on(ana, "beta", "Why beta?")
    await expect(highlight(ana, "beta")).to_have_text("beta")
    # The caret right after "beta": typed text is not part of the highlight.
    await ana.click(DOC)
    await select_text(ana, "beta")
    await ana.keyboard.press("ArrowRight")
    await ana.wait_for_function(
        "() => tandem.editor.view.state.selection.empty"
        " && tandem.editor.view.state.selection.head === 11"
    )
    await ana.keyboard.type("X")
    await ana.locator(DOC, has_text="alpha betaX gamma").wait_for()
    await expect(highlight(ana, "beta")).to_have_text("beta")
    # Copying the highlighted word and pasting it elsewhere pastes text, not a second anchor.
    await select_text(ana, "beta")
    copied = await ana.evaluate(
        """() => {
            const data = new DataTransfer()
            const init = { clipboardData: data, bubbles: true, cancelable: true }
            document.querySelector('.tandem-doc').dispatchEvent(new ClipboardEvent('copy', init))
            return data.getData('text/html')
        }"""
    )
    assert "tandem-comment" in copied, copied  # the copied HTML has the highlight's span
    await press_and_settle(ana, "Control+End")
    await ana.evaluate(
        """(html) => {
            const data = new DataTransfer()
            data.setData('text/html', html)
            data.setData('text/plain', 'beta')
            const init = { clipboardData: data, bubbles: true, cancelable: true }
            document.querySelector('.tandem-doc').dispatchEvent(new ClipboardEvent('paste', init))
        }""",
        copied,
    )
    await ana.locator(DOC, has_text="gammabeta").wait_for()
    await expect(ana.locator(f"{DOC} .tandem-comment")).to_have_count(1)
    await ana.wait_for_selector(".tandem-status[data-unsynced=false]")
    threads = await api(server, who, "GET", f"/api/docs/{doc}/comments")
    assert [t["quote"] for t in threads] == ["beta"], threads


async def test_a_reader_sees_the_threads_and_no_controls(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-readers"
    wu = token("wu", "Wu Writer")
    writer = await pages.new("writer")
    await open_doc(writer, server, doc, wu)
    await write(writer, "Read this carefully.")
    await comment_on(writer, "carefully", "Very carefully.")
    reader = await pages.new("reader")
    await open_doc(reader, server, doc, token("rae", "Rae Reader", "read"))
    thread = reader.locator(THREAD, has_text="Very carefully.")
    await expect(thread).to_be_visible()
    await eventually(lambda: highlighted(reader, "carefully"), what="the reader's highlight")
    assert await thread.locator("button, textarea").count() == 0
    await expect(reader.locator(COMMENT)).to_have_count(0)
    await expect(reader.locator(PANEL)).not_to_contain_text("Select some text")
    await screenshot(reader, "comments-reader")
    # An admin may delete anyone's thread, but edits only their own.
    admin = await pages.new("admin")
    await open_doc(admin, server, doc, token("root", "Root", "admin"))
    theirs = admin.locator(THREAD, has_text="Very carefully.")
    await expect(theirs.get_by_role("button", name="Delete")).to_be_visible()
    await expect(theirs.get_by_role("button", name="Edit")).to_be_hidden()


async def test_a_commenter_comments_but_cannot_change_the_text(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-commenters"
    wu = token("wu", "Wu Writer")
    writer = await pages.new("writer")
    await open_doc(writer, server, doc, wu)
    await write(writer, "Only writers write here.")
    cy = token("cy", "Cy Commenter", "comment")
    commenter = await pages.new("commenter")
    await open_doc(commenter, server, doc, cy)
    await commenter.locator(DOC, has_text="Only writers write here.").wait_for()
    body = commenter.locator(DOC)
    await expect(body).to_have_attribute("contenteditable", "false")
    await expect(commenter.locator("button[aria-label=Bold]")).to_have_count(0)
    await body.click()
    await commenter.keyboard.type("VANDAL")
    await comment_on(commenter, "writers", "And commenters comment.")
    await eventually(lambda: highlighted(writer, "writers"), what="the writer sees it")
    await expect(writer.locator(THREAD)).to_contain_text("Cy Commenter")
    # The commenter's reply box works; the body never changed.
    thread = commenter.locator(THREAD)
    await expect(thread.get_by_role("button", name="Resolve")).to_be_visible()
    await expect(thread.get_by_role("button", name="Edit")).to_be_visible()  # their own
    async with httpx.AsyncClient(base_url=server.url) as http:
        text = await http.get(f"/api/docs/{doc}", params={"format": "text", "token": wu})
    assert text.text == "Only writers write here.", text.text
    assert "VANDAL" not in await body.inner_text()
    await screenshot(commenter, "comments-commenter")


async def test_keyboard_only_comment_and_resolve(server: TandemProcess, pages: Pages) -> None:
    doc = "team-keys"
    kim = await pages.new("kim")
    await open_doc(kim, server, doc, token("kim", "Kim Park"))
    await write(kim, "Keys only")
    await kim.keyboard.press("Shift+Home")
    await kim.wait_for_function(
        "() => { const { from, to } = tandem.editor.view.state.selection;"
        " return tandem.editor.view.state.doc.textBetween(from, to) === 'Keys only' }"
    )
    await kim.keyboard.press("Control+Alt+m")
    box = kim.get_by_role("textbox", name="Comment text")
    await expect(box).to_be_focused()
    await kim.keyboard.type("First line")
    await kim.keyboard.press("Shift+Enter")
    await kim.keyboard.type("second line")
    await screenshot(kim, "comments-composer")
    await kim.keyboard.press("Enter")
    thread = kim.locator(THREAD)
    await expect(thread.locator(".tandem-note-body")).to_have_text("First line\nsecond line")
    await expect(highlight(kim, "only")).to_have_text("Keys only")
    # The new thread has the focus: Tab reaches Resolve, Enter resolves.
    await kim.keyboard.press("Tab")
    resolve = thread.get_by_role("button", name="Resolve")
    await expect(resolve).to_be_focused()
    outline = await resolve.evaluate("el => getComputedStyle(el).boxShadow")
    assert outline != "none", outline  # a visible focus ring
    await kim.keyboard.press("Enter")
    await eventually(lambda: highlighted(kim, "Keys"), lambda on: not on, what="resolved")
    # Escape in the composer cancels it and gives the document back its focus.
    await kim.click(DOC)
    await kim.keyboard.press("Shift+Home")
    await kim.wait_for_function("() => !tandem.editor.view.state.selection.empty")
    await kim.keyboard.press("Control+Alt+m")
    await expect(box).to_be_focused()
    await kim.keyboard.press("Escape")
    await expect(box).to_be_hidden()
    await expect(kim.locator(DOC)).to_be_focused()


async def test_clicking_a_highlight_opens_its_thread(server: TandemProcess, pages: Pages) -> None:
    doc = "team-clicks"
    who = token("lee", "Lee Ortega")
    lee = await pages.new("lee", viewport={"width": 1280, "height": 800})
    await open_doc(lee, server, doc, who)
    await write(lee, "First point.")
    await lee.keyboard.press("Enter")
    await lee.keyboard.type("Second point.")
    await comment_on(lee, "First", "About the first.")
    await comment_on(lee, "Second", "About the second.")
    first = lee.locator(THREAD, has_text="About the first.")
    second = lee.locator(THREAD, has_text="About the second.")
    # Aligned with their anchors, in document order, without overlapping.
    one, two = await first.bounding_box(), await second.bounding_box()
    assert one is not None and two is not None
    assert one["y"] + one["height"] <= two["y"], (one, two)
    anchor = await highlight(lee, "First").bounding_box()
    assert anchor is not None and abs(one["y"] - anchor["y"]) < 40, (one, anchor)  # beside it
    await lee.click(DOC)
    await highlight(lee, "First").click()
    await expect(first).to_have_class(ACTIVE)
    await expect(first).to_be_focused()
    await highlight(lee, "Second").click()
    await expect(second).to_have_class(ACTIVE)
    await expect(first).not_to_have_class(ACTIVE)
    emphasised = await highlight(lee, "Second").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    plain = await highlight(lee, "First").evaluate("el => getComputedStyle(el).backgroundColor")
    assert emphasised != plain, (emphasised, plain)
    await screenshot(lee, "comments-wide")


async def test_narrow_and_dark(server: TandemProcess, pages: Pages) -> None:
    doc = "team-narrow"
    who = token("max", "Max Hale")
    wide = await pages.new("wide", color_scheme="dark", viewport={"width": 1280, "height": 760})
    await open_doc(wide, server, doc, who)
    await write(wide, "A dark page with a comment on it.")
    await comment_on(wide, "comment", "Looks fine in the dark.")
    await screenshot(wide, "comments-dark")
    phone = await pages.new(
        "phone", color_scheme="dark", viewport={"width": 390, "height": 760}, is_mobile=True
    )
    await open_doc(phone, server, doc, who)
    thread = phone.locator(THREAD)
    await expect(thread).to_be_visible()
    doc_box = await phone.locator(DOC).bounding_box()
    box = await thread.bounding_box()
    assert doc_box is not None and box is not None
    assert box["y"] >= doc_box["y"] + doc_box["height"], (doc_box, box)  # below the text
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
    await thread.scroll_into_view_if_needed()
    await screenshot(phone, "comments-narrow-dark")
    # A new comment is written in a sheet at the bottom of the screen, in view with its text.
    await phone.evaluate("window.scrollTo(0, 0)")
    await select_text(phone, "dark page")
    await phone.locator(COMMENT).click()
    composer = phone.locator(f"{PANEL} .tandem-composer")
    await expect(composer.get_by_role("textbox", name="Comment text")).to_be_focused()
    sheet = await composer.bounding_box()
    text = await phone.locator(DOC).bounding_box()
    assert sheet is not None and text is not None
    assert sheet["y"] + sheet["height"] <= 760 and sheet["y"] > text["y"], (sheet, text)
    await screenshot(phone, "comments-narrow-composer")
    await phone.keyboard.press("Escape")
    await expect(composer).to_be_hidden()


async def test_the_embed_page_and_its_widget_show_the_panel(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-embedded"
    wu = token("wu", "Wu Writer")
    await api(
        server,
        wu,
        "PUT",
        f"/api/docs/{doc}",
        content=b"Embedded text to talk about.",
        headers={"Content-Type": "text/plain"},
    )
    frame = await pages.new("embed", viewport={"width": 900, "height": 600})
    await frame.goto(f"{server.url}/embed/{doc}?token={wu}")
    widget = "tandem-editor"
    await frame.wait_for_selector(f"{widget} .tandem-status[data-state=connected]")
    panel = frame.locator(f"{widget} {PANEL}")
    await expect(panel).to_have_attribute("data-state", "ready")
    await select_text(frame, "talk about", root=DOC)
    await frame.locator(f"{widget} {COMMENT}").click()
    box = frame.locator(f"{widget}").get_by_role("textbox", name="Comment text")
    await box.fill("From the embed.")
    await box.press("Enter")
    await expect(panel.locator(".tandem-thread[data-thread]")).to_contain_text("From the embed.")
    await screenshot(frame, "comments-embed")

    # A read-only embed: the thread, without a control.
    viewer = await pages.new("viewer")
    await viewer.goto(f"{server.url}/embed/{doc}?token={wu}&readonly=1")
    thread = viewer.locator(f"{widget} {PANEL} .tandem-thread[data-thread]")
    await expect(thread).to_contain_text("From the embed.")
    assert await thread.locator("button, textarea").count() == 0
    await expect(viewer.locator(f"{widget} {COMMENT}")).to_have_count(0)

    # Someone replies through the API: the embed's panel follows live (/events).
    await api(
        server,
        token("ben", "Ben Okafor"),
        "POST",
        f"/api/docs/{doc}/comments/{await thread.get_attribute('data-thread')}/replies",
        json={"body": "Seen it."},
    )
    await expect(panel).to_contain_text("Seen it.")
    await expect(thread).to_contain_text("Seen it.")


async def test_the_history_preview_highlights_commented_text(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-past"
    who = token("ana", "Ana Lima")
    ana = await pages.new("ana")
    await open_doc(ana, server, doc, who)
    await write(ana, "History keeps the highlight.")
    await comment_on(ana, "keeps", "Does it?")
    await ana.wait_for_selector(".tandem-status[data-unsynced=false]")
    await api(server, who, "POST", f"/api/docs/{doc}/versions", json={"label": "with comment"})
    await ana.goto(f"{server.url}/d/{doc}/history?token={who}")
    span = ana.locator("#history-content .tandem-comment")
    await expect(span).to_have_text("keeps")
    colour = await span.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
    await screenshot(ana, "comments-history")


async def test_editing_ones_comment_and_deleting_its_text(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-drafts"
    who = token("ana", "Ana Lima")
    ana = await pages.new("ana")
    await open_doc(ana, server, doc, who)
    await write(ana, "Keep this draft short.")
    thread = await comment_on(ana, "draft", "Too long.")
    await thread.get_by_role("button", name="Edit").click()
    box = thread.get_by_role("textbox", name="Edit comment")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("Too long.")
    await box.fill("Far too long.")
    await box.press("Enter")
    await expect(thread.locator(".tandem-note-body").first).to_have_text("Far too long.")
    await expect(thread).to_contain_text("(edited)")
    await expect(thread.get_by_role("button", name="Edit")).to_be_focused()

    ben = await pages.new("ben")
    await open_doc(ben, server, doc, token("ben", "Ben Okafor"))
    theirs = ben.locator(THREAD)
    await expect(theirs.locator(".tandem-note-body").first).to_have_text("Far too long.")
    # The caret in the highlighted word makes its thread the active one.
    await select_text(ben, "draft")
    await ben.keyboard.press("ArrowLeft")
    await expect(theirs).to_have_class(ACTIVE)
    # Ben replies, then edits his reply (and only his).
    reply = theirs.get_by_role("textbox", name="Reply")
    await reply.fill("Agreed.")
    await reply.press("Enter")
    await expect(theirs.locator(".tandem-thread-replies")).to_contain_text("Agreed.")
    await theirs.get_by_role("button", name="Edit reply").click()
    edit = theirs.get_by_role("textbox", name="Edit reply")
    await expect(edit).to_be_focused()
    await edit.fill("Agreed: far too long.")
    await edit.press("Enter")
    await expect(theirs.locator(".tandem-thread-replies")).to_contain_text("Agreed: far too long.")
    await expect(theirs.get_by_role("button", name="Edit reply")).to_be_focused()
    replies = thread.locator(".tandem-thread-replies")
    await expect(replies).to_contain_text("Agreed: far too long.")
    await expect(replies).to_contain_text("(edited)")
    await expect(thread.get_by_role("button", name="Edit reply")).to_have_count(0)

    # Ana deletes the commented word: the thread stays, "on deleted text", with what it was about.
    await select_text(ana, "draft")
    await ana.keyboard.press("Backspace")
    await expect(ana.locator(DOC)).not_to_contain_text("draft")
    for page in (ana, ben):
        card = page.locator(THREAD)
        await expect(card).to_have_class(re.compile(r"\bis-detached\b"))
        await expect(card).to_contain_text("On deleted text")
        await expect(card.locator(".tandem-thread-quote")).to_have_text("draft")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def open_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("comments-open") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}")
    await process.start()
    yield process
    await process.stop()


async def test_on_an_open_hub_comments_carry_the_announced_names(
    open_server: TandemProcess, pages: Pages
) -> None:
    url = f"{open_server.url}/d/open-talk"
    ana = await pages.new("ana")
    await open_editor(ana, url, "Ana")
    await ana.wait_for_selector(f"{PANEL}[data-state=ready]")
    await write(ana, "Open hubs have names too.")
    thread = await comment_on(ana, "names", "From Ana.")
    await expect(thread.locator(".tandem-note-name")).to_have_text("Ana")
    ben = await pages.new("ben")
    await open_editor(ben, url, "Ben")
    theirs = ben.locator(THREAD)
    await expect(theirs.locator(".tandem-note-name")).to_have_text("Ana")
    await theirs.locator(".tandem-note-body").click()
    reply = theirs.get_by_role("textbox", name="Reply")
    await reply.fill("From Ben.")
    await reply.press("Enter")
    await expect(thread.locator(".tandem-thread-replies .tandem-note-name")).to_have_text("Ben")
    # Everyone is the same anonymous writer there: anyone may delete.
    await expect(theirs.get_by_role("button", name="Delete")).to_be_visible()
    # Each page tells the other's comments by name, never its own.
    await eventually(
        lambda: ana.locator(TOASTS).all_inner_texts(),
        lambda t: "Ben replied to a comment" in t,
        what="Ana's toast",
    )
    await theirs.get_by_role("button", name="Resolve").click()
    await eventually(
        lambda: ana.locator(TOASTS).all_inner_texts(),
        lambda t: "Ben resolved a comment" in t,
        what="Ana's second toast",
    )
    assert not any("Ben" in t for t in await ben.locator(TOASTS).all_inner_texts())
