"""The widget on a page of another origin: <tandem-editor> from /static/tandem.js, the read-only
widget, and /embed/{doc} in an <iframe>."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from server.core.names import color_for
from tests.browser.helpers import (
    DOC,
    host_page,
    open_editor,
    press_and_settle,
    server_json,
    server_text,
)
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

WIDGET = "tandem-editor"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(
    host_site: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TandemProcess]:
    """This module's hub lets the host site's pages connect (an open hub refuses WebSocket
    handshakes from other origins unless --allow-origin names them)."""
    db = tmp_path_factory.mktemp("widget") / "tandem.db"
    url, _ = host_site
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--allow-origin", url)
    await process.start()
    yield process
    await process.stop()


def widget_doc(nth: int = 0) -> str:
    return f"{WIDGET} >> nth={nth} >> {DOC}"


async def test_widget_on_another_origin_edits_the_document(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    (root / "widget.html").write_text(
        host_page(server.url, f'<tandem-editor server="{server.url}" doc="wiki"></tandem-editor>')
    )
    visitor = await pages.new("visitor")
    await visitor.goto(f"{url}/widget.html")
    await visitor.wait_for_selector(f"{WIDGET} .tandem-status[data-state=connected]")
    await visitor.click(widget_doc())
    await visitor.keyboard.type("From the wiki, ")
    await visitor.keyboard.press("Control+i")
    await visitor.keyboard.type("embedded")
    await eventually(
        lambda: server_json(server, "wiki"), lambda j: "embedded" in str(j), what="server"
    )
    assert "em" in str(await server_json(server, "wiki"))

    # Someone on the full editor page sees it and answers; the widget shows the answer.
    editor = await pages.new("editor")
    await open_editor(editor, f"{server.url}/d/wiki", "Eve")
    await eventually(lambda: editor.inner_text(DOC), lambda t: "From the wiki, embedded" in t)
    await editor.click(DOC)
    await press_and_settle(editor, "Control+End")
    await editor.keyboard.type(" and answered")
    await eventually(lambda: visitor.inner_text(widget_doc()), lambda t: "and answered" in t)
    # Presence works across origins too: the widget lists Eve.
    await visitor.locator(f"{WIDGET} .tandem-avatar[data-name=Eve]").wait_for()
    await screenshot(visitor, "widget-host-page")


async def test_readonly_widget_cannot_change_the_document(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    writer = await pages.new("writer")
    await open_editor(writer, f"{server.url}/d/handbook", "Writer")
    await writer.click(DOC)
    await writer.keyboard.type("The handbook.")
    await eventually(lambda: server_text(server, "handbook"), lambda t: t == "The handbook.")

    (root / "readonly.html").write_text(
        host_page(
            server.url,
            f'<tandem-editor server="{server.url}" doc="handbook" readonly></tandem-editor>',
        )
    )
    reader = await pages.new("reader")
    await reader.goto(f"{url}/readonly.html")
    await reader.wait_for_selector(f"{WIDGET} .tandem-status[data-state=connected]")
    doc = reader.locator(widget_doc())
    await eventually(doc.inner_text, lambda t: "The handbook." in t, what="content shown")
    assert await doc.get_attribute("contenteditable") == "false"
    assert await reader.locator(f"{WIDGET} .tandem-toolbar").count() == 0

    # Every way in is closed: clicking and typing, select-all and delete, pasting.
    await doc.click()
    await reader.keyboard.type("VANDAL")
    await reader.keyboard.press("Control+a")
    await reader.keyboard.press("Delete")
    await doc.dispatch_event("paste")

    # The writer's next change is relayed after anything the reader might have sent: once the
    # server has it (and the reader shows it), the reader's keystrokes would be there too.
    await writer.keyboard.type(" Updated.")
    text = await eventually(
        lambda: server_text(server, "handbook"), lambda t: "Updated." in t, what="writer"
    )
    await eventually(doc.inner_text, lambda t: "Updated." in t, what="reader sees updates")
    assert text == "The handbook. Updated."
    assert "VANDAL" not in await doc.inner_text()
    await screenshot(reader, "widget-readonly")


async def test_embed_page_works_in_an_iframe(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    (root / "iframe.html").write_text(
        host_page(server.url, f'<iframe src="{server.url}/embed/minutes" title="Minutes"></iframe>')
    )
    visitor = await pages.new("visitor")
    await visitor.goto(f"{url}/iframe.html")
    frame = visitor.frame_locator("iframe")
    await frame.locator(f"{WIDGET} .tandem-status[data-state=connected]").wait_for()
    await frame.locator(f"{WIDGET} {DOC}").click()
    await visitor.keyboard.type("Typed inside the frame.")
    await frame.locator(f"{WIDGET} [data-tool=bold]").click()
    await visitor.keyboard.type(" Bold.")
    body = await eventually(
        lambda: server_json(server, "minutes"), lambda j: "Bold." in str(j), what="server"
    )
    assert "strong" in str(body)
    await screenshot(visitor, "embed-iframe")


async def test_invalid_widget_doc_explains_itself(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    (root / "bad.html").write_text(
        host_page(server.url, f'<tandem-editor server="{server.url}" doc="../x"></tandem-editor>')
    )
    page = await pages.new("page")
    await page.goto(f"{url}/bad.html")
    message = page.locator(f"{WIDGET} .tandem-widget-error")
    await message.wait_for()
    assert "not a valid document id" in await message.inner_text()


async def test_widget_colours_a_named_user_as_the_server_does(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    """A foreign page carries none of Tandem's data- attributes: the widget's own copy of the
    rules (client_js/src/lib/rules.json) gives the colour the server's color_for gives."""
    url, root = site
    names = ["Ada Lovelace", "Grace", "Émilie du Châtelet"]
    widgets = "".join(
        f'<tandem-editor server="{server.url}" doc="colours-{i}" name="{name}"></tandem-editor>'
        for i, name in enumerate(names)
    )
    (root / "colours.html").write_text(host_page(server.url, widgets))
    page = await pages.new("colours")
    await page.goto(f"{url}/colours.html")
    await page.wait_for_function(
        f"[...document.querySelectorAll('{WIDGET}')].every(el => el.client?.user)"
    )
    colours = await page.eval_on_selector_all(WIDGET, "els => els.map(el => el.client.user.color)")
    assert colours == [color_for(name) for name in names]


async def test_tab_leaves_the_widget_for_the_host_pages_next_control(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    (root / "tab.html").write_text(
        host_page(
            server.url,
            f'<tandem-editor server="{server.url}" doc="tabbing"></tandem-editor>'
            '<button id="after" type="button">Next on the page</button>',
        )
    )
    visitor = await pages.new("visitor")
    await visitor.goto(f"{url}/tab.html")
    await visitor.wait_for_selector(f"{WIDGET} .tandem-status[data-state=connected]")
    await visitor.click(widget_doc())
    await visitor.keyboard.type("Typed")
    await visitor.keyboard.press("Tab")
    assert await visitor.evaluate("document.activeElement.id") == "after"
    await visitor.click(widget_doc())
    await visitor.keyboard.press("Shift+Tab")  # the widget's toolbar, before its document
    inner = "document.querySelector('tandem-editor').shadowRoot.activeElement?.className"
    assert await visitor.evaluate(inner) == "tandem-block-select"
    assert await visitor.inner_text(widget_doc()) == "Typed"


async def test_the_widget_keeps_a_copy_unless_told_nostore(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    widgets = f'<tandem-editor server="{server.url}" doc="kept-widget"></tandem-editor>'
    widgets += f'<tandem-editor server="{server.url}" doc="unkept-widget" nostore></tandem-editor>'
    (root / "keeping.html").write_text(host_page(server.url, widgets))
    visitor = await pages.new("visitor")
    await visitor.goto(f"{url}/keeping.html")
    for nth in (0, 1):
        await visitor.locator(".tandem-status[data-state=connected]").nth(nth).wait_for()
        await visitor.click(widget_doc(nth))
        await visitor.keyboard.type(f"Widget {nth}.")
    await eventually(lambda: server_text(server, "unkept-widget"), lambda t: "Widget 1." in t)

    async def names() -> list[str]:
        script = "async () => (await indexedDB.databases()).map(d => d.name)"
        return list(await visitor.evaluate(script))

    # On the host page's origin, named after the Tandem server and the document.
    await eventually(names, lambda now: f"tandem:{server.url}:kept-widget" in now, what="a copy")
    assert not any(name.endswith(":unkept-widget") for name in await names())


async def test_the_widget_on_another_origin_shows_and_takes_comments(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    async with httpx.AsyncClient(base_url=server.url) as http:
        put = await http.put(
            "/api/docs/wiki-comments",
            content="The plan is to ship on Friday.",
            headers={"Content-Type": "text/plain"},
        )
        assert put.status_code == 200
        posted = await http.post(
            "/api/docs/wiki-comments/comments",
            json={"body": "Which Friday?", "anchor": {"quote": "Friday"}},
        )
        assert posted.status_code == 201
    (root / "commented.html").write_text(
        host_page(
            server.url, f'<tandem-editor server="{server.url}" doc="wiki-comments"></tandem-editor>'
        )
    )
    visitor = await pages.new("visitor")
    await visitor.goto(f"{url}/commented.html")
    thread = visitor.locator(f"{WIDGET} [aria-label=Comments] .tandem-thread[data-thread]")
    await thread.wait_for()
    assert "Which Friday?" in await thread.inner_text()
    await visitor.locator(f"{WIDGET} .tandem-comment").wait_for()  # the highlight
    # The page of the other origin writes too: a reply through the API, with CORS.
    await thread.click()
    reply = visitor.locator(f"{WIDGET}").get_by_role("textbox", name="Reply")
    await reply.fill("The 12th.")
    await reply.press("Enter")
    async with httpx.AsyncClient(base_url=server.url) as http:
        await eventually(
            lambda: http.get("/api/docs/wiki-comments/comments"),
            lambda r: "The 12th." in r.text,
            what="the widget's reply on the server",
        )
    await screenshot(visitor, "widget-comments-cross-origin")
    assert not pages.errors, pages.errors
