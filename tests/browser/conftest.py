"""Browser tests: one Chromium and one `tandem serve` per module, fresh contexts per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from tests.support.browser import Pages, launch_chromium
from tests.support.tandem import TandemProcess


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db: Path = tmp_path_factory.mktemp("browser") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}")
    await process.start()
    yield process
    await process.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def pages(browser: Browser) -> AsyncIterator[Pages]:
    """Pages for one test; the test fails if any of them logged a console error."""
    opened = Pages(browser)
    yield opened
    await opened.close()
    assert not opened.errors, "\n".join(opened.errors)
