"""The pages and the widget on a hub with auth: names from tokens, read tokens view only, and a
widget that gets a fresh token when the server ends its session at the token's expiry (4401)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from server.security.auth import mint_token
from tests.browser.helpers import DOC, host_page
from tests.support.browser import Pages, screenshot
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "browser-tests-secret-of-at-least-32-bytes"


def token(user: str, name: str, role: str = "write", ttl: float = 3600) -> str:
    return mint_token(SECRET, user=user, name=name, docs=["team-*"], role=role, ttl=ttl)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TandemProcess]:
    db = tmp_path_factory.mktemp("auth") / "tandem.db"
    process = TandemProcess("--port", "0", "--store", f"sqlite:///{db}", "--auth-secret", SECRET)
    await process.start()
    yield process
    await process.stop()


async def server_text(server: TandemProcess, doc: str) -> str:
    headers = {"Authorization": f"Bearer {token('probe', 'Probe', 'read')}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        response = await http.get(f"/api/docs/{doc}", params={"format": "text"})
        return response.text if response.status_code == 200 else ""


async def test_names_come_from_tokens_and_read_tokens_only_view(
    server: TandemProcess, pages: Pages
) -> None:
    writer = await pages.new("writer")
    await writer.goto(f"{server.url}/d/team-plan?token={token('wu', 'Wu Writer')}")
    await writer.wait_for_selector(".tandem-status[data-state=connected]")
    assert await writer.locator("dialog").count() == 0  # no name to ask: the token has it
    await writer.click(DOC)
    await writer.keyboard.type("Only writers write.")

    reader = await pages.new("reader")
    await reader.goto(f"{server.url}/d/team-plan?token={token('rae', 'Rae Reader', 'read')}")
    await reader.wait_for_selector(".tandem-status[data-state=connected]")
    doc = reader.locator(DOC)
    await eventually(doc.inner_text, lambda t: "Only writers write." in t, what="reader sees it")
    assert await doc.get_attribute("contenteditable") == "false"
    assert await reader.locator(".tandem-toolbar").count() == 0
    await reader.locator(".topbar .tandem-avatar[data-name='Wu Writer']").wait_for()
    await writer.locator(".topbar .tandem-avatar[data-name='Rae Reader']").wait_for()
    await screenshot(reader, "auth-reader")

    # The home page lists the documents the token may read.
    home = await pages.new("home")
    await home.goto(f"{server.url}/?token={token('wu', 'Wu Writer')}")
    await home.locator(".doc-item[data-doc=team-plan]").wait_for()
    # Without a token the pages say how to get in (and make no request that would fail).
    stranger = await pages.new("stranger")
    await stranger.goto(f"{server.url}/")
    assert "access link" in await stranger.inner_text(".doc-list")
    await stranger.goto(f"{server.url}/d/team-plan")
    assert "access link" in await stranger.inner_text("#notice")


async def test_widget_renews_an_expiring_token_and_carries_on(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    short = token("kim", "Kim", ttl=3)
    widgets = (
        f'<tandem-editor id="renewing" server="{server.url}" doc="team-live" token="{short}">'
        "</tandem-editor>"
        f'<tandem-editor id="stuck" server="{server.url}" doc="team-live" token="{short}">'
        "</tandem-editor>"
    )
    (root / "expiring.html").write_text(host_page(server.url, widgets))
    page = await pages.new("page")
    await page.expose_function("freshToken", lambda: token("kim", "Kim"))
    await page.goto(f"{url}/expiring.html")
    for widget in ("#renewing", "#stuck"):
        await page.wait_for_selector(f"{widget} .tandem-status[data-state=connected]")
    await page.evaluate(
        """() => {
            const el = document.getElementById('renewing')
            window.states = []
            el.addEventListener('tandem-state', (e) => states.push(e.detail.state))
            el.getToken = () => window.freshToken()
        }"""
    )
    # At the token's expiry the server closes both sessions with 4401: the widget with a
    # getToken hook reconnects with a fresh token, the other one says it is signed out.
    await page.wait_for_selector("#stuck .tandem-status[data-state=unauthorized]", timeout=15000)
    await page.wait_for_selector("#renewing .tandem-status[data-state=connected]")
    states = await page.evaluate("() => states")
    assert "reconnecting" in states and states[-1] == "connected", states
    await page.click(f"#renewing >> {DOC}")
    await page.keyboard.type("Still here after renewal.")
    await eventually(
        lambda: server_text(server, "team-live"),
        lambda t: "Still here after renewal." in t,
        what="an edit after the renewal",
    )
    await screenshot(page, "token-renewal")


async def test_widget_follows_a_role_change_made_by_a_revocation(
    server: TandemProcess, site: tuple[str, Path], pages: Pages
) -> None:
    url, root = site
    lee = token("lee", "Lee")
    widget = f'<tandem-editor id="lee" server="{server.url}" doc="team-roles" token="{lee}">'
    widget += "</tandem-editor>"
    (root / "roles.html").write_text(host_page(server.url, widget))
    page = await pages.new("page")
    # The embedding application's backend: from now on it hands Lee read tokens only.
    await page.expose_function("freshToken", lambda: token("lee", "Lee", "read"))
    await page.goto(f"{url}/roles.html")
    await page.wait_for_selector("#lee .tandem-status[data-state=connected]")
    await page.evaluate(
        "() => { document.getElementById('lee').getToken = () => window.freshToken() }"
    )
    assert await page.locator("#lee .tandem-toolbar").count() == 1

    admin = {"Authorization": f"Bearer {token('root', 'Root', 'admin')}"}
    async with httpx.AsyncClient(base_url=server.url, headers=admin) as http:
        assert (await http.post("/api/users/lee/revoke")).status_code == 200

    # Closed with 4401, the widget asks getToken(), gets a read token and comes back as a viewer.
    doc = page.locator(f"#lee >> {DOC}")
    await eventually(
        lambda: doc.get_attribute("contenteditable"), lambda v: v == "false", what="view only"
    )
    await page.wait_for_selector("#lee .tandem-status[data-state=connected]")
    assert await page.locator("#lee .tandem-toolbar").count() == 0
    writer = await pages.new("writer")
    await writer.goto(f"{server.url}/d/team-roles?token={token('wu', 'Wu Writer')}")
    await writer.wait_for_selector(".tandem-status[data-state=connected]")
    await writer.click(DOC)
    await writer.keyboard.type("Lee reads this now.")
    await eventually(
        doc.inner_text, lambda t: "Lee reads this now." in t, what="the viewer sees it"
    )
    await screenshot(page, "role-change")


async def _databases(page: Page) -> list[str]:
    """The IndexedDB databases of the page's origin (the copies kept on this device)."""
    return list(await page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)"))


async def test_each_user_keeps_a_copy_of_their_own_and_a_revocation_removes_it(
    server: TandemProcess, pages: Pages
) -> None:
    url = f"{server.url}/d/team-drafts"
    ana = await pages.new("ana")
    await ana.goto(f"{url}?token={token('ana', 'Ana')}")
    await ana.wait_for_selector(".tandem-status[data-state=connected]")
    await ana.click(DOC)
    await ana.keyboard.type("Shared text.")
    await eventually(lambda: server_text(server, "team-drafts"), lambda t: "Shared text." in t)
    await ana.context.set_offline(True)
    await ana.wait_for_selector(".tandem-status[data-state=offline]")
    await ana.keyboard.type(" Ana's unsent draft.")
    await expect(ana.locator(".tandem-status")).to_have_text(
        "Offline · changes kept on this device"
    )
    await ana.context.set_offline(False)
    await ana.wait_for_selector(".tandem-status[data-state=connected][data-unsynced=false]")
    await ana.context.set_offline(True)
    await ana.wait_for_selector(".tandem-status[data-state=offline]")
    await ana.keyboard.type(" Still only Ana's.")
    await expect(ana.locator(".tandem-status")).to_have_attribute("data-unsynced", "true")
    await expect(ana.locator(".tandem-status")).to_have_attribute("data-kept", "true")
    await ana.close()
    await ana.context.set_offline(False)

    # Ben, signed in on the same browser, gets a copy of his own: none of Ana's unsent text.
    ben = await pages.another(ana.context, "ben")
    await ben.goto(f"{url}?token={token('ben', 'Ben')}")
    await ben.wait_for_selector(".tandem-status[data-state=connected][data-unsynced=false]")
    await ben.locator(DOC, has_text="Ana's unsent draft.").wait_for()
    assert "Still only Ana's." not in await ben.inner_text(DOC)
    names = await _databases(ben)
    base = f"tandem:{server.url}:team-drafts"
    assert {f"{base}:user:ana", f"{base}:user:ben"} <= set(names), names
    assert "Still only Ana's." not in await server_text(server, "team-drafts")

    # Ben's access is revoked (no fresh token to be had): his copy leaves this device.
    admin = {"Authorization": f"Bearer {token('root', 'Root', 'admin')}"}
    async with httpx.AsyncClient(base_url=server.url, headers=admin) as http:
        assert (await http.post("/api/users/ben/revoke")).status_code == 200
    await ben.wait_for_selector(".tandem-status[data-state=unauthorized]")
    await eventually(
        lambda: _databases(ben),
        lambda now: f"{base}:user:ben" not in now and f"{base}:user:ana" in now,
        what="Ben's copy removed, Ana's kept",
    )


async def test_a_deleted_document_leaves_no_copy_on_the_device(
    server: TandemProcess, pages: Pages
) -> None:
    doc = "team-doomed-copy"
    page = await pages.new("wu")
    await page.goto(f"{server.url}/d/{doc}?token={token('wu', 'Wu Writer')}")
    await page.wait_for_selector(".tandem-status[data-state=connected]")
    await page.click(DOC)
    await page.keyboard.type("Soon gone.")
    await page.wait_for_selector(".tandem-status[data-state=connected][data-unsynced=false]")
    name = f"tandem:{server.url}:{doc}:user:wu"
    assert name in await _databases(page)
    admin = {"Authorization": f"Bearer {token('root', 'Root', 'admin')}"}
    async with httpx.AsyncClient(base_url=server.url, headers=admin) as http:
        assert (await http.delete(f"/api/docs/{doc}")).status_code == 204
    await page.wait_for_selector(".tandem-status[data-state=deleted]")
    await eventually(lambda: _databases(page), lambda names: name not in names, what="no copy")
