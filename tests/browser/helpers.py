"""What the browser tests keep doing: open the editor, read a page's or the server's copy."""

from __future__ import annotations

import html
from typing import Any

import httpx
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.support.tandem import TandemProcess

DOC = ".tandem-doc"
# Where tests mount the service under a base path (conftest.py, `under_base`).
BASE = "/tandem"


async def open_editor(page: Page, url: str, name: str) -> None:
    """Open a document as a first-time visitor: answer the name question, wait until synced."""
    await page.goto(url)
    await page.fill("dialog input[name=name]", name)
    await page.click("dialog button[type=submit]")
    await page.wait_for_selector(".tandem-status[data-state=connected]")


async def press_and_settle(page: Page, key: str) -> None:
    """Press Control+Home or Control+End and make sure the editor's caret got there.

    The editor learns of a caret the browser moved from a selectionchange event a moment later;
    a remote change arriving in between puts the caret back where the editor last knew it. So
    press again until the editor's own selection is at the start (or end) of the document.
    """
    edge = {"Control+Home": "atStart", "Control+End": "atEnd"}[key]
    settled = f"""() => {{
        const state = tandem.editor.view.state
        return state.selection.head === state.selection.constructor.{edge}(state.doc).head
    }}"""
    for _ in range(5):
        await page.keyboard.press(key)
        try:
            await page.wait_for_function(settled, timeout=1000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"{key} did not move the editor's caret")


async def doc_html(page: Page) -> str:
    """The document as HTML, without decorations (other people's cursors differ per page)."""
    return str(
        await page.eval_on_selector(
            DOC,
            """doc => {
                const copy = doc.cloneNode(true)
                const decorations = '.ProseMirror-yjs-cursor, .ProseMirror-separator, '
                    + '.ProseMirror-trailingBreak'
                copy.querySelectorAll(decorations).forEach(c => c.remove())
                return copy.innerHTML
            }""",
        )
    )


async def server_json(server: TandemProcess, doc: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(f"/api/docs/{doc}", params={"format": "json"})
        return dict(response.json()) if response.status_code == 200 else {}


async def server_text(server: TandemProcess, doc: str) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(f"/api/docs/{doc}", params={"format": "text"})
        return response.text if response.status_code == 200 else ""


def host_page(tandem: str, body: str) -> str:
    """An ordinary page, as someone embedding Tandem would write it (README's snippets)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Our intranet</title>
<link rel="icon" href="data:,">
<script src="{html.escape(tandem)}/static/tandem.js"></script>
<link rel="stylesheet" href="host.css">
</head><body><h1>Team wiki</h1>{body}</body></html>"""
