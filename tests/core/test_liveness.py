"""Dead peers (server/core/liveness.py): the sweep judges only clients that promised a heartbeat,
withdraws their presence for everyone when they are silent too long, and never closes them."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.document import Document
from crdt.protocol import AwarenessMessage, encode_awareness
from server.core.connection import Connection
from server.core.liveness import Liveness, promised_heartbeat
from server.core.room import Room
from tests.support.channels import RecordingChannel
from tests.support.rooms import queued


def _present(room: Room, conn: Connection, client_id: int, clock: int = 1) -> None:
    state = f'{{"user":{{"name":"c{client_id}"}}}}'
    update = encode_awareness_update([AwarenessEntry(client_id, clock, state)])
    room.receive(conn, encode_awareness(update))


def _setup() -> tuple[Room, Connection, Connection, Connection, Liveness, list[tuple[str, str]]]:
    room = Room("r", Document())
    ours = Connection(RecordingChannel(), heartbeat=4)
    stock = Connection(RecordingChannel())
    watcher = Connection(RecordingChannel())
    for conn in (ours, stock, watcher):
        room.join(conn)
    _present(room, ours, 1)
    _present(room, stock, 2)
    heard: list[tuple[str, str]] = []
    liveness = Liveness(
        10.0,
        lambda: [room],
        on_silent=lambda r, c: heard.append(("silent", c.id)),
        on_returned=lambda r, c: heard.append(("returned", c.id)),
    )
    for conn in (ours, stock, watcher):
        conn.flush()
    return room, ours, stock, watcher, liveness, heard


def test_a_silent_promising_client_loses_its_presence_for_everyone_but_keeps_its_socket() -> None:
    room, ours, _, watcher, liveness, heard = _setup()
    start = time.monotonic()
    liveness.sweep(start + 9.0)
    assert heard == [] and {e.client_id for e in room.awareness.states()} == {1, 2}
    liveness.sweep(start + 60.0)  # the stock client is as silent, but promised nothing
    assert heard == [("silent", ours.id)]
    assert {e.client_id for e in room.awareness.states()} == {2}
    messages = [m for m in queued(watcher) if isinstance(m, AwarenessMessage)]
    [removal] = decode_awareness_update(messages[-1].update)
    assert (removal.client_id, removal.state) == (1, None)
    assert ours.is_open and ours in room.connections
    liveness.sweep(start + 120.0)
    assert heard == [("silent", ours.id)]  # said once


def test_a_silent_client_heard_again_returns_and_may_announce_its_presence_again() -> None:
    room, ours, _, _, liveness, heard = _setup()
    liveness.sweep(time.monotonic() + 11.0)
    liveness.heard(room, ours)
    _present(room, ours, 1, clock=5)
    assert heard == [("silent", ours.id), ("returned", ours.id)]
    assert 1 in {e.client_id for e in room.awareness.states()}
    liveness.sweep(time.monotonic() + 9.0)  # heard just now: present
    assert heard[-1] == ("returned", ours.id)


def test_a_frame_keeps_a_client_alive() -> None:
    room, ours, _, _, liveness, heard = _setup()
    ours.heard -= 60.0  # last heard a minute ago: the frame arriving now is what keeps it
    liveness.heard(room, ours)
    liveness.sweep(time.monotonic() + 9.0)
    assert heard == []


@given(st.text(max_size=12))
def test_only_a_heartbeat_the_timeout_can_judge_is_taken(raw: str) -> None:
    value = promised_heartbeat(raw, 10.0)
    assert value == 0.0 or 0 < value <= 5.0


def test_heartbeat_values() -> None:
    assert promised_heartbeat("4", 10.0) == 4.0
    assert promised_heartbeat("15", 10.0) == 0.0  # a stock client's pace: not judged
    assert promised_heartbeat(None, 10.0) == 0.0
    assert promised_heartbeat("nan", 10.0) == 0.0
    assert promised_heartbeat("-1", 10.0) == 0.0


def test_a_room_that_fails_does_not_stop_the_sweep_of_the_others() -> None:
    broken, _, _, _, _, _ = _setup()
    other, theirs, _, _, _, _ = _setup()

    def fails(conn: Connection) -> None:
        raise RuntimeError("broken room")

    broken.withdraw_presence = fails  # type: ignore[method-assign]
    heard: list[str] = []
    liveness = Liveness(
        10.0,
        lambda: [broken, other],
        on_silent=lambda r, c: heard.append(r.name + ":" + c.id),
        on_returned=lambda r, c: None,
    )
    other.name = "other"
    liveness.sweep(time.monotonic() + 60.0)
    assert heard == [f"other:{theirs.id}"]
    assert {e.client_id for e in other.awareness.states()} == {2}
