"""lib0 binary encoding, strict: every malformed input raises ProtocolError.

Our own codec rather than pycrdt's, whose decoder asserts and raises IndexError on short
input and whose encoder writes a string's character count instead of its UTF-8 byte count.
"""

from __future__ import annotations

import struct

from crdt.errors import ProtocolError

MAX_SAFE_INTEGER = 2**53 - 1
"""lib0 numbers are JavaScript numbers: anything wider cannot round-trip through a browser."""

_MAX_VARINT_BYTES = 8  # 7 * 8 = 56 bits, enough for 53


class Decoder:
    """A cursor over bytes; reads never go past the end, they raise ProtocolError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = memoryview(data).cast("B") if isinstance(data, memoryview) else data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def done(self) -> bool:
        return self._pos >= len(self._data)

    def _truncated(self, what: str) -> ProtocolError:
        return ProtocolError(f"truncated input: {what} at offset {self._pos}")

    def read_u8(self) -> int:
        if self._pos >= len(self._data):
            raise self._truncated("byte")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def read_bytes(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise ProtocolError(
                f"length {n} at offset {self._pos} runs past the end ({self.remaining} left)"
            )
        start = self._pos
        self._pos += n
        return bytes(self._data[start : self._pos])

    def read_var_uint(self) -> int:
        pos = self._pos
        data = self._data
        end = len(data)
        if pos >= end:
            raise self._truncated("varUint")
        byte = data[pos]
        pos += 1
        if byte < 0x80:  # most varUints in Yjs messages (types, counts, small clocks)
            self._pos = pos
            return byte
        value = byte & 0x7F
        shift = 7
        while True:
            if pos >= end:
                self._pos = pos
                raise self._truncated("varUint")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift >= 7 * _MAX_VARINT_BYTES:
                raise ProtocolError(f"varUint longer than {_MAX_VARINT_BYTES} bytes")
        self._pos = pos
        if value > MAX_SAFE_INTEGER:
            raise ProtocolError(f"varUint {value} exceeds 53 bits")
        return value

    def read_var_int(self) -> int:
        first = self.read_u8()
        negative = bool(first & 0x40)
        value = first & 0x3F
        shift = 6
        more = bool(first & 0x80)
        count = 1
        while more:
            if count >= _MAX_VARINT_BYTES:
                raise ProtocolError(f"varInt longer than {_MAX_VARINT_BYTES} bytes")
            byte = self.read_u8()
            count += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            more = bool(byte & 0x80)
        if value > MAX_SAFE_INTEGER:
            raise ProtocolError(f"varInt magnitude {value} exceeds 53 bits")
        return -value if negative else value

    def read_var_bytes(self) -> bytes:
        return self.read_bytes(self.read_var_uint())

    def read_var_string(self) -> str:
        raw = self.read_var_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"invalid UTF-8 in string: {exc.reason}") from None

    def read_float32(self) -> float:
        value: float = struct.unpack(">f", self.read_bytes(4))[0]
        return value

    def read_float64(self) -> float:
        value: float = struct.unpack(">d", self.read_bytes(8))[0]
        return value

    def read_big_int64(self) -> int:
        value: int = struct.unpack(">q", self.read_bytes(8))[0]
        return value


class Encoder:
    """Accumulates lib0-encoded values; ``to_bytes`` returns the result."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def write_u8(self, n: int) -> None:
        if not 0 <= n <= 0xFF:
            raise ValueError(f"not a byte: {n}")
        self._buf.append(n)

    def write_bytes(self, b: bytes) -> None:
        self._buf += b

    def write_var_uint(self, n: int) -> None:
        if not 0 <= n <= MAX_SAFE_INTEGER:
            raise ValueError(f"varUint out of range: {n}")
        while n > 0x7F:
            self._buf.append(0x80 | (n & 0x7F))
            n >>= 7
        self._buf.append(n)

    def write_var_int(self, n: int) -> None:
        magnitude = abs(n)
        if magnitude > MAX_SAFE_INTEGER:
            raise ValueError(f"varInt out of range: {n}")
        first = (magnitude & 0x3F) | (0x40 if n < 0 else 0)
        magnitude >>= 6
        if magnitude:
            first |= 0x80
        self._buf.append(first)
        while magnitude:
            byte = magnitude & 0x7F
            magnitude >>= 7
            self._buf.append(byte | (0x80 if magnitude else 0))

    def write_var_bytes(self, b: bytes) -> None:
        self.write_var_uint(len(b))
        self._buf += b

    def write_var_string(self, s: str) -> None:
        """lib0 prefixes a string with its UTF-8 byte length, not its character count."""
        self.write_var_bytes(s.encode("utf-8"))

    def to_bytes(self) -> bytes:
        return bytes(self._buf)


def encode_any(value: object) -> bytes:
    """lib0's `encoding.writeAny` of a JSON-like value (y-prosemirror hashes marks with it)."""
    encoder = Encoder()
    _write_any(encoder, value, 0)
    return encoder.to_bytes()


_MAX_ANY_DEPTH = 64


def _write_any(encoder: Encoder, value: object, depth: int) -> None:
    if depth > _MAX_ANY_DEPTH:
        raise ValueError("value nested too deep to encode")
    if value is None:
        encoder.write_u8(126)
    elif value is True:
        encoder.write_u8(120)
    elif value is False:
        encoder.write_u8(121)
    elif isinstance(value, str):
        encoder.write_u8(119)
        encoder.write_var_string(value)
    elif isinstance(value, int | float) and float(value).is_integer() and abs(value) <= 2**31 - 1:
        # lib0 writes integers of 31 bits and less as varInt, other numbers as floats
        encoder.write_u8(125)
        encoder.write_var_int(int(value))
    elif isinstance(value, int | float):
        number = float(value)
        packed = struct.pack(">f", number)
        if struct.unpack(">f", packed)[0] == number:
            encoder.write_u8(124)
        else:
            encoder.write_u8(123)
            packed = struct.pack(">d", number)
        encoder.write_bytes(packed)
    elif isinstance(value, list | tuple):
        encoder.write_u8(117)
        encoder.write_var_uint(len(value))
        for item in value:
            _write_any(encoder, item, depth + 1)
    elif isinstance(value, dict):
        encoder.write_u8(118)
        encoder.write_var_uint(len(value))
        for key, item in value.items():
            encoder.write_var_string(str(key))
            _write_any(encoder, item, depth + 1)
    else:
        raise TypeError(f"lib0 cannot encode {type(value).__name__}")
