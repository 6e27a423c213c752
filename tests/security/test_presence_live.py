"""Hostile presence against a live `tandem serve`: one awareness message from a read token never
pins a room, locks a document or fills the hub's memory (issue 13, findings 1 to 3)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.lib0 import MAX_SAFE_INTEGER
from crdt.protocol import AwarenessMessage, encode_awareness, parse_message
from tests.security.conftest import SECRET, metric, serving, token
from tests.support.events import EventWatcher
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

EVE = '{"user":{"name":"eve"}}'


def awareness(*entries: tuple[int, int, str | None]) -> bytes:
    return encode_awareness(encode_awareness_update([AwarenessEntry(*e) for e in entries]))


async def close_of(ws: websockets.ClientConnection, timeout: float = 10) -> tuple[int, str]:
    """Read until the server closes this socket; its code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "no close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def echoed(ws: websockets.ClientConnection, frame: bytes) -> None:
    """Send an awareness change and wait for the server's echo of it (its names stamped by the
    server): it was applied."""
    sent = _clocks(frame)
    await ws.send(frame)
    async with asyncio.timeout(10):
        while not sent <= _clocks(await ws.recv()):  # type: ignore[arg-type]
            pass


def _clocks(frame: bytes) -> set[tuple[int, int]]:
    message = parse_message(frame)
    if not isinstance(message, AwarenessMessage):
        return set()
    return {(e.client_id, e.clock) for e in decode_awareness_update(message.update)}


async def http_get(server: TandemProcess, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        return await http.get(path, headers={"Authorization": f"Bearer {token('admin')}"})


async def open_rooms(server: TandemProcess) -> float:
    return metric((await http_get(server, "/metrics")).text, "tandem_rooms")


async def test_a_clock_that_cannot_be_incremented_is_refused_and_pins_no_room(
    tmp_path, yjs_clients
) -> None:
    async with serving(
        tmp_path, "--auth-secret", SECRET, env={"TANDEM_UNLOAD_DELAY": "0.2"}
    ) as server:
        reader = token("eve", docs=["team-*"], role="read")
        for n in range(3):
            async with websockets.connect(f"{server.ws_url}/team-{n}?token={reader}") as ws:
                await ws.send(awareness((77, MAX_SAFE_INTEGER, EVE)))
                assert await close_of(ws) == (
                    1002,
                    f"protocol error: awareness clock {MAX_SAFE_INTEGER} of client 77 "
                    "cannot be incremented",
                )
        # The highest clock that can still be incremented is fine, and so is leaving with it.
        async with websockets.connect(f"{server.ws_url}/team-last?token={reader}") as ws:
            await echoed(ws, awareness((78, MAX_SAFE_INTEGER - 1, EVE)))
        await eventually(lambda: open_rooms(server), lambda n: n == 0, what="every room unloaded")
        docs = (await http_get(server, "/api/docs")).json()["docs"]
        assert [d["editors"] for d in docs] == [0] * len(docs)

        # No ghost: a new subscriber's current presence has nobody in it but Ana, who joins now.
        watcher = await EventWatcher.connect(server.url, "*", token=token("w", role="read"))
        try:
            await yjs_clients(server.ws_url, "team-0", params={"token": token("ana")})
            await watcher.wait_for(lambda w: len(w.events) >= 1, what="Ana joined")
            assert [(e["user"], e["event"]) for e in watcher.events] == [("ana", "joined")]
        finally:
            await watcher.close()
        assert "Traceback" not in server.output()


async def test_a_lone_surrogate_in_presence_is_refused_and_the_document_stays_open(
    tmp_path, yjs_clients
) -> None:
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        ana = await yjs_clients(
            server.ws_url, "notes", params={"token": token("ana", name="Ana")}, clientId=11
        )
        await ana.call("append", text="written before")
        url = f"{server.ws_url}/notes?token={token('eve', role='read')}"
        async with websockets.connect(url) as ws:
            await echoed(ws, awareness((66, 1, EVE)))
            # Within the throttle window, so the relay of this state is held for later.
            await ws.send(awareness((66, 2, '{"user":{"name":"eve2"},"x":"\\ud800"}')))
            code, reason = await close_of(ws)
        assert (code, reason) == (
            1002,
            "protocol error: awareness state of client 66 has a lone surrogate (not UTF-8)",
        )
        # A pair of surrogate escapes is one character, and welcome.
        async with websockets.connect(url) as ws:
            await echoed(ws, awareness((67, 1, '{"user":{"name":"x"},"e":"\\ud83d\\ude00"}')))

        # Joiners sync and see presence; the throttle still relays Ana's changes to them.
        ben = await yjs_clients(server.ws_url, "notes", params={"token": token("ben")})
        assert "written before" in await ben.xml()
        for step in range(3):
            await ana.call("setAwareness", state={"user": {"name": "Ana"}, "step": step})
            await eventually(
                lambda: ben.call("awareness"),
                lambda states, s=step: states.get("11", {}).get("step") == s,
                what=f"Ana's step {step} relayed",
            )
        await ben.call("disconnect")
        docs = await eventually(
            lambda: http_get(server, "/api/docs"),
            lambda r: r.json()["docs"][0]["editors"] == 1,
            what="only Ana left editing",
        )
        assert docs.json()["docs"][0]["id"] == "notes"
        assert "Traceback" not in server.output()


def _fat_presence(first_id: int, count: int, size: int) -> bytes:
    state = json.dumps({"user": {"name": "eve"}, "pad": "x" * size})
    return awareness(*[(first_id + i, 1, state) for i in range(count)])


async def test_presence_per_connection_is_capped_and_joiners_are_never_locked_out(
    tmp_path, yjs_clients
) -> None:
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        url = f"{server.ws_url}/crowded?token={token('eve', role='read')}"
        async with websockets.connect(url, max_size=None) as ws:
            # 5 x 1,024 client ids x 4 KB: more than a joiner's send queue could take.
            with contextlib.suppress(ConnectionClosed):  # closed after the first
                for n in range(5):
                    await ws.send(_fat_presence(1 + n * 1024, 1024, 4096))
            assert await close_of(ws) == (
                1008,
                "presence limit: at most 8 awareness clients per connection",
            )
        async with websockets.connect(url) as ws:
            await ws.send(awareness((5000, 1, json.dumps({"pad": "x" * 20_000}))))
            assert await close_of(ws) == (
                1008,
                "presence limit: at most 16384 bytes of awareness state per connection",
            )
        # Up to the caps all is well, and a joiner gets presence and the document.
        async with websockets.connect(url) as ws:
            await echoed(ws, _fat_presence(9000, 8, 1000))
            ana = await yjs_clients(server.ws_url, "crowded", params={"token": token("ana")})
            states = await eventually(
                lambda: ana.call("awareness"), lambda s: len(s) == 8, what="eve's presence"
            )
            assert sorted(states) == [str(9000 + i) for i in range(8)]
            assert (await ana.call("status"))["closes"] == []
        text = (await http_get(server, "/metrics")).text
        assert metric(text, 'tandem_limit_exceeded_total{limit="awareness_clients"}') == 1
        assert metric(text, 'tandem_limit_exceeded_total{limit="awareness_bytes"}') == 1


async def test_presence_of_a_document_is_capped_and_frees_up_when_people_leave(
    tmp_path, yjs_clients
) -> None:
    env = {"TANDEM_MAX_AWARENESS_CLIENTS_PER_DOC": "3"}
    async with serving(tmp_path, "--auth-secret", SECRET, env=env) as server:
        url = f"{server.ws_url}/busy?token={token('eve', role='read')}"
        async with contextlib.AsyncExitStack() as stack:
            sockets = [await stack.enter_async_context(websockets.connect(url)) for _ in range(3)]
            for n, ws in enumerate(sockets):
                await echoed(ws, awareness((100 + n, 1, EVE)))
            async with websockets.connect(url) as ws:
                await ws.send(awareness((200, 1, EVE)))
                assert await close_of(ws) == (
                    1013,
                    "presence of this document is full (3 awareness clients); try again later",
                )
            await sockets[0].close()
            ana = await yjs_clients(
                server.ws_url, "busy", params={"token": token("ana")}, awareness={"user": {}}
            )
            await eventually(
                lambda: ana.call("awareness"), lambda s: sorted(s) == ["101", "102"], what="ana"
            )
            assert (await ana.call("status"))["closes"] == []
        text = (await http_get(server, "/metrics")).text
        assert metric(text, 'tandem_limit_exceeded_total{limit="doc_awareness_clients"}') == 1
