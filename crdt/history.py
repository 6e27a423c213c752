"""History in pure terms: rebuilding a version, comparing two versions, restoring one.

- A version is rebuilt from the nearest full-state checkpoint plus the version diffs after it
  (each the Yjs update that takes the previous version to the next): never from keystrokes.
- Two versions compare block by block (paragraphs, headings, list items, code blocks…); a
  changed block carries a word-level diff of its text. The same diff counts the characters a
  version added and removed.
- A restore is one Yjs update against the live document that deletes the body's nodes and
  inserts copies of the old version's, so every client applies it like any other edit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from pycrdt import XmlElement, XmlFragment, XmlText

from crdt import schema
from crdt.document import Document
from crdt.edit import editable_copy
from crdt.html import sanitize

# The diff's HTML: its own block tags, and the classes that mark each block's change.
DIFF_TAGS = frozenset(
    {"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "br", "ins", "del"}
)
DIFF_ATTRIBUTES = {"div": ["class"]}
# Two blocks in a replaced run count as one changed block when this similar, else delete + insert.
_SIMILAR = 0.4
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
_WORDS = re.compile(r"\w+", re.UNICODE)


def rebuild(checkpoint: bytes | None, diffs: Iterable[bytes]) -> Document:
    """The document at a version: a checkpoint (or nothing) and the version diffs after it."""
    return Document.load(checkpoint, diffs)


# -- block-level diff --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    type: str  # paragraph, heading, code_block, horizontal_rule, or an unknown node's name
    text: str
    level: int | None = None  # headings
    context: tuple[str, ...] = ()  # enclosing containers, outermost first


@dataclass(frozen=True, slots=True)
class Segment:
    op: str  # equal | insert | delete
    text: str


@dataclass(slots=True)
class BlockChange:
    op: str  # equal | insert | delete | change
    before: Block | None
    after: Block | None
    segments: list[Segment] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        block = self.after or self.before
        assert block is not None
        out: dict[str, Any] = {"op": self.op, "type": block.type}
        if block.level is not None:
            out["level"] = block.level
        if block.context:
            out["context"] = list(block.context)
        if self.before is not None:
            out["before"] = self.before.text
        if self.after is not None:
            out["after"] = self.after.text
        if self.segments:
            out["segments"] = [{"op": s.op, "text": s.text} for s in self.segments]
        return out


@dataclass(slots=True)
class DocDiff:
    changes: list[BlockChange]
    added: int
    removed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "blocks": [change.as_json() for change in self.changes],
            "html": diff_html(self),
        }


def _inline_text(node: dict[str, Any]) -> str:
    if node.get("type") == schema.TEXT:
        return str(node.get("text", ""))
    if node.get("type") == schema.HARD_BREAK:
        return "\n"
    return "".join(_inline_text(c) for c in node.get("content", []) or [] if isinstance(c, dict))


def blocks(document: dict[str, Any]) -> list[Block]:
    """The leaf blocks of a ProseMirror document, in reading order."""
    out: list[Block] = []

    def walk(nodes: list[Any], context: tuple[str, ...]) -> None:
        for node in nodes:
            if not isinstance(node, dict):
                continue
            kind = str(node.get("type", "unknown"))
            if kind in schema.CONTAINERS:
                walk(node.get("content", []) or [], (*context, kind))
            elif kind == schema.HORIZONTAL_RULE:
                out.append(Block(kind, "", None, context))
            else:
                level = schema.heading_level(node.get("attrs")) if kind == schema.HEADING else None
                out.append(Block(kind, _inline_text(node), level, context))

    walk(document.get("content", []) or [], ())
    return out


def _segments(before: str, after: str) -> list[Segment]:
    """A word-level diff of two texts, adjacent pieces of one kind merged."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    out: list[Segment] = []

    def emit(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1].op == op:
            out[-1] = Segment(op, out[-1].text + text)
        else:
            out.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("equal", "".join(a[i1:i2]))
        else:
            emit("delete", "".join(a[i1:i2]))
            emit("insert", "".join(b[j1:j2]))
    return out


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> DocDiff:
    """What changed from one ProseMirror document to another, block by block."""
    a, b = blocks(before), blocks(after)
    # The common prefix and suffix are most of a long document: keep them out of the matcher.
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    changes = [BlockChange("equal", block, block) for block in a[:start]]
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    matcher = SequenceMatcher(None, middle_a, middle_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            changes += [BlockChange("equal", x, x) for x in middle_a[i1:i2]]
        elif tag == "delete":
            changes += [BlockChange("delete", x, None) for x in middle_a[i1:i2]]
        elif tag == "insert":
            changes += [BlockChange("insert", None, y) for y in middle_b[j1:j2]]
        else:
            changes += _replaced(middle_a[i1:i2], middle_b[j1:j2])
    changes += [BlockChange("equal", block, block) for block in a[len(a) - end :]]
    added = removed = 0
    for change in changes:
        if change.op == "insert" and change.after is not None:
            added += len(change.after.text)
        elif change.op == "delete" and change.before is not None:
            removed += len(change.before.text)
        elif change.op == "change":
            added += sum(len(s.text) for s in change.segments if s.op == "insert")
            removed += sum(len(s.text) for s in change.segments if s.op == "delete")
    return DocDiff(changes, added, removed)


def _similarity(a: str, b: str) -> float:
    """How alike two texts are, by their words (spaces and punctuation would flatter)."""
    words_a, words_b = _WORDS.findall(a), _WORDS.findall(b)
    return SequenceMatcher(None, words_a, words_b, autojunk=False).ratio()


def _replaced(old: list[Block], new: list[Block]) -> list[BlockChange]:
    """Pair the blocks of a replaced run by position; dissimilar pairs are delete + insert."""
    out: list[BlockChange] = []
    for k in range(max(len(old), len(new))):
        x = old[k] if k < len(old) else None
        y = new[k] if k < len(new) else None
        if x is not None and y is not None:
            ratio = _similarity(x.text, y.text)
            if x.type == y.type and (ratio >= _SIMILAR or not x.text or not y.text):
                out.append(BlockChange("change", x, y, _segments(x.text, y.text)))
                continue
        if x is not None:
            out.append(BlockChange("delete", x, None))
        if y is not None:
            out.append(BlockChange("insert", None, y))
    return out


def _block_tag(block: Block) -> str:
    if block.type == schema.HEADING:
        return f"h{min(max(block.level or 1, 1), 6)}"
    if block.type == schema.CODE_BLOCK:
        return "pre"
    return "p"


def diff_html(diff: DocDiff) -> str:
    """The diff as HTML: each block in a <div class="diff-…">, <ins>/<del> inside changed ones."""
    parts: list[str] = []
    for change in diff.changes:
        block = change.after or change.before
        assert block is not None
        if block.type == schema.HORIZONTAL_RULE:
            inner = "<hr>"
        else:
            if change.op == "change":
                body = "".join(_segment_html(s) for s in change.segments)
            else:
                body = _escape(block.text)
                if change.op == "insert":
                    body = f"<ins>{body}</ins>"
                elif change.op == "delete":
                    body = f"<del>{body}</del>"
            tag = _block_tag(block)
            inner = f"<{tag}>{body}</{tag}>"
        marker = " diff-list" if any(c in schema.LISTS for c in block.context) else ""
        parts.append(f'<div class="diff-block diff-{change.op}{marker}">{inner}</div>')
    return sanitize("".join(parts), DIFF_TAGS, DIFF_ATTRIBUTES)  # bleach too: only these survive


def _escape(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _segment_html(segment: Segment) -> str:
    text = _escape(segment.text)
    if segment.op == "insert":
        return f"<ins>{text}</ins>"
    if segment.op == "delete":
        return f"<del>{text}</del>"
    return text


# -- restore -------------------------------------------------------------------------------


def _copy_children(source: XmlFragment | XmlElement, target: XmlFragment | XmlElement) -> None:
    """Copy `source`'s children into `target`, however deep they nest (no recursion)."""
    pending = [(source, target)]
    while pending:
        origin, copy = pending.pop()
        for child in origin.children:
            if isinstance(child, XmlText):
                text = copy.children.append(XmlText())
                offset = 0  # in UTF-8 bytes: docs/pycrdt-pitfalls.md#text-positions-are-utf-8-bytes
                for chunk, attrs in child.diff():
                    if isinstance(chunk, str) and chunk:
                        text.insert(offset, chunk, attrs or None)
                        offset += len(chunk.encode())
            elif isinstance(child, XmlElement):
                attributes = [(key, value) for key, value in child.attributes]  # type: ignore[attr-defined]
                tag = child.tag or schema.PARAGRAPH
                element = copy.children.append(XmlElement(tag, attributes))
                pending.append((child, element))


def restore_update(live: Document, target: Document) -> bytes:
    """One Yjs update that makes ``live``'s body equal ``target``'s, authored by a fresh client.

    It is computed on a copy, so ``live`` itself is untouched until the caller applies it (as
    any other update, so that every connected client receives it).
    """
    copy, body = editable_copy(live, "restored")
    with copy.transaction():
        del body.children[0 : len(body.children)]
        _copy_children(target.content, body)
    return bytes(copy.get_update(live.state_vector()))
