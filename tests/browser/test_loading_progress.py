"""A large document in the editor: it streams in, and the page says how far it has got."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.browser.helpers import DOC, open_editor
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.yjs import YjsClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Every text the status line shows, recorded from before the page's own scripts run.
RECORD_STATUS = """
window.__statusTexts = []
new MutationObserver(() => {
  const text = document.querySelector('.tandem-status-text')?.textContent
  if (text && window.__statusTexts.at(-1) !== text) window.__statusTexts.push(text)
}).observe(document, { subtree: true, childList: true, characterData: true })
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[TandemProcess]:
    """Pieces of 64 KiB, so that a 4 MB document streams as some sixty messages."""
    process = TandemProcess(
        "--port", "0", "--store", "memory://", env={"TANDEM_SYNC_CHUNK_BYTES": "65536"}
    )
    await process.start()
    yield process
    await process.stop()


async def test_a_large_document_shows_its_loading_progress(
    server: TandemProcess, pages: Pages
) -> None:
    builder = await YjsClient.connected(server.ws_url, "handbook")
    try:
        built = await builder.call("build", megabytes=4, batchBytes=200000, timeout=120)
        page = await pages.new("reader")
        await page.add_init_script(RECORD_STATUS)
        await open_editor(page, f"{server.url}/d/handbook", "Reader")
        texts = await page.evaluate("window.__statusTexts")
        progress = [t for t in texts if re.fullmatch(r"Loading… [\d.]+ of [\d.]+ MB", t)]
        assert progress, texts
        assert texts[-1] == "Saved"
        paragraphs = await page.locator(f"{DOC} > p").count()
        assert paragraphs == built["paragraphs"]
        await screenshot(page, "large-document-loaded")
    finally:
        await builder.close()
