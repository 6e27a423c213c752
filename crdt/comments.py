"""Comment anchors in the body: a `comment` mark with `{"id": thread}` over a range of text.

The mark does not exclude itself (threads may overlap), so y-prosemirror stores it as the text
attribute `comment--<hash>`, hash = base64 of sha256 over lib0's `encodeAny` of the mark's
JSON `{"type": "comment", "attrs": {"id": …}}`, folded to 6 bytes (y-prosemirror's
`hashOfJSON`, reproduced by `mark_key`). Being formatting, an anchor moves with its text
through every concurrent edit, and versions carry it like bold.

Placing the mark over what an anchor names (crdt.anchors) or taking it off is one update
computed on a copy of the document (crdt.edit), for the caller to apply to the live room like
any client's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from pycrdt import XmlFragment, XmlText

from crdt import schema
from crdt.anchors import (
    Anchor,
    AnchorError,
    BodyText,
    Positions,
    Quote,
    Span,
    body_texts,
    parse_anchor,
    resolve,
)
from crdt.document import Document
from crdt.edit import editable_copy, one_transaction
from crdt.lib0 import encode_any
from crdt.render import mark_name

__all__ = [
    "Anchor",
    "AnchorError",
    "Placed",
    "Positions",
    "Quote",
    "mark_key",
    "new_thread_id",
    "parse_anchor",
    "place",
    "quotes",
    "remove",
    "thread_of",
]

MAX_THREAD_ID = 64
_THREAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Placed:
    update: bytes  # the change to apply to the live document
    quote: str  # the text it covers


def new_thread_id() -> str:
    """A short random url-safe id (12 characters, 72 bits)."""
    return secrets.token_urlsafe(9)


def mark_key(thread: str) -> str:
    """The text attribute y-prosemirror stores a thread's `comment` mark under."""
    digest = bytearray(
        hashlib.sha256(encode_any({"type": "comment", "attrs": {"id": thread}})).digest()
    )
    for i in range(6, len(digest)):
        digest[i % 6] ^= digest[i]
    return f"{schema.COMMENT}--{base64.b64encode(bytes(digest[:6])).decode()}"


def thread_of(attribute: str, value: Any) -> str | None:
    """The thread a text attribute anchors, None if it is no comment mark."""
    if mark_name(attribute) != schema.COMMENT or not isinstance(value, dict):
        return None
    thread = value.get("id")
    return thread if isinstance(thread, str) and 0 < len(thread) <= MAX_THREAD_ID else None


# -- the changes ---------------------------------------------------------------------------------


def _covered(texts: list[BodyText], spans: list[Span]) -> str:
    return "\n".join(texts[i].plain.encode()[lo:hi].decode() for i, lo, hi in spans)


def place(live: Document, thread: str, anchor: Anchor) -> Placed:
    """The update that puts thread's mark over the anchor's text, and that text."""
    if not _THREAD_ID.fullmatch(thread):
        raise ValueError(f"not a thread id: {thread!r}")
    copy, body = editable_copy(live, "commented")
    texts = body_texts(body)
    spans = resolve(live, copy, texts, anchor)
    key, value = mark_key(thread), {"id": thread}

    def mark() -> None:
        for index, lo, hi in spans:
            texts[index].node.format(lo, hi, {key: value})

    update = one_transaction(copy, mark)
    if update is None:  # pragma: no cover - a format over text always writes
        raise AnchorError("the range holds no text")
    return Placed(update, _covered(texts, spans))


def remove(live: Document, thread: str) -> bytes | None:
    """The update that takes thread's mark off every text it covers; None when there is none."""
    copy, body = editable_copy(live, "uncommented")
    ranges: list[tuple[XmlText, int, int, str]] = []
    for text in body_texts(body):
        position = 0
        for chunk, attributes in text.node.diff():
            if not isinstance(chunk, str):
                continue
            size = len(chunk.encode())
            for key, value in (attributes or {}).items():
                if thread_of(key, value) == thread:
                    ranges.append((text.node, position, position + size, key))
            position += size
    if not ranges:
        return None

    def unmark() -> None:
        for node, lo, hi, key in ranges:
            node.format(lo, hi, {key: None})

    return one_transaction(copy, unmark)


def quotes(fragment: XmlFragment) -> dict[str, str]:
    """Per thread with a mark in the body, the text it covers (pieces in different texts of
    the body joined by a newline)."""
    pieces: dict[str, list[tuple[int, str]]] = {}
    for index, text in enumerate(body_texts(fragment)):
        for chunk, attributes in text.node.diff():
            if not isinstance(chunk, str):
                continue
            for key, value in (attributes or {}).items():
                thread = thread_of(key, value)
                if thread is not None:
                    pieces.setdefault(thread, []).append((index, chunk))
    out: dict[str, str] = {}
    for thread, parts in pieces.items():
        joined: list[str] = []
        last = None
        for index, chunk in parts:
            if last is not None and index != last:
                joined.append("\n")
            joined.append(chunk)
            last = index
        out[thread] = "".join(joined)
    return out
