"""lib0 codec: byte-exact against vectors produced by lib0 itself, strict on bad input."""

from __future__ import annotations

import pytest

from crdt.errors import ProtocolError
from crdt.lib0 import Decoder, Encoder

# (value, hex) pairs printed by lib0/encoding in Node.
VAR_UINTS = [
    (0, "00"),
    (127, "7f"),
    (128, "8001"),
    (16383, "ff7f"),
    (16384, "808001"),
    (2**32, "8080808010"),
    (2**53 - 1, "ffffffffffffff0f"),
]
VAR_INTS = [
    (0, "00"),
    (1, "01"),
    (-1, "41"),
    (63, "3f"),
    (-63, "7f"),
    (64, "8001"),
    (-64, "c001"),
    (8191, "bf7f"),
    (8192, "808001"),
    (-1000000, "c0897a"),
    (2**53 - 1, "bfffffffffffff1f"),
]


@pytest.mark.parametrize(("value", "hex_"), VAR_UINTS)
def test_var_uint_matches_lib0(value: int, hex_: str) -> None:
    enc = Encoder()
    enc.write_var_uint(value)
    assert enc.to_bytes().hex() == hex_
    dec = Decoder(bytes.fromhex(hex_))
    assert dec.read_var_uint() == value
    assert dec.done


@pytest.mark.parametrize(("value", "hex_"), VAR_INTS)
def test_var_int_matches_lib0(value: int, hex_: str) -> None:
    enc = Encoder()
    enc.write_var_int(value)
    assert enc.to_bytes().hex() == hex_
    dec = Decoder(bytes.fromhex(hex_))
    assert dec.read_var_int() == value
    assert dec.done


def test_var_string_uses_utf8_byte_length() -> None:
    enc = Encoder()
    enc.write_var_string("ü😀")
    assert enc.to_bytes().hex() == "06c3bcf09f9880"  # 6 bytes, not 2 characters
    assert Decoder(enc.to_bytes()).read_var_string() == "ü😀"


def test_fixed_width_numbers_are_big_endian_like_lib0() -> None:
    dec = Decoder(bytes.fromhex("3fc00000" + "3fb999999999999a" + "fffffffffffffffe"))
    assert dec.read_float32() == 1.5
    assert dec.read_float64() == 0.1
    assert dec.read_big_int64() == -2
    assert dec.done


def test_var_bytes_round_trip_and_remaining() -> None:
    enc = Encoder()
    enc.write_var_bytes(b"\x00\xff")
    enc.write_u8(7)
    dec = Decoder(memoryview(enc.to_bytes()))
    assert dec.remaining == 4
    assert dec.read_var_bytes() == b"\x00\xff"
    assert dec.read_u8() == 7
    assert dec.done
    assert dec.remaining == 0


@pytest.mark.parametrize(
    ("data", "read"),
    [
        pytest.param(b"", Decoder.read_var_uint, id="empty-varuint"),
        pytest.param(b"\x80\x80", Decoder.read_var_uint, id="truncated-varuint"),
        pytest.param(b"\xc0", Decoder.read_var_int, id="truncated-varint"),
        pytest.param(b"\x80" * 8 + b"\x01", Decoder.read_var_uint, id="overlong-varuint"),
        pytest.param(b"\x80" * 8 + b"\x01", Decoder.read_var_int, id="overlong-varint"),
        pytest.param(b"\xff" * 7 + b"\x7f", Decoder.read_var_uint, id="varuint-over-53-bits"),
        pytest.param(b"\x05ab", Decoder.read_var_bytes, id="length-past-end"),
        pytest.param(b"\x02\xc3\x28", Decoder.read_var_string, id="invalid-utf8"),
        pytest.param(b"\x03\xed\xa0\x80", Decoder.read_var_string, id="encoded-surrogate"),
        pytest.param(b"\x00\x00", Decoder.read_float32, id="short-float32"),
        pytest.param(b"", Decoder.read_u8, id="empty-u8"),
    ],
)
def test_malformed_input_raises_protocol_error(data: bytes, read: object) -> None:
    with pytest.raises(ProtocolError):
        read(Decoder(data))  # type: ignore[operator]


def test_read_bytes_refuses_negative_length() -> None:
    with pytest.raises(ProtocolError):
        Decoder(b"abc").read_bytes(-1)


@pytest.mark.parametrize("value", [-1, 2**53])
def test_encoder_refuses_out_of_range_var_uint(value: int) -> None:
    with pytest.raises(ValueError):
        Encoder().write_var_uint(value)
