"""The document body as sanitized HTML: exactly DESIGN.md's nodes and marks, cleaned by bleach.

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

# The HTML each DESIGN.md node becomes; None marks a node rendered by a special case.
BLOCK_TAGS: dict[str, str] = {
    "paragraph": "p",
    "bullet_list": "ul",
    "ordered_list": "ol",
    "list_item": "li",
    "blockquote": "blockquote",
}
MARK_TAGS: dict[str, str] = {"strong": "strong", "em": "em", "code": "code", "strike": "s"}
# Marks nest in this order (outermost first), so the same marks always give the same HTML.
MARK_ORDER = ("link", "strong", "em", "strike", "code")

ALLOWED_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code"}
    | {"hr", "br", "strong", "em", "s", "a"}
)
ALLOWED_ATTRIBUTES: dict[str, list[str]] = {"a": ["href", "rel"]}
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


def heading_level(attrs: object) -> int:
    """A heading's level, 1 to 6, whatever its attributes hold (1 when it is not a number)."""
    level = attrs.get("level", 1) if isinstance(attrs, dict) else 1
    try:
        number = int(level)
    except (TypeError, ValueError, OverflowError):  # "x", None, a list; infinity
        return 1
    return min(max(number, 1), 6)


def _text_of(node: dict[str, Any]) -> str:
    if node.get("type") == "text":
        return str(node.get("text", ""))
    return "".join(_text_of(child) for child in node.get("content", []) or [])


def _marked(text: str, marks: list[dict[str, Any]]) -> str:
    out = html.escape(text, quote=False)
    by_type = {str(mark.get("type")): mark for mark in marks if isinstance(mark, dict)}
    for name in reversed(MARK_ORDER):
        mark = by_type.get(name)
        if mark is None:
            continue
        if name == "link":
            attrs = mark.get("attrs")
            href = safe_href(attrs.get("href") if isinstance(attrs, dict) else None)
            if href is not None:
                out = f'<a href="{html.escape(href)}" rel="noopener noreferrer nofollow">{out}</a>'
        else:
            tag = MARK_TAGS[name]
            out = f"<{tag}>{out}</{tag}>"
    return out


def _render(node: dict[str, Any]) -> str:
    kind = node.get("type")
    content = node.get("content", []) or []
    inner = "".join(_render(child) for child in content if isinstance(child, dict))
    if kind == "text":
        return _marked(str(node.get("text", "")), node.get("marks", []) or [])
    if kind == "hard_break":
        return "<br>"
    if kind == "horizontal_rule":
        return "<hr>"
    if kind == "heading":
        level = heading_level(node.get("attrs"))
        return f"<h{level}>{inner}</h{level}>"
    if kind == "code_block":
        return f"<pre><code>{html.escape(_text_of(node), quote=False)}</code></pre>"
    if isinstance(kind, str) and kind in BLOCK_TAGS:
        tag = BLOCK_TAGS[kind]
        return f"<{tag}>{inner}</{tag}>"
    if kind == "doc":
        return inner
    return html.escape(_text_of(node), quote=False)  # unknown: its text, nothing else


def sanitize(markup: str) -> str:
    """bleach with exactly our tags: anything else is stripped to its text."""
    return str(
        bleach.clean(
            markup,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
        )
    )


def prosemirror_to_html(document: dict[str, Any]) -> str:
    """Sanitized HTML of a ProseMirror document JSON (``{"type": "doc", "content": […]}``)."""
    return sanitize(_render(document))
