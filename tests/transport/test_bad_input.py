"""Malformed frames close only their own connection; the room and its document carry on."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.support.waiting import eventually

GARBAGE = {
    "unknown message type": bytes([9, 0, 0]),
    "truncated varint": bytes([0, 0, 0x80]),
    "length past the frame": bytes([0, 2, 50, 1, 2]),
    "trailing bytes": bytes([3, 0]),
    "malformed update": bytes([0, 2, 5, 1, 0, 1, 0, 0]),
    "state-vector bomb": bytes([0, 0, 9, 7, 0x80, 0x80, 0x80, 0x80, 1, 1, 1]),
}


async def _close_code(url: str, frame: bytes) -> int:
    async with websockets.connect(url) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code


@pytest.mark.parametrize("frame", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_closes_only_the_sender(tandem, yjs_clients, frame: bytes) -> None:
    ana = await yjs_clients(tandem.ws_url, "shared")
    ben = await yjs_clients(tandem.ws_url, "shared")
    await ana.call("append", text="before")
    await eventually(ben.xml, lambda x: "before" in x, what="first edit")

    assert await _close_code(f"{tandem.ws_url}/shared", frame) == 1002

    await ben.call("append", text="after")
    await eventually(ana.xml, lambda x: "after" in x, what="room still relays")
    assert await ana.xml() == await ben.xml()
    status = await ana.call("status")
    assert status["connected"] and status["closes"] == []
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{tandem.url}/api/docs/shared?format=text")).text
    assert text == "before\nafter"


async def test_text_frames_are_refused(tandem) -> None:
    async with websockets.connect(f"{tandem.ws_url}/doc") as ws:
        await ws.send("hello")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_oversized_frame_is_closed_with_1009(tmp_path) -> None:
    from tests.support.tandem import TandemProcess

    server = await TandemProcess(
        "--port",
        "0",
        "--store",
        f"sqlite:///{tmp_path / 'x.db'}",
        env={"TANDEM_MAX_FRAME": "1024"},
    ).start()
    try:
        assert await _close_code(f"{server.ws_url}/doc", b"\x00\x02" + b"\x00" * 5000) == 1009
    finally:
        await server.stop()


@pytest.mark.parametrize("doc", ["../etc", "a b", "-x", "x" * 200, "tandem:{a}"])
async def test_invalid_document_ids_are_refused(tandem, doc: str) -> None:
    quoted = quote(doc, safe="")
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{tandem.url}/api/docs/{quoted}")
    assert response.status_code == 400
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(f"{tandem.ws_url}/{quoted}"):
            pass
    assert refused.value.response.status_code == 403
