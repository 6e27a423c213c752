"""Hostile frames against a live server while stock Yjs clients keep editing the same rooms.

Frames come from hypothesis: mutations of real frames captured from stock Yjs clients, valid
message headers around random payloads, raw bytes, and well-formed updates whose references
(origins, parents, delete sets) point at ids the server never saw, or that nest deep. Each case
sends one or more frames, then a probe (an awareness update the server echoes back) to learn
whether the connection survived; the first malformed frame closes it with 1002/1009 and the
next case reconnects.

Awareness frames have generators of their own (`_awareness_frame`): extreme clocks and client
ids, states around the size limits, lone and paired surrogate escapes, invalid UTF-8; once the
fuzzers are gone, nothing of what they announced may stay in presence.

Two rooms: in `fuzz-r` the fuzzers hold read tokens, so whatever they send, the document must
be exactly what the valid clients wrote; in `fuzz-w` they hold write tokens, so their frames
reach pycrdt (where the panics live) and the valid clients must keep converging with each
other, with a newly joined client and with the server's own export.

`TANDEM_FUZZ_EXAMPLES` sets the number of cases (default 10,000, half per room).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections import Counter
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as connect_sync

from crdt.awareness import (
    MAX_CLOCK,
    AwarenessEntry,
    decode_awareness_update,
    encode_awareness_update,
)
from crdt.lib0 import MAX_SAFE_INTEGER, Encoder
from crdt.protocol import (
    AwarenessMessage,
    SyncStep2,
    encode_awareness,
    encode_query_awareness,
    encode_sync_step1,
    parse_message,
)
from tests.security.conftest import SECRET, serving, token
from tests.support.waiting import eventually

EXAMPLES = int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "10000"))
# Closing a connection is the only acceptable answer to a bad frame (1008: past a presence
# limit); 1011 would be a bug.
EXPECTED_CLOSES = {1002, 1008, 1009}
VALID_IDS = {"ana": 3_141_592_653, "ben": 2_718_281_828, "cid": 1_618_033_988, "dot": 1_414_213_562}


def _varbytes(payload: bytes) -> bytes:
    enc = Encoder()
    enc.write_var_bytes(payload)
    return enc.to_bytes()


async def _capture_real_frames(ws_url: str, yjs_clients: Any) -> list[bytes]:
    """Frames stock Yjs clients really send, as the server relays them (updates that
    arrive together are relayed merged)."""
    frames: list[bytes] = []
    async with websockets.connect(f"{ws_url}/seed?token={token(role='read')}") as observer:
        frames.append(await observer.recv())  # type: ignore[arg-type]
        writer = await yjs_clients(ws_url, "seed", params={"token": token()}, clientId=7)
        await writer.call("setAwareness", state={"user": {"name": "Seed", "color": "#123456"}})
        await writer.call("append", text="hello")
        await writer.call("append", text="wörld ✓")
        await writer.call("typeAt", index=0, offset=2, text="XYZ")
        await writer.call("formatAt", index=1, offset=0, length=3, mark="strong")
        await writer.call("formatAt", index=0, offset=1, length=2, mark="link", attrs={"href": "x"})
        await writer.call("setAwareness", state={"user": {"name": "Seed 2"}, "cursor": None})
        await observer.send(encode_sync_step1(b"\x00"))
        async with asyncio.timeout(10):  # everything relayed, then the answer to our step 1
            while not isinstance(frames[-1], bytes) or frames[-1][:2] != b"\x00\x01":
                frames.append(await observer.recv())  # type: ignore[arg-type]
    frames += [
        bytes.fromhex(await writer.call("stateVector")),
        encode_sync_step1(bytes.fromhex(await writer.call("stateVector"))),
        b"\x00\x01" + _varbytes(bytes.fromhex(await writer.call("encodeState"))),
        b"\x03",
    ]
    return [f for f in frames if isinstance(f, bytes)]


@st.composite
def _mutated(draw: st.DrawFn, corpus: list[bytes]) -> bytes:
    frame = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut", "splice", "big"]))
        at = draw(st.integers(0, max(len(frame) - 1, 0)))
        if op == "flip" and frame:
            frame[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and frame:
            frame[at] = draw(
                st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))])
            )
        elif op == "insert":
            frame[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and frame:
            del frame[at : at + draw(st.integers(1, 8))]
        elif op == "cut":
            del frame[at:]
        elif op == "splice":
            other = draw(st.sampled_from(corpus))
            frame[at:] = other[draw(st.integers(0, len(other))) :]
        elif op == "big":  # a varint that claims a huge length or count
            frame[at:at] = draw(st.sampled_from([b"\xff\xff\xff\xff\x0f", b"\x80\x80\x80\x80\x01"]))
    return bytes(frame)


def _framed() -> st.SearchStrategy[bytes]:
    """A valid message header around arbitrary content."""
    header = st.sampled_from([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01", b"\x02\x00"])
    return st.builds(lambda h, p: h + _varbytes(p), header, st.binary(max_size=96))


# -- awareness: clocks, client ids, state sizes and encodings ----------------------------------

_FUZZ_MARK = "fz"  # every generated state carries it, so what stays in presence can be told


def _varuint(n: int) -> bytes:
    """A lib0 varUint of any size (past 53 bits too, which our Encoder refuses to write)."""
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def _awareness_state(hostile: bool) -> st.SearchStrategy[bytes]:
    """JSON states as a client would send them (around the size limits), and, when `hostile`,
    as no client should: lone surrogate escapes, invalid UTF-8, not JSON, too big."""
    piece = st.sampled_from(["\\ud83d\\ude00", "\\\\ud800", "é", "😀", ""]) | st.text(
        max_size=8
    ).map(lambda t: json.dumps(t)[1:-1])
    sizes = [0, 1, 100, 4000, 8 * 1024, 16 * 1024]
    if hostile:
        piece |= st.sampled_from(["\\ud800", "\\udfff", "\\udbff\\udbff", "\\ude00\\ud83d"])
        sizes.append(70_000)  # past what one entry may hold
    named = st.builds(
        lambda name, extra, pad: (
            f'{{"user":{{"name":"{name}"}},"{_FUZZ_MARK}":"{extra}","pad":"{"x" * pad}"}}'
        ).encode(),
        piece,
        piece,
        st.sampled_from(sizes),
    )
    if not hostile:
        return named | st.just(b"null")
    odd = st.sampled_from(
        [b"null", b"NaN", b'"\xed\xa0\x80"', b"\xff", b"[" * 3000 + b"]" * 3000, b""]
    )
    return st.one_of(named, named, odd, st.binary(max_size=16))


@st.composite
def _awareness_frame(draw: st.DrawFn) -> bytes:
    """One awareness message of up to a dozen entries (more clients than a connection may
    announce). Half are hostile: clocks past the last one that can be incremented, states no
    client may send, a count that claims more entries than follow."""
    hostile = draw(st.booleans())
    ids = st.sampled_from([0, 1, 2**31, 2**32 - 1, MAX_SAFE_INTEGER]) | st.integers(0, 64)
    clocks = st.sampled_from([0, 1, 2, MAX_CLOCK - 1, MAX_CLOCK]) | st.integers(0, MAX_CLOCK)
    if hostile:
        clocks |= st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 2**64])
    entries = draw(
        st.lists(st.tuples(ids, clocks, _awareness_state(hostile)), min_size=1, max_size=12)
    )
    extra = draw(st.sampled_from([0, 0, 0, 1, 1000])) if hostile else 0
    payload = _varuint(len(entries) + extra)
    for client_id, clock, state in entries:
        payload += _varuint(client_id) + _varuint(clock) + _varuint(len(state)) + state
    return b"\x01" + _varbytes(payload)


def _carries(frame: bytes | str, client_id: int, clock: int) -> bool:
    """Whether a frame from the server relays this awareness entry (the throttle may relay it
    together with other held states of the same connection)."""
    message = parse_message(frame) if isinstance(frame, bytes) else None
    if not isinstance(message, AwarenessMessage):
        return False
    entries = decode_awareness_update(message.update)
    return any(e.client_id == client_id and e.clock == clock for e in entries)


async def _fuzzed_presence(ws_url: str, doc: str) -> list[AwarenessEntry]:
    """What a newcomer is told of presence in `doc` that a fuzzer announced."""
    async with websockets.connect(f"{ws_url}/{doc}?token={token(role='read')}") as ws:
        await ws.send(encode_query_awareness())
        async with asyncio.timeout(10):
            while not isinstance(message := parse_message(await ws.recv()), AwarenessMessage):  # type: ignore[arg-type]
                pass
    entries = decode_awareness_update(message.update)
    return [e for e in entries if e.state is not None and _FUZZ_MARK in e.state]


# -- update references: ids the server never saw, cycles, unknown deletes, nesting ------------

_ID = tuple[int, int]


@st.composite
def _reference(draw: st.DrawFn, clients: list[int]) -> _ID:
    """An id an item may refer to: a valid client's past what it wrote (its real items are
    left alone: the test checks every valid edit survives), one of the update's own clients
    (a cycle, a forward reference), or one nobody ever used."""
    client = draw(st.sampled_from([*VALID_IDS.values(), *clients, 1, 2**31 - 1, 2**53 - 1]))
    if client in VALID_IDS.values():
        return client, draw(st.integers(2**20, 2**53 - 1))
    return client, draw(st.one_of(st.integers(0, 8), st.integers(0, 2**32), st.just(2**53 - 1)))


@st.composite
def _update_with_references(draw: st.DrawFn) -> bytes:
    """A well-formed update whose origins, right origins, parents and delete set point at
    arbitrary ids: the server must refuse what it cannot integrate, never keep it pending."""
    clients = draw(st.lists(st.integers(1, 2**32), min_size=1, max_size=3, unique=True))
    enc = Encoder()
    enc.write_var_uint(len(clients))
    for client in clients:
        count = draw(st.integers(1, 4))
        enc.write_var_uint(count)
        enc.write_var_uint(client)
        enc.write_var_uint(draw(st.integers(0, 3)))
        for _ in range(count):
            origin = draw(st.none() | _reference(clients))
            right = draw(st.none() | _reference(clients))
            enc.write_u8(0x04 | (0x80 if origin else 0) | (0x40 if right else 0))
            for ref in (origin, right):
                if ref is not None:
                    enc.write_var_uint(ref[0])
                    enc.write_var_uint(ref[1])
            if origin is None and right is None:
                parent = draw(st.none() | _reference(clients))
                if parent is None:
                    enc.write_var_uint(1)
                    enc.write_var_string(draw(st.sampled_from(["content", "t"])))
                else:
                    enc.write_var_uint(0)
                    enc.write_var_uint(parent[0])
                    enc.write_var_uint(parent[1])
            # No astral characters: a reference into the middle of one splits a surrogate pair,
            # which Yjs peers resolve differently (U+FFFD) whatever the hub does.
            bmp = st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])
            enc.write_var_string(draw(st.text(bmp, min_size=1, max_size=4)))
    deletes = draw(st.lists(st.tuples(_reference(clients), st.integers(1, 2**20)), max_size=3))
    enc.write_var_uint(len(deletes))
    for (client, clock), length in deletes:  # one range per entry: a client may repeat
        enc.write_var_uint(client)
        enc.write_var_uint(1)
        enc.write_var_uint(clock)
        enc.write_var_uint(length)
    return enc.to_bytes()


@st.composite
def _nested_elements(draw: st.DrawFn) -> bytes:
    """Elements nested N deep in one update, each the parent of the next (the renderers and
    the history must walk it without recursion). Kept well under what Yjs' own toString
    survives: the valid clients of this test print their documents."""
    depth = draw(st.integers(1, 300))
    client = draw(st.integers(1, 2**32))
    # Most also delete what they nest (in the same update), so the room does not fill up.
    deleted = draw(st.integers(0, 9)) > 0
    tag = draw(st.sampled_from(["blockquote", "bullet_list", "list_item", "x"]))
    enc = Encoder()
    for value in (1, depth, client, 0):
        enc.write_var_uint(value)
    for clock in range(depth):
        enc.write_u8(0x07)  # a type item, with its parent given
        if clock == 0:
            enc.write_var_uint(1)
            enc.write_var_string("content")
        else:
            enc.write_var_uint(0)
            enc.write_var_uint(client)
            enc.write_var_uint(clock - 1)
        enc.write_var_uint(3)  # YXmlElement
        enc.write_var_string(tag)
    for value in (1, client, 1, 0, depth) if deleted else (0,):
        enc.write_var_uint(value)
    return enc.to_bytes()


def _reference_frames() -> st.SearchStrategy[bytes]:
    """Updates with hostile references or nesting, as update messages or sync step 2."""
    header = st.sampled_from([b"\x00\x02", b"\x00\x01"])
    update = st.one_of(_update_with_references(), _nested_elements())
    return st.builds(lambda h, u: h + _varbytes(u), header, update)


class Fuzzer:
    """One connection at a time; a new one after each close."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection | None = None
        self._open = contextlib.ExitStack()
        self.cases = 0
        self.frames = 0
        self.closes: Counter[int | None] = Counter()
        self.survived = 0
        self._client = 0
        self._clock = 0

    def case(self, frames: list[bytes]) -> None:
        if self.ws is None:
            self.ws = self._open.enter_context(
                connect_sync(self.url, open_timeout=10, compression=None)
            )
            # Not `random`: hypothesis seeds it, and a reused id would not be echoed again.
            self._client = secrets.randbits(30) | 1 << 30
        self.cases += 1
        self._clock += 1
        probe = encode_awareness(
            encode_awareness_update([AwarenessEntry(self._client, self._clock, "{}")])
        )
        try:
            for frame in frames:
                self.ws.send(frame)
                self.frames += 1
            self.ws.send(probe)  # the server echoes our own awareness change back
            while not _carries(self.ws.recv(timeout=15), self._client, self._clock):
                pass
            self.survived += 1
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            self.closes[code] += 1
            self._open.close()
            self.ws = None
            assert code in EXPECTED_CLOSES, f"closed with {code}: {closed.rcvd}"

    def run(self, corpus: list[bytes], examples: int) -> None:
        frame = st.one_of(
            _mutated(corpus),
            _mutated(corpus),
            _framed(),
            st.binary(max_size=64),
            _awareness_frame(),
            _reference_frames(),
        )

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(frame, min_size=1, max_size=3))
        def fuzz(frames: list[bytes]) -> None:
            self.case(frames)

        with self._open:
            fuzz()


async def _server_xml(ws_url: str, doc: str, reader: Any) -> str:
    """The server's own export of a document, as Yjs (`reader`, a stock client) prints it.

    Not pycrdt's printing: for content no editor writes (a string straight into an XML
    element, which the writers' generators produce) yrs' XML views show less than Yjs."""
    async with websockets.connect(f"{ws_url}/{doc}?token={token(role='read')}") as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        async with asyncio.timeout(10):
            while not isinstance(message := parse_message(await ws.recv()), SyncStep2):  # type: ignore[arg-type]
                pass
    return str(await reader.call("xmlOfUpdate", hex=message.update.hex()))


@pytest.mark.timeout(max(300, EXAMPLES // 10))  # ~40 cases a second on a busy 2-core machine
async def test_hostile_frames_never_hurt_the_server_or_the_room(tmp_path, yjs_clients) -> None:
    env = {  # the fuzzers send as fast as they can: rate limits are tested elsewhere
        "TANDEM_UPDATE_RATE": "1000000",
        "TANDEM_UPDATE_BURST": "1000000",
        "TANDEM_AWARENESS_RATE": "1000000",
        "TANDEM_AWARENESS_BURST": "1000000",
        "TANDEM_LOG_LEVEL": "warning",
    }
    async with serving(tmp_path, "--auth-secret", SECRET, env=env) as server:
        url = server.ws_url
        corpus = await _capture_real_frames(url, yjs_clients)
        assert len(corpus) >= 9
        valid = {
            name: await yjs_clients(
                url,
                "fuzz-r" if name in {"ana", "ben"} else "fuzz-w",
                params={"token": token(name)},
                clientId=client_id,
            )
            for name, client_id in VALID_IDS.items()
        }
        written: dict[str, list[str]] = {"fuzz-r": [], "fuzz-w": []}
        done = asyncio.Event()

        async def edit() -> None:  # the valid clients keep writing during the whole run
            turn = 0
            while not done.is_set():
                for name, client in valid.items():
                    text = f"{name} {turn}"
                    await client.call("append", text=text)
                    written["fuzz-r" if name in {"ana", "ben"} else "fuzz-w"].append(text)
                turn += 1
                await asyncio.sleep(0.5)

        readers = Fuzzer(f"{url}/fuzz-r?token={token('r', role='read')}")
        writers = Fuzzer(f"{url}/fuzz-w?token={token('w', role='write')}")
        started = time.perf_counter()
        editing = asyncio.create_task(edit())
        try:
            await asyncio.to_thread(readers.run, corpus, EXAMPLES // 2)
            await asyncio.to_thread(writers.run, corpus, EXAMPLES - EXAMPLES // 2)
        finally:
            done.set()
            await editing
        elapsed = time.perf_counter() - started

        assert server.proc is not None and server.proc.returncode is None, "the server died"
        log = server.output()
        assert "Traceback" not in log
        panics = [line for line in log.splitlines() if "PanicException" in line]
        assert all("event=connection_closed" in line for line in panics), panics[:3]

        # The fuzzers are gone, and so is everything they announced.
        for room in ("fuzz-r", "fuzz-w"):
            await eventually(
                lambda r=room: _fuzzed_presence(url, r), lambda left: not left, what="no ghosts"
            )

        # Read-only fuzzers changed nothing: the room holds exactly what ana and ben wrote.
        ana, ben = valid["ana"], valid["ben"]
        await eventually(
            lambda: _server_xml(url, "fuzz-r", ana),
            lambda x: x.count("<paragraph>") == len(written["fuzz-r"]),
        )
        expected = await ana.xml()
        assert await ben.xml() == expected == await _server_xml(url, "fuzz-r", ana)
        assert sorted(expected.replace("</paragraph>", "").split("<paragraph>")[1:]) == sorted(
            written["fuzz-r"]
        )
        late = await yjs_clients(url, "fuzz-r", params={"token": token("late")})
        assert await late.xml() == expected

        # Writers reached pycrdt; the valid clients, a newcomer and the server still agree.
        cid, dot = valid["cid"], valid["dot"]
        newcomer = await yjs_clients(url, "fuzz-w", params={"token": token("new")})
        final = await eventually(
            lambda: asyncio.gather(
                cid.xml(), dot.xml(), newcomer.xml(), _server_xml(url, "fuzz-w", cid)
            ),
            lambda xs: len(set(xs)) == 1,
            what="fuzz-w converges",
        )
        for text in written["fuzz-w"]:
            assert f"<paragraph>{text}</paragraph>" in final[0]
        for client in valid.values():
            assert [c for c in (await client.call("status"))["closes"] if c["code"]] == []

        fuzzers = (readers, writers)
        refused = sum("pycrdt refused" in line for line in log.splitlines())
        print(
            f"\nfuzz: {sum(f.cases for f in fuzzers)} cases, {sum(f.frames for f in fuzzers)} "
            f"frames in {elapsed:.1f}s ({EXAMPLES / elapsed:.0f}/s); "
            f"connection survived {sum(f.survived for f in fuzzers)}, "
            f"closed {dict(readers.closes + writers.closes)}; pycrdt refused {refused} updates "
            f"({len(panics)} panics), all caught; server alive, 0 tracebacks; "
            f"valid edits {len(written['fuzz-r'])} (read room, exact) + "
            f"{len(written['fuzz-w'])} (write room, converged)"
        )
