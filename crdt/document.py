"""A pycrdt document that untrusted bytes reach only through our own checks.

Every update is parsed by ``crdt.update`` first, refused if it skips ahead of the
document's state (yrs would integrate it out of order:
docs/pycrdt-pitfalls.md#out-of-order-updates) or if it refers to content neither the document
nor the update itself holds (an origin, right origin or parent, a deleted range: yrs would keep
it pending, outside the size limit, and peers would be relayed it;
docs/pycrdt-pitfalls.md#dangling-references), and only then handed to pycrdt, whose failures
(including ``PanicException``, a ``BaseException``) become ``UpdateRejected``. Both refusals
are an ``UpdateGap``: the sender is asked for what the document lacks, as a legitimate client
racing a hub restart would be.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, XmlFragment

from crdt.errors import UpdateGap, pycrdt_refusals
from crdt.protocol import parse_state_vector
from crdt.update import UpdateInfo, read_update

CONTENT = "content"


@dataclass(frozen=True, slots=True)
class Applied:
    info: UpdateInfo
    # Every client's structs began exactly at the document's state: the update added only new
    # ids, overlapping nothing the document held (see crdt.protocol.MergeableUpdate).
    extends: bool


class Document:
    """One collaborative document: the root XmlFragment ``content`` and its history."""

    __slots__ = ("_content", "_doc", "_unchecked")

    def __init__(self, *, skip_gc: bool = False) -> None:
        self._doc: Doc[Any] = Doc(skip_gc=skip_gc)
        self._content: XmlFragment = self._doc.get(CONTENT, type=XmlFragment)
        # Stored updates `load` applied although they did not follow (what they need never
        # came): yrs may hold them pending, where `encode()` does not see them.
        self._unchecked: list[tuple[UpdateInfo, int]] = []

    @property
    def ydoc(self) -> Doc[Any]:
        return self._doc

    @property
    def content(self) -> XmlFragment:
        return self._content

    def apply(self, update: bytes) -> Applied:
        """Apply an update from a peer; ProtocolError, UpdateGap or UpdateRejected if not.

        An ``ExceptionGroup`` from an observer is re-raised as is: the update *was* applied.
        """
        info = read_update(update)
        have = self.state()
        missing: dict[int, tuple[int, int]] = {}
        extends = not info.skip_ends
        for client, start in info.start_clocks.items():
            known = have.get(client, 0)
            needed = max(start, info.skip_ends.get(client, 0))
            if needed > known:
                missing[client] = (known, needed)
            elif start != known:
                extends = False
        if missing or (missing := _unknown_references(info, have)):
            raise UpdateGap(missing)
        self._apply_unchecked(update)
        return Applied(info, extends)

    def apply_stored(self, update: bytes) -> None:
        """Apply bytes we produced ourselves (a stored or split state): no gap check."""
        self._apply_unchecked(update)

    def _apply_unchecked(self, update: bytes) -> None:
        """Hand bytes to pycrdt, translating every refusal into UpdateRejected."""
        with pycrdt_refusals("refused the update"):
            self._doc.apply_update(update)

    def state_vector(self) -> bytes:
        return self._doc.get_state()

    def state(self) -> dict[int, int]:
        """Per client, the clock after its last struct we hold (read before every update)."""
        return _decode_own_state_vector(self._doc.get_state())

    def diff(self, state_vector: bytes) -> bytes:
        """The update a peer with ``state_vector`` is missing; the vector is checked first."""
        parse_state_vector(state_vector)
        return self._doc.get_update(state_vector)

    def encode(self) -> bytes:
        return self._doc.get_update()

    @classmethod
    def load(cls, snapshot: bytes | None, updates: Iterable[bytes]) -> Document:
        """Rebuild a document from stored bytes: a snapshot, then the tail in order.

        Stored bytes passed our checks once, so a gap here means the tail was stored out of
        order (several instances appending): it is applied anyway rather than dropped, since
        the missing clocks are most likely later in the tail: it is held back until they come,
        and applied at the end if they never do. Malformed bytes still raise.
        """
        doc = cls()
        held: list[bytes] = []
        for batch in ([] if snapshot is None else [snapshot], updates):
            for data in batch:
                try:
                    doc.apply(data)
                except UpdateGap:
                    held.append(data)
                    continue
                if held:
                    held = apply_held(held, doc.apply)
        for data in held:  # never filled in: keep the content rather than drop it
            doc._apply_unchecked(data)
            doc._unchecked.append((read_update(data), len(data)))
        return doc

    def pending_bytes(self) -> int:
        """Bytes of updates yrs may still hold back (see `load`), for the size limit."""
        if not self._unchecked:
            return 0
        have = self.state()
        self._unchecked = [
            (info, size)
            for info, size in self._unchecked
            if any(end > have.get(c, 0) for c, end in info.end_clocks.items())
            or any(end > have.get(c, 0) for c, end in info.delete_ends.items())
        ]
        return sum(size for _, size in self._unchecked)

    def adds_anything(self, update: bytes) -> bool:
        """Whether applying this (well-formed) update would change the document."""
        info = read_update(update)
        have = self.state()
        return info.delete_count > 0 or any(
            end > have.get(client, 0) for client, end in info.end_clocks.items()
        )


def apply_held(held: list[bytes], apply: Callable[[bytes], object]) -> list[bytes]:
    """Apply held-back updates whose gap has closed, until no more can go in; returns those
    still held. `apply` raises UpdateGap for an update whose gap is still open."""
    progress = True
    while held and progress:
        progress = False
        still: list[bytes] = []
        for data in held:
            try:
                apply(data)
                progress = True
            except UpdateGap:
                still.append(data)
        held = still
    return held


def _unknown_references(info: UpdateInfo, have: dict[int, int]) -> dict[int, tuple[int, int]]:
    """What the update refers to that neither `have` (the document's state) nor the update
    itself provides, as UpdateGap's `missing`: per client (clock the document has, clock the
    update needs). Empty when yrs would integrate every struct and delete the whole delete set.

    The update starts no client past `have` (checked before), so client c's structs cover
    clocks up to ``max(have[c], end_clocks[c])`` if they all integrate."""
    missing: dict[int, tuple[int, int]] = {}
    within: list[tuple[int, int, int, int]] = []  # references into the update's new structs
    end_clocks = info.end_clocks
    for ref in info.refs:
        client, clock, ref_client, ref_clock = ref
        known = have.get(ref_client, 0)
        if ref_clock < known or clock < have.get(client, 0):
            continue  # the document has it, or has the struct already (its references too)
        if ref_clock < end_clocks.get(ref_client, 0):
            within.append(ref)
        else:
            _need(missing, ref_client, known, ref_clock + 1)
    if within and not missing:
        for ref_client, ref_clock in _unresolved(within, info, have):
            _need(missing, ref_client, have.get(ref_client, 0), ref_clock + 1)
    for client, end in info.delete_ends.items():
        known = max(have.get(client, 0), end_clocks.get(client, 0))
        if end > known:
            _need(missing, client, have.get(client, 0), end)
    return missing


def _need(missing: dict[int, tuple[int, int]], client: int, have: int, needed: int) -> None:
    previous = missing.get(client)
    missing[client] = (have, needed if previous is None else max(previous[1], needed))


def _unresolved(
    within: list[tuple[int, int, int, int]], info: UpdateInfo, have: dict[int, int]
) -> list[tuple[int, int]]:
    """The references of structs that would never integrate, as yrs integrates an update:
    each client's structs in clock order, a struct once every struct it refers to is in.
    A client is blocked at its first reference to a struct not in yet; when the blocking client
    advances past it, it is looked at again. References in a cycle stay blocked (yrs keeps
    them pending). Linear in the references, plus a heap operation per wait.

    `within` holds each client's references together, in clock order (as read_update reads
    one client's structs at a time)."""
    # Per client, the clock its structs reach if nothing blocks them.
    full = {c: max(have.get(c, 0), end) for c, end in info.end_clocks.items()}
    reached = dict(full)  # per client, the clock its structs have integrated up to
    position: dict[int, int] = {}  # per client with references: its first unresolved one
    stop: dict[int, int] = {}
    for index, (client, clock, _, _) in enumerate(within):
        if client not in position:
            position[client] = index
            reached[client] = clock  # the structs before its first reference integrate
        stop[client] = index + 1
    waiting: dict[int, list[tuple[int, int]]] = {}  # blocking client -> heap of (clock, client)
    ready = list(position)
    while ready:
        client = ready.pop()
        index, end = position[client], stop[client]
        while index < end and within[index][3] < reached[within[index][2]]:
            index += 1
        position[client] = index
        if index < end:
            _, clock, ref_client, ref_clock = within[index]
            reached[client] = clock
            heapq.heappush(waiting.setdefault(ref_client, []), (ref_clock, client))
        else:
            reached[client] = full[client]
        heap = waiting.get(client)
        while heap and heap[0][0] < reached[client]:
            ready.append(heapq.heappop(heap)[1])
    return [
        (within[index][2], within[index][3])
        for client, index in position.items()
        if index < stop[client]
    ]


def _decode_own_state_vector(sv: bytes) -> dict[int, int]:
    """A state vector yrs just wrote for us: trusted, so one pass over its varints without
    the checks `parse_state_vector` makes of a peer's (it is on every update's path)."""
    numbers = []
    value = shift = 0
    for byte in sv:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            numbers.append(value)
            value = shift = 0
    return dict(zip(numbers[1::2], numbers[2::2], strict=True))


def merge_into_snapshot(snapshot: bytes | None, updates: Iterable[bytes]) -> bytes:
    """Fold a log into one update by applying it; pycrdt's merge_updates is superlinear."""
    return Document.load(snapshot, updates).encode()
