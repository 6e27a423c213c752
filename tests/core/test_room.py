"""The room and hub without a network: a fake channel records what each connection is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pycrdt import Doc, Text

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.document import Document
from crdt.protocol import (
    AuthMessage,
    AwarenessMessage,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    encode_awareness,
    encode_sync_step1,
    encode_sync_update,
    parse_message,
)
from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.core.limits import LimitExceeded, PresenceLimits
from server.core.listeners import HubListener
from server.core.room import Room
from server.stores.memory import MemoryStore
from tests.support.channels import RecordingChannel
from tests.support.rooms import edit, queued
from tests.support.waiting import eventually, now


def test_join_sends_sync_step1_and_current_awareness() -> None:
    room = Room("r", Document())
    first = Connection(RecordingChannel())
    room.join(first)
    state = encode_awareness_update([AwarenessEntry(7, 1, '{"user":{"name":"Ana"}}')])
    room.receive(first, encode_awareness(state))
    second = Connection(RecordingChannel())
    room.join(second)
    messages = queued(second)
    assert isinstance(messages[0], SyncStep1)
    assert isinstance(messages[1], AwarenessMessage)
    assert decode_awareness_update(messages[1].update)[0].client_id == 7


def test_updates_reach_every_other_connection_but_not_the_sender() -> None:
    room = Room("r", Document())
    a, b, c = (Connection(RecordingChannel()) for _ in range(3))
    for conn in (a, b, c):
        room.join(conn)
        conn.flush()
    _, update = edit(1, "hello")
    room.receive(a, encode_sync_update(update))
    assert queued(a) == []
    assert [type(m) for m in queued(b)] == [SyncUpdate] == [type(m) for m in queued(c)]
    assert str(room.document.ydoc.get("t", type=Text)) == "hello"


def test_step1_is_answered_with_the_missing_part() -> None:
    room = Room("r", Document())
    writer = Connection(RecordingChannel())
    room.join(writer)
    _, update = edit(1, "abc")
    room.receive(writer, encode_sync_update(update))
    reader = Connection(RecordingChannel())
    room.join(reader)
    reader.flush()
    room.receive(reader, encode_sync_step1(Doc().get_state()))
    (answer,) = queued(reader)
    assert isinstance(answer, SyncStep2)
    fresh = Doc()
    fresh.apply_update(answer.update)
    assert str(fresh.get("t", type=Text)) == "abc"


def test_awareness_echo_is_not_relayed_again() -> None:
    room = Room("r", Document())
    a, b = Connection(RecordingChannel()), Connection(RecordingChannel())
    room.join(a)
    room.join(b)
    a.flush()
    b.flush()
    frame = encode_awareness(encode_awareness_update([AwarenessEntry(5, 3, '{"x":1}')]))
    room.receive(a, frame)
    assert len(queued(b)) == 1
    room.receive(b, frame)  # b echoes what it received, as stock clients do
    assert len(queued(a)) == 1 and len(queued(b)) == 1


def test_renewals_go_back_to_the_sender_and_to_others_only_every_ten_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("server.core.room.time.monotonic", lambda: clock[0])
    room = Room("r", Document())
    a, b = Connection(RecordingChannel()), Connection(RecordingChannel())
    room.join(a)
    room.join(b)
    room.receive(a, _awareness(AwarenessEntry(5, 1, '{"x":1}')))
    a.flush()
    b.flush()
    relayed_to_b = []
    for second in range(4, 25, 4):  # our client's heartbeat: the same state every 4 s
        clock[0] = 1000.0 + second
        room.receive(a, _awareness(AwarenessEntry(5, 1 + second, '{"x":1}')))
        assert len(queued(a)) == 1  # the sender always hears its renewal back
        a.flush()
        if queued(b):
            relayed_to_b.append(second)
            b.flush()
    assert relayed_to_b == [12, 24]  # at least 10 s apart, well inside y-protocols' 30 s
    # A change of state is news: relayed at once.
    room.receive(a, _awareness(AwarenessEntry(5, 30, '{"x":2}')))
    assert len(queued(b)) == 1


def test_a_connection_cannot_change_awareness_it_does_not_own() -> None:
    room = Room("r", Document())
    a, b = Connection(RecordingChannel()), Connection(RecordingChannel())
    room.join(a)
    room.join(b)
    room.receive(a, encode_awareness(encode_awareness_update([AwarenessEntry(5, 1, "{}")])))
    room.receive(b, encode_awareness(encode_awareness_update([AwarenessEntry(5, 9, None)])))
    assert 5 in room.awareness


def test_leaving_removes_every_awareness_client_the_socket_announced() -> None:
    room = Room("r", Document())
    a, b = Connection(RecordingChannel()), Connection(RecordingChannel())
    room.join(a)
    room.join(b)
    entries = [AwarenessEntry(5, 1, "{}"), AwarenessEntry(6, 1, "{}")]
    room.receive(a, encode_awareness(encode_awareness_update(entries)))
    b.flush()
    room.leave(a)
    (removal,) = queued(b)
    assert isinstance(removal, AwarenessMessage)
    removed = decode_awareness_update(removal.update)
    assert {(e.client_id, e.state) for e in removed} == {(5, None), (6, None)}
    assert len(room.awareness) == 0


class _Unencodable(Document):
    def state_vector(self) -> bytes:
        raise RuntimeError("cannot encode")


def test_a_join_that_fails_leaves_nothing_behind() -> None:
    room = Room("r", _Unencodable())
    conn = Connection(RecordingChannel())
    with pytest.raises(RuntimeError):
        room.join(conn)
    assert room.connections == set() and room.empty_since is not None


def test_a_connection_past_its_presence_limits_withdraws_all_it_announced() -> None:
    room = Room("r", Document(), presence=PresenceLimits(clients_per_connection=2))
    a, b = Connection(RecordingChannel()), Connection(RecordingChannel())
    room.join(a)
    room.join(b)
    room.receive(a, _awareness(AwarenessEntry(5, 1, "{}")))
    b.flush()
    with pytest.raises(LimitExceeded) as refused:
        room.receive(a, _awareness(AwarenessEntry(6, 1, "{}"), AwarenessEntry(7, 1, "{}")))
    assert (refused.value.limit, refused.value.close_code) == ("awareness_clients", 1008)
    assert len(room.awareness) == 0 and not a.awareness_ids
    # b saw 5 go, and never saw 6 or 7 present.
    (removal,) = queued(b)
    assert isinstance(removal, AwarenessMessage)
    removed = decode_awareness_update(removal.update)
    assert {(e.client_id, e.state) for e in removed} == {(5, None), (6, None), (7, None)}


def test_an_awareness_id_belongs_to_whoever_announced_it_first_here_or_on_another_hub() -> None:
    room = Room("r", Document())
    local = Connection(RecordingChannel())
    room.join(local)
    room.receive(local, _awareness(AwarenessEntry(1, 1, '{"here":1}')))
    assert room.apply_remote_awareness([AwarenessEntry(2, 1, '{"there":1}')], "hub-a")
    # Nobody takes over an id someone else holds: not a local socket, not another hub.
    assert not room.apply_remote_awareness([AwarenessEntry(1, 9, None)], "hub-a")
    assert not room.apply_remote_awareness([AwarenessEntry(2, 9, None)], "hub-b")
    room.receive(local, _awareness(AwarenessEntry(2, 9, '{"mine":1}')))
    assert {e.client_id: e.clock for e in room.awareness.states()} == {1: 1, 2: 1}
    # Only local clients are ours to tell other hubs about.
    assert [e.client_id for e in room.local_awareness()] == [1]
    # Once its owner removes it, an id is free again.
    assert room.apply_remote_awareness([AwarenessEntry(2, 1, None)], "hub-a")
    room.receive(local, _awareness(AwarenessEntry(2, 2, '{"mine":1}')))
    assert sorted(e.client_id for e in room.local_awareness()) == [1, 2]


def _awareness(*entries: AwarenessEntry) -> bytes:
    return encode_awareness(encode_awareness_update(list(entries)))


def test_a_gap_is_not_applied_and_the_sender_is_asked_to_sync() -> None:
    room = Room("r", Document())
    conn = Connection(RecordingChannel())
    room.join(conn)
    conn.flush()
    gapped = bytes.fromhex("0101050304010174015800")  # client 5 from clock 3: 0-2 never sent
    room.receive(conn, encode_sync_update(gapped))
    assert room.document.state() == {}
    (ask,) = queued(conn)
    assert isinstance(ask, SyncStep1)


def test_a_read_only_connection_cannot_change_the_document() -> None:
    room = Room("r", Document())
    reader = Connection(RecordingChannel(), identity=Identity("r", "R", Role.READ, anonymous=False))
    room.join(reader)
    reader.flush()
    _, update = edit(1, "nope")
    room.receive(reader, encode_sync_update(update))
    assert room.document.state() == {}
    (denied,) = queued(reader)
    assert isinstance(denied, AuthMessage) and denied.denied


async def test_a_slow_connection_is_closed_instead_of_stalling_the_room() -> None:
    room = Room("r", Document())
    slow_channel = RecordingChannel(stall=True)
    slow = Connection(slow_channel, max_frames=10, spawn=asyncio.create_task)
    fast_channel = RecordingChannel()
    fast = Connection(fast_channel, spawn=asyncio.create_task)
    room.join(slow)
    room.join(fast)
    writer = Connection(RecordingChannel())
    room.join(writer)
    doc = None
    for n in range(50):
        doc, update = edit(1, f"{n},", doc)
        room.receive(writer, encode_sync_update(update))
    assert not slow.is_open
    assert fast.is_open
    assert doc is not None
    expected = str(doc.get("t", type=Text))

    def fast_text() -> str:
        seen = Doc()
        for frame in fast_channel.sent[1:]:  # after step 1: the updates (merged as they queued)
            message = parse_message(frame)
            assert isinstance(message, SyncUpdate)
            seen.apply_update(message.update)
        return str(seen.get("t", type=Text))

    await eventually(now(fast_text), lambda text: text == expected, what="the fast reader's text")
    # Its writer was stuck in send: it stops waiting and closes with "try again later".
    assert slow_channel.sent == [] and slow_channel.closed is not None
    assert slow_channel.closed[0] == 1013


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    hub = Hub(Config(unload_delay=0.1, flush_interval=0.01), MemoryStore())
    async with hub.running():
        yield hub


async def test_many_first_joins_load_the_room_once(hub: Hub) -> None:
    loads = 0
    original = hub.store.load

    async def counting_load(doc: str):  # type: ignore[no-untyped-def]
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return await original(doc)

    hub.store.load = counting_load  # type: ignore[method-assign]
    conns = [Connection(RecordingChannel()) for _ in range(16)]
    rooms = await asyncio.gather(*(hub.join("busy", c) for c in conns))
    assert loads == 1
    assert len({id(r) for r in rooms}) == 1
    assert all(isinstance(queued(c)[0], SyncStep1) for c in conns)


async def test_an_empty_room_unloads_after_its_updates_are_flushed(hub: Hub) -> None:
    conn = Connection(RecordingChannel())
    room = await hub.join("doc", conn)
    _, update = edit(1, "kept")
    room.receive(conn, encode_sync_update(update))
    hub.leave(room, conn)
    await eventually(now(lambda: "doc" in hub.rooms), lambda open_: not open_, what="unload")
    stored = await hub.store.load("doc")
    assert stored.updates == [update]


async def test_a_listener_failing_on_leave_neither_pins_the_room_nor_silences_the_others(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[str] = []

    class Broken(HubListener):
        def left(self, room: Room, conn: Connection) -> None:
            raise RuntimeError("a bug in a listener")

    class Recording(HubListener):
        def left(self, room: Room, conn: Connection) -> None:
            heard.append(conn.id)

    hub.add_listener(Broken())
    hub.add_listener(Recording())
    conn = Connection(RecordingChannel())
    room = await hub.join("doc", conn)
    hub.leave(room, conn)
    assert heard == [conn.id]
    assert "event=listener_failed hook=left doc=doc" in caplog.text
    await eventually(now(lambda: "doc" in hub.rooms), lambda open_: not open_, what="unload")


async def test_a_rewrite_of_existing_ids_is_relayed_alone_so_receivers_keep_the_servers_text() -> (
    None
):
    room = Room("r", Document())
    channel = RecordingChannel()
    sender, receiver = (
        Connection(RecordingChannel()),
        Connection(channel, spawn=asyncio.create_task),
    )
    room.join(sender)
    room.join(receiver)
    await asyncio.sleep(0)
    channel.sent.clear()
    writer, first = edit(5, "ab")
    _, rewrite = edit(5, "XYZ")  # the same client id claims clocks 0-2 with other content
    _, more = edit(5, "cd", base=writer)
    for update in (first, rewrite, more):  # one callback: all three wait together
        room.receive(sender, encode_sync_update(update))
    await asyncio.sleep(0)
    # "ab" leaves alone (the rewrite behind it is not mergeable); a merge of all three would
    # have let Yjs keep the longer "XYZ" where the server kept "ab".
    assert len(channel.sent) == 3
    seen = Doc()
    for frame in channel.sent:
        message = parse_message(frame)
        assert isinstance(message, SyncUpdate)
        seen.apply_update(message.update)
    server_text = str(room.document.ydoc.get("t", type=Text))
    assert str(seen.get("t", type=Text)) == server_text == "abZd"


def test_the_size_limit_counts_what_yrs_holds_back() -> None:
    source, hello = edit(1, "hello")
    # Client 2's 600 characters after client 1's clock 5, which the document never got.
    doc2 = Doc(client_id=2)
    doc2.apply_update(hello)
    _, more = edit(1, "!", base=source)
    doc2.apply_update(more)
    _, pending = edit(2, "y" * 600, base=doc2)
    document = Document.load(hello, [pending])  # stored by an older hub: kept, pending
    room = Room("r", document, max_doc_bytes=900, size=len(hello) + len(pending))
    conn = Connection(RecordingChannel())
    room.join(conn)
    _, small = edit(3, "z" * 300)
    with pytest.raises(LimitExceeded):  # 300 more fit what encode() shows, not the 600 held
        room.receive(conn, encode_sync_update(small))


def test_clients_that_have_everything_share_one_sync_answer() -> None:
    # Our client confirms its edits with a sync step 1, each time with its own newer state
    # vector: every such answer is the same delete set, encoded once per version.
    room = Room("r", Document())
    writer = Connection(RecordingChannel())
    room.join(writer)
    base, update = edit(1, "abc")
    room.receive(writer, encode_sync_update(update))
    ahead = Doc()
    ahead.apply_update(base.get_update())
    ahead.get("other", type=Text).insert(0, "unsent")  # a client id the server never saw
    first = room.sync.answer(ahead.get_state()).final()
    second = room.sync.answer(base.get_state()).final()
    assert first is second
    fresh = Doc()
    fresh.apply_update(_step2_update(first))
    assert str(fresh.get("t", type=Text)) == ""  # no content: the answer is the delete set
    # A client that lacks something still gets it.
    behind = room.sync.answer(Doc().get_state()).final()
    fresh.apply_update(_step2_update(behind))
    assert str(fresh.get("t", type=Text)) == "abc"


def _step2_update(frame: bytes) -> bytes:
    message = parse_message(frame, 1 << 20)
    assert isinstance(message, SyncStep2)
    return message.update
