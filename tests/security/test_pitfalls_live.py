"""The pycrdt pitfalls of docs/pycrdt-pitfalls.md, against a live server with stock Yjs clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import websockets
from pycrdt import Doc, Text

from crdt.protocol import SyncStep1, SyncStep2, encode_sync_step1, encode_sync_update, parse_message
from tests.security.conftest import closed_with
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

PANIC_UPDATE = bytes.fromhex("0100010000")
# Sync step 1 whose state vector claims 2**28 entries in seven bytes.
STATE_VECTOR_BOMB = bytes.fromhex("00000780808080010101")
# Client 5, clock 3: clocks 0-2 were never sent.
GAP_UPDATE = bytes.fromhex("0101050304010174015800")


def _rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = int(value.split()[0])
    return fields


def _assert_nothing_escaped(server: TandemProcess) -> None:
    assert server.proc is not None and server.proc.returncode is None, "the server died"
    log = server.output()
    assert "Traceback" not in log
    for line in log.splitlines():
        if "PanicException" in line:  # only ever as the reason of a closed connection
            assert "event=connection_closed" in line, line


async def test_the_panic_update_closes_only_its_sender(tandem, yjs_clients) -> None:
    one = await yjs_clients(tandem.ws_url, "doc", clientId=1)
    two = await yjs_clients(tandem.ws_url, "doc")
    await one.call("append", text="content of client 1")
    await eventually(two.xml, lambda x: "client 1" in x, what="synced")

    code, reason = await closed_with(f"{tandem.ws_url}/doc", encode_sync_update(PANIC_UPDATE))
    assert code == 1002, reason

    await two.call("append", text="after")
    await eventually(one.xml, lambda x: "after" in x, what="room carries on")
    assert await one.xml() == await two.xml()
    assert (await one.call("status"))["closes"] == []
    _assert_nothing_escaped(tandem)


async def test_a_state_vector_bomb_costs_no_memory(tandem, yjs_clients) -> None:
    client = await yjs_clients(tandem.ws_url, "doc")
    await client.call("append", text="x")
    assert tandem.proc is not None
    before = _rss_kib(tandem.proc.pid)
    for _ in range(20):
        code, _ = await closed_with(f"{tandem.ws_url}/doc", STATE_VECTOR_BOMB)
        assert code == 1002
    after = _rss_kib(tandem.proc.pid)
    grew = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(f"RSS {before['VmRSS'] / 1024:.1f} -> {after['VmRSS'] / 1024:.1f} MiB, peak +{grew:.1f}")
    assert grew < 32, f"peak memory grew by {grew:.0f} MiB"  # pycrdt alone would take ~540
    await client.call("append", text="y")
    assert (await client.call("status"))["closes"] == []
    _assert_nothing_escaped(tandem)


def _client5_updates() -> tuple[bytes, bytes]:
    """Clocks 0-2 of client 5 (text "abc" in root "t"), and all of 0-3 (with GAP_UPDATE)."""
    doc: Doc = Doc(client_id=5)
    text = doc.get("t", type=Text)
    text += "abc"
    first = doc.get_update()
    doc.apply_update(GAP_UPDATE)  # in order here: clock 3 follows 0-2
    return first, doc.get_update()


async def _server_text(ws_url: str, doc: str) -> str:
    """The server's own export: everything it has, asked for with an empty state vector."""
    async with websockets.connect(f"{ws_url}/{doc}") as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        async with asyncio.timeout(10):
            while True:
                frame = await ws.recv()
                assert isinstance(frame, bytes)
                message = parse_message(frame)
                if isinstance(message, SyncStep2):
                    break
    ydoc: Doc = Doc()
    ydoc.apply_update(message.update)
    return str(ydoc.get("t", type=Text))


async def test_an_update_past_the_state_vector_is_never_applied_out_of_order(
    tmp_path, yjs_clients
) -> None:
    db = f"sqlite:///{tmp_path / 'gap.db'}"
    server = await TandemProcess("--port", "0", "--store", db).start()
    try:
        ana = await yjs_clients(server.ws_url, "gap")
        ben = await yjs_clients(server.ws_url, "gap")
        first, everything = _client5_updates()
        async with websockets.connect(f"{server.ws_url}/gap") as peer:
            await peer.recv()  # the server's sync step 1
            await peer.send(encode_sync_update(GAP_UPDATE))
            # Not applied: the server asks the sender for what it lacks instead.
            reply = parse_message(await asyncio.wait_for(peer.recv(), 10))
            assert isinstance(reply, SyncStep1)
            await peer.send(encode_sync_update(first))  # clocks 0-2 arrive late
            await eventually(lambda: ana.call("text", name="t"), lambda t: t == "abc")
            # ... and, like a Yjs peer answering the sync step 1, the rest.
            await peer.send(b"\x00\x01" + bytes([len(everything)]) + everything)
            await eventually(lambda: ana.call("text", name="t"), lambda t: len(t) == 4)

        expected = await ana.call("text", name="t")
        assert sorted(expected) == sorted("abcX")
        cat = await yjs_clients(server.ws_url, "gap")  # newly joined
        for client in (ben, cat):
            await eventually(lambda c=client: c.call("text", name="t"), lambda t: t == expected)
        assert await _server_text(server.ws_url, "gap") == expected
        assert await ana.call("stateVector") == await cat.call("stateVector")
        _assert_nothing_escaped(server)
    finally:
        await server.stop()
    # A reload of the stored document agrees too.
    reloaded = await TandemProcess("--port", "0", "--store", db).start()
    try:
        assert await _server_text(reloaded.ws_url, "gap") == expected
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{reloaded.url}/healthz")).status_code == 200
    finally:
        await reloaded.stop()
