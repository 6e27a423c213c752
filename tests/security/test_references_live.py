"""Updates that refer to content the hub never had, against a live server.

Before, an update whose origin pointed at an item the hub never saw passed every check: yrs kept
it pending (outside the size limit), the hub stored it and relayed it, and peers held it too; on
a `--max-doc-bytes 1000000` hub 16 MB went through with no 4413. Now such an update is not
applied: the sender is asked for what the hub lacks (a state-vector sync), which is also how a
legitimate client that raced a hub restart gets its edit in. Stock Yjs editing is never refused.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.lib0 import Encoder
from crdt.protocol import (
    SyncStep1,
    encode_awareness,
    encode_sync_step2,
    encode_sync_update,
    parse_message,
)
from tests.security.conftest import serving
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

MIB = 1024 * 1024


def _dangling(client: int, size: int) -> bytes:
    """`size` characters from a new client, after an item of client 999 the hub never had."""
    enc = Encoder()
    for value in (1, 1, client, 0):  # one client block of one struct, from clock 0
        enc.write_var_uint(value)
    enc.write_u8(0x84)  # a string item with an origin
    enc.write_var_uint(999)
    enc.write_var_uint(0)
    enc.write_var_string("x" * size)
    enc.write_var_uint(0)  # no deletes
    return enc.to_bytes()


async def _size(server: TandemProcess, doc: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.url}/api/docs/{doc}")
    assert response.status_code == 200, response.text
    size: int = response.json()["size"]
    return size


async def test_updates_referring_to_unknown_items_are_neither_kept_nor_relayed(
    tmp_path: Path, yjs_clients
) -> None:
    async with serving(tmp_path, "--max-doc-bytes", "1000000") as server:
        writer = await yjs_clients(server.ws_url, "doc")
        await writer.call("append", text="the real content")
        async with (
            websockets.connect(f"{server.ws_url}/doc", max_size=None) as attacker,
            websockets.connect(f"{server.ws_url}/doc", max_size=None) as observer,
        ):
            await attacker.recv()  # the server's sync step 1
            for n in range(64):  # 16 MiB, each update well under the document limit
                await attacker.send(encode_sync_update(_dangling(5000 + n, MIB // 4)))
                # Not applied: the sender is asked for a sync instead (it has nothing to give).
                reply = parse_message(await asyncio.wait_for(attacker.recv(), 10))  # type: ignore[arg-type]
                assert isinstance(reply, SyncStep1)
            await writer.call("append", text="after")  # the room carries on
            relayed = 0
            async with asyncio.timeout(10):
                while True:
                    frame = await observer.recv()
                    assert isinstance(frame, bytes)
                    relayed += len(frame)
                    if b"after" in frame:
                        break
        assert relayed < 4096, f"{relayed} bytes relayed to a peer"
        await eventually(lambda: _size(server, "doc"), lambda size: 0 < size < 4096, what="stored")
        assert (await writer.call("status"))["closes"] == []
        out = server.output()
        assert "Traceback" not in out
        assert out.count("event=update_gap") == 64


async def test_a_live_edit_after_content_the_hub_lost_goes_in_through_the_sync(
    tmp_path: Path, yjs_clients
) -> None:
    """A peer's keystroke refers to a paragraph the hub does not have (it was typed against a
    hub that crashed before flushing it): the hub asks, the peer's answer brings both."""
    first: Doc[Any] = Doc(client_id=6)  # wrote the paragraph; the hub never got it
    body = first.get("content", type=XmlFragment)
    body.children.append(XmlElement("paragraph", {}, [XmlText("lost paragraph")]))
    peer: Doc[Any] = Doc(client_id=7)
    peer.apply_update(first.get_update())
    before = peer.get_state()
    paragraph = peer.get("content", type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    text.insert(len("lost paragraph"), ", found")
    keystroke = bytes(peer.get_update(before))
    async with serving(tmp_path) as server:
        ana = await yjs_clients(server.ws_url, "doc")
        async with websockets.connect(f"{server.ws_url}/doc") as ws:
            await ws.recv()  # the server's sync step 1
            await ws.send(encode_sync_update(keystroke))
            ask = parse_message(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[arg-type]
            assert isinstance(ask, SyncStep1)
            # As y-websocket answers a sync step 1: everything the hub lacks.
            await ws.send(encode_sync_step2(bytes(peer.get_update(ask.state_vector))))
            xml = await eventually(ana.xml, lambda x: "found" in x, what="ana sees it")
        assert xml == "<paragraph>lost paragraph, found</paragraph>"
        assert (await ana.call("status"))["closes"] == []


async def test_a_sync_reply_with_unknown_references_is_not_asked_again(tmp_path: Path) -> None:
    """The answer to our sync step 1 held all the client had: asking once more would bring the
    same references back, in a loop until the rate limit closes the socket."""
    async with serving(tmp_path) as server, websockets.connect(f"{server.ws_url}/doc") as ws:
        await ws.recv()  # the server's sync step 1
        await ws.send(encode_sync_step2(_dangling(5000, 10)))
        probe = encode_awareness(encode_awareness_update([AwarenessEntry(77, 1, "{}")]))
        await ws.send(probe)  # echoed: the socket is fine, and nothing came before it
        assert await asyncio.wait_for(ws.recv(), 10) == probe
        assert "event=update_gap" in server.output()


async def test_stock_yjs_editing_is_never_refused(tmp_path: Path, yjs_clients) -> None:
    """Concurrent edits into each other's paragraphs, formatting, deletions, and offline edits
    merged on reconnect, by stock Yjs clients: no update is ever held back or refused."""
    async with serving(tmp_path) as server:
        url = server.ws_url
        ana, ben, cy = [await yjs_clients(url, "doc") for _ in range(3)]
        await ana.call("append", text="Ana's paragraph")
        await eventually(ben.xml, lambda x: "Ana" in x)
        await eventually(cy.xml, lambda x: "Ana" in x)
        # At once, into one paragraph, without waiting for each other.
        await asyncio.gather(
            ana.call("typeAt", index=0, offset=0, text="[a]"),
            ben.call("typeAt", index=0, offset=5, text="[b]"),
            cy.call("append", text="Cy's paragraph"),
        )
        await asyncio.gather(
            ben.call("formatAt", index=0, offset=0, length=4, mark="strong"),
            cy.call("deleteAt", index=0, length=1),
            ana.call("append", text="Ana again"),
        )
        # Ben goes offline and keeps editing what he had; the others edit too.
        await ben.call("disconnect")
        await ben.call("typeAt", index=0, offset=2, text="(offline)")
        await ben.call("append", text="Ben offline")
        await ben.call("formatAt", index=0, offset=0, length=3, mark="em")
        await ana.call("typeAt", index=0, offset=1, text="(online)")
        await cy.call("deleteAt", index=0, length=1)
        await ben.call("reconnect")
        xmls = await eventually(
            lambda: asyncio.gather(ana.xml(), ben.xml(), cy.xml()),
            lambda xs: len(set(xs)) == 1 and "Ben offline" in xs[0],
            what="everyone converges",
        )
        late = await yjs_clients(url, "doc")
        assert await late.xml() == xmls[0]
        for client in (ana, ben, cy):
            status = await client.call("status")
            assert [c for c in status["closes"] if c["code"]] == [] and status["denied"] == []
        out = server.output()
        assert "event=update_gap" not in out and "Traceback" not in out
