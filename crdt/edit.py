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
from crdt.render import mark_name, to_prosemirror

Node = dict[str, Any]
Parent = XmlFragment | XmlElement


def replace_update(live: Document, target: Node) -> bytes | None:
    """The update that makes `live`'s body `target` (normalized ProseMirror JSON, see
    crdt.content); None when it already is. Comment marks are the server's alone (crdt.comments):
    neither side's are compared or written, so text that stays keeps its threads' anchors and
    text that goes takes them with it."""
    current = to_prosemirror(live.content, comments=False)
    if current == target:  # a parsed target holds no comment marks (crdt.content.normalize)
        return None
    copy, body = editable_copy(live, "edited")
    return one_transaction(
        copy, lambda: _sync_children(body, current.get("content", []), target.get("content", []))
    )


def append_update(live: Document, addition: Node) -> bytes | None:
    """The update that adds `addition`'s blocks after the body's last; None if it has none."""
    blocks = addition.get("content", [])
    if not blocks:
        return None
    copy, body = editable_copy(live, "edited")

    def add() -> None:
        for block in blocks:
            _insert(body, len(body.children), block)

    return one_transaction(copy, add)


def one_transaction(copy: Doc[Any], change: Callable[[], None]) -> bytes | None:
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


def editable_copy(live: Document, verb: str) -> tuple[Doc[Any], XmlFragment]:
    """A copy of ``live`` writing as a client id it has never seen, and the copy's body: a
    change made there is one update for the caller to apply to ``live`` like any other.
    UpdateRejected when the body holds a string written straight into the fragment (no editor
    does; a crafted update can): yrs' XML view neither shows it nor can delete past it
    (docs/pycrdt-pitfalls.md#text-written-straight-into-an-xml-fragment)."""
    taken = live.state()
    client_id = random.getrandbits(31)
    while client_id in taken or client_id == 0:
        client_id = random.getrandbits(31)
    copy: Doc[Any] = Doc(client_id=client_id)
    copy.apply_update(live.encode())
    body = copy.get(CONTENT, type=XmlFragment)
    if len(body.children) != len(list(body.children)):
        raise UpdateRejected(f"the document holds content that is not XML: it cannot be {verb}")
    return copy, body


def _key(node: Node) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


def _shell(node: Node) -> str:
    """A node without its content."""
    return _key({key: value for key, value in node.items() if key != "content"})


def _set_attributes(element: XmlElement, node: Node) -> None:
    wanted = _attributes(node)
    for key, _ in list(element.attributes):  # type: ignore[call-overload]
        if key not in wanted:
            del element.attributes[key]
    for key, value in wanted.items():
        element.attributes[key] = value


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
        # In the span's order: ("sync", old, new), ("del", old, -1), ("ins", old before, new).
        actions: list[tuple[str, int, int]] = []
        i, j = i1, j1
        for pi, pj in [*_pairs(old[i1:i2], new[j1:j2], i1, j1), (i2, j2)]:
            actions.extend(("del", k, -1) for k in range(i, pi))
            actions.extend(("ins", pi, k) for k in range(j, pj))
            if pi < i2:
                actions.append(("sync", pi, pj))
            i, j = pi + 1, pj + 1
        for action, index, target in reversed(actions):
            if action == "del":
                del parent.children[index]
            elif action == "ins":
                _insert(parent, index, new[target])
            else:
                element, before, after = children[index], old[index], new[target]
                if before["type"] == after["type"] and isinstance(element, XmlElement):
                    if _shell(before) != _shell(after):  # a heading's level, a list's start
                        _set_attributes(element, after)
                    _sync_element(element, before, after)
                else:
                    del parent.children[index]
                    _insert(parent, index, after)


# A changed block stays the same element when it is at least this alike its new self.
ALIKE = 0.5
MAX_PAIRING = 64  # blocks per side of a changed stretch paired by likeness; more: in order


def _pairs(old: list[Node], new: list[Node], i0: int, j0: int) -> list[tuple[int, int]]:
    """Which old block becomes which new one in a changed stretch: in order, the pairs of the
    same kind most alike (so a block inserted before an edited one does not take its place)."""
    if len(old) > MAX_PAIRING or len(new) > MAX_PAIRING:
        return [(i0 + k, j0 + k) for k in range(min(len(old), len(new)))]
    texts_old, texts_new = [_text(n) for n in old], [_text(n) for n in new]
    # best[a][b]: the best total likeness pairing old[a:] with new[b:]
    best = [[0.0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for a in range(len(old) - 1, -1, -1):
        for b in range(len(new) - 1, -1, -1):
            score = best[a + 1][b + 1] + _alike(old[a], new[b], texts_old[a], texts_new[b])
            best[a][b] = max(best[a + 1][b], best[a][b + 1], score)
    pairs, a, b = [], 0, 0
    while a < len(old) and b < len(new):
        alike = _alike(old[a], new[b], texts_old[a], texts_new[b])
        if alike and best[a][b] == best[a + 1][b + 1] + alike:
            pairs.append((i0 + a, j0 + b))
            a, b = a + 1, b + 1
        elif best[a][b] == best[a + 1][b]:
            a += 1
        else:
            b += 1
    return pairs


def _alike(old: Node, new: Node, old_text: str, new_text: str) -> float:
    if old["type"] != new["type"]:
        return 0.0
    ratio = difflib.SequenceMatcher(None, old_text, new_text, False).ratio()
    return ratio if ratio >= ALIKE or old_text == new_text else 0.0


def _text(node: Node) -> str:
    if node.get("type") == schema.TEXT:
        return str(node.get("text", ""))
    return "".join(_text(child) for child in node.get("content", []))


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
            marks = {
                k: v if isinstance(v, dict) else {}
                for k, v in (attrs or {}).items()
                if mark_name(k) != schema.COMMENT  # the server's own: left as they are
            }
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
        removed: dict[str, None] = {}
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
