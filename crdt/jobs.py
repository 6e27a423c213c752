"""Whole-document work as pure functions of bytes, picklable, for the hub's worker process.

Each takes a document as *parts*: updates whose union is the document (a snapshot and its
tail, a checkpoint and the version diffs after it, a room's streamed base and the diff since).
The hub runs them in a worker process once the input is large (server/core/offload.py: pycrdt
holds the GIL while it works) and in-process otherwise; the results are bytes and plain data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from crdt.comments import Anchor, Placed, place, quotes, remove
from crdt.document import Document
from crdt.history import diff_documents
from crdt.html import prosemirror_to_html
from crdt.markdown import to_markdown
from crdt.protocol import encode_sync_update
from crdt.render import to_html, to_prosemirror, to_text
from crdt.split import split_update

Parts = Sequence[bytes]

FORMATS = ("text", "html", "json", "markdown", "yjs")


def load(parts: Parts) -> Document:
    return Document.load(None, parts)


def encode(parts: Parts) -> bytes:
    """The document as one update."""
    return load(parts).encode()


def split_state(parts: Parts, max_bytes: int) -> tuple[list[bytes], bytes, bytes]:
    """The document as sync-update frames of its structs in causal order (about `max_bytes`
    each, see crdt/split.py), its delete set as an update, and its state vector."""
    document = load(parts)
    split = split_update(document.encode(), max_bytes)
    frames = [encode_sync_update(update) for update in split.updates]
    return frames, split.delete_set, document.state_vector()


def render(parts: Parts, fmt: str) -> tuple[str, bytes]:
    """(media type, body) of the document in one of FORMATS."""
    document = load(parts)
    if fmt == "text":
        return "text/plain; charset=utf-8", to_text(document.content).encode()
    if fmt == "html":
        return "text/html; charset=utf-8", to_html(document.content).encode()
    if fmt == "json":
        body = json.dumps(
            to_prosemirror(document.content), ensure_ascii=False, separators=(",", ":")
        )
        return "application/json", body.encode()
    if fmt == "markdown":
        return "text/markdown; charset=utf-8", to_markdown(
            to_prosemirror(document.content)
        ).encode()
    if fmt == "yjs":
        return "application/octet-stream", document.encode()
    raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")


def content(parts: Parts, fmt: str) -> tuple[str, bytes, dict[str, Any]]:
    """`render`, with the ProseMirror JSON it renders without comment marks (the content API's
    base for a write, which never compares or writes them: crdt.edit)."""
    document = load(parts)
    base = to_prosemirror(document.content, comments=False)
    if fmt == "markdown":
        return "text/markdown; charset=utf-8", to_markdown(base).encode(), base
    body = to_prosemirror(document.content)
    if fmt == "json":
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return "application/json", text.encode(), base
    if fmt == "html":
        return "text/html; charset=utf-8", prosemirror_to_html(body).encode(), base
    media, data = render(parts, fmt)
    return media, data, base


def compare(before: Parts, after: Parts) -> dict[str, Any]:
    """The block-level diff of two documents, with its HTML rendering."""
    old, new = to_prosemirror(load(before).content), to_prosemirror(load(after).content)
    return diff_documents(old, new).as_json()


def diff_since(parts: Parts, state_vector: bytes) -> bytes:
    """What the document holds beyond `state_vector`, as an update."""
    return load(parts).diff(state_vector)


def record_version(previous: bytes | None, diff: bytes) -> tuple[bytes, bytes, int, int]:
    """The version `diff` makes of the previous one (its full state; None: the empty
    document): its state vector, its full state, and the characters it added and removed."""
    document = Document.load(previous, [])
    before = to_prosemirror(document.content)
    document.apply_stored(diff)
    stat = diff_documents(before, to_prosemirror(document.content))
    return document.state_vector(), document.encode(), stat.added, stat.removed


def comment_quotes(parts: Parts) -> dict[str, str]:
    """Per comment thread anchored in the body, the text its mark covers (crdt.comments)."""
    return quotes(load(parts).content)


def place_comment(parts: Parts, thread: str, anchor: Anchor) -> Placed:
    """The update that puts thread's comment mark over the anchor's text (crdt.comments)."""
    return place(load(parts), thread, anchor)


def remove_comment(parts: Parts, thread: str) -> bytes | None:
    """The update that takes thread's comment mark off the body; None when it has none."""
    return remove(load(parts), thread)
