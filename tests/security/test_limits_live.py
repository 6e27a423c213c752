"""Every limit against a real server: a clear close code and reason, and a metric."""

from __future__ import annotations

import asyncio
import time

import httpx
import websockets

from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.protocol import encode_awareness, encode_sync_update
from tests.security.conftest import closed_with, metric, serving
from tests.support.rawws import RawWebSocket
from tests.support.waiting import eventually

EMPTY_UPDATE = encode_sync_update(b"\x00\x00")


async def _metrics(server) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{server.url}/metrics")).text


def _limit(text: str, name: str) -> float:
    return metric(text, f'tandem_limit_exceeded_total{{limit="{name}"}}')


async def test_a_frame_over_the_limit_is_refused_1009_before_it_is_read(tmp_path) -> None:
    async with serving(tmp_path, "--max-frame", "65536") as server:
        raw = await RawWebSocket.connect(f"{server.ws_url}/doc")
        try:
            announced = 512 * 1024 * 1024
            mask = raw.send_header(announced)
            raw.send_payload(b"\x00\x02" + b"\x00" * 1022, mask)  # 1 KiB of the 512 MiB
            started = time.perf_counter()
            async with asyncio.timeout(10):
                code, reason = await raw.read_close()
            elapsed = time.perf_counter() - started
            print(f"closed {code} after 1 KiB of {announced} bytes, {elapsed:.3f}s")
        finally:
            await raw.close()
        assert (code, reason) == (
            1009,
            f"frame with {announced} bytes exceeds limit of 65536 bytes",
        )


async def test_sync_and_awareness_floods_close_1008(tmp_path) -> None:
    env = {
        "TANDEM_UPDATE_RATE": "5",
        "TANDEM_UPDATE_BURST": "10",
        "TANDEM_AWARENESS_RATE": "2",
        "TANDEM_AWARENESS_BURST": "5",
    }
    async with serving(tmp_path, env=env) as server:
        code, reason = await closed_with(f"{server.ws_url}/doc", *[EMPTY_UPDATE] * 40)
        assert (code, reason) == (1008, "more than 5 sync messages per second")

        frames = [
            encode_awareness(
                encode_awareness_update([AwarenessEntry(77, clock, '{"user":{"name":"x"}}')])
            )
            for clock in range(1, 30)
        ]
        code, reason = await closed_with(f"{server.ws_url}/doc", *frames)
        assert (code, reason) == (1008, "more than 2 awareness messages per second")

        # Within the burst nothing happens.
        async with websockets.connect(f"{server.ws_url}/doc") as ws:
            for frame in [EMPTY_UPDATE] * 8:
                await ws.send(frame)
            await ws.send(b"\x03")  # query awareness: answered while the socket is healthy
            async with asyncio.timeout(5):
                while (await ws.recv())[:1] != b"\x01":
                    pass
        text = await _metrics(server)
        assert _limit(text, "update_rate") == 1
        assert _limit(text, "awareness_rate") == 1
        assert metric(text, 'tandem_connection_closes_total{code="1008"}') == 2


async def test_connections_per_document_and_per_address_are_bounded(tmp_path) -> None:
    env = {"TANDEM_MAX_CONNECTIONS_PER_DOC": "2", "TANDEM_MAX_CONNECTIONS_PER_ADDRESS": "3"}
    async with serving(tmp_path, env=env) as server:
        url = server.ws_url
        async with websockets.connect(f"{url}/a") as a1, websockets.connect(f"{url}/a") as a2:
            await a1.recv()
            await a2.recv()
            assert await closed_with(f"{url}/a") == (
                1013,
                "document full (2 connections); try again later",
            )
            async with websockets.connect(f"{url}/b") as b1:
                await b1.recv()
                assert await closed_with(f"{url}/c") == (
                    1013,
                    "too many connections from your address (limit 3)",
                )
        # Places are given back when sockets close.
        async with websockets.connect(f"{url}/a") as again:
            assert (await again.recv())[:2] == b"\x00\x00"
        text = await _metrics(server)
        assert _limit(text, "connections_per_doc") == 1
        assert _limit(text, "connections_per_address") == 1


async def test_total_connections_and_open_documents_are_bounded(tmp_path) -> None:
    env = {"TANDEM_MAX_CONNECTIONS": "3", "TANDEM_MAX_ROOMS": "2"}
    async with serving(tmp_path, "--unload-delay", "0.1", env=env) as server:
        url = server.ws_url
        async with websockets.connect(f"{url}/a") as a, websockets.connect(f"{url}/b") as b:
            await a.recv()
            await b.recv()
            assert await closed_with(f"{url}/c") == (
                1013,
                "too many documents open (2); try again later",
            )
            async with websockets.connect(f"{url}/a") as a2:
                await a2.recv()
                assert await closed_with(f"{url}/a") == (
                    1013,
                    "server full (3 connections); try again later",
                )
        # Once a and b are unloaded, c opens.

        async def opens() -> bool:
            async with websockets.connect(f"{url}/c") as c:
                frame = await c.recv()
                return isinstance(frame, bytes) and frame[:2] == b"\x00\x00"

        async def try_open() -> bool:
            try:
                return await opens()
            except websockets.exceptions.ConnectionClosed:
                return False

        await eventually(try_open, what="c opens after the others unload")
        text = await _metrics(server)
        assert _limit(text, "rooms") >= 1
        assert _limit(text, "connections") == 1


async def test_a_document_stops_growing_at_its_size_limit(tmp_path, yjs_clients) -> None:
    async with serving(tmp_path, env={"TANDEM_MAX_DOC_BYTES": "3000"}) as server:
        ana = await yjs_clients(server.ws_url, "big")
        ben = await yjs_clients(server.ws_url, "big")
        await ana.call("append", text="small")
        await eventually(ben.xml, lambda x: "small" in x, what="small edits pass")
        await ana.call("append", text="x" * 4000)
        status = await eventually(
            lambda: ana.call("status"), lambda s: s["closes"], what="ana closed"
        )
        assert status["closes"][0]["code"] == 4413
        assert "document size limit reached (3000 bytes)" in status["closes"][0]["reason"]
        await ben.call("append", text="still works")
        async with httpx.AsyncClient() as http:
            text = await eventually(
                lambda: http.get(f"{server.url}/api/docs/big", params={"format": "text"}),
                lambda r: "still works" in r.text,
                what="ben's edit stored",
            )
        assert text.text == "small\nstill works"
        assert _limit(await _metrics(server), "doc_size") == 1


async def test_request_bodies_over_the_limit_get_413(tmp_path) -> None:
    async with (
        serving(tmp_path, env={"TANDEM_MAX_BODY": "1000"}) as server,
        httpx.AsyncClient() as http,
    ):
        response = await http.post(f"{server.url}/api/docs", content=b"x" * 5000)
        assert response.status_code == 413
        assert response.json() == {"error": "request body over 1000 bytes"}
        small = await http.post(f"{server.url}/api/docs", content=b"x" * 10)
        assert small.status_code == 405  # under the limit: the route answers
        assert _limit((await http.get(f"{server.url}/metrics")).text, "body") == 1


async def test_a_dead_peer_is_pinged_and_dropped(tmp_path, yjs_clients) -> None:
    env = {"TANDEM_WS_PING_INTERVAL": "0.3", "TANDEM_WS_PING_TIMEOUT": "0.5"}
    async with serving(tmp_path, env=env) as server:
        alive = await yjs_clients(server.ws_url, "doc")
        raw = await RawWebSocket.connect(f"{server.ws_url}/doc")
        try:
            assert metric(await _metrics(server), "tandem_connections") == 2
            seen = []
            async with asyncio.timeout(10):
                while True:  # read, but never answer the pings
                    opcode, _ = await raw.read_frame()
                    seen.append(opcode)
                    if opcode == 0x8:
                        break
            await raw.wait_eof()
        finally:
            await raw.close()
        assert 0x9 in seen  # pinged before being dropped
        await eventually(
            lambda: _metrics(server),
            lambda t: metric(t, "tandem_connections") == 1,
            what="the dead peer is gone",
        )
        status = await alive.call("status")  # the peer that answers pings stays
        assert status["connected"] and status["closes"] == []
