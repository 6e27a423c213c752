"""Stock Yjs clients (yjs + y-websocket under Node) against a real `tandem serve`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient


async def _all_equal(clients: list[YjsClient]) -> list[str]:
    return [await c.xml() for c in clients]


async def test_three_clients_edit_concurrently_and_converge(tandem, yjs_clients) -> None:
    clients = [await yjs_clients(tandem.ws_url, "trio") for _ in range(3)]
    await asyncio.gather(
        *(
            c.call("append", text=f"client {i} line {n}")
            for i, c in enumerate(clients)
            for n in range(5)
        )
    )
    states = await eventually(
        lambda: _all_equal(clients),
        lambda xs: len(set(xs)) == 1 and all(f"client {i} line 4" in xs[0] for i in range(3)),
        what="three clients converge",
    )
    assert states[0].count("<paragraph>") == 15
    text = await eventually(
        lambda: _fetch_text(tandem), lambda t: t.count("\n") == 14, what="server has it all"
    )
    assert sorted(text.splitlines()) == sorted(
        f"client {i} line {n}" for i in range(3) for n in range(5)
    )


async def _fetch_text(tandem: TandemProcess) -> str:
    import httpx

    async with httpx.AsyncClient() as http:
        response = await http.get(f"{tandem.url}/api/docs/trio", params={"format": "text"})
        return response.text


async def test_awareness_is_shared_and_removed_when_a_socket_dies(tandem, yjs_clients) -> None:
    ana = await yjs_clients(tandem.ws_url, "presence", awareness={"user": {"name": "Ana"}})
    ben = await yjs_clients(tandem.ws_url, "presence", awareness={"user": {"name": "Ben"}})
    seen = await eventually(
        lambda: ben.call("awareness"),
        lambda states: any(s.get("user", {}).get("name") == "Ana" for s in states.values()),
        what="Ben sees Ana",
    )
    assert str(ana.client_id) in seen
    await ana.kill()  # no close frame: the process and its socket just die
    await eventually(
        lambda: ben.call("awareness"),
        lambda states: str(ana.client_id) not in states,
        timeout=5,
        what="Ana's cursor disappears for Ben",
    )


async def test_a_fresh_client_after_restart_gets_the_whole_document(
    tmp_path: Path, yjs_clients
) -> None:
    store = f"sqlite:///{tmp_path / 'restart.db'}"
    first = await TandemProcess("--port", "0", "--store", store).start()
    writer = await yjs_clients(first.ws_url, "durable")
    for n in range(20):
        await writer.call("append", text=f"line {n} ✓ ünïcødé")
    expected = await writer.xml()
    await writer.close()
    assert await first.stop() == 0  # SIGTERM: graceful, flushes everything
    second = await TandemProcess("--port", "0", "--store", store).start()
    try:
        reader = await yjs_clients(second.ws_url, "durable")
        assert await reader.xml() == expected
    finally:
        await second.stop()
