"""Sockets that never finish a request head: bounded in bytes and in time, against a live server.

Before, 4 connections x 48 MiB of unfinished headers took the server's RSS from 64 to 261 MB,
and silent or half-sent sockets stayed open for as long as their peer liked."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
import websockets

from tests.security.conftest import metric, serving
from tests.support.tandem import TandemProcess

FAST = {"TANDEM_HEAD_TIMEOUT": "1"}


def _peak_rss_mib(server: TandemProcess) -> float:
    assert server.proc is not None
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def _open(server: TandemProcess) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def _answer(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the socket (fails after `within` s)."""
    async with asyncio.timeout(within):
        return await reader.read()


async def test_a_silent_socket_is_closed(tmp_path: Path) -> None:
    async with serving(tmp_path, env=FAST) as server:
        reader, writer = await _open(server)
        started = time.perf_counter()
        try:
            assert await _answer(reader, 10) == b""  # closed, nothing said: nothing was asked
        finally:
            writer.close()
        print(f"silent socket closed after {time.perf_counter() - started:.2f}s")


async def test_a_head_sent_a_byte_at_a_time_gets_408(tmp_path: Path) -> None:
    async with serving(tmp_path, env=FAST) as server:
        reader, writer = await _open(server)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")

            async def trickle() -> None:  # slowloris: keeps the socket busy, never finishes
                with contextlib.suppress(ConnectionError):
                    for _ in range(100):
                        writer.write(b"X")
                        await writer.drain()
                        await asyncio.sleep(0.2)

            dripping = asyncio.create_task(trickle())
            answer = await _answer(reader, 10)
            dripping.cancel()
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"request head not received within 1 s" in answer


async def test_a_head_over_the_limit_gets_431_and_costs_no_memory(tmp_path: Path) -> None:
    async with serving(tmp_path, env={"TANDEM_MAX_HEAD_BYTES": "16384"}) as server:
        before = _peak_rss_mib(server)
        answers = []
        for _ in range(4):  # each would carry 48 MiB of header value if the server took it
            reader, writer = await _open(server)
            answer = asyncio.create_task(_answer(reader, 20))
            try:
                writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
                with contextlib.suppress(ConnectionError):
                    for _ in range(48 * 16):
                        if answer.done():
                            break
                        writer.write(b"a" * 65536)
                        await writer.drain()
                answers.append(await answer)
            finally:
                writer.close()
        grew = _peak_rss_mib(server) - before
        print(f"peak RSS grew {grew:.1f} MiB over 4 heads of up to 48 MiB")
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            assert b"request head over 16384 bytes" in answer
        assert grew < 16, f"peak memory grew by {grew:.0f} MiB"
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"{server.url}/metrics")).text
        assert metric(text, 'tandem_limit_exceeded_total{limit="head_size"}') == 4


async def test_ordinary_requests_and_sockets_are_untouched(tmp_path: Path) -> None:
    async with serving(tmp_path, env=FAST) as server, httpx.AsyncClient() as http:
        big_cookie = {"Cookie": "c=" + "x" * 30_000}  # under the 64 KiB default
        for _ in range(2):  # kept alive between the two
            response = await http.get(f"{server.url}/api/docs", headers=big_cookie)
            assert response.status_code == 200
        body = b'{"label": "' + b"y" * 150 + b'"}'
        response = await http.post(f"{server.url}/api/docs/none/versions", content=body)
        assert response.status_code == 404  # the route answered: a body is not a head
        async with websockets.connect(f"{server.ws_url}/doc") as ws:
            await asyncio.sleep(1.5)  # past the head timeout: an open socket is not a head
            await ws.send(b"\x03")  # query awareness: answered
            async with asyncio.timeout(5):
                while (await ws.recv())[:1] != b"\x01":
                    pass


async def test_whole_requests_arriving_at_once_are_not_mistaken_for_a_long_head(
    tmp_path: Path,
) -> None:
    """A read may hold a whole request, body and all (a busy server reads what piled up):
    its bytes are not a head, however many."""
    async with serving(tmp_path) as server:
        reader, writer = await _open(server)
        try:
            body = b'{"label": "' + b"z" * 150_000 + b'"}'
            request = (
                b"POST /api/docs/none/versions HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            ) + body
            for _ in range(10):  # kept alive: each written at once, after the previous answer
                writer.write(request)
                async with asyncio.timeout(10):
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    await reader.readexactly(length)
                assert head.startswith(b"HTTP/1.1 400 "), head  # the label is too long: a 400
        finally:
            writer.close()
