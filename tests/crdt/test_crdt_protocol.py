"""y-websocket framing: round trips, every malformed class, and the state-vector bomb."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest

from crdt.errors import FrameTooLarge, ProtocolError
from crdt.protocol import (
    DEFAULT_MAX_FRAME,
    AuthMessage,
    AwarenessMessage,
    Message,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    encode_auth_denied,
    encode_awareness,
    encode_query_awareness,
    encode_state_vector,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    parse_message,
    parse_state_vector,
)

SV = encode_state_vector({1: 5, 300: 2**40})
UPDATE = bytes.fromhex("01010100040101740568656c6c6f00")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (encode_sync_step1(SV), SyncStep1(SV)),
        (encode_sync_step2(UPDATE), SyncStep2(UPDATE)),
        (encode_sync_update(UPDATE), SyncUpdate(UPDATE)),
        (encode_awareness(b"\x00"), AwarenessMessage(b"\x00")),
        (encode_query_awareness(), QueryAwareness()),
        (encode_auth_denied("nö"), AuthMessage(denied=True, reason="nö")),
    ],
)
def test_round_trip(frame: bytes, message: Message) -> None:
    assert parse_message(frame) == message


def test_wire_format_is_y_websocket() -> None:
    assert encode_sync_step1(b"\x00") == b"\x00\x00\x01\x00"
    assert encode_sync_update(b"\x00\x00") == b"\x00\x02\x02\x00\x00"
    assert encode_awareness(b"\x00") == b"\x01\x01\x00"
    assert encode_query_awareness() == b"\x03"
    assert encode_auth_denied("é") == b"\x02\x00\x02\xc3\xa9"


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x80", id="truncated-message-type"),
        pytest.param(b"\x00", id="missing-sync-type"),
        pytest.param(b"\x00\x02", id="missing-payload"),
        pytest.param(b"\x00\x02\x05ab", id="length-past-frame"),
        pytest.param(b"\x00\x02" + b"\xff" * 9, id="overlong-length"),
        pytest.param(b"\x80" * 9 + b"\x00", id="overlong-message-type"),
        pytest.param(b"\x00\x03\x00", id="unknown-sync-type"),
        pytest.param(b"\x09", id="unknown-message-type"),
        pytest.param(b"\x02\x01\x00", id="unknown-auth-type"),
        pytest.param(b"\x02\x00\x02\xc3\x28", id="auth-reason-not-utf8"),
        pytest.param(b"\x03\x00", id="trailing-after-query-awareness"),
        pytest.param(b"\x01\x00\x00", id="trailing-after-awareness"),
        pytest.param(b"\x00\x02\x00\x00", id="trailing-after-update"),
        pytest.param(b"\x00\x00\x01\x05", id="step1-state-vector-too-short"),
        pytest.param(b"\x00\x00\x03\x01\x01\x01\x01", id="step1-state-vector-trailing"),
    ],
)
def test_malformed_frame_is_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message(frame)
    assert info.value.close_code == 1002
    assert str(info.value)


def test_oversized_frame_is_frame_too_large() -> None:
    with pytest.raises(FrameTooLarge) as info:
        parse_message(encode_sync_update(b"\x00" * 100), max_frame=50)
    assert info.value.close_code == 1009
    assert isinstance(info.value, ProtocolError)


def test_default_limit_applies() -> None:
    with pytest.raises(FrameTooLarge):
        parse_message(b"\x03" + b"\x00" * DEFAULT_MAX_FRAME)


def test_frame_at_the_limit_is_parsed() -> None:
    frame = encode_sync_update(b"\x00\x00")
    assert parse_message(frame, max_frame=len(frame)) == SyncUpdate(b"\x00\x00")


def test_state_vector_round_trip_in_yjs_order() -> None:
    sv = {1: 5, 300: 2**40, 2**53 - 1: 0}
    encoded = encode_state_vector(sv)
    assert parse_state_vector(encoded) == sv
    # Yjs writes clients in descending order.
    assert encoded[:2] == b"\x03\xff"


def _peak_while_refusing(parse: Callable[[bytes], object], data: bytes) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="claims 268435456 entries"):
            parse(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_state_vector_bomb_is_refused_without_allocation() -> None:
    """A state vector claiming 2^28 entries makes pycrdt allocate ~540 MB
    (docs/pycrdt-pitfalls.md#claimed-sizes-are-allocated)."""
    assert _peak_while_refusing(parse_state_vector, bytes.fromhex("80808080010101")) < 1_000_000


def test_sync_step1_bomb_frame_is_refused_without_allocation() -> None:
    frame = bytes.fromhex("00 00 07 80 80 80 80 01 01 01")
    assert _peak_while_refusing(parse_message, frame) < 1_000_000


@pytest.mark.parametrize(
    "sv",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x01\x01", id="truncated-entry"),
        pytest.param(b"\x00\x00", id="trailing"),
        pytest.param(b"\x01\x01\x80", id="truncated-clock"),
    ],
)
def test_malformed_state_vector(sv: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_state_vector(sv)
