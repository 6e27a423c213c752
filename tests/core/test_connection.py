"""How frames leave a connection made for a WebSocket (`spawn`): after the current callback,
in order, with runs of queued updates merged into one frame, and through a writer task when
the socket is full."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from pycrdt import Doc, Text

from crdt.protocol import (
    MergeableUpdate,
    SyncUpdate,
    encode_awareness,
    encode_sync_step1,
    encode_sync_update,
    parse_message,
)
from server.core import connection
from server.core.connection import MERGE_RUN, Connection, Spawn
from tests.support.channels import RecordingChannel


def typed_updates(count: int) -> tuple[list[bytes], str]:
    """`count` updates of one client typing, and the text they make together."""
    doc = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(count):
        text.insert(len(text) // 2, chr(97 + i % 26))
    return updates, str(text)


def mergeable(update: bytes) -> bytes:
    """The frame a room relays for an update that only added new ids."""
    return MergeableUpdate(encode_sync_update(update))


def text_after(frames: list[bytes]) -> str:
    """What a client that applies these sync-update frames in order holds."""
    doc = Doc()
    text = doc.get("text", type=Text)
    for frame in frames:
        message = parse_message(frame)
        assert isinstance(message, SyncUpdate)
        doc.apply_update(message.update)
    return str(text)


class GatedChannel(RecordingChannel):
    """A socket that takes nothing until `gate` is set (a client that stopped reading)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send(self, data: bytes) -> None:
        await self.gate.wait()
        self.sent.append(data)


async def next_turn() -> None:
    await asyncio.sleep(0)


def recording_spawn(tasks: list[asyncio.Task[None]]) -> Spawn:
    """A spawn function that also keeps the writer tasks it started, for the test to see."""

    def spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        tasks.append(asyncio.create_task(coro))
        return tasks[-1]

    return spawn


async def test_updates_queued_in_one_callback_leave_as_one_merged_frame() -> None:
    updates, expected = typed_updates(5)
    channel = RecordingChannel()
    tasks: list[asyncio.Task[None]] = []
    conn = Connection(channel, spawn=recording_spawn(tasks))
    for update in updates:
        conn.send(mergeable(update))
    assert channel.sent == []  # nothing leaves before the current callback is done
    await next_turn()
    assert len(channel.sent) == 1 and not tasks
    assert text_after(channel.sent) == expected


async def test_merging_keeps_order_and_never_merges_other_messages() -> None:
    updates, expected = typed_updates(4)
    awareness = encode_awareness(b"\x00")
    step1 = encode_sync_step1(b"\x00")
    channel = RecordingChannel()
    conn = Connection(channel, spawn=asyncio.create_task)
    frames = [step1, mergeable(updates[0]), mergeable(updates[1]), awareness]
    frames += [mergeable(updates[2]), mergeable(updates[3])]
    for frame in frames:
        conn.send(frame)
    await next_turn()
    assert len(channel.sent) == 4
    assert channel.sent[0] == step1 and channel.sent[2] == awareness
    assert text_after([channel.sent[1], channel.sent[3]]) == expected


async def test_update_frames_not_marked_mergeable_leave_as_they_came() -> None:
    updates, _ = typed_updates(3)
    frames = [encode_sync_update(u) for u in updates]
    frames.insert(1, mergeable(updates[1]))  # one marked frame between unmarked ones
    channel = RecordingChannel()
    conn = Connection(channel, spawn=asyncio.create_task)
    for frame in frames:
        conn.send(frame)
    await next_turn()
    assert channel.sent == frames


async def test_a_burst_longer_than_the_outbox_bound_is_sent_in_runs_not_dropped() -> None:
    updates, expected = typed_updates(5 * MERGE_RUN)
    channel = RecordingChannel()
    conn = Connection(channel, spawn=asyncio.create_task, max_frames=MERGE_RUN)
    for update in updates:  # one callback, as when one read brings thousands of small frames
        conn.send(mergeable(update))
    await next_turn()
    assert conn.is_open and channel.closed is None
    assert 5 <= len(channel.sent) <= 6
    assert text_after(channel.sent) == expected


async def test_a_full_socket_hands_over_to_a_writer_that_merges_what_queued_meanwhile() -> None:
    updates, expected = typed_updates(30)
    channel = GatedChannel()
    writers: list[asyncio.Task[None]] = []
    conn = Connection(channel, spawn=recording_spawn(writers))
    conn.send(mergeable(updates[0]))
    await next_turn()
    assert len(writers) == 1  # the first write waits on the socket: a writer task took it
    for update in updates[1:]:
        conn.send(mergeable(update))
        await next_turn()
    channel.gate.set()
    await writers[0]
    assert len(channel.sent) == 2  # the first frame, then the 29 queued behind it as one
    assert text_after(channel.sent) == expected


async def test_close_sends_what_is_queued_first_and_flush_does_it_at_once() -> None:
    updates, expected = typed_updates(3)
    channel = RecordingChannel()
    conn = Connection(channel, spawn=asyncio.create_task)
    for update in updates:
        conn.send(mergeable(update))
    conn.close(4404, "document deleted")
    conn.send(mergeable(updates[0]))  # after the close: dropped
    conn.flush()
    assert text_after(channel.sent) == expected and len(channel.sent) == 1
    assert channel.closed == (4404, "document deleted")


@pytest.mark.parametrize("turns", [1, 3], ids=["writer-not-started", "writer-waiting"])
async def test_a_slow_reader_past_its_bound_is_closed_with_1013(turns: int) -> None:
    updates, _ = typed_updates(20)
    channel = GatedChannel()
    conn = Connection(channel, spawn=asyncio.create_task, max_frames=10)
    conn.send(mergeable(updates[0]))
    for _ in range(turns):  # the first write waits on the full socket
        await next_turn()
    for update in updates[1:]:
        conn.send(mergeable(update))
    assert not conn.is_open
    for _ in range(3):
        await next_turn()
    assert channel.sent == []  # the socket never took anything
    assert channel.closed is not None and channel.closed[0] == 1013


async def test_finished_waits_for_a_write_that_had_to_wait_and_the_close_behind_it() -> None:
    updates, expected = typed_updates(2)
    channel = GatedChannel()
    conn = Connection(channel, spawn=asyncio.create_task)
    conn.send(mergeable(updates[0]))
    await next_turn()  # the write waits on the socket
    conn.send(mergeable(updates[1]))
    conn.close(4404, "document deleted")
    finished = asyncio.create_task(conn.finished())
    await next_turn()
    assert not finished.done() and channel.closed is None
    channel.gate.set()
    await finished
    assert text_after(channel.sent) == expected and len(channel.sent) == 2
    assert channel.closed == (4404, "document deleted") == conn.closed_with


class UnclosableChannel(GatedChannel):
    """A socket whose close never goes out either (the peer stopped reading altogether)."""

    async def close(self, code: int, reason: str) -> None:
        await self.gate.wait()
        self.closed = (code, reason)


async def test_a_close_that_cannot_go_out_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "CLOSE_WAIT", 0.01)
    channel = UnclosableChannel()
    conn = Connection(channel, spawn=asyncio.create_task)
    conn.close(1013, "too slow")
    async with asyncio.timeout(5):
        await conn.finished()
    assert channel.closed is None and not conn.is_open


async def test_cancelling_the_caller_of_finished_stops_the_writer() -> None:
    channel = GatedChannel()
    conn = Connection(channel, spawn=asyncio.create_task)
    conn.send(encode_awareness(b"\x00"))
    conn.close(1000, "bye")
    await next_turn()
    finished = asyncio.create_task(conn.finished())
    await next_turn()
    finished.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finished
    channel.gate.set()
    for _ in range(3):
        await next_turn()
    assert channel.sent == [] and channel.closed is None
