"""Split a large Yjs update into bounded updates that apply in order with nothing pending.

A document's state as one update can be tens of MB: too big for one WebSocket frame, and too
much to apply in one go on the event loop. ``split_update`` cuts it at struct boundaries into
updates of about ``max_bytes`` each, ordered so that every struct comes after the structs it
points at (its origin, right origin and parent): a Yjs or yrs peer integrates each piece at
once instead of holding it back as pending, which with pieces out of causal order costs Yjs a
re-merge of the pending rest on every piece. The delete set comes apart, as its own update.

The input is an update yrs wrote for us (a state or a diff), so the walk trusts its layout;
untrusted bytes go through ``crdt.update.read_update`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt.lib0 import Encoder

_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20
_REF_MASK = 0x1F

_ANY_OBJECT = 118
_ANY_ARRAY = 117
# Any tags followed by nothing, a varint, a float32, a float64/bigint, a string, bytes.
_ANY_EMPTY = frozenset({127, 126, 121, 120})
_ANY_FIXED = {124: 4, 123: 8, 122: 8}

EMPTY_DELETE_SET = b"\x00"


@dataclass(frozen=True, slots=True)
class Split:
    """The pieces of an update: struct updates in causal order, then its delete set alone."""

    updates: list[bytes]
    delete_set: bytes  # an update with no structs and the whole delete set (b"\x00\x00": none)

    @property
    def all(self) -> list[bytes]:
        return [*self.updates, self.delete_set]


@dataclass(slots=True)
class _Struct:
    clock: int
    end_clock: int
    start: int  # byte offsets of its encoding in the update
    end: int
    deps: tuple[tuple[int, int], ...]  # ids of other clients it points at


class _Reader:
    """A cursor over trusted lib0 bytes (yrs wrote them): no checks beyond what Python does."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def uint(self) -> int:
        data = self.data
        pos = self.pos
        byte = data[pos]
        pos += 1
        value = byte & 0x7F
        shift = 7
        while byte & 0x80:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
        self.pos = pos
        return value

    def skip_bytes(self) -> int:
        """Skip a length-prefixed byte string; returns where it started."""
        n = self.uint()
        start = self.pos
        self.pos += n
        return start

    def utf16_length(self) -> int:
        """Skip a lib0 string and return its length in UTF-16 code units (Yjs clocks)."""
        start = self.skip_bytes()
        raw = self.data[start : self.pos]
        if raw.isascii():
            return len(raw)
        return len(raw.decode("utf-8").encode("utf-16-le")) // 2

    def skip_var_int(self) -> None:
        data = self.data
        while data[self.pos] & 0x80:
            self.pos += 1
        self.pos += 1

    def skip_any(self) -> None:
        tag = self.data[self.pos]
        self.pos += 1
        if tag in _ANY_EMPTY:
            return
        if tag == 125:
            self.skip_var_int()
        elif tag in _ANY_FIXED:
            self.pos += _ANY_FIXED[tag]
        elif tag in (119, 116):  # string, bytes
            self.skip_bytes()
        elif tag == _ANY_OBJECT:
            for _ in range(self.uint()):
                self.skip_bytes()
                self.skip_any()
        elif tag == _ANY_ARRAY:
            for _ in range(self.uint()):
                self.skip_any()
        else:
            raise ValueError(f"unknown Any tag {tag} at {self.pos - 1}")


def _content_length(r: _Reader, ref: int) -> int:
    """Skip an item's content; its length in clock ticks."""
    if ref == 4:  # string
        return r.utf16_length()
    if ref == 1:  # deleted
        return r.uint()
    if ref in (3, 5):  # binary, embed
        r.skip_bytes()
        return 1
    if ref == 6:  # format: key, value
        r.skip_bytes()
        r.skip_bytes()
        return 1
    if ref == 7:  # type
        type_ref = r.uint()
        if type_ref in (3, 5):  # XmlElement, XmlHook: a name
            r.skip_bytes()
        return 1
    if ref == 8:  # any
        n = r.uint()
        for _ in range(n):
            r.skip_any()
        return n
    if ref == 2:  # JSON
        n = r.uint()
        for _ in range(n):
            r.skip_bytes()
        return n
    if ref == 9:  # subdocument: guid, options
        r.skip_bytes()
        r.skip_any()
        return 1
    raise ValueError(f"unknown content ref {ref} at {r.pos}")


def _read_blocks(r: _Reader) -> list[tuple[int, list[_Struct]]]:
    """Every client's structs in the order the update holds them."""
    blocks: list[tuple[int, list[_Struct]]] = []
    for _ in range(r.uint()):
        count = r.uint()
        client = r.uint()
        clock = r.uint()
        structs: list[_Struct] = []
        for _ in range(count):
            start = r.pos
            info = r.data[start]
            r.pos += 1
            ref = info & _REF_MASK
            deps: list[tuple[int, int]] = []
            if ref in (0, 10):  # GC, Skip: a length and nothing else
                length = r.uint()
            else:
                if info & _HAS_ORIGIN:
                    deps.append((r.uint(), r.uint()))
                if info & _HAS_RIGHT_ORIGIN:
                    deps.append((r.uint(), r.uint()))
                if not info & (_HAS_ORIGIN | _HAS_RIGHT_ORIGIN):
                    if r.uint() == 1:  # a root type, by name
                        r.skip_bytes()
                    else:  # a nested type: the id of the item that holds it
                        deps.append((r.uint(), r.uint()))
                    if info & _HAS_PARENT_SUB:
                        r.skip_bytes()
                length = _content_length(r, ref)
            if ref != 10:  # a Skip carries nothing: leave it out, clocks say where it was
                foreign = tuple(dep for dep in deps if dep[0] != client)
                structs.append(_Struct(clock, clock + length, start, r.pos, foreign))
            clock += length
        blocks.append((client, structs))
    return blocks


def _causal_order(blocks: list[tuple[int, list[_Struct]]]) -> list[tuple[int, _Struct]]:
    """Every struct once, each after the structs of other clients it points at.

    A client's structs keep their order. When the next one needs a struct of another client
    not yet placed, that client goes first (a stack, as Yjs integrates); when it needs one of
    a client further down the stack, the stack unwinds to it. A reference the update cannot
    satisfy (the peer has it already, or it does not exist) does not wait, and neither does a
    struct caught in a cycle (impossible in a causal history; the peer then holds it back).
    """
    structs = dict(blocks)
    placed = {client: items[0].clock if items else 0 for client, items in blocks}
    ends = {client: items[-1].end_clock if items else 0 for client, items in blocks}
    cursor = dict.fromkeys(structs, 0)
    order: list[tuple[int, _Struct]] = []
    total = sum(len(items) for items in structs.values())
    while len(order) < total:
        for first in structs:
            stack = [first]
            moves = 0  # stack moves since the last placement: past 2x the clients, a cycle
            while stack:
                client = stack[-1]
                items = structs[client]
                index = cursor[client]
                if index == len(items):
                    stack.pop()
                    continue
                item = items[index]
                waiting_for = None
                for dep_client, dep_clock in item.deps:
                    if placed.get(dep_client, dep_clock + 1) <= dep_clock < ends.get(dep_client, 0):
                        waiting_for = dep_client
                        break
                if waiting_for is not None and moves <= 2 * len(structs):
                    moves += 1
                    if waiting_for in stack:
                        del stack[stack.index(waiting_for) + 1 :]  # back down to it
                    else:
                        stack.append(waiting_for)
                    continue
                order.append((client, item))
                cursor[client] = index + 1
                placed[client] = item.end_clock
                moves = 0
    return order


def _encode(data: bytes, runs: dict[int, list[_Struct]]) -> bytes:
    """An update of these clients' contiguous struct runs and an empty delete set."""
    enc = Encoder()
    enc.write_var_uint(len(runs))
    for client, items in runs.items():
        enc.write_var_uint(len(items))
        enc.write_var_uint(client)
        enc.write_var_uint(items[0].clock)
        start = items[0].start
        end = items[0].end
        for item in items[1:]:
            if item.start != end:  # not adjacent in the source: copy what we have so far
                enc.write_bytes(data[start:end])
                start = item.start
            end = item.end
        enc.write_bytes(data[start:end])
    enc.write_bytes(EMPTY_DELETE_SET)
    return enc.to_bytes()


def split_update(update: bytes, max_bytes: int = 1024 * 1024) -> Split:
    """The update as struct updates of about ``max_bytes`` each (a single struct larger than
    that is one update of its own), in causal order, and its delete set as one update."""
    r = _Reader(update)
    blocks = _read_blocks(r)
    delete_set = b"\x00" + update[r.pos :]
    pieces: list[bytes] = []
    runs: dict[int, list[_Struct]] = {}
    size = 0
    for client, item in _causal_order(blocks):
        run = runs.get(client)
        if run is not None and run[-1].end_clock != item.clock:
            # A struct the order moved past a Skip-free gap cannot join this run.
            pieces.append(_encode(update, runs))
            runs, size, run = {}, 0, None
        if run is None:
            run = runs[client] = []
        run.append(item)
        size += item.end - item.start
        if size >= max_bytes:
            pieces.append(_encode(update, runs))
            runs, size = {}, 0
    if runs:
        pieces.append(_encode(update, runs))
    return Split(pieces, delete_set)
