"""Document titles in real Chromium on a hub with auth: renamed in the editor's header and seen
live by another person (and in the browser tab), the home page's filter, a create that says a
name is taken, an empty document listed once created, renaming from the list, and deleting it
(admins, asked in the page; a reader is offered neither)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from server.security.auth import mint_token
from tests.browser.helpers import open_editor
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "browser-titles-secret-of-at-least-32-bytes"
CONNECTED = ".tandem-status[data-state=connected]"


def token(user: str, name: str, role: str = "write") -> str:
    return mint_token(SECRET, user=user, name=name, docs=["*"], role=role, ttl=3600)


WRITER = token("wu", "Wu Writer")
READER = token("rae", "Rae Reader", "read")
ADMIN = token("ada", "Ada Admin", "admin")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db: Path = tmp_path_factory.mktemp("titles") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def open_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    """A hub without auth (loopback): everyone writes, nobody is an admin."""
    db: Path = tmp_path_factory.mktemp("titles-open") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}")
    await process.start()
    yield process
    await process.stop()


def fresh(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


async def api(server: TandemProcess, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        return await http.request(method, path, **kwargs)  # type: ignore[arg-type]


async def title_of(server: TandemProcess, doc: str) -> str | None:
    response = await api(server, "GET", f"/api/docs/{doc}")
    assert response.status_code == 200, response.text
    title: str | None = response.json()["title"]
    return title


async def home(pages: Pages, server: TandemProcess, who: str, tok: str, **options: object) -> Page:
    page = await pages.new(who, **options)
    await page.goto(f"{server.url}/?token={tok}")
    await page.wait_for_selector(".doc-item, .doc-list .empty:not(:text('Loading'))")
    return page


def row(page: Page, doc: str):
    return page.locator(f".doc-item[data-doc='{doc}']")


async def test_a_rename_in_the_editor_header_reaches_others_live_and_the_tab(
    server: TandemProcess, pages: Pages
) -> None:
    doc = fresh("plan")
    ana = await pages.new("ana")
    await ana.goto(f"{server.url}/d/{doc}?token={WRITER}")
    await ana.wait_for_selector(CONNECTED)
    ben = await pages.new("ben")
    await ben.goto(f"{server.url}/d/{doc}?token={READER}")
    await ben.wait_for_selector(CONNECTED)
    await expect(ana).to_have_title(f"{doc} — Tandem")  # no title yet: the id

    field = ana.locator("#doc-title input")
    await expect(field).to_have_attribute("placeholder", doc)
    await field.click()
    await field.fill("Plan for Q3")
    await field.press("Enter")
    await expect(ana).to_have_title("Plan for Q3 — Tandem")
    # The reader sees it as it happens: as text, with nothing to edit.
    await expect(ben.locator("#doc-title")).to_have_text("Plan for Q3")
    await expect(ben).to_have_title("Plan for Q3 — Tandem")
    assert await ben.locator("#doc-title input").count() == 0
    assert await title_of(server, doc) == "Plan for Q3"
    # The rename is in the reader's activity panel too.
    await ben.click("#activity")
    await expect(ben.locator(".activity-item[data-kind=titled]")).to_contain_text(
        "Wu Writer renamed the document “Plan for Q3”"
    )

    # Escape puts the title back (nothing is saved); leaving the field saves.
    await field.click()
    await field.fill("Not this")
    await field.press("Escape")
    await expect(field).to_have_value("Plan for Q3")
    await field.click()
    await field.fill("  Plan   for Q4 ")
    await ana.click(".sheet")  # blur
    await expect(field).to_have_value("Plan for Q4")
    await expect(ben).to_have_title("Plan for Q4 — Tandem")
    assert await title_of(server, doc) == "Plan for Q4"

    # A new page on the document starts with its title; so does its history page.
    cy = await pages.new("cy")
    await cy.goto(f"{server.url}/d/{doc}/history?token={READER}")
    await expect(cy).to_have_title("History of Plan for Q4 — Tandem")
    await expect(cy.locator("#history-doc")).to_have_text("Plan for Q4")
    await field.click()
    await field.fill("")  # an empty title clears it: the id again, everywhere
    await field.press("Enter")
    await expect(ben).to_have_title(f"{doc} — Tandem")
    await expect(cy).to_have_title(f"History of {doc} — Tandem")
    assert await title_of(server, doc) is None


async def test_the_home_filter_finds_documents_by_title_or_id(
    server: TandemProcess, pages: Pages
) -> None:
    tag = secrets.token_hex(3)
    named = {f"budget-{tag}": "Budget 2027", f"ops-{tag}": "Runbook", f"misc-{tag}": None}
    for doc, title in named.items():
        assert (await api(server, "PATCH", f"/api/docs/{doc}", json={"title": title})).is_success
    page = await home(pages, server, "reader", READER)
    await expect(row(page, f"budget-{tag}").locator(".doc-name")).to_have_text(
        f"Budget 2027budget-{tag}"  # the title, and the id in small print
    )
    await expect(row(page, f"misc-{tag}").locator(".doc-name")).to_have_text(f"misc-{tag}")
    filter_box = page.locator("#docs-filter")
    await filter_box.fill("runBOOK")  # by title, whatever the case
    await expect(page.locator(".doc-item")).to_have_count(1)
    await expect(row(page, f"ops-{tag}")).to_be_visible()
    await filter_box.fill(f"misc-{tag}")  # by id
    await expect(page.locator(".doc-item")).to_have_count(1)
    await expect(row(page, f"misc-{tag}")).to_be_visible()
    await filter_box.fill(f"nothing-like-{tag}")
    await expect(page.locator(".doc-item")).to_have_count(0)
    await expect(page.locator(".doc-list .empty")).to_have_text(
        f"No documents match “nothing-like-{tag}”."
    )
    await filter_box.press("Escape")  # clears the filter: everything again
    await expect(row(page, f"budget-{tag}")).to_be_visible()
    await expect(row(page, f"misc-{tag}")).to_be_visible()


async def test_creating_a_name_that_exists_says_so_before_opening_it(
    server: TandemProcess, pages: Pages
) -> None:
    doc = fresh("retro")
    assert (await api(server, "PATCH", f"/api/docs/{doc}", json={"title": "Team retro"})).is_success
    page = await home(pages, server, "wu", WRITER)
    await expect(row(page, doc)).to_be_visible()
    name = page.locator("#create input[name=name]")
    await name.fill(doc)  # the same id
    await expect(page.locator("#create-hint")).to_have_text(
        "“Team retro” already exists — open it?"
    )
    await name.fill("team RETRO")  # the same title, in another case
    await expect(page.locator("#create-hint")).to_have_text(
        "“Team retro” already exists — open it?"
    )
    await name.press("Enter")
    # Nothing opened: the page offers the existing document instead, and nothing was created.
    await expect(page.locator(".create-open")).to_be_focused()
    assert page.url.startswith(f"{server.url}/?")
    assert (await api(server, "GET", "/api/docs/team-retro")).status_code == 404
    await screenshot(page, "titles-home-exists")
    await page.click(".create-open")
    await page.wait_for_url(f"{server.url}/d/{doc}?token={WRITER}")
    await expect(page).to_have_title("Team retro — Tandem")


async def test_a_created_document_is_listed_while_still_empty(
    server: TandemProcess, pages: Pages
) -> None:
    tag = secrets.token_hex(3)
    page = await home(pages, server, "wu", WRITER)
    await page.fill("#create input[name=name]", f"Fresh idea {tag}")
    await page.click("#create button[type=submit]")
    doc = f"fresh-idea-{tag}"
    await page.wait_for_url(f"{server.url}/d/{doc}?token={WRITER}")
    await expect(page.locator("#doc-title input")).to_have_value(f"Fresh idea {tag}")
    await expect(page).to_have_title(f"Fresh idea {tag} — Tandem")
    # Someone else's home page lists it at once, nobody having typed a word in it.
    other = await home(pages, server, "rae", READER)
    entry = row(other, doc)
    await expect(entry.locator(".doc-name")).to_have_text(f"Fresh idea {tag}{doc}")
    await expect(entry.locator(".doc-meta")).to_contain_text("Empty")
    meta = (await api(server, "GET", f"/api/docs/{doc}")).json()
    assert meta["size"] == 0 and meta["title"] == f"Fresh idea {tag}"


async def test_renaming_from_the_list(server: TandemProcess, pages: Pages) -> None:
    doc = fresh("draft")
    assert (await api(server, "PATCH", f"/api/docs/{doc}", json={"title": "Draft"})).is_success
    page = await home(pages, server, "wu", WRITER)
    await row(page, doc).locator(".doc-rename").click()
    field = row(page, doc).locator(".doc-rename-input")
    await expect(field).to_be_focused()
    await field.fill("Never mind")
    await field.press("Escape")
    await expect(row(page, doc).locator(".doc-name")).to_have_text(f"Draft{doc}")
    await row(page, doc).locator(".doc-rename").click()
    await field.fill("Final draft")
    await field.press("Enter")
    await expect(row(page, doc).locator(".doc-name")).to_have_text(f"Final draft{doc}")
    assert await title_of(server, doc) == "Final draft"


async def test_an_admin_deletes_after_confirming_and_a_reader_is_not_offered_it(
    server: TandemProcess, pages: Pages
) -> None:
    doc = fresh("old")
    assert (await api(server, "PATCH", f"/api/docs/{doc}", json={"title": "Old notes"})).is_success
    reader = await home(pages, server, "rae", READER)
    await expect(row(reader, doc)).to_be_visible()
    assert await row(reader, doc).locator(".doc-delete, .doc-rename").count() == 0
    writer = await home(pages, server, "wu", WRITER)
    await expect(row(writer, doc).locator(".doc-rename")).to_be_visible()
    assert await row(writer, doc).locator(".doc-delete").count() == 0

    admin = await home(pages, server, "ada", ADMIN)
    await row(admin, doc).locator(".doc-delete").click()
    confirm = row(admin, doc).locator(".doc-confirm")
    await expect(confirm).to_contain_text("Delete “Old notes” for everyone?")
    await confirm.get_by_role("button", name="Cancel").click()  # asked, not done
    await expect(row(admin, doc).locator(".doc-delete")).to_be_focused()
    assert await title_of(server, doc) == "Old notes"
    await row(admin, doc).locator(".doc-delete").click()
    await screenshot(admin, "titles-home-delete")
    await row(admin, doc).locator(".doc-confirm").get_by_role("button", name="Delete").click()
    await expect(row(admin, doc)).to_have_count(0)
    assert (await api(server, "GET", f"/api/docs/{doc}")).status_code == 404
    # The others' lists drop it too (their pages hear of it, or poll).
    await reader.reload()
    await reader.wait_for_selector(".doc-item")
    await expect(row(reader, doc)).to_have_count(0)


async def test_screenshots_of_titles_wide_narrow_and_dark(
    server: TandemProcess, pages: Pages
) -> None:
    doc = fresh("shot")
    title = "Quarterly plan — goals, owners and dates"
    assert (await api(server, "PATCH", f"/api/docs/{doc}", json={"title": title})).is_success
    for label, options in {
        "wide": {"viewport": {"width": 1280, "height": 800}},
        "narrow": {"viewport": {"width": 390, "height": 800}},
        "dark": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "dark"},
    }.items():
        page = await home(pages, server, f"ada-{label}", ADMIN, **options)
        await expect(row(page, doc)).to_be_visible()
        await screenshot(page, f"titles-home-{label}")
        await page.goto(f"{server.url}/d/{doc}?token={ADMIN}")
        await expect(page).to_have_title(f"{title} — Tandem")
        await page.wait_for_selector(CONNECTED)
        await expect(page.locator("#doc-title input")).to_have_value(title)
        await screenshot(page, f"titles-editor-{label}")


async def test_on_an_open_hub_a_rename_is_yours_on_your_page_and_others_are_told(
    open_hub: TandemProcess, pages: Pages
) -> None:
    doc = fresh("open")
    ana = await pages.new("ana")
    await open_editor(ana, f"{open_hub.url}/d/{doc}", "Ana")
    ben = await pages.new("ben")
    await open_editor(ben, f"{open_hub.url}/d/{doc}", "Ben")
    field = ana.locator("#doc-title input")
    await field.fill("Shared plan")
    await field.press("Enter")
    await expect(ben.locator("#doc-title input")).to_have_value("Shared plan")
    await expect(ben.locator(".tandem-toast[data-kind=titled]")).to_contain_text(
        "renamed the document “Shared plan”"
    )
    # The renamer's own page says "You", and toasts nothing of it.
    await ana.click("#activity")
    await expect(ana.locator(".activity-item[data-kind=titled]")).to_contain_text(
        "You renamed the document “Shared plan”"
    )
    assert await ana.locator(".tandem-toast[data-kind=titled]").count() == 0
    # Without auth nobody is an admin: the home page offers renaming, never deleting.
    home_page = await pages.new("home")
    await home_page.goto(open_hub.url + "/")
    entry = home_page.locator(f".doc-item[data-doc='{doc}']")
    await expect(entry.locator(".doc-name")).to_have_text(f"Shared plan{doc}")
    await expect(entry.locator(".doc-rename")).to_be_visible()
    assert await entry.locator(".doc-delete").count() == 0
