"""The document body as sanitized HTML: exactly crdt.schema's nodes and marks, cleaned by bleach.

Rendering works on the ProseMirror JSON (``crdt.render.to_prosemirror``), so any version of a
document renders the same way. Two layers keep it safe: the renderer only ever emits the tags
below with escaped text and checked URLs, and bleach then removes anything else that could
slip through (script, event handlers, ``javascript:``/``data:`` URLs). Unknown nodes degrade to
their text and unknown marks are dropped.
"""

from __future__ import annotations

import html
import re
from typing import Any

import bleach

from crdt import schema

# The HTML of each block node that is just a tag around its content (headings, code blocks and
# rules are special cases of _render).
BLOCK_TAGS: dict[str, str] = {
    schema.PARAGRAPH: "p",
    schema.BULLET_LIST: "ul",
    schema.ORDERED_LIST: "ol",
    schema.LIST_ITEM: "li",
    schema.BLOCKQUOTE: "blockquote",
}
# The HTML of each mark but links (an <a> with a checked href).
MARK_TAGS: dict[str, str] = {
    schema.STRONG: "strong",
    schema.EM: "em",
    schema.CODE: "code",
    schema.STRIKE: "s",
}

ALLOWED_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code"}
    | {"hr", "br", "strong", "em", "s", "a", "span"}
)
ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    "a": ["href", "rel"],
    "ol": ["start"],
    "span": ["class", "data-comment"],
}
# A comment thread's anchor: <span class="tandem-comment" data-comment="ID">, one per thread
# (innermost inside the other marks), so overlapping threads nest.
COMMENT_CLASS = "tandem-comment"
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# Characters browsers ignore inside a scheme ("java\tscript:" is still javascript:).
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")


def safe_href(value: object) -> str | None:
    """The link target if it is an http(s)/mailto or scheme-less relative URL, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    # Judge the URL as a browser could end up reading it: entities decoded, blanks removed.
    squeezed = _IGNORED_IN_URL.sub("", html.unescape(value))
    match = _SCHEME.match(squeezed)
    if match and match.group(1).lower() not in ALLOWED_PROTOCOLS:
        return None
    if not match and ":" in squeezed.split("/", 1)[0]:
        return None  # "javascript&colon;…" and friends: a colon before any slash is a scheme
    return value.strip()


def _text_of(node: dict[str, Any]) -> str:
    if node.get("type") == schema.TEXT:
        return str(node.get("text", ""))
    return "".join(_text_of(child) for child in node.get("content", []) or [])


def _marked(text: str, marks: list[dict[str, Any]]) -> str:
    out = _commented(html.escape(text, quote=False), marks)
    by_type = {str(mark.get("type")): mark for mark in marks if isinstance(mark, dict)}
    for name in reversed(schema.MARK_ORDER):
        mark = by_type.get(name)
        if mark is None:
            continue
        if name == schema.LINK:
            attrs = mark.get("attrs")
            href = safe_href(attrs.get("href") if isinstance(attrs, dict) else None)
            if href is not None:
                out = f'<a href="{html.escape(href)}" rel="noopener noreferrer nofollow">{out}</a>'
        else:
            tag = MARK_TAGS[name]
            out = f"<{tag}>{out}</{tag}>"
    return out


def _commented(out: str, marks: list[dict[str, Any]]) -> str:
    ids = set()
    for mark in marks:
        if isinstance(mark, dict) and mark.get("type") == schema.COMMENT:
            attrs = mark.get("attrs")
            thread = attrs.get("id") if isinstance(attrs, dict) else None
            if isinstance(thread, str) and thread:
                ids.add(thread)
    for thread in sorted(ids, reverse=True):
        attr = html.escape(thread, quote=True)
        out = f'<span class="{COMMENT_CLASS}" data-comment="{attr}">{out}</span>'
    return out


def _render(node: dict[str, Any]) -> str:
    kind = node.get("type")
    content = node.get("content", []) or []
    inner = "".join(_render(child) for child in content if isinstance(child, dict))
    if kind == schema.TEXT:
        return _marked(str(node.get("text", "")), node.get("marks", []) or [])
    if kind == schema.HARD_BREAK:
        return "<br>"
    if kind == schema.HORIZONTAL_RULE:
        return "<hr>"
    if kind == schema.HEADING:
        level = schema.heading_level(node.get("attrs"))
        return f"<h{level}>{inner}</h{level}>"
    if kind == schema.CODE_BLOCK:
        return f"<pre><code>{html.escape(_text_of(node), quote=False)}</code></pre>"
    if kind == schema.ORDERED_LIST:
        attrs = node.get("attrs")
        start = attrs.get("order", 1) if isinstance(attrs, dict) else 1
        number = isinstance(start, int | float) and not isinstance(start, bool)
        if number and start != 1 and 0 <= start < 10**9 and int(start) == start:
            return f'<ol start="{int(start)}">{inner}</ol>'
    if isinstance(kind, str) and kind in BLOCK_TAGS:
        tag = BLOCK_TAGS[kind]
        return f"<{tag}>{inner}</{tag}>"
    if kind == schema.DOC:
        return inner
    return html.escape(_text_of(node), quote=False)  # unknown: its text, nothing else


def sanitize(
    markup: str,
    tags: frozenset[str] = ALLOWED_TAGS,
    attributes: dict[str, list[str]] = ALLOWED_ATTRIBUTES,
) -> str:
    """bleach with exactly `tags` and `attributes` (by default the body's): anything else is
    stripped to its text, comments too, and URLs keep only our protocols."""
    return str(
        bleach.clean(
            markup,
            tags=tags,
            attributes=attributes,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
        )
    )


def prosemirror_to_html(document: dict[str, Any]) -> str:
    """Sanitized HTML of a ProseMirror document JSON (``{"type": "doc", "content": […]}``)."""
    return sanitize(_render(document))
