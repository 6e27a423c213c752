"""A structural reader for Yjs update v1, so that malformed bytes never reach yrs.

It walks every struct and the delete set, checking the layout without building Yjs
objects, and reports each client's clock range and what the update refers to: ``Document``
uses those to refuse updates that skip ahead of the document (yrs would integrate them out of
order: docs/pycrdt-pitfalls.md#out-of-order-updates) or that refer to content neither the
document nor the update holds (yrs would keep them pending: unseen by the size limit,
relayed, stored, never shown; docs/pycrdt-pitfalls.md#dangling-references).
Every loop consumes at least one byte per turn and no claimed count sizes an allocation,
so hostile input costs time linear in its length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crdt.errors import ProtocolError
from crdt.lib0 import Decoder

_REF_GC = 0
_REF_DELETED = 1
_REF_JSON = 2
_REF_BINARY = 3
_REF_STRING = 4
_REF_EMBED = 5
_REF_FORMAT = 6
_REF_TYPE = 7
_REF_ANY = 8
_REF_DOC = 9
_REF_SKIP = 10

_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20
_REF_MASK = 0x1F

_TYPE_XML_ELEMENT = 3
_TYPE_XML_HOOK = 5
_TYPE_MAX = 6  # YArray, YMap, YText, YXmlElement, YXmlFragment, YXmlHook, YXmlText

_ANY_UNDEFINED = 127
_ANY_NULL = 126
_ANY_VAR_INT = 125
_ANY_FLOAT32 = 124
_ANY_FLOAT64 = 123
_ANY_BIGINT64 = 122
_ANY_FALSE = 121
_ANY_TRUE = 120
_ANY_STRING = 119
_ANY_OBJECT = 118
_ANY_ARRAY = 117
_ANY_BYTES = 116


@dataclass(frozen=True, slots=True)
class UpdateInfo:
    """Shape of an update: per client, the first clock it carries and the clock after its last.

    ``skip_ends`` (for merged updates only) maps a client to the end of its last Skip
    struct: the structs after it need the document to have reached that clock already.
    """

    start_clocks: dict[int, int]
    end_clocks: dict[int, int]
    struct_count: int
    delete_count: int
    skip_ends: dict[int, int] = field(default_factory=dict)
    # What structs refer to in other clients (origin, right origin, parent), in order:
    # (client, clock of the struct, referred client, referred clock). A struct's references to
    # its own client always precede it (checked here), so they need nothing of the document.
    refs: list[tuple[int, int, int, int]] = field(default_factory=list)
    # Per client, the clock after the last one the delete set names.
    delete_ends: dict[int, int] = field(default_factory=dict)


def read_update(update: bytes, *, max_depth: int = 32) -> UpdateInfo:
    """Parse a whole Yjs v1 update; ProtocolError on anything Yjs would not write."""
    dec = Decoder(update)
    start_clocks: dict[int, int] = {}
    end_clocks: dict[int, int] = {}
    skip_ends: dict[int, int] = {}
    refs: list[tuple[int, int, int, int]] = []
    struct_count = 0
    num_clients = _read_count(dec, "client blocks", 3)
    for _ in range(num_clients):
        num_structs = _read_count(dec, "structs", 2)
        if num_structs == 0:
            raise ProtocolError("client block with no structs")
        client = dec.read_var_uint()
        clock = dec.read_var_uint()
        if client in start_clocks:
            raise ProtocolError(f"client {client} appears twice in the update")
        start_clocks[client] = clock
        for _ in range(num_structs):
            info = dec.read_u8()
            ref = info & _REF_MASK
            if ref == _REF_SKIP:
                length = _read_length(dec)
                skip_ends[client] = clock + length
            elif ref == _REF_GC:
                length = _read_length(dec)
            else:
                length = _read_item(dec, info, ref, max_depth, client, clock, refs)
            clock += length
            if clock > 2**53 - 1:
                raise ProtocolError(f"clock of client {client} overflows")
        end_clocks[client] = clock
        struct_count += num_structs
    delete_ends: dict[int, int] = {}
    delete_count = _read_delete_set(dec, delete_ends)
    if not dec.done:
        raise ProtocolError(f"{dec.remaining} trailing bytes after the delete set")
    return UpdateInfo(
        start_clocks, end_clocks, struct_count, delete_count, skip_ends, refs, delete_ends
    )


def _read_count(dec: Decoder, what: str, min_bytes_each: int) -> int:
    """A claimed element count, refused early if the remaining bytes cannot hold it."""
    count = dec.read_var_uint()
    if count * min_bytes_each > dec.remaining:
        raise ProtocolError(f"{count} {what} claimed but only {dec.remaining} bytes follow")
    return count


def _read_length(dec: Decoder) -> int:
    length = dec.read_var_uint()
    if length == 0:
        raise ProtocolError("struct of length zero")
    return length


def _read_item(
    dec: Decoder,
    info: int,
    ref: int,
    max_depth: int,
    client: int,
    clock: int,
    refs: list[tuple[int, int, int, int]],
) -> int:
    """Skip over one Item, note what it refers to, and return its length in clock ticks."""
    if info & _HAS_ORIGIN:
        _read_reference(dec, client, clock, refs)
    if info & _HAS_RIGHT_ORIGIN:
        _read_reference(dec, client, clock, refs)
    if not info & (_HAS_ORIGIN | _HAS_RIGHT_ORIGIN):
        parent_info = dec.read_var_uint()
        if parent_info == 1:
            dec.read_var_string()
        elif parent_info == 0:
            _read_reference(dec, client, clock, refs)
        else:
            raise ProtocolError(f"unknown parent info {parent_info}")
        if info & _HAS_PARENT_SUB:
            dec.read_var_string()
    if ref == _REF_DELETED:
        return _read_length(dec)
    if ref == _REF_JSON:
        n = _read_count(dec, "JSON values", 1)
        if n == 0:
            raise ProtocolError("JSON content of length zero")
        for _ in range(n):
            dec.read_var_string()
        return n
    if ref == _REF_BINARY:
        dec.read_var_bytes()
        return 1
    if ref == _REF_STRING:
        text = dec.read_var_string()
        units = len(text.encode("utf-16-le")) // 2  # Yjs clocks count UTF-16 code units
        if units == 0:
            raise ProtocolError("string content of length zero")
        return units
    if ref == _REF_EMBED:
        dec.read_var_string()
        return 1
    if ref == _REF_FORMAT:
        dec.read_var_string()
        dec.read_var_string()
        return 1
    if ref == _REF_TYPE:
        type_ref = dec.read_var_uint()
        if type_ref > _TYPE_MAX:
            raise ProtocolError(f"unknown type ref {type_ref}")
        if type_ref in (_TYPE_XML_ELEMENT, _TYPE_XML_HOOK):
            dec.read_var_string()
        return 1
    if ref == _REF_ANY:
        n = _read_count(dec, "Any values", 1)
        if n == 0:
            raise ProtocolError("Any content of length zero")
        for _ in range(n):
            _skip_any(dec, max_depth)
        return n
    if ref == _REF_DOC:
        dec.read_var_string()
        _skip_any(dec, max_depth)
        return 1
    raise ProtocolError(f"unknown content ref {ref}")


def _read_reference(
    dec: Decoder, client: int, clock: int, refs: list[tuple[int, int, int, int]]
) -> None:
    """An ID an item refers to. It existed when the item was made, so an ID of the item's own
    client has a smaller clock; another client's is noted for ``Document`` to look up."""
    ref_client = dec.read_var_uint()
    ref_clock = dec.read_var_uint()
    if ref_client != client:
        refs.append((client, clock, ref_client, ref_clock))
    elif ref_clock >= clock:
        raise ProtocolError(f"struct {client}:{clock} refers to {client}:{ref_clock}, after it")


def _skip_any(dec: Decoder, depth: int) -> None:
    """Skip one lib0 Any value; nesting is bounded so hostile input cannot exhaust the stack."""
    if depth <= 0:
        raise ProtocolError("Any value nested too deeply")
    tag = dec.read_u8()
    if tag in (_ANY_UNDEFINED, _ANY_NULL, _ANY_FALSE, _ANY_TRUE):
        return
    if tag == _ANY_VAR_INT:
        dec.read_var_int()
    elif tag == _ANY_FLOAT32:
        dec.read_float32()
    elif tag == _ANY_FLOAT64:
        dec.read_float64()
    elif tag == _ANY_BIGINT64:
        dec.read_big_int64()
    elif tag == _ANY_STRING:
        dec.read_var_string()
    elif tag == _ANY_OBJECT:
        for _ in range(_read_count(dec, "object entries", 2)):
            dec.read_var_string()
            _skip_any(dec, depth - 1)
    elif tag == _ANY_ARRAY:
        for _ in range(_read_count(dec, "array items", 1)):
            _skip_any(dec, depth - 1)
    elif tag == _ANY_BYTES:
        dec.read_var_bytes()
    else:
        raise ProtocolError(f"unknown Any tag {tag}")


def _read_delete_set(dec: Decoder, ends: dict[int, int]) -> int:
    """The number of delete ranges; `ends` gets, per client, the clock after the last one."""
    ranges = 0
    for _ in range(_read_count(dec, "delete-set clients", 2)):
        client = dec.read_var_uint()
        n = _read_count(dec, "delete ranges", 2)
        end = ends.get(client, 0)
        for _ in range(n):
            clock = dec.read_var_uint()
            end = max(end, clock + dec.read_var_uint())
        if n:
            ends[client] = end
        ranges += n
    return ranges
