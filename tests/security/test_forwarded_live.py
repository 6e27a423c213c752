"""Behind a real nginx on another address (127.0.0.2): every user counts as themselves, and
forwarded headers from anyone but a trusted proxy change nothing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import websockets

from tests.security.conftest import SECRET, closed_with, metric, serving, token
from tests.support.nginx import NginxProxy

PROXY = "127.0.0.2"


def source(i: int) -> str:
    """A distinct loopback address per person (all of 127/8 is this machine on Linux)."""
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


async def admitted(
    sockets: contextlib.AsyncExitStack, url: str, address: str, **headers: str
) -> None:
    """Open a socket from `address` and check the hub accepted it (its first sync message)."""
    ws = await sockets.enter_async_context(
        websockets.connect(url, local_addr=(address, 0), additional_headers=headers)
    )
    assert (await ws.recv())[:2] == b"\x00\x00"


async def test_users_behind_a_proxy_on_another_address_are_counted_one_by_one(
    tmp_path: Path,
) -> None:
    flags = ("--auth-secret", SECRET, "--forwarded-allow-ips", PROXY)
    async with serving(tmp_path, *flags) as hub:
        proxy = await NginxProxy(tmp_path / "nginx", hub.url, listen=PROXY, bind=PROXY).start()
        try:
            async with contextlib.AsyncExitStack() as sockets:
                # 260 people, each from an address of their own: past the 200 per address.
                for first in range(0, 260, 20):
                    await asyncio.gather(
                        *(
                            admitted(
                                sockets, f"{proxy.ws_url}/team-{i % 4}?token={token()}", source(i)
                            )
                            for i in range(first, first + 20)
                        )
                    )
                # One address is still capped, however many people share it.
                crowd = "127.0.9.9"
                url = f"{proxy.ws_url}/crowd?token={token()}"
                for _ in range(10):
                    await asyncio.gather(*(admitted(sockets, url, crowd) for _n in range(20)))
                assert await closed_with(url, local_addr=(crowd, 0)) == (
                    1013,
                    "too many connections from your address (limit 200)",
                )
                async with httpx.AsyncClient() as http:
                    text = (await http.get(f"{hub.url}/metrics")).text
                assert metric(text, "tandem_connections") == 460
                assert (
                    metric(text, 'tandem_limit_exceeded_total{limit="connections_per_address"}')
                    == 1
                )
        finally:
            await proxy.stop()
    assert f"client={crowd}" in hub.output()  # the log names the person, not the proxy


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(tmp_path: Path) -> None:
    flags = ("--forwarded-allow-ips", PROXY, "--max-connections-per-address", "2")
    async with serving(tmp_path, *flags) as hub:
        url = f"{hub.ws_url}/notes"
        async with contextlib.AsyncExitStack() as sockets:
            # Straight from 127.0.0.1, which is no proxy of ours: claiming to forward others
            # does not buy a third place.
            for n in (1, 2):
                await admitted(sockets, url, "127.0.0.1", **{"X-Forwarded-For": f"203.0.113.{n}"})
            spoofed = {"X-Forwarded-For": "203.0.113.3"}
            assert (await closed_with(url, additional_headers=spoofed))[0] == 1013
            # The trusted proxy's word counts: a forwarded person gets a place of their own.
            await admitted(sockets, url, PROXY, **spoofed)

        # The scheme too: only a trusted proxy makes this an https origin (HSTS, and a page
        # of https://host may open the socket of an open hub that only takes its own origin).
        https = {"X-Forwarded-Proto": "https"}
        page = hub.url.replace("http://", "https://")
        assert (await closed_with(url, origin=page, additional_headers=https))[0] == 4403
        async with websockets.connect(
            url, origin=page, additional_headers=https, local_addr=(PROXY, 0)
        ) as ws:  # type: ignore[arg-type]
            assert (await ws.recv())[:2] == b"\x00\x00"
        async with httpx.AsyncClient() as http:
            plain = await http.get(f"{hub.url}/healthz", headers=https)
        proxied = httpx.AsyncHTTPTransport(local_address=PROXY)
        async with httpx.AsyncClient(transport=proxied) as http:
            secure = await http.get(f"{hub.url}/healthz", headers=https)
        assert "strict-transport-security" not in plain.headers
        assert secure.headers["strict-transport-security"] == "max-age=31536000"
