"""The document body as CommonMark, both ways: `from_markdown` parses with markdown-it-py into
the body's ProseMirror JSON (crdt.schema's nodes and marks), `to_markdown` writes it back.

Only what the body can hold becomes markup: headings, paragraphs, bold, italic, strike
(``~~``), code, links, bullet and ordered lists (nested), quotes, code blocks (with their
language), rules and hard breaks. Anything else stays text: raw HTML is read as the characters
it is written with (markdown-it's ``html`` option is off), an image as its Markdown source,
a link to a scheme other than http(s)/mailto as its text alone.

The writer is canonical: text is escaped so that it reads back as the same text, and writing
what a canonical Markdown text parses to gives that text again (tests/crdt/test_markdown.py).
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from crdt import schema
from crdt.html import safe_href
from crdt.markdown_writer import to_markdown

Node = dict[str, Any]
__all__ = ["from_markdown", "to_markdown"]

_PARSER = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
# markdown-it skips what is nested deeper than its bound (20 containers); that text is kept.
_CONTAINER_MARKERS = re.compile(r"^(?:\s*(?:>|[-+*](?=\s|$)|\d{1,9}[.)](?=\s|$)))*\s*")

_MARK_TOKENS = {"strong": schema.STRONG, "em": schema.EM, "s": schema.STRIKE}
_CONTAINER_TOKENS = {
    "blockquote_open": schema.BLOCKQUOTE,
    "bullet_list_open": schema.BULLET_LIST,
    "ordered_list_open": schema.ORDERED_LIST,
    "list_item_open": schema.LIST_ITEM,
}


# -- reading -------------------------------------------------------------------------------------


def from_markdown(source: str) -> Node:
    """The ProseMirror document JSON of a Markdown text (never fails: all text is Markdown)."""
    doc: Node = {"type": schema.DOC, "content": []}
    stack: list[Node] = [doc]
    lines = source.splitlines()
    spans: dict[int, list[int]] = {}  # id of a container node -> its source lines
    for token in _PARSER.parse(source):
        kind = token.type
        if kind in _CONTAINER_TOKENS:
            node: Node = {"type": _CONTAINER_TOKENS[kind], "content": []}
            if token.map:
                spans[id(node)] = token.map
            if kind == "ordered_list_open":
                start = token.attrGet("start")
                start = 1 if start is None else int(str(start))
                node["attrs"] = {"order": start}
            stack[-1]["content"].append(node)
            stack.append(node)
        elif kind in {"blockquote_close", "bullet_list_close", "ordered_list_close"}:
            _keep_skipped(stack.pop(), lines, spans)
        elif kind == "list_item_close":
            item = stack.pop()
            _keep_skipped(item, lines, spans)
            if not item["content"] or item["content"][0]["type"] != schema.PARAGRAPH:
                item["content"].insert(0, {"type": schema.PARAGRAPH})  # "paragraph block*"
        elif kind in {"paragraph_open", "heading_open"}:
            node = {"type": schema.PARAGRAPH}
            if kind == "heading_open":
                node = {"type": schema.HEADING, "attrs": {"level": int(token.tag[1])}}
            stack[-1]["content"].append(node)
            stack.append(node)
        elif kind in {"paragraph_close", "heading_close"}:
            stack.pop()
        elif kind == "inline":
            inline = _inline(token.children or [])
            if inline:
                stack[-1]["content"] = inline
        elif kind in {"fence", "code_block"}:
            stack[-1]["content"].append(_code_block(token))
        elif kind == "hr":
            stack[-1]["content"].append({"type": schema.HORIZONTAL_RULE})
    for node in _walk(doc):
        if node.get("content") == [] and node is not doc and node["type"] != schema.LIST_ITEM:
            del node["content"]
    return doc


def _keep_skipped(container: Node, lines: list[str], spans: dict[int, list[int]]) -> None:
    """Give an empty container that markdown-it left unparsed (past its nesting bound) the
    text of its source lines, without their quote and list markers, as one paragraph."""
    span = spans.get(id(container))
    if container["content"] or not span:
        return
    words = (_CONTAINER_MARKERS.sub("", line).strip() for line in lines[span[0] : span[1]])
    text = " ".join(word for word in words if word)
    if not text:
        return
    paragraph: Node = {"type": schema.PARAGRAPH, "content": [{"type": schema.TEXT, "text": text}]}
    if container["type"] in {schema.BULLET_LIST, schema.ORDERED_LIST}:
        paragraph = {"type": schema.LIST_ITEM, "content": [paragraph]}
    container["content"].append(paragraph)


def _walk(node: Node) -> list[Node]:
    nodes, pending = [], [node]
    while pending:
        current = pending.pop()
        nodes.append(current)
        pending.extend(child for child in current.get("content", []) if "content" in child)
    return nodes


def _code_block(token: Token) -> Node:
    text = token.content[:-1] if token.content.endswith("\n") else token.content
    node: Node = {"type": schema.CODE_BLOCK}
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    if token.type == "fence" and language:
        node["attrs"] = {"language": language}
    if text:
        node["content"] = [{"type": schema.TEXT, "text": text}]
    return node


def _inline(tokens: list[Token]) -> list[Node]:
    """Text and hard breaks of an inline token's children, marks sorted by name (as
    crdt.render reads them), neighbours with the same marks merged."""
    nodes: list[Node] = []
    marks: dict[str, Node] = {}
    depth: dict[str, int] = {}  # a mark inside the same mark: ProseMirror's marks are a set
    link_stack: list[Node | None] = []

    def text(value: str, extra: dict[str, Node] | None = None) -> None:
        if not value:
            return
        active = {**marks, **(extra or {})}
        node_marks = [active[name] for name in sorted(active)]
        last = nodes[-1] if nodes else None
        if last is not None and last["type"] == schema.TEXT and last.get("marks", []) == node_marks:
            last["text"] += value
            return
        node: Node = {"type": schema.TEXT, "text": value}
        if node_marks:
            node["marks"] = node_marks
        nodes.append(node)

    for token in tokens:
        kind = token.type
        if kind == "text":
            text(token.content)
        elif kind == "softbreak":
            text(" ")
        elif kind == "hardbreak":
            nodes.append({"type": schema.HARD_BREAK})
        elif kind == "code_inline":
            text(token.content, {schema.CODE: {"type": schema.CODE}})
        elif kind.endswith("_open") and kind[:-5] in _MARK_TOKENS:
            name = _MARK_TOKENS[kind[:-5]]
            marks[name] = {"type": name}
            depth[name] = depth.get(name, 0) + 1
        elif kind.endswith("_close") and kind[:-6] in _MARK_TOKENS:
            name = _MARK_TOKENS[kind[:-6]]
            depth[name] = depth.get(name, 1) - 1
            if depth[name] <= 0:
                marks.pop(name, None)
        elif kind == "link_open":
            href = safe_href(token.attrGet("href"))
            mark = {"type": schema.LINK, "attrs": {"href": href}} if href else None
            link_stack.append(marks.get(schema.LINK))
            if mark is not None:
                marks[schema.LINK] = mark
        elif kind == "link_close":
            previous = link_stack.pop() if link_stack else None
            if previous is None:
                marks.pop(schema.LINK, None)
            else:
                marks[schema.LINK] = previous
        elif kind == "image":
            alt = "".join(child.content for child in token.children or [])
            text(f"![{alt}]({token.attrGet('src') or ''})")
        else:  # html_inline cannot occur (html is off); anything else: its characters
            text(token.content)
    return nodes
