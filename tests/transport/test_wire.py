"""The frames Tandem writes: its own framing when nothing is negotiated, websockets' when
permessage-deflate is (TANDEM_WS_COMPRESSION); stock clients read both."""

from __future__ import annotations

import pytest
import websockets
from websockets.frames import Frame, Opcode

from crdt.protocol import SyncStep1, SyncUpdate, parse_message
from server.transport.wsprotocol import frame_header
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_frame_header_frames_as_websockets_does(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    assert frame_header(size) + data == Frame(Opcode.BINARY, data).serialize(
        mask=False, extensions=[]
    )


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "deflate"])
async def test_stock_clients_read_what_the_hub_writes(compression: bool, yjs_clients) -> None:
    server = TandemProcess(env={"TANDEM_WS_COMPRESSION": str(compression).lower()})
    await server.start()
    try:
        async with websockets.connect(f"{server.ws_url}/wire", compression="deflate") as raw:
            negotiated = raw.response.headers.get("Sec-WebSocket-Extensions", "")
            assert ("permessage-deflate" in negotiated) is compression
            assert isinstance(parse_message(await raw.recv()), SyncStep1)  # type: ignore[arg-type]
            writer = await yjs_clients(server.ws_url, "wire")
            reader = await yjs_clients(server.ws_url, "wire")
            big = "long line ✓ " * 20_000  # a frame past the 16-bit length form
            await writer.call("append", text="short")
            await writer.call("append", text=big)
            want = await writer.call("stateVector")
            await eventually(
                lambda: reader.call("stateVector"), lambda sv: sv == want, what="reader synced"
            )
            updates = 0
            while updates < 2:  # the raw client parses the same frames
                if isinstance(parse_message(await raw.recv()), SyncUpdate):  # type: ignore[arg-type]
                    updates += 1
    finally:
        await server.stop()
