"""The history page in real headless Chromium against a real hub with stock Yjs clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.services import require_executable
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = require_executable("chromium", "/usr/bin/chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        await launched.close()


async def _converged(clients: list[YjsClient], expected: str | None = None) -> str:
    async def probe() -> list[str]:
        return [await c.xml() for c in clients]

    states = await eventually(
        probe,
        lambda xs: len(set(xs)) == 1 and (expected is None or xs[0] == expected),
        what="editors converge",
    )
    return states[0]


async def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(url)
    return page, problems


async def test_review_compare_and_restore_from_the_history_page(
    tandem, yjs_clients, browser: Browser
) -> None:
    ana = await yjs_clients(tandem.ws_url, "tale")
    ben = await yjs_clients(tandem.ws_url, "tale")
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        await ana.call("append", text="The original opening")
        await _converged([ana, ben])
        await ben.call("append", text="<b>not bold</b> & kept as text")
        original = await _converged([ana, ben])
        await http.post("/api/docs/tale/versions", json={"label": "first draft"})
        await ben.call("deleteAt", index=0)
        await ana.call("append", text="A rewrite nobody liked")
        await _converged([ana, ben])
        await http.post("/api/docs/tale/versions", json={})

        page, problems = await _open(browser, f"{tandem.url}/d/tale/history")
        picks = page.locator("#history-versions button")
        await picks.first.wait_for()
        assert await picks.count() == 2
        newest = await picks.nth(0).inner_text()
        assert "Version 2" in newest and "Anonymous" in newest
        assert "first draft" in await picks.nth(1).inner_text()

        await picks.nth(1).click()  # version 1: the preview shows it, markup as text
        content = page.locator("#history-content")
        await expect(content).to_contain_text("original opening")
        assert "<b>not bold</b> & kept as text" in await content.inner_text()
        assert await content.locator("b").count() == 0

        await page.select_option("#history-compare", "current")
        await content.locator("ins").first.wait_for()
        assert "A rewrite nobody liked" in await content.locator("ins").all_inner_texts()
        assert "The original opening" in await content.locator("del").all_inner_texts()

        # The page asks first, in a dialog of its own: Cancel changes nothing.
        await page.click("#history-restore")
        question = page.locator("dialog[open].restore-dialog")
        await expect(question).to_contain_text("Restore version 1?")
        await question.locator("button", has_text="Cancel").click()
        await expect(question).to_have_count(0)
        assert len((await http.get("/api/docs/tale/versions")).json()) == 2  # nothing happened

        await page.click("#history-restore")
        await question.locator("button", has_text="Restore version 1").click()
        await expect(page.locator("#history-status")).to_contain_text("Restored version 1")
        await _converged([ana, ben], expected=original)
        versions: list[dict[str, Any]] = (await http.get("/api/docs/tale/versions")).json()
        assert versions[-1]["restored_from"] == 1
        assert await picks.count() == 3
        assert "Restored from version 1" in await picks.nth(0).inner_text()
        assert problems == []  # no script errors, no CSP violations
        await page.close()


async def test_page_loads_only_same_origin_assets_under_a_strict_csp(tandem) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        page = await http.get("/d/tale/history")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "<script>" not in page.text and "style=" not in page.text
        assert (await http.get("/d/bad%20id/history")).status_code == 400
        for name in ("history.js", "history.css"):
            served = await http.get(f"/static/{name}")
            assert served.status_code == 200
