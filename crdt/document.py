"""A pycrdt document that untrusted bytes reach only through our own checks.

Every update is parsed by ``crdt.update`` first, refused if it skips ahead of the
document's state (yrs would integrate it out of order, DESIGN §5), and only then handed to
pycrdt, whose failures (including ``PanicException``, a ``BaseException``) become
``UpdateRejected``.
"""

from __future__ import annotations

from collections.abc import Iterable
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

    __slots__ = ("_content", "_doc")

    def __init__(self, *, skip_gc: bool = False) -> None:
        self._doc: Doc[Any] = Doc(skip_gc=skip_gc)
        self._content: XmlFragment = self._doc.get(CONTENT, type=XmlFragment)

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
        if missing:
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
                    held = doc._retry(held)
        for data in held:  # never filled in: keep the content rather than drop it
            doc._apply_unchecked(data)
        return doc

    def _retry(self, held: list[bytes]) -> list[bytes]:
        """Apply held-back updates whose gap has closed, until no more can go in."""
        progress = True
        while held and progress:
            progress = False
            still: list[bytes] = []
            for data in held:
                try:
                    self.apply(data)
                    progress = True
                except UpdateGap:
                    still.append(data)
            held = still
        return held

    def adds_anything(self, update: bytes) -> bool:
        """Whether applying this (well-formed) update would change the document."""
        info = read_update(update)
        have = self.state()
        return info.delete_count > 0 or any(
            end > have.get(client, 0) for client, end in info.end_clocks.items()
        )


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
