"""The presence throttle: bursts coalesce per client; final states and removals are kept."""

from __future__ import annotations

import json
import time

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.document import Document
from crdt.protocol import AwarenessMessage, encode_awareness, parse_message
from server.core.connection import Connection
from server.core.room import Room
from server.core.throttle import AwarenessThrottle
from tests.support.channels import RecordingChannel


def awareness_sent(conn: Connection) -> list[list[AwarenessEntry]]:
    messages = [parse_message(frame) for frame in conn.queued]
    return [decode_awareness_update(m.update) for m in messages if isinstance(m, AwarenessMessage)]


def cursor(client_id: int, clock: int, position: int) -> bytes:
    state = json.dumps({"user": {"name": "Ana", "color": "#123456"}, "cursor": position})
    return encode_awareness(encode_awareness_update([AwarenessEntry(client_id, clock, state)]))


def setup(interval: float = 0.08) -> tuple[Room, AwarenessThrottle, Connection, Connection]:
    throttle = AwarenessThrottle(interval)
    room = Room("r", Document(), throttle=throttle)
    ana, ben = Connection(RecordingChannel()), Connection(RecordingChannel())
    room.join(ana)
    room.join(ben)
    ben.flush()
    return room, throttle, ana, ben


def test_a_burst_is_relayed_once_then_its_latest_state_after_the_interval() -> None:
    room, throttle, ana, ben = setup(interval=60)  # however slow the loop below, one interval
    for n in range(1, 201):
        room.receive(ana, cursor(7, n, n))
    first = awareness_sent(ben)
    assert [[e.clock for e in entries] for entries in first] == [[1]]
    assert throttle.held_count == 1
    # The table already has the latest state: a joiner or a query sees it at once.
    assert [e.clock for e in room.awareness.states()] == [200]
    throttle.flush(time.monotonic() + 61)
    relayed = awareness_sent(ben)
    assert [[e.clock for e in entries] for entries in relayed] == [[1], [200]]
    assert json.loads(relayed[-1][0].state or "")["cursor"] == 200
    assert throttle.held_count == 0


def test_nothing_is_relayed_before_the_interval_has_passed() -> None:
    room, throttle, ana, ben = setup(interval=60)
    room.receive(ana, cursor(7, 1, 1))
    room.receive(ana, cursor(7, 2, 2))
    throttle.flush(time.monotonic())
    assert len(awareness_sent(ben)) == 1
    throttle.flush(time.monotonic() + 61)
    assert len(awareness_sent(ben)) == 2


def test_a_removal_is_relayed_at_once_and_drops_what_was_held() -> None:
    room, throttle, ana, ben = setup()
    room.receive(ana, cursor(7, 1, 1))
    room.receive(ana, cursor(7, 2, 2))
    room.leave(ana)
    entries = awareness_sent(ben)
    assert [(e.client_id, e.state) for e in entries[-1]] == [(7, None)]
    throttle.flush(time.monotonic() + 1)
    assert len(awareness_sent(ben)) == len(entries)  # the held cursor is never sent after it
    assert room.awareness.states() == []


def test_clients_are_throttled_independently() -> None:
    room, _, ana, ben = setup()
    carl = Connection(RecordingChannel())
    room.join(carl)
    room.receive(ana, cursor(7, 1, 1))
    room.receive(carl, cursor(8, 1, 1))
    assert [[e.client_id for e in entries] for entries in awareness_sent(ben)] == [[7], [8]]


def test_zero_interval_relays_everything() -> None:
    room, _, ana, ben = setup(interval=0)
    for n in range(1, 6):
        room.receive(ana, cursor(7, n, n))
    assert len(awareness_sent(ben)) == 5


def test_a_room_whose_relay_fails_does_not_stop_the_others(caplog) -> None:  # type: ignore[no-untyped-def]
    throttle = AwarenessThrottle(60)
    rooms = [Room(name, Document(), throttle=throttle) for name in ("broken", "fine")]
    people = {}
    for room in rooms:
        ana, ben = Connection(RecordingChannel()), Connection(RecordingChannel())
        room.join(ana)
        room.join(ben)
        room.receive(ana, cursor(7, 1, 1))
        room.receive(ana, cursor(7, 2, 2))  # held: within the interval
        ben.flush()
        people[room.name] = ben

    def broken(entries: list[AwarenessEntry], origin: Connection) -> None:
        raise RuntimeError("a bug in one room")

    rooms[0].relay_awareness = broken  # type: ignore[method-assign]
    throttle.flush(time.monotonic() + 61)
    assert [[e.clock for e in entries] for entries in awareness_sent(people["fine"])] == [[2]]
    assert throttle.held_count == 0  # what was held for the broken room is not retried forever
    assert "event=awareness_relay_failed doc=broken" in caplog.text
