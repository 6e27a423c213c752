"""Awareness codec and the relay rules that stop echo storms (DESIGN §5)."""

from __future__ import annotations

import json

import pytest

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
    changed = table.apply([AwarenessEntry(1, 1, '{"a":1}')], now=0.0)
    assert changed == [AwarenessEntry(1, 1, '{"a":1}')]
    assert 1 in table
    assert len(table) == 1
    assert table.states() == changed


def test_echo_of_same_clock_is_ignored() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=0.0)
    assert table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=1.0) == []
    assert table.apply([AwarenessEntry(1, 4, '{"a":2}')], now=1.0) == []
    assert table.states() == [AwarenessEntry(1, 4, '{"a":1}')]


def test_stale_clock_is_ignored() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=0.0)
    assert table.apply([AwarenessEntry(1, 3, '{"a":0}')], now=1.0) == []
    assert table.states() == [AwarenessEntry(1, 4, '{"a":1}')]


def test_renewal_with_newer_clock_is_relayed_even_if_state_is_unchanged() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, '{"a":1}')], now=0.0)
    assert table.apply([AwarenessEntry(1, 5, '{"a":1}')], now=15.0) == [
        AwarenessEntry(1, 5, '{"a":1}')
    ]


def test_clock_zero_for_unknown_client_is_ignored_like_y_protocols() -> None:
    table = AwarenessTable()
    assert table.apply([AwarenessEntry(1, 0, "{}")], now=0.0) == []
    assert 1 not in table


def test_null_at_same_clock_removes_present_client() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}")], now=0.0)
    assert table.apply([AwarenessEntry(1, 4, None)], now=1.0) == [AwarenessEntry(1, 4, None)]
    assert 1 not in table
    assert len(table) == 0
    # The same removal echoed back is not relayed again.
    assert table.apply([AwarenessEntry(1, 4, None)], now=2.0) == []


def test_removal_tombstone_blocks_stale_updates() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}")], now=0.0)
    table.apply([AwarenessEntry(1, 5, None)], now=1.0)
    assert table.apply([AwarenessEntry(1, 5, "{}")], now=2.0) == []
    assert table.apply([AwarenessEntry(1, 4, "{}")], now=2.0) == []
    assert 1 not in table
    assert table.apply([AwarenessEntry(1, 6, "{}")], now=3.0) == [AwarenessEntry(1, 6, "{}")]


def test_removal_of_unknown_client_is_not_relayed() -> None:
    table = AwarenessTable()
    assert table.apply([AwarenessEntry(9, 3, None)], now=0.0) == []
    # ...but it is remembered, so a late older state stays out.
    assert table.apply([AwarenessEntry(9, 2, "{}")], now=1.0) == []


def test_remove_bumps_clock_and_returns_null_entries() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}"), AwarenessEntry(2, 9, "{}")], now=0.0)
    assert table.remove([1, 3], now=5.0) == [AwarenessEntry(1, 5, None)]
    assert 1 not in table
    assert 2 in table
    # The client's own last state, echoed late by a peer, no longer resurrects it.
    assert table.apply([AwarenessEntry(1, 4, "{}")], now=6.0) == []
    assert table.apply([AwarenessEntry(1, 5, "{}")], now=6.0) == []
    assert table.remove([1], now=7.0) == []


def test_prune_tombstones_forgets_only_old_departures() -> None:
    table = AwarenessTable()
    table.apply([AwarenessEntry(1, 4, "{}"), AwarenessEntry(2, 4, "{}")], now=0.0)
    table.remove([1], now=10.0)
    table.remove([2], now=50.0)
    assert table.prune_tombstones(now=60.0, older_than=30.0) == 1
    # Client 1's tombstone is gone: its clock starts over, client 2's still blocks.
    assert table.apply([AwarenessEntry(1, 1, "{}")], now=61.0) == [AwarenessEntry(1, 1, "{}")]
    assert table.apply([AwarenessEntry(2, 5, "{}")], now=61.0) == []


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
