"""The pages under a strict Content-Security-Policy: no inline script, no style attribute.

The policy is added to the page responses by Playwright. A document it fulfils counts as coming
from the public internet for Chromium's local-network checks, which would then refuse the socket
to 127.0.0.1; this module's browser turns those checks off (they are not what is tested here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Route, async_playwright

from tests.browser.helpers import DOC, doc_html, open_editor
from tests.support.browser import Pages, launch_chromium
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright, "--disable-features=LocalNetworkAccessChecks")
        yield chromium
        await chromium.close()


async def with_csp(route: Route) -> None:
    response = await route.fetch()
    await route.fulfill(
        response=response, headers={**response.headers, "content-security-policy": POLICY}
    )


async def test_editor_and_home_log_no_violation(server: TandemProcess, pages: Pages) -> None:
    ada = await pages.new("ada")
    bob = await pages.new("bob")
    for page in (ada, bob):
        await page.route("**/d/csp", with_csp)
        await page.route(f"{server.url}/", with_csp)
    await open_editor(ada, f"{server.url}/d/csp", "Ada")
    await open_editor(bob, f"{server.url}/d/csp", "Bob")
    await ada.click(DOC)
    await ada.keyboard.type("Strict ")
    await ada.click("[data-tool=bold]")
    await ada.keyboard.type("policy")
    # Bob's cursor and selection reach Ada as decorations coloured through the CSSOM.
    await bob.click(DOC)
    await bob.keyboard.press("Control+a")
    await ada.locator(".tandem-cursor-label", has_text="Bob").wait_for()
    await ada.locator(".tandem-selection").first.wait_for()
    await eventually(lambda: doc_html(bob), lambda h: "<strong>policy</strong>" in h)
    await ada.goto(f"{server.url}/")
    await ada.locator(".doc-item[data-doc=csp]").wait_for()
    # (The `pages` fixture fails the test on any console error, CSP violations included.)
