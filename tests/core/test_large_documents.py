"""Large documents: initial syncs streamed with backpressure, never refused as backlog.

Real `tandem serve` processes, stock Yjs clients (tests/js/client.mjs) and a raw socket that
reads slowly; README, "Large documents".
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.protocol import encode_awareness
from tests.support.rawws import RawWebSocket
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

SYNC_STEP1_EMPTY = bytes([0, 0, 1, 0])  # sync, step 1, a state vector of no clients


async def _equal_documents(a: YjsClient, b: YjsClient, timeout: float = 60) -> dict[str, Any]:
    async def both() -> tuple[Any, Any]:
        return await a.call("digest", timeout=60), await b.call("digest", timeout=60)

    first, _ = await eventually(
        both, lambda pair: pair[0] == pair[1], timeout=timeout, what="equal documents"
    )
    return dict(first)


async def test_a_document_over_the_old_send_queue_bound_syncs_for_stock_clients(
    tmp_path: Path,
) -> None:
    """18 MB: its sync step 2 alone would pass the 16 MiB send-queue bound that used to close
    every joiner with 1013. It streams in bounded frames, before and after a restart."""
    store = f"sqlite:///{tmp_path / 'large.db'}"
    server = await TandemProcess("--port", "0", "--store", store).start()
    builder = joiner = None
    try:
        builder = await YjsClient.connected(server.ws_url, "big")
        await builder.call("build", megabytes=18, timeout=300)
        joiner = await YjsClient.connected(server.ws_url, "big", syncTimeoutMs=120000, timeout=150)
        digest = await _equal_documents(builder, joiner)
        assert digest["length"] > 17_000_000
        received = await joiner.call("received")
        assert received["bytes"] > 16 * 1024 * 1024
        assert received["updatesBeforeSynced"] >= 10, received  # streamed, not one step 2
        assert received["maxFrame"] < 8 * 1024 * 1024, received
        status = await joiner.call("status")
        assert status["closes"] == [], status
        await joiner.close()
        await builder.close()
        builder = joiner = None
        assert await server.stop() == 0
        # Loaded from the store (in the worker, applied piece by piece), streamed again.
        server = await TandemProcess("--port", "0", "--store", store).start()
        joiner = await YjsClient.connected(server.ws_url, "big", syncTimeoutMs=120000, timeout=150)
        assert await joiner.call("digest", timeout=60) == digest
        assert (await joiner.call("received"))["updatesBeforeSynced"] >= 10
        assert "send_queue_overflow" not in server.output()
    finally:
        for client in (builder, joiner):
            if client is not None:
                await client.close()
        await server.stop()


async def test_a_client_joining_during_a_streamed_sync_while_others_type_ends_equal() -> None:
    """Updates applied while a joiner's stream is under way reach it after the stream, in
    order: it ends equal to the typists, and the typists to each other."""
    server = await TandemProcess(
        "--port", "0", "--store", "memory://", env={"TANDEM_SYNC_CHUNK_BYTES": "65536"}
    ).start()
    clients: list[YjsClient] = []
    try:
        builder = await YjsClient.connected(server.ws_url, "busy")
        typist = await YjsClient.connected(server.ws_url, "busy")
        clients += [builder, typist]
        await builder.call("build", megabytes=3, batchBytes=100000, timeout=120)
        typing = asyncio.gather(
            typist.call("typeFor", ms=2500, every=5, timeout=30),
            builder.call("typeFor", ms=2500, every=7, prefix="b", timeout=30),
        )
        await asyncio.sleep(0.3)  # joiners arrive while both type
        joiners = [
            await YjsClient.connected(server.ws_url, "busy", syncTimeoutMs=60000, timeout=90)
            for _ in range(3)
        ]
        clients += joiners
        typed = await typing
        assert all(count > 50 for count in typed), typed
        expected = await _equal_documents(builder, typist)
        for joiner in joiners:
            assert await _equal_documents(joiner, builder) == expected
            assert (await joiner.call("received"))["updatesBeforeSynced"] >= 10
    finally:
        for client in clients:
            await client.close()
        await server.stop()


async def _slow_socket(ws_url: str, path: str) -> RawWebSocket:
    """A raw WebSocket whose receive buffer is tiny: the server sees backpressure at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = ws_url.removeprefix("ws://").split("/")[0].split(":")
    sock.connect((host, int(port)))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    return await RawWebSocket.handshake(reader, writer, f"{ws_url}/{path}")


async def _read_frame_slowly(raw: RawWebSocket, piece: int = 16384) -> tuple[int, bytes]:
    """The next frame, its payload read a piece every 20 ms (a slow link)."""
    first, second = await raw.reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await raw.reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await raw.reader.readexactly(8))
    payload = bytearray()
    while len(payload) < length:
        payload += await raw.reader.readexactly(min(piece, length - len(payload)))
        await asyncio.sleep(0.02)
    return first & 0x0F, bytes(payload)


def _send(raw: RawWebSocket, message: bytes) -> None:
    mask = raw.send_header(len(message))
    raw.send_payload(message, mask)


@pytest.mark.timeout(240)
async def test_a_slow_reader_is_closed_for_live_backlog_but_never_for_its_initial_sync() -> None:
    # A send queue of 256 KiB: the 2 MB initial sync is eight times over it (and the
    # document's presence must fit in half of it).
    env = {
        "TANDEM_SYNC_CHUNK_BYTES": "65536",
        "TANDEM_SEND_QUEUE_BYTES": str(256 * 1024),
        "TANDEM_MAX_AWARENESS_CLIENTS_PER_DOC": "64",
        "TANDEM_MAX_AWARENESS_BYTES_PER_DOC": str(64 * 1024),
    }
    server = await TandemProcess("--port", "0", "--store", "memory://", env=env).start()
    writer = None
    try:
        writer = await YjsClient.connected(server.ws_url, "slow")
        await writer.call("build", megabytes=2, batchBytes=50000, timeout=120)
        raw = await _slow_socket(server.ws_url, "slow")
        _send(raw, SYNC_STEP1_EMPTY)
        got = 0
        while True:  # read slowly: a frame every 20 ms
            opcode, payload = await raw.read_frame()
            assert opcode != 0x8, f"closed during its initial sync: {payload!r}"
            if payload[:1] == b"\x00":
                got += len(payload)
                if payload[1:2] == b"\x01":  # sync step 2: synced
                    break
            await asyncio.sleep(0.02)
        assert got > 2_000_000
        # Now it stops reading while the writer goes on: live backlog, bounded, closed.
        await writer.call("build", megabytes=8, batchBytes=50000, prefix="live ", timeout=180)

        async def log() -> str:
            return server.output()

        await eventually(log, lambda text: "event=send_queue_overflow" in text, timeout=60)
        async with asyncio.timeout(60):
            code, reason = await raw.read_close()
        assert (code, reason) == (1013, "too slow: send queue overflowed")
        await raw.close()
    finally:
        if writer is not None:
            await writer.close()
        await server.stop()


@pytest.mark.timeout(240)
async def test_a_silent_joiner_on_a_slow_link_loses_its_presence_never_its_socket() -> None:
    """A client that promised a heartbeat and reads a large initial sync slowly, saying nothing
    meanwhile, looks dead: its presence goes after the timeout (2 s here), but the socket is
    never closed for it; the sync arrives whole, and the next frame brings the client back."""
    env = {"TANDEM_SYNC_CHUNK_BYTES": "65536", "TANDEM_PRESENCE_TIMEOUT": "2"}
    server = await TandemProcess("--port", "0", "--store", "memory://", env=env).start()
    writer = None
    try:
        writer = await YjsClient.connected(server.ws_url, "slow-joiner")
        await writer.call("build", megabytes=2, batchBytes=50000, timeout=120)
        raw = await _slow_socket(server.ws_url, "slow-joiner?heartbeat=1")
        state = AwarenessEntry(77, 1, '{"user":{"name":"Slow","color":"#123456"}}')
        _send(raw, encode_awareness(encode_awareness_update([state])))
        await eventually(
            lambda: writer.call("awareness", timeout=10),
            lambda others: "77" in others,
            what="the joiner's presence",
        )
        _send(raw, SYNC_STEP1_EMPTY)
        started = time.monotonic()
        got = 0
        while True:  # 16 KiB every 20 ms: about 3 s for the 2 MB of the sync
            opcode, payload = await _read_frame_slowly(raw)
            assert opcode != 0x8, f"closed during its initial sync: {payload!r}"
            if payload[:1] == b"\x00":
                got += len(payload)
                if payload[1:2] == b"\x01":  # sync step 2: synced
                    break
        assert got > 2_000_000
        assert time.monotonic() - started > 2.5  # longer than its presence lasts
        assert "event=peer_silent doc=slow-joiner" in server.output()
        assert "event=send_queue_overflow" not in server.output()
        # Its presence was withdrawn for everyone (a removal of client 77 went out).
        others = await writer.call("awareness", timeout=10)
        assert "77" not in others, others
        _send(raw, encode_awareness(encode_awareness_update([AwarenessEntry(77, 9, state.state)])))

        async def log() -> str:
            return server.output()

        await eventually(log, lambda text: "event=peer_returned doc=slow-joiner" in text)
        await raw.close()
    finally:
        if writer is not None:
            await writer.close()
        await server.stop()
