"""The bytes one instance publishes to the others about a document.

    magic "TB" | version 1 | kind | instance (16) | seq (u64) | sent_at (f64) | target (16) | body

`seq` counts every message an instance published for the document, so a receiver that sees
it jump knows it missed something. `target` is all zeros for everyone, else the one instance a
reply is for. `sent_at` (wall clock) lets the receiver measure cross-instance latency.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from crdt.errors import ProtocolError
from crdt.lib0 import Decoder, Encoder

_HEADER = struct.Struct(">2sBB16sQd16s")
_SEQ = struct.Struct(">Q")
_MAGIC = b"TB"
_VERSION = 1
EVERYONE = bytes(16)


class Kind(IntEnum):
    UPDATE = 1  # body: a Yjs update applied on the sender
    AWARENESS = 2  # body: an awareness update (y-protocols encoding)
    SYNC_REQUEST = 3  # body: the sender's state vector; instances with the room reply
    SYNC_REPLY = 4  # body: varBytes update missing from the requester, varBytes awareness
    FLUSHED = 5  # body: u64, the sender's last UPDATE seq now in the store
    DELETED = 6  # body: empty; the document was deleted on the sender


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: Kind
    instance: bytes
    seq: int
    sent_at: float
    target: bytes
    body: bytes

    def encode(self) -> bytes:
        head = _HEADER.pack(
            _MAGIC, _VERSION, self.kind, self.instance, self.seq, self.sent_at, self.target
        )
        return head + self.body

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        if len(data) < _HEADER.size:
            raise ProtocolError(f"broker message of {len(data)} bytes is too short")
        magic, version, kind, instance, seq, sent_at, target = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ProtocolError("not a Tandem broker message (or a newer version)")
        try:
            checked = Kind(kind)
        except ValueError:
            raise ProtocolError(f"unknown broker message kind {kind}") from None
        return cls(checked, instance, seq, sent_at, target, data[_HEADER.size :])


def encode_seq(seq: int) -> bytes:
    return _SEQ.pack(seq)


def decode_seq(body: bytes) -> int:
    if len(body) != _SEQ.size:
        raise ProtocolError("a flushed message carries one u64")
    return int(_SEQ.unpack(body)[0])


def encode_reply(update: bytes, awareness: bytes) -> bytes:
    enc = Encoder()
    enc.write_var_bytes(update)
    enc.write_var_bytes(awareness)
    return enc.to_bytes()


def decode_reply(body: bytes) -> tuple[bytes, bytes]:
    dec = Decoder(body)
    update = dec.read_var_bytes()
    awareness = dec.read_var_bytes()
    if not dec.done:
        raise ProtocolError("trailing bytes after a sync reply")
    return update, awareness
