"""Someone whose network dies (no close frame, no FIN: the packets just stop) leaves no ghost.

Their client promised a presence renewal every 4 s (`?heartbeat=4`); silent for 10 s, the hub
withdraws their presence (avatar and cursor go, /events says they left) while the WebSocket
pings (20 s + 20 s here) have not yet closed the dead socket. Their own page notices the dead
link within about 10 s too, says it is reconnecting, and when the network is back they are
shown joined again, with no stale "left" when the old socket is finally closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.helpers import DOC, open_editor
from tests.support.browser import Pages, screenshot
from tests.support.events import EventWatcher
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOASTS = ".tandem-toast:not(.is-leaving) .tandem-toast-text"


class _Link:
    """One relayed TCP connection; once dead it drops every byte, both ways, closing nothing."""

    def __init__(self) -> None:
        self.dead = False
        self.writers: list[asyncio.StreamWriter] = []


class DyingNetwork:
    """A TCP relay to the hub. `die()` kills every connection through it, and the ones made
    while it is down (as a Wi-Fi that went away: neither end is told); `revive()` lets new
    connections through again (the old ones stay dead, as after a change of network)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.down = False
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def die(self) -> None:
        self.down = True
        for link in self._links:
            link.dead = True

    def revive(self) -> None:
        self.down = False

    async def stop(self) -> None:
        for link in self._links:
            for writer in link.writers:
                writer.close()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link()
        link.dead = self.down
        self._links.append(link)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        link.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    if not link.dead:
                        dst.write(data)
                        await dst.drain()
            if not link.dead:  # a dead network tells nobody that the other end closed
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest_asyncio.fixture(loop_scope="module")
async def network(server: TandemProcess) -> AsyncIterator[DyingNetwork]:
    port = urlsplit(server.url).port
    assert port is not None
    relay = DyingNetwork(port)
    await relay.start()
    yield relay
    await relay.stop()


@pytest.mark.timeout(180)
async def test_a_peer_whose_network_dies_is_gone_within_seconds_and_back_when_it_returns(
    server: TandemProcess, network: DyingNetwork, pages: Pages
) -> None:
    doc = "dead-peer"
    watcher = await EventWatcher.connect(server.url, doc)
    ana = await pages.new("ana")
    await open_editor(ana, f"{server.url}/d/{doc}", "Ana")
    ben = await pages.new("ben")
    await open_editor(ben, f"{network.url}/d/{doc}", "Ben")  # through the relay
    await ben.click(DOC)
    await ben.keyboard.type("Ben was here.")
    await ana.locator(DOC, has_text="Ben was here.").wait_for()
    avatar = ana.locator(".topbar .tandem-avatar[data-name='Ben']")
    cursor = ana.locator(".ProseMirror-yjs-cursor", has_text="Ben")
    await expect(avatar).to_have_count(1)
    await expect(cursor).to_have_count(1)

    network.die()
    # Silent for 10 s past its last renewal (at most 4 s old), swept once a second: Ben goes
    # within about 11 s. The pings (20 + 20 s) or the clients' 30 s awareness timeout would
    # still show him here.
    await expect(avatar).to_have_count(0, timeout=16_000)
    await expect(cursor).to_have_count(0)
    await eventually(
        lambda: ana.locator(TOASTS).all_inner_texts(),
        lambda toasts: "Ben left" in toasts,
        what="the leave toast",
    )
    assert "event=peer_silent doc=dead-peer" in server.output()
    # Ben's own page heard nothing for 10 s: it dropped the dead socket and says so.
    await expect(ben.locator(".tandem-status")).to_have_attribute(
        "data-state", "reconnecting", timeout=16_000
    )
    await screenshot(ana, "dead-peer-gone")
    await screenshot(ben, "dead-peer-reconnecting")

    network.revive()  # new connections get through; the old socket stays dead
    await expect(ben.locator(".tandem-status")).to_have_attribute(
        "data-state", "connected", timeout=30_000
    )
    await expect(avatar).to_have_count(1, timeout=16_000)

    # The hub's pings close the old socket in the end: that close says nothing more.
    await eventually(
        lambda: asyncio.sleep(0, server.output()),
        lambda log: "event=left doc=dead-peer" in log,
        timeout=60,
        interval=0.5,
        what="the dead socket closed by the pings",
    )
    await expect(avatar).to_have_count(1)
    bens = [(name, event) for name, event, _ in watcher.presence(doc) if name == "Ben"]
    assert bens == [("Ben", "joined"), ("Ben", "left"), ("Ben", "joined")], bens
    await watcher.close()
