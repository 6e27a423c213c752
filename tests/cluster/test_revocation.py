"""Taking access back across two `tandem serve` hubs on one real redis-server: a revoked user's
sockets close with 4401 on both hubs, their old tokens are refused everywhere (even by a hub
started afterwards), a token minted afterwards works, and nobody else notices."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.security.conftest import SECRET, closed_with, token
from tests.support.tandem import ROOT, TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

Connect = Callable[..., Awaitable[YjsClient]]

ADMIN = {"Authorization": f"Bearer {token('boss', role='admin')}"}


@pytest.fixture
async def hub_factory(redis_url: str) -> AsyncIterator[Callable[[], Awaitable[TandemProcess]]]:
    started: list[TandemProcess] = []

    async def start() -> TandemProcess:
        hub = TandemProcess("--port", "0", "--store", redis_url, "--auth-secret", SECRET)
        started.append(hub)
        return await hub.start()

    yield start
    for hub in started:
        await hub.stop()


def events_url(hub: TandemProcess, credential: str) -> str:
    return f"{hub.url.replace('http', 'ws', 1)}/events?docs=plan&token={credential}"


async def subscribed(hub: TandemProcess, credential: str, stack: Any) -> ClientConnection:
    ws: ClientConnection = await stack.enter_async_context(
        websockets.connect(events_url(hub, credential))
    )
    await eventually(
        lambda: metric(hub, "tandem_events_subscribers"), lambda n: n >= 1, what="subscribed"
    )
    return ws


async def metric(hub: TandemProcess, name: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{hub.url}/metrics")).text
    return next((float(x.split()[-1]) for x in text.splitlines() if x.startswith(name + " ")), 0)


async def closes(client: YjsClient) -> list[dict[str, Any]]:
    return list((await client.call("status"))["closes"])


async def api_status(hub: TandemProcess, credential: str) -> tuple[int, str]:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{hub.url}/api/docs", headers={"Authorization": f"Bearer {credential}"}
        )
    return response.status_code, response.text


async def test_a_revoked_user_is_closed_and_refused_on_every_hub(
    hub_factory: Callable[[], Awaitable[TandemProcess]], yjs_clients: Connect
) -> None:
    one, two = await asyncio.gather(hub_factory(), hub_factory())
    old = token("ana", name="Ana")
    ana = [await yjs_clients(hub.ws_url, "plan", params={"token": old}) for hub in (one, two)]
    ben = [
        await yjs_clients(hub.ws_url, "plan", params={"token": token("ben")}) for hub in (one, two)
    ]
    async with contextlib.AsyncExitStack() as stack:
        ana_events = await subscribed(two, old, stack)
        ben_events = await subscribed(one, token("ben"), stack)

        async with httpx.AsyncClient() as http:
            url = f"{one.url}/api/users/ana/revoke"
            writer = {"Authorization": f"Bearer {token('ben', role='write')}"}
            assert (await http.post(url, headers=writer)).status_code == 403
            assert [await closes(c) for c in ana] == [[], []]  # a refused revoke changes nothing
            revoked = await http.post(url, headers=ADMIN)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["user"] == "ana"

        # Every socket of ana, on both hubs (WebSocket and /events), closes with 4401.
        for client in ana:
            seen = await eventually(lambda c=client: closes(c), what="ana's editor closed")
            assert seen[0] == {"code": 4401, "reason": "token revoked"}
        await ana_events.wait_closed()
        assert (ana_events.close_code, ana_events.close_reason) == (4401, "token revoked")

        # The old token is refused on both hubs; a token minted now is taken.
        for hub in (one, two):
            assert await api_status(hub, old) == (401, '{"error":"token revoked"}')
            assert await closed_with(f"{hub.ws_url}/plan?token={old}") == (4401, "token revoked")
        fresh = token("ana", name="Ana")
        assert (await api_status(two, fresh))[0] == 200
        again = await yjs_clients(two.ws_url, "plan", params={"token": fresh})
        await again.call("append", text="ana is back")

        # Ben noticed nothing: his sockets stay, his edits and ana's new ones reach him.
        await ben[1].call("append", text="ben carries on")
        for client in ben:
            for line in ("ana is back", "ben carries on"):
                await client.call("waitText", text=line)
            assert await closes(client) == []
        assert ben_events.close_code is None
    assert "event=user_revoked user=ana " in one.output()


async def test_a_revocation_outlives_a_hub_restart_and_a_new_role_applies(
    hub_factory: Callable[[], Awaitable[TandemProcess]], yjs_clients: Connect
) -> None:
    one = await hub_factory()
    old = token("ana", role="write")
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{one.url}/api/users/ana/revoke", headers=ADMIN)
        assert response.status_code == 200
    await one.stop()
    restarted = await hub_factory()  # a new process: it knows only what the store kept
    assert await closed_with(f"{restarted.ws_url}/plan?token={old}") == (4401, "token revoked")
    # The page's getToken() now hands out a read token: ana reads, her edits are refused.
    reader = await yjs_clients(
        restarted.ws_url, "plan", params={"token": token("ana", role="read")}
    )
    writer = await yjs_clients(restarted.ws_url, "plan", params={"token": token("cleo")})
    await writer.call("append", text="cleo writes")
    await reader.call("waitText", text="cleo writes")
    await reader.call("append", text="ana may not")
    status = await eventually(lambda: reader.call("status"), lambda s: s["denied"], what="refused")
    assert status["connected"] and "ana may not" not in await writer.xml()


async def test_tandem_revoke_on_the_command_line(
    hub_factory: Callable[[], Awaitable[TandemProcess]],
) -> None:
    hub = await hub_factory()
    old = token("ana")

    async def revoke(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "revoke", *args, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    code, _, err = await revoke("ana", "--server", hub.url, "--token", token("ben"))
    assert code == 1 and "403" in err
    assert (await api_status(hub, old))[0] == 200
    code, out, _ = await revoke("ana", "--server", hub.url, "--token", token("boss", role="admin"))
    assert code == 0 and out.startswith("revoked ana: tokens issued before ")
    assert (await api_status(hub, old))[0] == 401
