"""The editor and the server's comment marks: a document with overlapping comment threads opens
in the browser with its text and anchors intact (y-prosemirror deletes text whose marks the
schema does not know), typing next to an anchor does not extend it, and the anchors stay."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crdt.comments import mark_key
from tests.browser.helpers import DOC, open_editor
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _threads(http: httpx.AsyncClient, doc: str) -> dict[str, str]:
    listed: list[dict[str, Any]] = (await http.get(f"/api/docs/{doc}/comments")).json()
    return {t["body"]: t["quote"] for t in listed}


async def test_an_editor_keeps_comment_anchors_and_their_text(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "commented"
    async with httpx.AsyncClient(base_url=server.url) as http:
        put = await http.put(
            f"/api/docs/{doc}",
            content="The quick brown fox jumps.\n\nSecond paragraph.",
            headers={"Content-Type": "text/plain"},
        )
        assert put.status_code == 200
        for body, quote in (("one", "quick brown"), ("two", "brown fox")):
            made = await http.post(
                f"/api/docs/{doc}/comments", json={"body": body, "anchor": {"quote": quote}}
            )
            assert made.status_code == 201, made.text
        ids = [t["id"] for t in (await http.get(f"/api/docs/{doc}/comments")).json()]

        page = await pages.new("ana")
        await open_editor(page, f"{server.url}/d/{doc}", "Ana")
        editor = page.locator(DOC)
        await eventually(editor.inner_text, lambda t: "Second paragraph." in t, what="synced")
        # The anchors are in the editor's document, one mark per thread
        marks = await page.evaluate(
            """() => {
                const found = []
                tandem.editor.view.state.doc.descendants((node) => {
                    for (const mark of node.marks) {
                        if (mark.type.name === 'comment') found.push([node.text, mark.attrs.id])
                    }
                })
                return found
            }"""
        )
        assert sorted(marks) == sorted(
            [["quick ", ids[0]], ["brown", ids[0]], ["brown", ids[1]], [" fox", ids[1]]]
        )
        # Typing right after an anchor does not extend it (inclusive: false)
        await page.evaluate(
            """() => {
                const view = tandem.editor.view
                let end = null
                view.state.doc.descendants((node, pos) => {
                    const fox = node.isText && node.text.endsWith('fox')
                    if (end === null && fox) end = pos + node.nodeSize
                })
                view.dispatch(view.state.tr.insertText(' red', end))
            }"""
        )
        await eventually(
            lambda: http.get(f"/api/docs/{doc}", params={"format": "text"}),
            lambda r: r.text.startswith("The quick brown fox red jumps."),
            what="the typing reaches the server",
        )
        assert await _threads(http, doc) == {"one": "quick brown", "two": "brown fox"}
        html = (await http.get(f"/api/docs/{doc}", params={"format": "html"})).text
        assert html.count("tandem-comment") == 4 and mark_key(ids[0]) not in html
        await screenshot(page, "comment-marks-editor")
