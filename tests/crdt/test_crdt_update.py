"""The Yjs update reader against bytes real Yjs wrote, and against hostile bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.errors import ProtocolError
from crdt.lib0 import Encoder
from crdt.update import read_update
from tests.support.mutations import Edit, byte_edits, mutate

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "yjs_fixtures.json").read_text(encoding="utf-8")
)
UPDATES: list[tuple[str, dict[str, Any]]] = [
    (f"{scenario['name']}[{i}]", update)
    for scenario in FIXTURES["scenarios"]
    for i, update in enumerate(scenario["updates"])
] + [
    (f"{scenario['name']}[full]", {"hex": scenario["full"], **scenario["full_info"]})
    for scenario in FIXTURES["scenarios"]
    if scenario["full"] is not None
]
ALL_BYTES = [bytes.fromhex(update["hex"]) for _, update in UPDATES]


@pytest.mark.parametrize(("name", "fixture"), UPDATES, ids=[name for name, _ in UPDATES])
def test_clocks_match_yjs(name: str, fixture: dict[str, Any]) -> None:
    info = read_update(bytes.fromhex(fixture["hex"]))
    expected = {int(client): tuple(span) for client, span in fixture["clocks"].items()}
    got = {client: (info.start_clocks[client], info.end_clocks[client]) for client in expected}
    assert got == expected
    assert set(info.start_clocks) == set(expected) == set(info.end_clocks)
    assert info.struct_count == fixture["struct_count"]
    assert info.delete_count == fixture["delete_count"]
    # Yjs's own state vector of the update counts only clients that start at 0, up to a Skip.
    for client, clock in fixture["sv"].items():
        assert info.start_clocks[int(client)] == 0
        if not fixture["has_skip"]:
            assert info.end_clocks[int(client)] == clock


def test_fixtures_cover_every_kind_yjs_writes() -> None:
    """Guards the fixture set: it must keep exercising every struct kind read_update knows."""
    kinds = {kind for _, update in UPDATES for kind in update["kinds"]}
    assert kinds >= {
        "GC",
        "Skip",
        "ContentDeleted",
        "ContentBinary",
        "ContentString",
        "ContentEmbed",
        "ContentFormat",
        "ContentType",
        "ContentAny",
        "ContentDoc",
    }


def test_skip_marks_where_the_update_needs_state() -> None:
    data = next(bytes.fromhex(u["hex"]) for name, u in UPDATES if name.startswith("merged_with"))
    info = read_update(data)
    assert info.skip_ends
    for client, end in info.skip_ends.items():
        assert info.start_clocks[client] < end <= info.end_clocks[client]


def test_string_length_counts_utf16_code_units() -> None:
    # One astral character is two UTF-16 code units, four UTF-8 bytes, one code point.
    enc = Encoder()
    for n in (1, 1, 9, 0, 0x04, 1):
        enc.write_var_uint(n)
    enc.write_var_string("t")
    enc.write_var_string("😀é")
    enc.write_var_uint(0)
    info = read_update(enc.to_bytes())
    assert info.end_clocks == {9: 3}


def _item_update(content: bytes, ref: int) -> bytes:
    """One client (1, clock 0), one root-parented Item in map 'm' with the given content."""
    return bytes([1, 1, 1, 0, ref | 0x20, 1, 1]) + b"m" + b"\x01k" + content + b"\x00"


@pytest.mark.parametrize(
    ("content", "ref", "length"),
    [
        pytest.param(b"\x02\x01a\x01b", 2, 2, id="json"),
        pytest.param(b"\x03", 1, 3, id="deleted"),
        pytest.param(b"\x03\x01p", 7, 1, id="xml-element-type"),
        pytest.param(b"\x06", 7, 1, id="xml-text-type"),
        pytest.param(b"\x01\x7f", 8, 1, id="any-undefined"),
        pytest.param(b"\x02\x7a" + b"\x00" * 8 + b"\x7c" + b"\x00" * 4, 8, 2, id="any-numbers"),
    ],
)
def test_hand_built_items(content: bytes, ref: int, length: int) -> None:
    info = read_update(_item_update(content, ref))
    assert info.end_clocks == {1: length}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bytes.fromhex("0100010000"), id="panic-update-zero-structs"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00", id="missing-delete-set"),
        pytest.param(b"\x00\x00\x00", id="trailing"),
        pytest.param(bytes.fromhex("01010100040101740568656c6c6f"), id="truncated"),
        pytest.param(bytes.fromhex("01010100040101740568656c6c6f0000"), id="trailing-after-ds"),
        pytest.param(bytes.fromhex("0101010004010174000000"), id="empty-string"),
        pytest.param(bytes.fromhex("010101000b0500"), id="unknown-ref"),
        pytest.param(bytes.fromhex("01010100070101740700"), id="unknown-type-ref"),
        pytest.param(bytes.fromhex("010101000802740000"), id="unknown-parent-info"),
        pytest.param(bytes.fromhex("0101010008010174016f00"), id="unknown-any-tag"),
        pytest.param(bytes.fromhex("0101010000000000"), id="gc-of-length-zero"),
        pytest.param(bytes.fromhex("020101000001010100000100"), id="client-twice"),
        pytest.param(bytes.fromhex("ff7f00"), id="client-count-past-end"),
        pytest.param(bytes.fromhex("0001010500"), id="delete-ranges-past-end"),
        pytest.param(bytes.fromhex("01010100040101740268e900"), id="invalid-utf8"),
    ],
)
def test_malformed_update_is_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        read_update(data)


def test_any_nesting_is_bounded() -> None:
    deep = b"\x75\x01" * 40 + b"\x7e"  # arrays of arrays of ... null
    data = _item_update(b"\x01" + deep, 8)
    with pytest.raises(ProtocolError, match="nested too deeply"):
        read_update(data)
    assert read_update(data, max_depth=64).end_clocks == {1: 1}


@settings(max_examples=2000, deadline=None, database=None)
@given(st.sampled_from(ALL_BYTES), byte_edits)
def test_mutated_updates_only_raise_protocol_error(data: bytes, edits: list[Edit]) -> None:
    try:
        info = read_update(mutate(data, edits))
    except ProtocolError:
        return
    for client, start in info.start_clocks.items():
        assert start <= info.end_clocks[client]
