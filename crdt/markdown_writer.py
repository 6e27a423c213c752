"""The canonical Markdown writer of crdt.markdown (which see): a body's ProseMirror JSON as
CommonMark that reads back as the same document.

Text is escaped so that it stays text; whitespace Markdown would strip (at a line's edges,
inside a mark's delimiters) and neighbours that would keep a delimiter from opening or closing
are written as character references; a list right after a list of the same kind alternates its
marker, so that the two stay two.
"""

from __future__ import annotations

import re
from typing import Any

from crdt import schema
from crdt.html import safe_href

Node = dict[str, Any]


_ESCAPED = re.compile(r"([\\`*_\[\]<>~])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_LINE_START = re.compile(r"^([#+=-])")
_ORDINAL = re.compile(r"^(\d{1,9})([.)])")


def to_markdown(document: Node) -> str:
    """Canonical CommonMark of a ProseMirror document JSON (the empty document is "")."""
    blocks = _blocks(document.get("content") or [])
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _blocks(nodes: list[Any]) -> list[str]:
    out: list[str] = []
    previous: str | None = None
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == schema.PARAGRAPH and not node.get("content"):
            continue  # an empty paragraph: Markdown has none
        out.append(_block(node, alternate=kind == previous))
        previous = kind
    return out


def _block(node: Node, *, alternate: bool = False) -> str:
    kind = node.get("type")
    content = node.get("content") or []
    if kind == schema.HEADING:
        level = schema.heading_level(node.get("attrs"))
        text = _inline_markdown(content, heading=True)
        return "#" * level + (" " + text if text else "")
    if kind == schema.CODE_BLOCK:
        return _fenced(node)
    if kind == schema.HORIZONTAL_RULE:
        return "---"
    if kind == schema.BLOCKQUOTE:
        return _prefixed("\n\n".join(_blocks(content)), "> ", "> ")
    if kind in schema.LISTS:
        return _list(node, alternate)
    if kind == schema.LIST_ITEM:  # outside a list: its blocks
        return "\n\n".join(_blocks(content))
    return _inline_markdown(content)  # paragraphs, and unknown nodes as their text


def _list(node: Node, alternate: bool) -> str:
    ordered = node.get("type") == schema.ORDERED_LIST
    attrs = node.get("attrs")
    start = attrs.get("order", 1) if isinstance(attrs, dict) else 1
    number = int(start) if isinstance(start, int | float) and 0 <= start < 10**9 else 1
    items = []
    for index, item in enumerate(node.get("content") or []):
        if not isinstance(item, dict):
            continue
        if ordered:
            marker = f"{number + index}{')' if alternate else '.'} "
        else:
            marker = "* " if alternate else "- "
        inner = item.get("content") or [] if item.get("type") == schema.LIST_ITEM else [item]
        body = _item_body(inner)
        if marker == "- " and body.startswith("---"):
            body = "***" + body[3:]  # "- ---" would be a rule, not an item holding one
        items.append(_prefixed(body, marker, " " * len(marker)) if body else marker.rstrip())
    return "\n".join(items)


def _item_body(nodes: list[Any]) -> str:
    """A list item's blocks: a list right after the first paragraph follows on the next line."""
    parts: list[str] = []
    kinds: list[Any] = []
    for node in nodes:
        if isinstance(node, dict):
            alternate = bool(kinds) and kinds[-1] == node.get("type")
            empty = node.get("type") == schema.PARAGRAPH and not node.get("content")
            parts.append("" if empty else _block(node, alternate=alternate))
            kinds.append(node.get("type"))
    if len(parts) > 1 and not parts[0]:  # the paragraph the schema requires, empty
        parts, kinds = parts[1:], kinds[1:]
    out = ""
    for index, part in enumerate(parts):
        if index == 0:
            out = part
        elif index == 1 and kinds[1] in schema.LISTS and kinds[0] == schema.PARAGRAPH and parts[0]:
            out += "\n" + part
        else:
            out += "\n\n" + part
    return out


def _prefixed(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    out = [(first + lines[0]) if lines[0] else first.rstrip()]
    out.extend(rest + line if line else rest.rstrip() for line in lines[1:])
    return "\n".join(out)


def _plain(node: Node) -> str:
    if node.get("type") == schema.TEXT:
        return str(node.get("text", ""))
    return "".join(_plain(child) for child in node.get("content") or [] if isinstance(child, dict))


def _fenced(node: Node) -> str:
    code = _plain(node)
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    attrs = node.get("attrs")
    language = attrs.get("language") if isinstance(attrs, dict) else None
    info = language if isinstance(language, str) and re.fullmatch(r"[^\s`]+", language) else ""
    return f"{fence}{info}\n{code}\n{fence}" if code else f"{fence}{info}\n{fence}"


def _escape(text: str, *, heading: bool) -> str:
    out = _ENTITY.sub("\\&", _ESCAPED.sub(r"\\\1", text))
    out = out.replace("\n", "&#10;").replace("\r", "&#13;")
    return out.replace("#", "\\#") if heading else out


def _mark_names(node: Node) -> list[str]:
    names = {str(mark.get("type")) for mark in node.get("marks") or [] if isinstance(mark, dict)}
    return [name for name in schema.MARK_ORDER if name in names]


def _href(node: Node) -> str:
    for mark in node.get("marks") or []:
        if isinstance(mark, dict) and mark.get("type") == schema.LINK:
            attrs = mark.get("attrs")
            href = safe_href(attrs.get("href") if isinstance(attrs, dict) else None)
            return href or ""
    return ""


def _link_target(href: str) -> str:
    if re.search(r"[\s()<>\\]", href):
        return "<" + re.sub(r"([<>\\])", r"\\\1", href) + ">"
    return href


def _code_span(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    edge = text.startswith(("`", " ")) or text.endswith(("`", " "))
    pad = " " if edge and text.strip(" ") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


_OPEN = {schema.STRONG: "**", schema.EM: "*", schema.STRIKE: "~~"}


def _marks_of(node: Node) -> tuple[list[str], str]:
    """A text node's marks in nesting order, and its link's target ("" for none)."""
    if node.get("type") != schema.TEXT:
        return [], ""
    href = _href(node)
    return [name for name in _mark_names(node) if name != schema.LINK or href], href


def _shared(open_marks: list[str], open_href: str, names: list[str], href: str) -> int:
    """How many of the open marks (outermost first) a node with `names` stays inside."""
    keep = 0
    while (
        keep < len(open_marks)
        and keep < len(names)
        and open_marks[keep] == names[keep]
        and names[keep] != schema.CODE
        and (names[keep] != schema.LINK or href == open_href)
    ):
        keep += 1
    return keep


def _inline_markdown(nodes: list[Any], *, heading: bool = False) -> str:
    """Inline content: marks opened and closed around runs of text; the mark that goes on
    longest opens outermost, and delimiters CommonMark would not read as such (next to
    whitespace or punctuation) get their neighbour written as a character reference."""
    out: list[tuple[str, str]] = []  # ("text" | "open" | "close" | "raw", markdown)
    open_marks: list[str] = []  # outermost first
    link_href = ""
    nodes = [node for node in nodes if isinstance(node, dict)]
    marks = [_marks_of(node) for node in nodes]

    def close_to(depth: int) -> None:
        while len(open_marks) > depth:
            name = open_marks.pop()
            if name == schema.LINK:
                out.append(("raw", f"]({_link_target(link_href)})"))
            else:
                out.append(("close", _OPEN[name]))

    def extent(name: str, start: int) -> int:
        end = start
        while end < len(nodes) and name in marks[end][0] and nodes[end].get("type") == schema.TEXT:
            end += 1
        return end

    for index, node in enumerate(nodes):
        if node.get("type") == schema.HARD_BREAK:
            close_to(0)
            out.append(("raw", " " if heading else "\\\n"))
            continue
        text = _plain(node)
        if not text:
            continue
        names, href = marks[index]
        keep = 0
        while keep < len(open_marks) and open_marks[keep] in names:
            if open_marks[keep] == schema.LINK and href != link_href:
                break
            keep += 1
        close_to(keep)
        new = [name for name in names if name not in open_marks and name != schema.CODE]
        new.sort(key=lambda name: -extent(name, index))
        for name in new:
            if name == schema.LINK:
                if out and out[-1][0] == "text" and out[-1][1].endswith("!"):
                    out[-1] = ("text", out[-1][1][:-1] + "\\!")  # a link, not an image
                out.append(("open", "["))
                link_href = href
            else:
                out.append(("open", _OPEN[name]))
            open_marks.append(name)
        if schema.CODE in names:
            out.append(("raw", _code_span(text.replace("\n", " "))))
        else:
            out.append(("text", _escape(text, heading=heading)))
    close_to(0)
    markdown = _flanking(out)
    lines = [_line_start(line) for line in markdown.split("\n")]
    return "\n".join(_edges(line, last=index == len(lines) - 1) for index, line in enumerate(lines))


def _reference(char: str) -> str:
    return f"&#{ord(char)};"


def _flanking(tokens: list[tuple[str, str]]) -> str:
    """Join the tokens, making each emphasis delimiter open or close as CommonMark reads it:
    a neighbour that is whitespace, or a letter where the rule wants punctuation, becomes a
    character reference (punctuation to the delimiter, the same character to the reader)."""
    parts = [list(token) for token in tokens]

    def neighbour(index: int, step: int) -> tuple[int, str]:
        """The token next to `index` that holds text, and its character at that edge ("" at
        the edge of the block; "*" for another delimiter, which is punctuation)."""
        other = index + step
        while 0 <= other < len(parts) and not parts[other][1]:
            other += step
        if not 0 <= other < len(parts):
            return -1, ""
        value = parts[other][1]
        return other, value[0] if step > 0 else value[-1]

    def encode(index: int, step: int) -> None:
        value = parts[index][1]
        if parts[index][0] != "text":
            return
        if step > 0 and (value[0].isspace() or value[0].isalnum()):
            parts[index][1] = _reference(value[0]) + value[1:]
        elif step < 0 and (value[-1].isspace() or value[-1].isalnum()):
            parts[index][1] = value[:-1] + _reference(value[-1])

    def punct(char: str) -> bool:
        return bool(char) and not char.isspace() and not char.isalnum()

    for index, (kind, value) in enumerate(tokens):
        if kind not in {"open", "close"} or value == "[":
            continue
        inner_step = 1 if kind == "open" else -1
        inner, inner_char = neighbour(index, inner_step)
        outer, outer_char = neighbour(index, -inner_step)
        if inner_char.isspace():
            encode(inner, inner_step)
            inner_char = ";"
        if punct(inner_char) and outer_char and not outer_char.isspace() and not punct(outer_char):
            encode(outer, -inner_step)
    return "".join(value for _, value in parts)


def _edges(line: str, *, last: bool) -> str:
    """Whitespace at a line's start (and at the end of the block) as character references:
    Markdown would strip it."""
    body = line if last else line[:-1]  # before a hard break's backslash
    start = len(body) - len(body.lstrip())
    end = len(body.rstrip())
    if start == 0 and end == len(body):
        return line
    if end < start:
        end = start
    encoded = "".join(f"&#{ord(c)};" for c in body[:start]) + body[start:end]
    encoded += "".join(f"&#{ord(c)};" for c in body[end:])
    return encoded + ("" if last else line[-1])


def _line_start(line: str) -> str:
    """Escape what would make a line of text a heading, a list item or a rule."""
    return _ORDINAL.sub(r"\1\\\2", _LINE_START.sub(r"\\\1", line))
