"""One minimal Yjs update that makes a live body equal some content (the content API's PUT),
or adds content at its end (append).

The change is a diff, so that what did not change keeps its identity: the blocks of the body
are matched against the new ones (difflib on their JSON); a block that stays is not touched;
a changed block of the same kind keeps its element, and either its children are diffed the
same way (lists, items, quotes) or its text is diffed character by character, marks set by
formatting (paragraphs, headings, code blocks). People typing elsewhere in the document lose
nothing, and a cursor (a Yjs relative position) in untouched text stays where it was.

Computed on a copy of the document with a fresh client id, in one transaction: the caller
applies the bytes to the live room like any client's update, so it fans out and is stored.
"""

from __future__ import annotations

import difflib
import json
import random
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt import schema
from crdt.document import CONTENT, Document
from crdt.errors import UpdateRejected
from crdt.render import to_prosemirror

Node = dict[str, Any]
Parent = XmlFragment | XmlElement


def replace_update(live: Document, target: Node) -> bytes | None:
    """The update that makes `live`'s body `target` (normalized ProseMirror JSON, see
    crdt.content); None when it already is."""
    current = to_prosemirror(live.content)
    if current == target:
        return None
    copy, body = _copy(live)
    return _transaction(
        copy, lambda: _sync_children(body, current.get("content", []), target.get("content", []))
    )


def merge_blocks(base: Node, mine: Node, current: Node, *, saw_empty: bool = True) -> Node:
    """Three-way, by top-level blocks: what `mine` changed of `base` (the content its writer
    read), applied to `current` (the live body, which others may have edited since). A block
    the writer left as it was stays as it is now, edits included; a block the writer changed
    or removed becomes the writer's; blocks either side added are kept where they were added.
    `saw_empty=False`: the writer read a format with no empty paragraphs (Markdown, text), so
    those of the base are not theirs to remove.
    """
    old, new, now = (d.get("content", []) for d in (base, mine, current))
    if not saw_empty:
        old = [n for n in old if n.get("type") != schema.PARAGRAPH or n.get("content")]
    now_of: dict[int, Node] = {}  # base block -> what it is now (absent: someone removed it)
    after: dict[int, list[Node]] = {}  # base block (-1: the start) -> blocks added after it
    last = -1
    ops = difflib.SequenceMatcher(None, [_key(n) for n in old], [_key(n) for n in now], False)
    for op, i1, i2, j1, j2 in ops.get_opcodes():
        pairs = min(i2 - i1, j2 - j1) if op in {"equal", "replace"} else 0
        for offset in range(pairs):  # the same block, maybe edited since
            now_of[i1 + offset] = now[j1 + offset]
        if i2 > i1:
            last = i1 + pairs - 1 if pairs else i1 - 1
        after.setdefault(last, []).extend(now[j1 + pairs : j2])
        if i2 > i1:
            last = i2 - 1
    merged: list[Node] = list(after.get(-1, []))
    ops = difflib.SequenceMatcher(None, [_key(n) for n in old], [_key(n) for n in new], False)
    for op, i1, i2, j1, j2 in ops.get_opcodes():
        if op != "equal":
            merged.extend(new[j1:j2])
        for index in range(i1, i2):
            if op == "equal" and index in now_of:
                merged.append(now_of[index])
            merged.extend(after.get(index, []))
    return {"type": schema.DOC, "content": merged}


def append_update(live: Document, addition: Node) -> bytes | None:
    """The update that adds `addition`'s blocks after the body's last; None if it has none."""
    blocks = addition.get("content", [])
    if not blocks:
        return None
    copy, body = _copy(live)

    def add() -> None:
        for block in blocks:
            _insert(body, len(body.children), block)

    return _transaction(copy, add)


def _transaction(copy: Doc[Any], change: Callable[[], None]) -> bytes | None:
    """The update of one transaction: its structs and only what it deleted (a diff against a
    state vector would carry the document's whole delete set)."""
    updates: list[bytes] = []
    subscription = copy.observe(lambda event: updates.append(bytes(event.update)))
    try:
        with copy.transaction():
            change()
    finally:
        copy.unobserve(subscription)
    return updates[0] if updates else None


def _copy(live: Document) -> tuple[Doc[Any], XmlFragment]:
    taken = live.state()
    client_id = random.getrandbits(31)
    while client_id in taken or client_id == 0:
        client_id = random.getrandbits(31)
    copy: Doc[Any] = Doc(client_id=client_id)
    copy.apply_update(live.encode())
    body = copy.get(CONTENT, type=XmlFragment)
    if len(body.children) != len(list(body.children)):
        # docs/pycrdt-pitfalls.md#text-written-straight-into-an-xml-fragment
        raise UpdateRejected("the document holds content that is not XML: it cannot be edited")
    return copy, body


def _key(node: Node) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


def _shell(node: Node) -> str:
    """A node without its content: two nodes of the same shell can share an element."""
    return _key({key: value for key, value in node.items() if key != "content"})


def _sync_children(parent: Parent, old: list[Node], new: list[Node]) -> None:
    """Make `parent`'s children (whose JSON is `old`) the nodes `new`."""
    children = list(parent.children)
    if len(children) != len(old) or not all(isinstance(c, XmlElement) for c in children):
        # Text straight in a container, or content past render's depth: rebuilt whole.
        del parent.children[0 : len(parent.children)]
        for index, node in enumerate(new):
            _insert(parent, index, node)
        return
    matcher = difflib.SequenceMatcher(None, [_key(n) for n in old], [_key(n) for n in new], False)
    # From the end, so the indices of what comes before stay valid.
    for op, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if op == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1)
        for extra in range(i2 - 1, i1 + pairs - 1, -1):  # old blocks with no counterpart
            del parent.children[extra]
        for offset in range(j2 - j1 - 1, pairs - 1, -1):  # new blocks with none
            _insert(parent, i1 + pairs, new[j1 + offset])
        for offset in range(pairs - 1, -1, -1):
            index = i1 + offset
            element = children[index]
            before, after = old[index], new[j1 + offset]
            if _shell(before) == _shell(after) and isinstance(element, XmlElement):
                _sync_element(element, before, after)
            else:
                del parent.children[index]
                _insert(parent, index, after)


def _sync_element(element: XmlElement, old: Node, new: Node) -> None:
    kind = new["type"]
    if kind in schema.TEXT_BLOCKS:
        children = list(element.children)
        old_inline, new_inline = old.get("content", []), new.get("content", [])
        plain = all(n["type"] == schema.TEXT for n in old_inline + new_inline)
        if plain and len(children) <= 1 and all(isinstance(c, XmlText) for c in children):
            text = children[0] if children else element.children.append(XmlText())
            assert isinstance(text, XmlText)
            _sync_text(text, old_inline, new_inline)
            return
        del element.children[0 : len(element.children)]  # hard breaks: the element stays
        _fill_inline(element, new_inline)
        return
    _sync_children(element, old.get("content", []), new.get("content", []))


# -- text ----------------------------------------------------------------------------------------


def _marks(node: Node) -> dict[str, Any]:
    """A text node's marks as Yjs formatting attributes (y-prosemirror: name -> attrs)."""
    return {m["type"]: dict(m.get("attrs") or {}) for m in node.get("marks", [])}


def _chars(nodes: list[Node]) -> tuple[str, list[str]]:
    """The text of inline nodes, and per character the key of its marks."""
    text, keys = [], []
    for node in nodes:
        if node["type"] == schema.TEXT:
            text.append(node["text"])
            keys.extend([_key(_marks(node))] * len(node["text"]))
    return "".join(text), keys


def _sync_text(text: XmlText, old: list[Node], new: list[Node]) -> None:
    """Character diff of one XmlText, then formatting where marks differ. pycrdt positions
    are UTF-8 bytes: docs/pycrdt-pitfalls.md#text-positions-are-utf-8-bytes."""
    before, _ = _chars(old)
    after, after_keys = _chars(new)
    offsets = [0]
    for char in before:
        offsets.append(offsets[-1] + len(char.encode()))
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while (
        end < min(len(before), len(after)) - start
        and before[len(before) - 1 - end] == after[len(after) - 1 - end]
    ):
        end += 1
    middle = before[start : len(before) - end], after[start : len(after) - end]
    for i1, i2, j1, j2 in reversed(_changes(*middle)):
        lo, hi = offsets[start + i1], offsets[start + i2]
        if hi > lo:
            del text[lo:hi]
        if j2 > j1:
            text.insert(lo, after[start + j1 : start + j2])
    _format(text, after, after_keys)


# Common runs shorter than this inside a changed stretch are replaced with it: "says" ->
# "claims" is one delete and one insert, not four pieces around a shared "a" and "s".
MIN_KEPT = 3


def _changes(old: str, new: str) -> list[tuple[int, int, int, int]]:
    """(old start, old end, new start, new end) of each changed stretch, in order."""
    matcher = difflib.SequenceMatcher(None, old, new, False)
    kept = [m for m in matcher.get_matching_blocks() if m.size >= MIN_KEPT or m.size == 0]
    changes, i, j = [], 0, 0
    for match in kept:
        if match.a > i or match.b > j:
            changes.append((i, match.a, j, match.b))
        i, j = match.a + match.size, match.b + match.size
    return changes


def _format(text: XmlText, chars: str, keys: list[str]) -> None:
    """Set the marks of `text` (whose characters are `chars`) to `keys`, where they differ."""
    have: list[str] = []
    for chunk, attrs in text.diff():
        if isinstance(chunk, str):
            marks = {k: v if isinstance(v, dict) else {} for k, v in (attrs or {}).items()}
            have.extend([_key(marks)] * len(chunk))
    position = 0  # in UTF-8 bytes
    index = 0
    while index < len(chars):
        if have[index] == keys[index]:
            position += len(chars[index].encode())
            index += 1
            continue
        stop = index
        while stop < len(chars) and have[stop] != keys[stop] and keys[stop] == keys[index]:
            stop += 1
        length = len(chars[index:stop].encode())
        want = json.loads(keys[index])
        removed = {name: None for name in json.loads(have[index]) if name not in want}
        for other in range(index, stop):  # every mark on the range, whatever it had
            removed.update({name: None for name in json.loads(have[other]) if name not in want})
        text.format(position, position + length, {**removed, **want})
        position += length
        index = stop


# -- new content ---------------------------------------------------------------------------------


def _attributes(node: Node) -> dict[str, Any]:
    # Numbers as floats: Yjs reads a Python int as a BigInt, y-prosemirror wants a number.
    return {
        key: float(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for key, value in (node.get("attrs") or {}).items()
    }


def _insert(parent: Parent, index: int, node: Node) -> None:
    element = parent.children.insert(index, XmlElement(node["type"], _attributes(node)))
    if node["type"] in schema.TEXT_BLOCKS:
        _fill_inline(element, node.get("content", []))
        return
    for position, child in enumerate(node.get("content", [])):
        _insert(element, position, child)


def _fill_inline(element: XmlElement, nodes: list[Node]) -> None:
    """Text runs (an XmlText each, between hard breaks) and hard breaks, marks as given."""
    runs: list[list[Node]] = [[]]
    for node in nodes:
        if node["type"] == schema.HARD_BREAK:
            runs.append([])
        elif node["type"] == schema.TEXT:
            runs[-1].append(node)
    for index, run in enumerate(runs):
        if index:
            element.children.append(XmlElement(schema.HARD_BREAK))
        if run or len(runs) == 1:
            text = element.children.append(XmlText())
            chars, keys = _chars(run)
            if chars:
                text.insert(0, chars)
                _format(text, chars, keys)
