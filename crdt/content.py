"""Content given from outside (the content API's bodies) as the body's ProseMirror JSON.

Four kinds: Markdown (crdt.markdown), HTML (sanitized by bleach first, then read: only the
body's nodes and marks, anything else its text), ProseMirror JSON (checked against the body's
schema: ContentError says where and what is wrong) and plain text (paragraphs split at blank
lines, single line breaks kept as hard breaks). Every result is normalized as crdt.render reads
a body back (marks sorted by name, no empty content), so equal content compares equal.
"""

from __future__ import annotations

import html.parser
import json
import re
from typing import Any

from crdt import schema
from crdt.html import safe_href, sanitize
from crdt.markdown import from_markdown
from crdt.render import MAX_DEPTH

Node = dict[str, Any]
KINDS = ("markdown", "html", "json", "text")


class ContentError(ValueError):
    """The content is not a body: the message says what is wrong, and where."""


def parse(kind: str, body: str) -> Node:
    """The ProseMirror document of `body`, given as one of KINDS."""
    if kind == "markdown":
        return normalize(from_markdown(body))
    if kind == "html":
        return from_html(body)
    if kind == "text":
        return from_text(body)
    if kind == "json":
        try:
            value = json.loads(body)
        except RecursionError:
            raise ContentError("the JSON nests too deep") from None
        except ValueError as exc:
            raise ContentError(f"malformed JSON: {exc}") from None
        return validate(value)
    raise ValueError(f"unknown kind {kind!r}")


# -- plain text ----------------------------------------------------------------------------------


def from_text(text: str) -> Node:
    content: list[Node] = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip("\n")):
        if not block.strip():
            continue
        inline: list[Node] = []
        for index, line in enumerate(block.split("\n")):
            if index:
                inline.append({"type": schema.HARD_BREAK})
            if line:
                inline.append({"type": schema.TEXT, "text": line})
        content.append({"type": schema.PARAGRAPH, "content": inline})
    return {"type": schema.DOC, "content": content}


# -- HTML ----------------------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code"}
    | {"hr", "br", "strong", "b", "em", "i", "s", "del", "strike", "a"}
)
_HTML_MARKS = {"strong": schema.STRONG, "b": schema.STRONG, "em": schema.EM, "i": schema.EM}
_HTML_MARKS |= {"s": schema.STRIKE, "del": schema.STRIKE, "strike": schema.STRIKE}
_HTML_BLOCKS = {"p": schema.PARAGRAPH, "ul": schema.BULLET_LIST, "ol": schema.ORDERED_LIST}
_HTML_BLOCKS |= {"li": schema.LIST_ITEM, "blockquote": schema.BLOCKQUOTE, "pre": schema.CODE_BLOCK}
_HTML_BLOCKS |= {f"h{level}": schema.HEADING for level in range(1, 7)}


class _HtmlReader(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc: Node = {"type": schema.DOC, "content": []}
        self.stack: list[Node] = [self.doc]
        self.marks: list[Node] = []

    def _textblock(self) -> Node:
        """The block inline content goes into (a paragraph opened where none is)."""
        top = self.stack[-1]
        if top["type"] in schema.TEXT_BLOCKS:
            return top
        paragraph: Node = {"type": schema.PARAGRAPH, "content": []}
        top["content"].append(paragraph)
        self.stack.append(paragraph)
        return paragraph

    def _close_inline(self) -> None:
        if self.stack[-1]["type"] in schema.TEXT_BLOCKS and len(self.stack) > 1:
            self.stack.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_MARKS or tag in {"code", "a"}:
            if tag == "code" and self.stack[-1]["type"] == schema.CODE_BLOCK:
                return
            mark: Node = {"type": _HTML_MARKS.get(tag, schema.CODE if tag == "code" else "")}
            if tag == "a":
                href = safe_href(dict(attrs).get("href"))
                mark = {"type": schema.LINK, "attrs": {"href": href}} if href else {"type": ""}
            self.marks.append(mark)
        elif tag == "br":
            if self.stack[-1]["type"] == schema.CODE_BLOCK:
                self.handle_data("\n")  # a code block holds text only
            else:
                self._textblock()["content"].append({"type": schema.HARD_BREAK})
        elif tag == "hr":
            self._close_inline()
            self.stack[-1]["content"].append({"type": schema.HORIZONTAL_RULE})
        elif tag in _HTML_BLOCKS:
            if len(self.stack) >= MAX_DEPTH:
                return
            self._close_inline()
            kind = _HTML_BLOCKS[tag]
            node: Node = {"type": kind, "content": []}
            if kind == schema.HEADING:
                node["attrs"] = {"level": int(tag[1])}
            if kind == schema.ORDERED_LIST:
                # ASCII digits only ("²".isdigit() is true), and below validate's 10**9 bound.
                start = (dict(attrs).get("start") or "").strip()
                ok = start.isascii() and start.isdigit() and len(start) <= 9
                node["attrs"] = {"order": int(start) if ok else 1}
            if kind == schema.LIST_ITEM and self.stack[-1]["type"] not in schema.LISTS:
                self.handle_starttag("ul", [])
            self.stack[-1]["content"].append(node)
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_MARKS or tag in {"code", "a"}:
            if tag == "code" and self.stack[-1]["type"] == schema.CODE_BLOCK:
                return
            if self.marks:
                self.marks.pop()
        elif tag in _HTML_BLOCKS:
            kind = _HTML_BLOCKS[tag]
            for index in range(len(self.stack) - 1, 0, -1):
                if self.stack[index]["type"] == kind:
                    del self.stack[index:]
                    break

    def handle_data(self, data: str) -> None:
        block = self.stack[-1]
        if block["type"] != schema.CODE_BLOCK:
            data = re.sub(r"\s+", " ", data)
            if not data.strip() and block["type"] not in schema.TEXT_BLOCKS:
                return  # whitespace between blocks
        else:
            data = data.removeprefix("\n") if not block["content"] else data
        if not data:
            return
        node: Node = {"type": schema.TEXT, "text": data}
        marks = {m["type"]: m for m in self.marks if m["type"]}
        if marks and block["type"] != schema.CODE_BLOCK:
            node["marks"] = [marks[name] for name in sorted(marks)]
        self._textblock()["content"].append(node)


def from_html(markup: str) -> Node:
    """The body of an HTML fragment, sanitized by bleach before it is read."""
    clean = sanitize(markup, tags=_HTML_TAGS, attributes={"a": ["href"], "ol": ["start"]})
    reader = _HtmlReader()
    reader.feed(clean)
    reader.close()
    return normalize(reader.doc)


# -- ProseMirror JSON ----------------------------------------------------------------------------

_INLINE_PARENTS = frozenset({schema.PARAGRAPH, schema.HEADING})
_MARKS = frozenset(schema.MARK_ORDER)


def validate(value: Any) -> Node:
    """`value` as a body, or ContentError naming the first thing outside the schema."""
    if not isinstance(value, dict) or value.get("type") != schema.DOC:
        raise ContentError('the JSON must be a ProseMirror document: {"type": "doc", ...}')
    _check_children(value, "doc", 0)
    return normalize(value)


def _check_children(node: Node, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ContentError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    content = node.get("content", [])
    if not isinstance(content, list):
        raise ContentError(f"{path}.content: must be a list")
    kind = node["type"]
    for index, child in enumerate(content):
        where = f"{path}.content[{index}]"
        if not isinstance(child, dict) or not isinstance(child.get("type"), str):
            raise ContentError(f"{where}: must be a node object with a type")
        child_kind = child["type"]
        inline = child_kind in {schema.TEXT, schema.HARD_BREAK}
        if kind in _INLINE_PARENTS or kind == schema.CODE_BLOCK:
            allowed = (
                {schema.TEXT} if kind == schema.CODE_BLOCK else {schema.TEXT, schema.HARD_BREAK}
            )
            if child_kind not in allowed:
                raise ContentError(f"{where}: a {kind} holds no {child_kind!r}")
        elif kind in schema.LISTS:
            if child_kind != schema.LIST_ITEM:
                raise ContentError(f"{where}: a list holds list_item nodes, not {child_kind!r}")
        elif inline or child_kind not in schema.BLOCKS or child_kind == schema.LIST_ITEM:
            raise ContentError(f"{where}: a {kind} holds no {child_kind!r}")
        if kind == schema.LIST_ITEM and index == 0 and child_kind != schema.PARAGRAPH:
            raise ContentError(f"{where}: a list_item starts with a paragraph")
        _check_node(child, where, depth + 1, kind == schema.CODE_BLOCK)


def _check_node(node: Node, path: str, depth: int, path_in_code: bool = False) -> None:
    kind = node["type"]
    attrs = node.get("attrs", {})
    if attrs is not None and not isinstance(attrs, dict):
        raise ContentError(f"{path}.attrs: must be an object")
    attrs = attrs or {}
    if kind == schema.TEXT:
        text = node.get("text")
        if not isinstance(text, str) or not text:
            raise ContentError(f"{path}.text: must be a non-empty string")
        _check_marks(node.get("marks", []), f"{path}.marks")
        if node.get("marks") and path_in_code:
            raise ContentError(f"{path}.marks: text in a code_block has no marks")
        return
    if kind == schema.HEADING:
        level = attrs.get("level", 1)
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 6:
            raise ContentError(f"{path}.attrs.level: must be an integer from 1 to 6")
    if kind == schema.ORDERED_LIST:
        order = attrs.get("order", 1)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order < 10**9:
            raise ContentError(f"{path}.attrs.order: must be a non-negative integer")
    if kind == schema.CODE_BLOCK and not isinstance(attrs.get("language", ""), str):
        raise ContentError(f"{path}.attrs.language: must be a string")
    if kind in {schema.HARD_BREAK, schema.HORIZONTAL_RULE}:
        if node.get("content"):
            raise ContentError(f"{path}: a {kind} has no content")
        return
    if kind in schema.CONTAINERS and not node.get("content"):
        raise ContentError(f"{path}: a {kind} holds at least one node")
    _check_children(node, path, depth)


def _check_marks(marks: Any, path: str) -> None:
    if not isinstance(marks, list):
        raise ContentError(f"{path}: must be a list")
    for index, mark in enumerate(marks):
        where = f"{path}[{index}]"
        if isinstance(mark, dict) and mark.get("type") == schema.COMMENT:
            continue  # the server's own anchors (crdt.comments): a write leaves them be
        if not isinstance(mark, dict) or mark.get("type") not in _MARKS:
            raise ContentError(f"{where}: marks are {', '.join(sorted(_MARKS))}")
        if mark["type"] == schema.LINK:
            attrs = mark.get("attrs")
            href = attrs.get("href") if isinstance(attrs, dict) else None
            if safe_href(href) is None:
                raise ContentError(
                    f"{where}.attrs.href: must be an http(s), mailto or relative URL"
                )


def normalize(node: Node) -> Node:
    """The node as crdt.render reads a body back: marks sorted by name (one of each, a link's
    only attribute its href), attributes only the schema's, no empty content lists, adjacent
    texts with the same marks merged."""
    kind = node["type"]
    out: Node = {"type": kind}
    attrs = node.get("attrs") or {}
    if kind == schema.HEADING:
        out["attrs"] = {"level": int(attrs.get("level", 1))}
    elif kind == schema.ORDERED_LIST:
        out["attrs"] = {"order": int(attrs.get("order", 1))}
    elif kind == schema.CODE_BLOCK and attrs.get("language"):
        out["attrs"] = {"language": str(attrs["language"])}
    if kind == schema.TEXT:
        out["text"] = node["text"]
        marks: dict[str, Node] = {}
        for mark in node.get("marks") or []:
            if mark["type"] == schema.COMMENT:
                continue
            if mark["type"] == schema.LINK:
                marks[schema.LINK] = {"type": schema.LINK, "attrs": {"href": mark["attrs"]["href"]}}
            else:
                marks[mark["type"]] = {"type": mark["type"]}
        if marks:
            out["marks"] = [marks[name] for name in sorted(marks)]
        return out
    content: list[Node] = []
    for child in node.get("content") or []:
        child = normalize(child)
        last = content[-1] if content else None
        if (
            last is not None
            and child["type"] == schema.TEXT == last["type"]
            and child.get("marks") == last.get("marks")
        ):
            last["text"] += child["text"]
        else:
            content.append(child)
    if kind == schema.LIST_ITEM and (not content or content[0]["type"] != schema.PARAGRAPH):
        content.insert(0, {"type": schema.PARAGRAPH})
    if content or kind == schema.DOC:
        out["content"] = content
    if kind == schema.DOC:  # empty containers are outside the schema (lists, quotes)
        _drop_empty_containers(out)
    return out


def _drop_empty_containers(node: Node) -> bool:
    """Remove lists and quotes left with nothing in them (an editor would drop them, and
    their element with them); True if `node` itself is one."""
    content = node.get("content")
    if content is None:
        return node["type"] in schema.CONTAINERS and node["type"] != schema.LIST_ITEM
    node["content"] = [child for child in content if not _drop_empty_containers(child)]
    if not node["content"] and node["type"] != schema.DOC:
        del node["content"]
        return node["type"] in schema.CONTAINERS and node["type"] != schema.LIST_ITEM
    return False
