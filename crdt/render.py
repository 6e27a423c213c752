"""The document body (y-prosemirror's `content` XmlFragment) as ProseMirror JSON, text, HTML."""

from __future__ import annotations

from typing import Any

from pycrdt import XmlElement, XmlFragment, XmlText

from crdt.html import prosemirror_to_html

# Block nodes whose text ends a line in the plain-text rendering.
BLOCK_NODES = frozenset(
    {
        "paragraph",
        "heading",
        "blockquote",
        "code_block",
        "list_item",
        "bullet_list",
        "ordered_list",
        "horizontal_rule",
    }
)


def _attrs(element: XmlElement) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    pairs: list[tuple[str, Any]] = list(element.attributes)  # type: ignore[call-overload]
    for key, value in sorted(pairs, key=lambda pair: pair[0]):  # yrs gives them in hash order
        # Yjs stores numbers as floats; ProseMirror wants heading levels as integers.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        attrs[key] = value
    return attrs


def _text_nodes(text: XmlText) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for chunk, marks in text.diff():
        if not isinstance(chunk, str) or not chunk:
            continue
        node: dict[str, Any] = {"type": "text", "text": chunk}
        if marks:
            node["marks"] = [
                {"type": name, "attrs": value}
                if isinstance(value, dict) and value
                else {"type": name}
                for name, value in sorted(marks.items())  # yrs hands them in hash order
            ]
        nodes.append(node)
    return nodes


def _node(element: XmlElement) -> dict[str, Any]:
    node: dict[str, Any] = {"type": element.tag or "unknown"}
    attrs = _attrs(element)
    if attrs:
        node["attrs"] = attrs
    content = _children(element)
    if content:
        node["content"] = content
    return node


def _children(parent: XmlFragment | XmlElement) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for child in parent.children:
        if isinstance(child, XmlText):
            content.extend(_text_nodes(child))
        elif isinstance(child, XmlElement):
            content.append(_node(child))
    return content


def to_prosemirror(fragment: XmlFragment) -> dict[str, Any]:
    """The ProseMirror document JSON y-prosemirror would produce from this fragment."""
    return {"type": "doc", "content": _children(fragment)}


def to_text(fragment: XmlFragment) -> str:
    """Plain text: one line per block, list items included, formatting dropped."""
    lines: list[str] = []

    def walk(parent: XmlFragment | XmlElement) -> str:
        inline: list[str] = []
        for child in parent.children:
            if isinstance(child, XmlText):
                inline.append(str("".join(c for c, _ in child.diff() if isinstance(c, str))))
            elif isinstance(child, XmlElement):
                if child.tag == "hard_break":
                    inline.append("\n")
                elif child.tag in BLOCK_NODES:
                    if inline:
                        lines.append("".join(inline))
                        inline = []
                    text = walk(child)
                    if text or child.tag in {"paragraph", "heading", "code_block"}:
                        lines.append(text)
                else:
                    inline.append(walk(child))
        return "".join(inline)

    rest = walk(fragment)
    if rest:
        lines.append(rest)
    return "\n".join(lines)


def to_html(fragment: XmlFragment) -> str:
    """Sanitized HTML with exactly DESIGN.md's nodes and marks (see ``crdt.html``)."""
    return prosemirror_to_html(to_prosemirror(fragment))
