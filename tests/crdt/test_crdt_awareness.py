"""Awareness codec and the relay rules that stop echo storms
(docs/pycrdt-pitfalls.md#awareness-echoes)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.awareness import (
    MAX_CLOCK,
    AwarenessEntry,
    AwarenessTable,
    decode_awareness_update,
    encode_awareness_update,
)
from crdt.errors import ProtocolError
from crdt.lib0 import MAX_SAFE_INTEGER, Encoder


def test_round_trip_with_null_state() -> None:
    entries = [
        AwarenessEntry(1, 3, '{"user":{"name":"Zoë 😀"}}'),
        AwarenessEntry(2**40, 7, None),
    ]
    data = encode_awareness_update(entries)
    assert decode_awareness_update(data) == entries


def test_wire_bytes_match_y_protocols() -> None:
    # y-protocols: varUint n, then clientID, clock, JSON.stringify(state) per entry.
    data = encode_awareness_update([AwarenessEntry(5, 1, '{"a":"é"}'), AwarenessEntry(6, 2, None)])
    assert data == b"\x02\x05\x01\x0a" + '{"a":"é"}'.encode() + b"\x06\x02\x04null"


def _raw(*entries: tuple[int, int, bytes]) -> bytes:
    enc = Encoder()
    enc.write_var_uint(len(entries))
    for client, clock, state in entries:
        enc.write_var_uint(client)
        enc.write_var_uint(clock)
        enc.write_var_bytes(state)
    return enc.to_bytes()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_raw((1, 1, b"{")), id="invalid-json"),
        pytest.param(_raw((1, 1, b"NaN")), id="nan-is-not-json"),
        pytest.param(_raw((1, 1, b'"\xff"')), id="invalid-utf8"),
        pytest.param(_raw((1, 1, b"[" * 5000 + b"]" * 5000)), id="deep-json"),
        pytest.param(_raw((1, 1, b"{}")) + b"\x00", id="trailing"),
        pytest.param(_raw((1, 1, b"{}"))[:-1], id="truncated"),
        pytest.param(b"\x05\x01\x01", id="count-past-end"),
        pytest.param(b"", id="empty"),
    ],
)
def test_malformed_awareness_is_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_awareness_update(data)


def test_limits_are_enforced() -> None:
    with pytest.raises(ProtocolError, match="entries"):
        decode_awareness_update(_raw(*[(i, 1, b"{}") for i in range(3)]), max_entries=2)
    with pytest.raises(ProtocolError, match="bytes"):
        decode_awareness_update(_raw((1, 1, b'"' + b"x" * 100 + b'"')), max_state_bytes=50)


def test_first_state_is_accepted_and_reported() -> None:
    table = AwarenessTable()
    changed = table.apply([AwarenessEntry(1, 1, '{"a":1}')], now=0.0).changed
    assert changed == [AwarenessEntry(1, 1, '{"a":1}')]
    assert 1 in table
    assert len(table) == 1
    assert table.states() == changed


def test_echo_of_same_clock_is_ignored() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=0.0)
    assert table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=1.0).changed == []
    assert table.apply([AwarenessEntry(1, 4, '{"a":2}')], now=1.0).changed == []
    assert table.states() == [AwarenessEntry(1, 4, '{"a":1}')]


def test_stale_clock_is_ignored() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=0.0)
    assert table.apply([AwarenessEntry(1, 3, '{"a":0}')], now=1.0).changed == []
    assert table.states() == [AwarenessEntry(1, 4, '{"a":1}')]


def test_renewal_with_newer_clock_is_relayed_even_if_state_is_unchanged() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=0.0)
    assert table.apply([AwarenessEntry(1, 5, '{"a":1}')], now=15.0).changed == [
        AwarenessEntry(1, 5, '{"a":1}')
    ]


def test_clock_zero_for_unknown_client_is_ignored_like_y_protocols() -> None:
    table = AwarenessTable()
    assert table.apply([AwarenessEntry(1, 0, "{}")], now=0.0).changed == []
    assert 1 not in table


def test_null_at_same_clock_removes_present_client() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}")], now=0.0)
    assert table.apply([AwarenessEntry(1, 4, None)], now=1.0).changed == [
        AwarenessEntry(1, 4, None)
    ]
    assert 1 not in table
    assert len(table) == 0
    # The same removal echoed back is not relayed again.
    assert table.apply([AwarenessEntry(1, 4, None)], now=2.0).changed == []


def test_removal_tombstone_blocks_stale_updates() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}")], now=0.0)
    table.apply([AwarenessEntry(1, 5, None)], now=1.0)
    assert table.apply([AwarenessEntry(1, 5, "{}")], now=2.0).changed == []
    assert table.apply([AwarenessEntry(1, 4, "{}")], now=2.0).changed == []
    assert 1 not in table
    assert table.apply([AwarenessEntry(1, 6, "{}")], now=3.0).changed == [
        AwarenessEntry(1, 6, "{}")
    ]


def test_removal_of_unknown_client_is_not_relayed() -> None:
    table = AwarenessTable()
    assert table.apply([AwarenessEntry(9, 3, None)], now=0.0).changed == []
    # ...but it is remembered, so a late older state stays out.
    assert table.apply([AwarenessEntry(9, 2, "{}")], now=1.0).changed == []


def test_remove_bumps_clock_and_returns_null_entries() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}"), AwarenessEntry(2, 9, "{}")], now=0.0)
    assert table.remove([1, 3], now=5.0) == [AwarenessEntry(1, 5, None)]
    assert 1 not in table
    assert 2 in table
    # The client's own last state, echoed late by a peer, no longer resurrects it.
    assert table.apply([AwarenessEntry(1, 4, "{}")], now=6.0).changed == []
    assert table.apply([AwarenessEntry(1, 5, "{}")], now=6.0).changed == []
    assert table.remove([1], now=7.0) == []


def test_tombstones_are_forgotten_after_their_time() -> None:
    table = AwarenessTable(tombstone_ttl=30.0)
    table.apply([AwarenessEntry(1, 4, "{}"), AwarenessEntry(2, 4, "{}")], now=0.0)
    table.remove([1], now=10.0)
    table.remove([2], now=35.0)
    assert table.departed_count == 2
    table.apply([], now=45.0)
    assert table.departed_count == 1
    # Client 1's tombstone is gone: its clock starts over, client 2's still blocks.
    assert table.apply([AwarenessEntry(1, 1, "{}")], now=46.0).changed == [
        AwarenessEntry(1, 1, "{}")
    ]
    assert table.apply([AwarenessEntry(2, 5, "{}")], now=46.0).changed == []


def test_tombstones_beyond_the_cap_go_oldest_first() -> None:
    table = AwarenessTable(max_clients=3)
    # Removals of clients never seen are remembered too: a flood of them must not pile up.
    table.apply([AwarenessEntry(cid, 1, None) for cid in range(1000)], now=0.0)
    assert table.departed_count == 3
    assert table.apply([AwarenessEntry(0, 1, "{}")], now=1.0).changed == [
        AwarenessEntry(0, 1, "{}")
    ]
    assert table.apply([AwarenessEntry(999, 1, "{}")], now=1.0).changed == []


def test_a_full_table_refuses_new_clients_and_bigger_states() -> None:
    table = AwarenessTable(max_clients=2, max_bytes=10)
    applied = table.apply(
        [AwarenessEntry(1, 1, '"abc"'), AwarenessEntry(2, 1, '"é"'), AwarenessEntry(3, 1, "1")],
        now=0.0,
    )
    assert applied.changed == [AwarenessEntry(1, 1, '"abc"'), AwarenessEntry(2, 1, '"é"')]
    assert applied.refused == 1
    assert (len(table), table.live_bytes, table.state_bytes(2)) == (2, 9, 4)
    # A present client may renew or shrink its state, not grow it past the bound.
    assert table.apply([AwarenessEntry(1, 2, '"abcd"')], now=1.0).refused == 0
    assert table.apply([AwarenessEntry(1, 3, '"abcdef"')], now=1.0).refused == 1
    # Room again once someone leaves.
    table.remove([2], now=2.0)
    assert table.apply([AwarenessEntry(3, 1, "1")], now=2.0).changed == [AwarenessEntry(3, 1, "1")]
    assert (len(table), table.live_bytes) == (2, 7)


def test_a_clock_that_cannot_be_incremented_is_refused() -> None:
    assert decode_awareness_update(_raw((1, MAX_CLOCK, b"{}"))) == [
        AwarenessEntry(1, MAX_CLOCK, "{}")
    ]
    with pytest.raises(ProtocolError, match="cannot be incremented"):
        decode_awareness_update(_raw((1, MAX_CLOCK + 1, b"{}")))
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, MAX_CLOCK, "{}")], now=0.0)
    removed = table.remove([1], now=1.0)
    assert (
        decode_awareness_update(encode_awareness_update(removed))
        == removed
        == [AwarenessEntry(1, MAX_SAFE_INTEGER, None)]
    )


@pytest.mark.parametrize(
    "text",
    ['"\\ud800"', '{"x":"\\udfff"}', '["ok","\\uDBFF"]', '{"\\ud83d":1}', '"\\ude00\\ud83d"'],
)
def test_a_lone_surrogate_is_refused(text: str) -> None:
    with pytest.raises(ProtocolError, match="lone surrogate"):
        decode_awareness_update(_raw((1, 1, text.encode())))


@pytest.mark.parametrize(
    ("text", "value"),
    [('"\\ud83d\\ude00"', "😀"), ('"\\\\ud800"', "\\ud800"), ('"\\u00e9"', "é")],
)
def test_surrogate_pairs_and_escaped_backslashes_are_fine(text: str, value: str) -> None:
    [entry] = decode_awareness_update(_raw((1, 1, text.encode())))
    assert entry.state is not None and json.loads(entry.state) == value
    assert encode_awareness_update([entry])  # encodable as UTF-8


_states = st.one_of(
    st.none(),
    st.just("{}"),
    st.text(max_size=40).map(lambda t: json.dumps({"user": {"name": t}})),  # escapes surrogates
    st.binary(max_size=40).map(lambda b: json.dumps(b.decode("latin-1"), ensure_ascii=False)),
)
_entries = st.lists(
    st.tuples(
        st.integers(0, 20) | st.integers(0, MAX_SAFE_INTEGER),
        st.sampled_from([0, 1, 2, 3, MAX_CLOCK, MAX_CLOCK + 1]) | st.integers(0, MAX_SAFE_INTEGER),
        _states,
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_entries, min_size=1, max_size=6), st.lists(st.integers(0, 20), max_size=6))
def test_any_awareness_either_is_refused_or_keeps_the_table_bounded_and_encodable(
    messages: list[list[tuple[int, int, str | None]]], leaving: list[int]
) -> None:
    table = AwarenessTable(max_clients=4, max_bytes=64, tombstone_ttl=5.0)
    now = 0.0
    for message in messages:
        raw = _raw(
            *[
                (c, k, b"null" if s is None else s.encode("utf-8", "surrogatepass"))
                for c, k, s in message
            ]
        )
        try:
            entries = decode_awareness_update(raw)
        except ProtocolError:
            continue
        now += 1.0
        changed = table.apply(entries, now).changed + table.remove(leaving, now)
        # Whatever was accepted can be relayed, and a joiner's view stays within the bounds.
        assert decode_awareness_update(encode_awareness_update(changed)) == changed
        states = table.states()
        assert decode_awareness_update(encode_awareness_update(states)) == states
        assert len(table) == len(states) <= 4
        assert table.live_bytes == sum(len(e.state.encode()) for e in states if e.state) <= 64
        assert table.departed_count <= 4
