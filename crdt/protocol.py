"""y-websocket messages: strict parsing and encoding of one WebSocket frame.

Wire format: varUint(messageType) [varUint(syncType)] varUint8Array(payload). The Yjs
update inside a sync message is not checked here; ``Document.apply`` does that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from pycrdt import merge_updates

from crdt.errors import FrameTooLarge, ProtocolError, pycrdt_refusals
from crdt.lib0 import Decoder, Encoder

DEFAULT_MAX_FRAME = 8 * 1024 * 1024

_AUTH_PERMISSION_DENIED = 0


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    update: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class AuthMessage:
    denied: bool
    reason: str


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessMessage | QueryAwareness | AuthMessage


def parse_message(frame: bytes, max_frame: int = DEFAULT_MAX_FRAME) -> Message:
    """Decode one frame; anything but exactly one well-formed message is a ProtocolError."""
    if len(frame) > max_frame:
        raise FrameTooLarge(f"frame of {len(frame)} bytes exceeds the limit of {max_frame}")
    if not frame:
        raise ProtocolError("empty frame")
    dec = Decoder(frame)
    kind = dec.read_var_uint()
    message: Message
    if kind == MessageType.SYNC:
        sync_type = dec.read_var_uint()
        payload = dec.read_var_bytes()
        if sync_type == SyncType.STEP1:
            parse_state_vector(payload)
            message = SyncStep1(payload)
        elif sync_type == SyncType.STEP2:
            message = SyncStep2(payload)
        elif sync_type == SyncType.UPDATE:
            message = SyncUpdate(payload)
        else:
            raise ProtocolError(f"unknown sync message type {sync_type}")
    elif kind == MessageType.AWARENESS:
        message = AwarenessMessage(dec.read_var_bytes())
    elif kind == MessageType.AUTH:
        auth_type = dec.read_var_uint()
        if auth_type != _AUTH_PERMISSION_DENIED:
            raise ProtocolError(f"unknown auth message type {auth_type}")
        message = AuthMessage(denied=True, reason=dec.read_var_string())
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    else:
        raise ProtocolError(f"unknown message type {kind}")
    if not dec.done:
        raise ProtocolError(f"{dec.remaining} trailing bytes after {type(message).__name__}")
    return message


def _sync(sync_type: SyncType, payload: bytes) -> bytes:
    enc = Encoder()
    enc.write_var_uint(MessageType.SYNC)
    enc.write_var_uint(sync_type)
    enc.write_var_bytes(payload)
    return enc.to_bytes()


def encode_sync_step1(state_vector: bytes) -> bytes:
    return _sync(SyncType.STEP1, state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return _sync(SyncType.STEP2, update)


def encode_sync_update(update: bytes) -> bytes:
    return _sync(SyncType.UPDATE, update)


class MergeableUpdate(bytes):
    """A sync-update frame whose update only added new ids to the document that applied it
    (every client's structs began at that document's state).

    A run of such frames has, on any receiver, the effect of one frame holding their merged
    update: no id is claimed twice, so there is no conflict to resolve. An update that overlaps
    what the document held (a re-send, or a client rewriting existing ids) is never marked:
    Yjs's merge keeps the longer of two overlapping structs where applying them one by one
    keeps the first, so merging it could make receivers disagree with the server.
    """

    __slots__ = ()


def merge_sync_updates(frames: Sequence[bytes]) -> bytes:
    """One sync-update frame with the effect of a run of them, applied in order.

    The frames are ones we encoded or already parsed, and marked `MergeableUpdate`: a
    receiver applies the merged update as it would the run, in one step instead of one each.
    """
    updates = []
    for frame in frames:
        message = parse_message(frame)
        assert isinstance(message, SyncUpdate)
        updates.append(message.update)
    with pycrdt_refusals("could not merge"):
        merged = merge_updates(*updates)
    return encode_sync_update(merged)


def encode_awareness(update: bytes) -> bytes:
    enc = Encoder()
    enc.write_var_uint(MessageType.AWARENESS)
    enc.write_var_bytes(update)
    return enc.to_bytes()


def encode_query_awareness() -> bytes:
    enc = Encoder()
    enc.write_var_uint(MessageType.QUERY_AWARENESS)
    return enc.to_bytes()


def encode_auth_denied(reason: str) -> bytes:
    enc = Encoder()
    enc.write_var_uint(MessageType.AUTH)
    enc.write_var_uint(_AUTH_PERMISSION_DENIED)
    enc.write_var_string(reason)
    return enc.to_bytes()


def parse_state_vector(sv: bytes) -> dict[int, int]:
    """Decode a state vector, bounding its claimed size by the bytes present.

    pycrdt trusts the count and allocates for it (nine bytes can cost ~540 MB,
    docs/pycrdt-pitfalls.md#claimed-sizes-are-allocated);
    every entry takes at least two bytes, so a larger count is refused before any work.
    """
    dec = Decoder(sv)
    count = dec.read_var_uint()
    if count > dec.remaining // 2:
        raise ProtocolError(
            f"state vector claims {count} entries but only {dec.remaining} bytes follow"
        )
    result: dict[int, int] = {}
    for _ in range(count):
        client = dec.read_var_uint()
        result[client] = dec.read_var_uint()
    if not dec.done:
        raise ProtocolError(f"{dec.remaining} trailing bytes after state vector")
    return result


def encode_state_vector(d: Mapping[int, int]) -> bytes:
    """Clients in descending order, as Yjs writes them."""
    enc = Encoder()
    enc.write_var_uint(len(d))
    for client in sorted(d, reverse=True):
        enc.write_var_uint(client)
        enc.write_var_uint(d[client])
    return enc.to_bytes()
