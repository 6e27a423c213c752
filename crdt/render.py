"""The document body (y-prosemirror's `content` XmlFragment) as ProseMirror JSON, text, HTML.

A body is whatever its writers sent, so nothing here trusts its shape: the tree is walked with
an explicit stack (a writer may nest elements 100,000 deep), the JSON keeps at most MAX_DEPTH
levels of elements (deeper content stays, as the text of the element at that depth: every
renderer after this one may then recurse), and attribute values that JSON cannot hold (NaN,
infinities, bytes) become null or are left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from pycrdt import XmlElement, XmlFragment, XmlText

from crdt import schema
from crdt.html import prosemirror_to_html

# Levels of elements kept in the JSON (and so in HTML and history): lists nested 40 deep use 80.
MAX_DEPTH = 100

# Levels of nested lists that plain text indents (deeper ones stay at this indent).
MAX_TEXT_INDENT = 8

_OMIT = object()  # an attribute value JSON cannot hold

# y-prosemirror stores a mark that does not exclude itself (a comment) as `<name>--<hash>`, so
# that several of them can overlap; the mark's name is what comes before (its yattr2markname).
_HASHED_MARK = re.compile(r"(.*)(--[a-zA-Z0-9+/=]{8})")


def mark_name(attribute: str) -> str:
    """The ProseMirror mark a text attribute stores (`comment--Ab3+x9Q=` -> `comment`)."""
    hashed = _HASHED_MARK.fullmatch(attribute)
    return hashed.group(1) if hashed else attribute


def _json_value(value: Any) -> Any:
    """`value` as JSON holds it: non-finite numbers become None, anything not JSON is _OMIT.

    Attribute values passed our update reader, which bounds their nesting (crdt.update)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        items = ((key, _json_value(item)) for key, item in value.items())
        return {key: item for key, item in items if item is not _OMIT and isinstance(key, str)}
    if isinstance(value, list | tuple):
        return [None if item is _OMIT else item for item in map(_json_value, value)]
    return _OMIT


def _attrs(element: XmlElement) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    pairs: list[tuple[str, Any]] = list(element.attributes)  # type: ignore[call-overload]
    # yrs gives them in hash order (docs/pycrdt-pitfalls.md#attributes-and-marks-come-in-hash-order)
    # and numbers as floats (docs/pycrdt-pitfalls.md#numbers-are-floats).
    for key, value in sorted(pairs, key=lambda pair: pair[0]):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = _json_value(value)
        if value is not _OMIT:
            attrs[key] = value
    return attrs


def _mark(name: str, value: Any) -> dict[str, Any]:
    attrs = _json_value(value) if isinstance(value, dict) else None
    return {"type": name, "attrs": attrs} if attrs else {"type": name}


def _text_nodes(text: XmlText, comments: bool) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for chunk, attributes in text.diff():
        if not isinstance(chunk, str) or not chunk:
            continue
        node: dict[str, Any] = {"type": schema.TEXT, "text": chunk}
        # in hash order: docs/pycrdt-pitfalls.md#attributes-and-marks-come-in-hash-order
        marks = [_mark(mark_name(key), value) for key, value in sorted((attributes or {}).items())]
        if not comments:
            marks = [mark for mark in marks if mark["type"] != schema.COMMENT]
        if marks:
            node["marks"] = marks
        if nodes and nodes[-1].get("marks") == node.get("marks"):
            nodes[-1]["text"] += chunk  # apart only by a mark left out
        else:
            nodes.append(node)
    return nodes


def _plain_text(text: XmlText) -> str:
    return "".join(chunk for chunk, _ in text.diff() if isinstance(chunk, str))


def _all_text(element: XmlElement) -> str:
    """Every text under `element`, in reading order (any depth: no recursion)."""
    parts: list[str] = []
    stack: list[Iterator[Any]] = [iter(element.children)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif isinstance(child, XmlText):
            parts.append(_plain_text(child))
        elif isinstance(child, XmlElement):
            stack.append(iter(child.children))
    return "".join(parts)


def _element(element: XmlElement) -> dict[str, Any]:
    node: dict[str, Any] = {"type": element.tag or "unknown"}
    attrs = _attrs(element)
    if attrs:
        node["attrs"] = attrs
    node["content"] = []
    return node


def to_prosemirror(fragment: XmlFragment, *, comments: bool = True) -> dict[str, Any]:
    """The ProseMirror document JSON y-prosemirror would produce from this fragment; an
    element at MAX_DEPTH holds the text of what is nested deeper. `comments=False` leaves the
    comment marks out (what the content API compares and writes: crdt.edit)."""
    doc: dict[str, Any] = {"type": schema.DOC, "content": []}
    # Per open element, its remaining children and its node; the stack's length is the depth.
    stack: list[tuple[Iterator[Any], dict[str, Any]]] = [(iter(fragment.children), doc)]
    while stack:
        children, node = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if not node["content"] and node is not doc:
                del node["content"]
        elif isinstance(child, XmlText):
            node["content"].extend(_text_nodes(child, comments))
        elif isinstance(child, XmlElement):
            inner = _element(child)
            node["content"].append(inner)
            if len(stack) < MAX_DEPTH:
                stack.append((iter(child.children), inner))
            elif text := _all_text(child):
                inner["content"].append({"type": schema.TEXT, "text": text})
            else:
                del inner["content"]
    return doc


def _list_start(element: XmlElement) -> int:
    """Where an ordered list's numbers start (its `order`, 1 when absent or not a number)."""
    value = _attrs(element).get("order", 1)
    try:
        start = int(value)
    except (TypeError, ValueError):
        return 1
    return start if 0 <= start < 10**9 else 1


class _Frame:
    """An open element of to_text's walk: its remaining children, the inline text gathered
    since its last block child, its tag (None for the fragment), and for a list the next item's
    number, for a list item its marker ("- ", "3. "), its indent and whether it was written."""

    __slots__ = ("children", "indent", "inline", "marker", "number", "started", "tag")

    def __init__(self, children: Iterator[Any], tag: str | None) -> None:
        self.children = children
        self.inline: list[str] = []
        self.tag = tag
        self.number = 1
        self.marker = ""
        self.indent = ""
        self.started = False


def _prefix(stack: list[_Frame]) -> str:
    """What a line starts with inside the innermost list item: its marker on the item's first
    line, as many spaces on the next ones; nothing outside lists."""
    for frame in reversed(stack):
        if frame.tag == schema.LIST_ITEM:
            if frame.started:
                return frame.indent + " " * len(frame.marker)
            frame.started = True
            return frame.indent + frame.marker
    return ""


def to_text(fragment: XmlFragment) -> str:
    """Plain text: one line per block, formatting dropped (any depth). List items keep their
    bullet ("- ") or number ("2. "), nested lists indented by two spaces a level (at most
    MAX_TEXT_INDENT levels)."""
    lines: list[str] = []
    stack = [_Frame(iter(fragment.children), None)]
    lists = 0  # lists open on the stack
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            text = "".join(frame.inline)
            if len(stack) == 1:
                if text:
                    lines.append(text)
            elif frame.tag in schema.BLOCKS:
                if text or frame.tag in schema.TEXT_BLOCKS:
                    lines.append(_prefix(stack) + text)
            else:
                stack[-2].inline.append(text)  # an unknown element is inline: its text joins
            stack.pop()
            if frame.tag in schema.LISTS:
                lists -= 1
        elif isinstance(child, XmlText):
            frame.inline.append(_plain_text(child))
        elif isinstance(child, XmlElement):
            if child.tag == schema.HARD_BREAK:
                frame.inline.append("\n")
                continue
            if child.tag in schema.BLOCKS and frame.inline:
                lines.append(_prefix(stack) + "".join(frame.inline))
                frame.inline.clear()
            opened = _Frame(iter(child.children), child.tag)
            if child.tag in schema.LISTS:
                lists += 1
                opened.number = _list_start(child) if child.tag == schema.ORDERED_LIST else 1
            elif child.tag == schema.LIST_ITEM and frame.tag in schema.LISTS:
                # Deep nesting stops indenting further (a hostile body nests 100,000 deep).
                opened.indent = "  " * min(lists - 1, MAX_TEXT_INDENT)
                if frame.tag == schema.ORDERED_LIST:
                    opened.marker = f"{frame.number}. "
                    frame.number += 1
                else:
                    opened.marker = "- "
            stack.append(opened)
    return "\n".join(lines)


def to_html(fragment: XmlFragment) -> str:
    """Sanitized HTML with exactly crdt.schema's nodes and marks (see ``crdt.html``)."""
    return prosemirror_to_html(to_prosemirror(fragment))
