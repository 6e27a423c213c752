"""Someone whose network dies (no close frame, no FIN: the packets just stop) leaves no ghost:
the hub's WebSocket pings go unanswered and within about ten seconds their avatar and cursor
are gone from the others' pages, who are told they left."""

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
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOASTS = ".tandem-toast:not(.is-leaving) .tandem-toast-text"


class DyingNetwork:
    """A TCP relay to the hub; `die()` makes it drop every byte from then on, both ways,
    without closing anything (as a Wi-Fi that went away: neither end is told)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dead = False
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def die(self) -> None:
        self.dead = True

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    if not self.dead:
                        dst.write(data)
                        await dst.drain()
            if not self.dead:  # a dead network tells nobody that the other end closed
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


async def test_a_peer_whose_network_dies_is_gone_within_seconds(
    server: TandemProcess, network: DyingNetwork, pages: Pages
) -> None:
    doc = "dead-peer"
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
    # The hub pings every 5 s and gives up 5 s after an unanswered ping: 10 s at most (the
    # old 20 + 20 s, or the clients' 30 s awareness timeout, would still show Ben here).
    await expect(avatar).to_have_count(0, timeout=14_000)
    await expect(cursor).to_have_count(0)
    await eventually(
        lambda: ana.locator(TOASTS).all_inner_texts(),
        lambda toasts: "Ben left" in toasts,
        what="the leave toast",
    )
    await screenshot(ana, "dead-peer-gone")
