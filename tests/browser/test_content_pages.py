"""The pages' side of the content API in real Chromium: the editor's Download menu saves the
document as Markdown, HTML or text named after it; the home page imports a Markdown file into
a new document and opens it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.browser.helpers import DOC, doc_html, open_editor
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_download_saves_markdown_html_and_text(server: TandemProcess, pages: Pages) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        put = await http.put(
            "/api/docs/downloads",
            content="# Notes\n\nSome **bold** text.\n",
            headers={"Content-Type": "text/markdown"},
        )
        assert put.status_code == 200
    page = await pages.new("downloader", accept_downloads=True)
    await open_editor(page, f"{server.url}/d/downloads", "Dee")
    await eventually(lambda: doc_html(page), lambda h: "bold" in h, what="the content")
    saved = {}
    for label, name in [("Markdown", "downloads.md"), ("HTML", "downloads.html")]:
        await page.click("#download summary")
        async with page.expect_download() as info:
            await page.click(f"#download a:has-text('{label}')")
        download = await info.value
        assert download.suggested_filename == name
        saved[name] = Path(await download.path()).read_text()
    await page.click("#download summary")
    async with page.expect_download() as info:
        await page.click("#download a:has-text('Text')")
    text = await info.value
    assert text.suggested_filename == "downloads.txt"
    assert Path(await text.path()).read_text() == "Notes\nSome bold text."
    assert saved["downloads.md"] == "# Notes\n\nSome **bold** text.\n"
    assert "<strong>bold</strong>" in saved["downloads.html"]
    await screenshot(page, "content-download")
    assert not pages.errors, pages.errors


async def test_home_imports_a_markdown_file_into_a_new_document(
    server: TandemProcess, pages: Pages, tmp_path: Path
) -> None:
    source = tmp_path / "Meeting notes.md"
    source.write_text("# Meeting\n\n- decide\n- ship\n")
    page = await pages.new("importer")
    await page.goto(server.url + "/")
    await page.set_input_files("#import-file", str(source))
    await page.wait_for_url("**/d/meeting-notes")
    await page.fill("dialog input[name=name]", "Ivy")
    await page.click("dialog button[type=submit]")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    html = await eventually(lambda: doc_html(page), lambda h: "ship" in h, what="imported")
    assert "<h1>Meeting</h1>" in html and "<li>" in html
    # Importing the same file again never replaces it: a new document gets the next name.
    await page.goto(server.url + "/")
    await page.set_input_files("#import-file", str(source))
    await page.wait_for_url("**/d/meeting-notes-2")
    async with httpx.AsyncClient(base_url=server.url) as http:
        first = await http.get("/api/docs/meeting-notes", params={"format": "markdown"})
        second = await http.get("/api/docs/meeting-notes-2", params={"format": "markdown"})
    assert first.text == second.text == "# Meeting\n\n- decide\n- ship\n"
    await page.wait_for_selector(DOC)
    assert not pages.errors, pages.errors


CORPUS = """# Everything the body holds

A paragraph with **bold**, *italic*, ~~strike~~, `code` and a [link](https://example.org).

## Lists

- one
  - nested *deep*
    1. ordered
    2. inside
- two

3. starts at three
4. four

> a quote
>
> - with a list

```python
def f():
    return 1
```

---

Line one\\
line two after a hard break.
"""


async def test_the_editor_keeps_everything_the_api_wrote(
    server: TandemProcess, pages: Pages
) -> None:
    """y-prosemirror deletes an element its schema refuses: the editor opening a document
    written through the API must leave it exactly as it was."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        put = await http.put(
            "/api/docs/api-written", content=CORPUS, headers={"Content-Type": "text/markdown"}
        )
        assert put.status_code == 200
        page = await pages.new("reader")
        await open_editor(page, f"{server.url}/d/api-written", "Rae")
        html = await eventually(lambda: doc_html(page), lambda h: "hard break" in h, what="all")
        assert '<pre data-language="python"><code>def f():' in html
        assert "<hr" in html and '<ol start="3">' in html
        # Typing in the editor then goes back out as Markdown, everything else untouched.
        await page.click(f"{DOC} h1")
        await page.keyboard.press("End")
        await page.keyboard.type("!")
        expected = CORPUS.replace("body holds", "body holds!")
        got = await eventually(
            lambda: http.get("/api/docs/api-written", params={"format": "markdown"}),
            lambda r: r.text == expected,
            what="the editor's edit, and nothing else, in the Markdown",
        )
        assert got.text == expected
    assert not pages.errors, pages.errors


async def test_typing_in_a_code_block_keeps_its_language(
    server: TandemProcess, pages: Pages
) -> None:
    fence = "Before.\n\n```python\nx = 1\n```\n"
    async with httpx.AsyncClient(base_url=server.url) as http:
        put = await http.put(
            "/api/docs/fenced", content=fence, headers={"Content-Type": "text/markdown"}
        )
        assert put.status_code == 200
        page = await pages.new("coder")
        await open_editor(page, f"{server.url}/d/fenced", "Cody")
        await eventually(lambda: doc_html(page), lambda h: "x = 1" in h, what="the code")
        await page.click(f"{DOC} pre code")
        await page.keyboard.press("End")
        await page.keyboard.type(" + 1")
        expected = fence.replace("x = 1", "x = 1 + 1")
        got = await eventually(
            lambda: http.get("/api/docs/fenced", params={"format": "markdown"}),
            lambda r: r.text == expected,
            what="the edit, with the fence's language kept",
        )
        assert got.text == expected
    assert not pages.errors, pages.errors
