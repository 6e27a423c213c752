"""Notifications in the browser: toasts and the activity panel on the editor page, and the home
page's list following /events live. Names come from tokens on one hub and from the name dialog
on an open one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page

from server.security.auth import mint_token
from tests.browser.helpers import DOC, open_editor
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "notification-tests-secret-of-at-least-32-bytes"
TOASTS = ".tandem-toast:not(.is-leaving) .tandem-toast-text"


def token(user: str, name: str) -> str:
    return mint_token(SECRET, user=user, name=name, docs=["team-*"], role="write")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("notify") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def open_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("notify-open") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}")
    await process.start()
    yield process
    await process.stop()


async def api(server: TandemProcess, who: str, method: str, path: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {who}"} if who else {}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        response = await http.request(method, path, **kw)
    assert response.is_success, response.text
    return response.json()


async def toasts(page: Page) -> list[str]:
    return await page.locator(TOASTS).all_inner_texts()


async def activity(page: Page) -> list[str]:
    return await page.locator("#activity-panel .activity-text").all_inner_texts()


async def watch_toasts(page: Page) -> None:
    """Record the most toasts ever shown at once (window.mostToasts)."""
    await page.evaluate(
        """() => {
            window.mostToasts = 0
            const count = () => document.querySelectorAll('.tandem-toast:not(.is-leaving)').length
            new MutationObserver(() => { mostToasts = Math.max(mostToasts, count()) })
                .observe(document.body, { childList: true, subtree: true, attributes: true })
        }"""
    )


async def subscribed(page: Page, user: str) -> None:
    """Wait until the page's /events stream has told it about `user` (its own presence at least),
    so what follows arrives as live news rather than as the initial presence."""
    await page.wait_for_function("(user) => tandem.feed.names.has(user)", arg=user)


async def test_editor_shows_joins_versions_restores_and_leaves(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-notes"
    ana_token, ben_token = token("ana", "Ana Lima"), token("ben", "Ben Okafor")
    ana = await pages.new("ana")
    await ana.goto(f"{server.url}/d/{doc}?token={ana_token}")
    await ana.wait_for_selector(".tandem-status[data-state=connected]")
    await subscribed(ana, "ana")
    await watch_toasts(ana)
    activity_button = ana.locator("#activity")
    assert await activity_button.is_visible()
    assert await activity_button.get_attribute("aria-expanded") == "false"

    # Ben joins: Ana hears about it, quietly.
    ben = await pages.new("ben")
    await ben.goto(f"{server.url}/d/{doc}?token={ben_token}")
    await ben.wait_for_selector(".tandem-status[data-state=connected]")
    await eventually(lambda: toasts(ana), lambda t: "Ben Okafor joined" in t, what="join toast")
    region = ana.locator(".tandem-toasts")
    assert await region.get_attribute("aria-live") == "polite"
    # Ben's own page says nothing about Ben, nor about Ana who was already there.
    await subscribed(ben, "ana")
    assert await toasts(ben) == []

    # Ben writes and records a version through the API: "Version 1 saved by Ben Okafor".
    await ben.click(DOC)
    await ben.keyboard.type("Agenda for Monday.")
    await ana.locator(DOC, has_text="Agenda for Monday.").wait_for()
    first = await api(server, ben_token, "POST", f"/api/docs/{doc}/versions", json={})
    assert first["version"] == 1
    await eventually(
        lambda: toasts(ana), lambda t: "Version 1 saved by Ben Okafor" in t, what="version toast"
    )
    await screenshot(ana, "notifications-toasts")

    # More of Ben's text, then Ben restores version 1: the edits before it become version 2 and
    # the restore is told once, by name (not as a third "version saved").
    await ben.keyboard.type(" Also lunch.")
    await ana.locator(DOC, has_text="Also lunch.").wait_for()
    await api(server, ben_token, "POST", f"/api/docs/{doc}/restore", json={"version": 1})
    await eventually(
        lambda: toasts(ana),
        lambda t: "Ben Okafor restored version 1" in t,
        what="restore toast",
    )
    await ana.locator(DOC, has_text="Also lunch.").wait_for(state="detached")

    # Ben leaves.
    await ben.context.close()
    await eventually(lambda: toasts(ana), lambda t: "Ben Okafor left" in t, what="leave toast")
    assert await ana.evaluate("mostToasts") <= 3

    # The Activity button says there is news; open it from the keyboard.
    label = await activity_button.get_attribute("aria-label")
    assert label is not None and label.startswith("Activity, "), label
    assert await ana.locator(".activity-badge").is_visible()
    await activity_button.focus()
    await ana.keyboard.press("Enter")
    panel = ana.locator("#activity-panel")
    await panel.wait_for(state="visible")
    assert await activity_button.get_attribute("aria-expanded") == "true"
    in_panel = "document.getElementById('activity-panel').contains(document.activeElement)"
    assert await ana.evaluate(in_panel)
    entries = await activity(ana)
    news = [e for e in entries if not e.startswith("Edited by")]
    assert news == [
        "Ben Okafor left",
        "Ben Okafor restored version 1",
        "Version 2 saved by Ben Okafor",
        "Version 1 saved by Ben Okafor",
        "Ben Okafor joined",
    ], entries
    assert {e for e in entries if e.startswith("Edited by")} == {"Edited by Ben Okafor"}
    assert not any("Ana" in e for e in entries)  # never your own join
    times = await panel.locator("time").all_inner_texts()
    assert times and all(t == "just now" for t in times), times
    assert not await ana.locator(".activity-badge").is_visible()
    await screenshot(ana, "notifications-activity")

    # Escape closes the panel and gives the focus back to its button.
    await ana.keyboard.press("Escape")
    await panel.wait_for(state="hidden")
    assert await ana.evaluate("document.activeElement?.id") == "activity"
    assert await activity_button.get_attribute("aria-expanded") == "false"
    # Toasts leave on their own after a few seconds.
    await eventually(lambda: toasts(ana), lambda t: t == [], timeout=12, what="toasts gone")


async def test_dark_and_narrow_screens(server: TandemProcess, pages: Pages) -> None:
    doc = "team-dark"
    kim = await pages.new(
        "kim", color_scheme="dark", viewport={"width": 390, "height": 760}, is_mobile=True
    )
    await kim.goto(f"{server.url}/d/{doc}?token={token('kim', 'Kim Park')}")
    await kim.wait_for_selector(".tandem-status[data-state=connected]")
    await subscribed(kim, "kim")
    lee = await pages.new("lee")
    await lee.goto(f"{server.url}/d/{doc}?token={token('lee', 'Lee Ortega')}")
    await eventually(lambda: toasts(kim), lambda t: "Lee Ortega joined" in t, what="join toast")
    await screenshot(kim, "notifications-narrow-dark-toast")
    await kim.click("#activity")
    panel = kim.locator("#activity-panel")
    await panel.wait_for(state="visible")
    box = await panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert await kim.evaluate("document.documentElement.scrollWidth") <= 390
    assert await activity(kim) == ["Lee Ortega joined"]
    await screenshot(kim, "notifications-narrow-dark-activity")
    # A tap outside closes it.
    await kim.mouse.click(200, 600)
    await panel.wait_for(state="hidden")


async def test_names_from_the_name_dialog_on_an_open_hub(
    open_server: TandemProcess, pages: Pages
) -> None:
    url = f"{open_server.url}/d/open-notes"
    ana = await pages.new("ana")
    await open_editor(ana, url, "Ana")
    await ana.wait_for_function("() => tandem.feed.selfIds.size > 0")  # her own join, recognised
    ben = await pages.new("ben")
    await open_editor(ben, url, "Ben")
    await eventually(lambda: toasts(ana), lambda t: "Ben joined" in t, what="join toast")
    await ben.click(DOC)
    await ben.keyboard.type("Open notes.")
    await ana.locator(DOC, has_text="Open notes.").wait_for()
    await api(open_server, "", "POST", "/api/docs/open-notes/versions", json={"label": "Draft"})
    # An open hub records edits under the name each connection announced.
    await eventually(
        lambda: toasts(ana),
        lambda t: "Version 1 saved by Ben" in t,
        what="version toast",
    )
    await ben.wait_for_function("() => tandem.feed.entries.some(e => e.kind === 'version')")
    # Neither page announces its own arrival; Ben's says nothing of Ana, who was there first.
    assert not [t for t in await toasts(ana) if "Ana" in t]
    assert [t for t in await toasts(ben) if "joined" in t] == []
    await ana.click("#activity")
    assert [e for e in await activity(ana) if not e.startswith("Edited")] == [
        "Version 1 saved by Ben",
        "Ben joined",
    ]
    assert await ana.locator("#activity-panel .activity-label").all_inner_texts() == ["“Draft”"]


async def test_home_follows_events_live(server: TandemProcess, pages: Pages) -> None:
    ana_token = token("ana", "Ana Lima")
    writer = await pages.new("writer")
    await writer.goto(f"{server.url}/d/team-quiet?token={ana_token}")
    await writer.wait_for_selector(".tandem-status[data-state=connected]")
    await writer.click(DOC)
    await writer.keyboard.type("Nothing happens here.")

    async def quiet_doc() -> list[dict[str, Any]]:
        docs = (await api(server, ana_token, "GET", "/api/docs"))["docs"]
        return [d for d in docs if d["id"] == "team-quiet"]

    await eventually(quiet_doc, lambda d: d and d[0]["size"] > 0, what="team-quiet stored")
    await writer.context.close()
    await eventually(quiet_doc, lambda d: d[0]["editors"] == 0, what="team-quiet left")
    home = await pages.new("home")
    # A fake clock: the 10 s poll cannot fire, so whatever changes came from /events.
    await home.clock.install()
    await home.goto(f"{server.url}/?token={ana_token}")
    quiet = home.locator(".doc-item[data-doc=team-quiet] .doc-link")
    await quiet.wait_for()
    await quiet.focus()

    async def row_text(doc: str) -> str:
        await home.clock.run_for(40)  # lets the page's 400 ms debounce run; 4 s at most
        item = home.locator(f".doc-item[data-doc={doc}]")
        return await item.inner_text() if await item.count() else ""

    ben = await pages.new("ben")
    await ben.goto(f"{server.url}/d/team-live-list?token={token('ben', 'Ben Okafor')}")
    await ben.wait_for_selector(".tandem-status[data-state=connected]")
    await eventually(
        lambda: row_text("team-live-list"),
        lambda t: "Ben Okafor is here" in t,
        timeout=4,
        what="a new document with Ben in it on the home page",
    )
    await ben.context.close()
    await eventually(
        lambda: row_text("team-live-list"),
        lambda t: t and "is here" not in t,
        timeout=4,
        what="Ben gone from the home page",
    )
    # The live updates left the keyboard focus where it was.
    focused = await home.evaluate("document.activeElement.closest('.doc-item')?.dataset.doc")
    assert focused == "team-quiet"
