"""Where a comment goes: an anchor named by a request, resolved to ranges of the body's text.

An anchor is given as
- `{"quote": "exact text", "occurrence": n}`: the n-th occurrence (1-based, in reading order,
  each search starting one character after the previous match) of the text inside one block
  (a paragraph, heading or code block; a hard break is "\\n"): a quote never spans blocks;
- `{"from": b64, "to": b64}`: two Yjs relative positions (base64 of
  `Y.encodeRelativePosition`) inside the body's text, as y-prosemirror's
  `absolutePositionToRelativePosition` makes them for an editor's selection; the range may
  span blocks.

Everything is bounded by the anchor's limits and the document's size; a bad anchor is an
AnchorError naming what is wrong (crdt.comments places the mark over what `resolve` finds).
"""

from __future__ import annotations

import base64
import binascii
import random
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, StickyIndex, XmlElement, XmlFragment, XmlText

from crdt.document import CONTENT, Document
from crdt.errors import CrdtError, ProtocolError
from crdt.lib0 import Decoder, Encoder
from crdt.sanitize import is_utf8_text

MAX_QUOTE = 10_000  # characters of a quote anchor
MAX_OCCURRENCE = 100_000
MAX_POSITION = 64  # bytes of one decoded relative position (Yjs writes at most ~25)

_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


class AnchorError(CrdtError):
    """An anchor that names no text of the document (or is malformed); nothing was changed."""


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    occurrence: int = 1


@dataclass(frozen=True, slots=True)
class Positions:
    start: bytes  # Y.encodeRelativePosition
    end: bytes


Anchor = Quote | Positions


def parse_anchor(raw: object) -> Anchor:
    """An anchor from a request's JSON; AnchorError when it is not one."""
    if not isinstance(raw, dict):
        raise AnchorError('anchor must be {"quote": "…", "occurrence": n} or {"from": …, "to": …}')
    if "quote" in raw:
        if set(raw) - {"quote", "occurrence"}:
            raise AnchorError("a quote anchor has only quote and occurrence")
        text, occurrence = raw["quote"], raw.get("occurrence", 1)
        if not isinstance(text, str) or not text or len(text) > MAX_QUOTE:
            raise AnchorError(f"quote must be a string of 1 to {MAX_QUOTE} characters")
        if "\x00" in text or not is_utf8_text(text):
            raise AnchorError("quote must be text")
        if isinstance(occurrence, bool) or not isinstance(occurrence, int):
            raise AnchorError("occurrence must be a whole number")
        if not 1 <= occurrence <= MAX_OCCURRENCE:
            raise AnchorError(f"occurrence must be from 1 to {MAX_OCCURRENCE}")
        return Quote(text, occurrence)
    if set(raw) != {"from", "to"}:
        raise AnchorError('anchor must be {"quote": "…", "occurrence": n} or {"from": …, "to": …}')
    return Positions(_position_bytes(raw["from"], "from"), _position_bytes(raw["to"], "to"))


def _position_bytes(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not 0 < len(value) <= 4 * MAX_POSITION:
        raise AnchorError(f"{name} must be a base64 Yjs relative position")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AnchorError(f"{name} is not base64") from None
    if not data or len(data) > MAX_POSITION:
        raise AnchorError(f"{name} is not a Yjs relative position")
    return data


# -- the body's text, in reading order ----------------------------------------------------------


@dataclass(slots=True)
class BodyText:
    node: XmlText
    block: int  # texts of one element share it
    plain: str


def body_texts(fragment: XmlFragment) -> list[BodyText]:
    """Every XmlText of the body in reading order, with its block (any depth: no recursion)."""
    out: list[BodyText] = []
    blocks = 0
    stack: list[tuple[Iterator[Any], int]] = [(iter(fragment.children), 0)]
    while stack:
        children, block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
        elif isinstance(child, XmlText):
            plain = "".join(chunk for chunk, _ in child.diff() if isinstance(chunk, str))
            out.append(BodyText(child, block, plain))
        elif isinstance(child, XmlElement):
            blocks += 1
            stack.append((iter(child.children), blocks))
    return out


def utf8_offset(text: str, index: int) -> int:
    """The UTF-8 offset (pycrdt's text positions) of character `index`."""
    return len(text[:index].encode())


# -- resolving an anchor -----------------------------------------------------------------------

Span = tuple[int, int, int]  # (text in reading order, start, end) in UTF-8 bytes


def _quote_spans(texts: list[BodyText], quote: Quote) -> list[Span]:
    seen = 0
    index = 0
    while index < len(texts):
        block = texts[index].block
        group = [index]
        while index + len(group) < len(texts) and texts[index + len(group)].block == block:
            group.append(index + len(group))
        joined = "\n".join(texts[i].plain for i in group)
        found = joined.find(quote.text)
        while found >= 0:
            seen += 1
            if seen == quote.occurrence:
                return _block_spans(texts, group, found, found + len(quote.text))
            found = joined.find(quote.text, found + 1)
        index += len(group)
    if seen == 0:
        raise AnchorError("the quote is not in the document")
    raise AnchorError(
        f"the quote occurs {seen} time{'s' if seen > 1 else ''}, not {quote.occurrence}"
    )


def _block_spans(texts: list[BodyText], group: list[int], start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    offset = 0
    for i in group:
        plain = texts[i].plain
        lo, hi = max(start - offset, 0), min(end - offset, len(plain))
        if lo < hi:
            spans.append((i, utf8_offset(plain, lo), utf8_offset(plain, hi)))
        offset += len(plain) + 1
    return spans


def _read_position(data: bytes) -> tuple[int, int, int, int]:
    """(kind, client, clock, assoc) of a relative position: kind 0 is before an item (after
    it when assoc < 0), kind 2 the end of a type (its start when assoc < 0)."""
    decoder = Decoder(data)
    try:
        kind = decoder.read_var_uint()
        if kind not in (0, 2):
            raise AnchorError("the position is not inside the document's text")
        client, clock = decoder.read_var_uint(), decoder.read_var_uint()
        assoc = decoder.read_var_int() if not decoder.done else 0
        if not decoder.done:
            raise AnchorError("the position has trailing bytes")
    except ProtocolError:
        raise AnchorError("the position is not a Yjs relative position") from None
    return kind, client, clock, assoc


def _probe(client: int, kind: int, target: tuple[int, int], marker: str) -> bytes:
    """An update of one string `marker` by `client`: after item `target` (kind 0, so in its
    parent), or at the start of the type `target` (kind 2)."""
    encoder = Encoder()
    encoder.write_var_uint(1)  # clients
    encoder.write_var_uint(1)  # structs
    encoder.write_var_uint(client)
    encoder.write_var_uint(0)  # clock
    if kind == 0:
        encoder.write_u8(0x84)  # a string with an origin: its parent is the origin's
        encoder.write_var_uint(target[0])
        encoder.write_var_uint(target[1])
    else:
        encoder.write_u8(0x04)  # a string with an explicit parent: the type's item id
        encoder.write_var_uint(0)
        encoder.write_var_uint(target[0])
        encoder.write_var_uint(target[1])
    encoder.write_var_string(marker)
    encoder.write_var_uint(0)  # empty delete set
    return encoder.to_bytes()


def _which_texts(live: Document, positions: Sequence[bytes]) -> list[int]:
    """For each position, the index (reading order) of the XmlText it lies in.

    pycrdt 0.14 can turn a relative position into an index but not say in which type
    (docs/pycrdt-pitfalls.md#relative-positions-in-xml-text), so each is found by a probe: on
    a scratch copy, a unique string inserted next to the position's item lands in the same
    XmlText; a position in no text of the body (between blocks, in an item this document never
    had, in deleted and collected text) finds none."""
    scratch: Doc[Any] = Doc()
    scratch.apply_update(live.encode())
    taken = set(live.state())
    markers = []
    for data in positions:
        kind, client, clock, _ = _read_position(data)
        prober = random.getrandbits(31)
        while prober in taken or prober == 0:
            prober = random.getrandbits(31)
        taken.add(prober)
        marker = "\U000f0000" + secrets.token_hex(8)
        try:
            scratch.apply_update(_probe(prober, kind, (client, clock), marker))
        except _PASS_THROUGH:
            raise
        except BaseException:  # pycrdt refusals, PanicException included
            raise AnchorError("the position is not inside the document's text") from None
        markers.append(marker)
    found: list[int] = [-1] * len(markers)
    for index, text in enumerate(body_texts(scratch.get(CONTENT, type=XmlFragment))):
        for which, marker in enumerate(markers):
            if marker in text.plain:
                found[which] = index
    if -1 in found:
        raise AnchorError("the position is not inside the document's text")
    return found


def _offset(data: bytes, copy: Doc[Any], plain: str) -> int:
    """The UTF-8 offset (pycrdt's) of a relative position in its XmlText, whose text is `plain`.

    pycrdt gives an item's position in UTF-16 units (Yjs' clocks), and a type's end in UTF-8
    bytes: docs/pycrdt-pitfalls.md#relative-positions-in-xml-text."""
    kind, client, clock, assoc = _read_position(data)
    if kind == 2:
        return 0 if assoc < 0 else len(plain.encode())
    full = Encoder()  # with its assoc, which Yjs may leave out (read as 0) and pycrdt needs
    for number in (kind, client, clock):
        full.write_var_uint(number)
    full.write_var_int(assoc)
    try:
        with copy.transaction() as txn:
            units = StickyIndex.decode(full.to_bytes()).get_index(txn)
    except _PASS_THROUGH:
        raise
    except BaseException:
        raise AnchorError("the position is not inside the document's text") from None
    index = 0
    while units > 0 and index < len(plain):
        units -= 2 if ord(plain[index]) > 0xFFFF else 1
        index += 1
    if units != 0:  # past the end, or inside a character of two UTF-16 units
        raise AnchorError("the position is not inside the document's text")
    return utf8_offset(plain, index)


def _position_spans(
    live: Document, copy: Doc[Any], texts: list[BodyText], anchor: Positions
) -> list[Span]:
    first, last = _which_texts(live, [anchor.start, anchor.end])
    start = _offset(anchor.start, copy, texts[first].plain)
    end = _offset(anchor.end, copy, texts[last].plain)
    if (first, start) >= (last, end):
        raise AnchorError("the range is empty or ends before it starts")
    spans: list[Span] = []
    for index in range(first, last + 1):
        size = len(texts[index].plain.encode())
        lo = start if index == first else 0
        hi = end if index == last else size
        if lo < hi:
            spans.append((index, lo, hi))
    return spans


def resolve(live: Document, copy: Doc[Any], texts: list[BodyText], anchor: Anchor) -> list[Span]:
    """The ranges of `texts` (the body of `copy`, a copy of `live`) that `anchor` names, in
    reading order and none empty; AnchorError when there are none."""
    spans = _quote_spans(texts, anchor) if isinstance(anchor, Quote) else None
    if spans is None:
        assert isinstance(anchor, Positions)
        spans = _position_spans(live, copy, texts, anchor)
    if not spans:
        raise AnchorError("the range holds no text")
    return spans
