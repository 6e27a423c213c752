"""Cleaning text that strangers choose (display names) before anyone shows it.

A name comes from a token or from a client's presence state, so it may hold markup, control or
bidi-override characters, or a megabyte of text. `clean_name` turns it into short plain text: tags
are stripped with bleach (their text stays, so `<b>Ana</b>` is `Ana`), entities are decoded, and
the characters that could start markup (`<`, `>`) are dropped, so the result is inert even if a
careless page inserts it as HTML text. Pages must still escape it (or use `textContent`), like
any other text, in particular inside attributes.
"""

from __future__ import annotations

import html
import unicodedata

import bleach

MAX_NAME_LENGTH = 64
# Looking at more than this is pointless: the result is cut to MAX_NAME_LENGTH anyway.
_MAX_INPUT = 4096


def clean_name(raw: object, *, fallback: str = "Anonymous", limit: int = MAX_NAME_LENGTH) -> str:
    """Plain, short, single-line text for a display name; `fallback` when nothing is left."""
    if not isinstance(raw, str):
        return fallback
    # Control characters go first (bleach would turn some into "?"), and again after entities
    # are decoded (`&#7;`).
    text = bleach.clean(_plain(raw[:_MAX_INPUT], keep="<>"), tags=set(), attributes={}, strip=True)
    text = " ".join(_plain(unicodedata.normalize("NFC", html.unescape(text))).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or fallback


def _plain(text: str, keep: str = "") -> str:
    """Drop `<`, `>` (unless kept), format and unassigned characters; controls → space."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in {"Cc", "Zl", "Zp"}:
            kept.append(" ")
        elif (char in keep or char not in "<>") and category not in {"Cf", "Cs", "Co", "Cn"}:
            kept.append(char)
    return "".join(kept)


def is_utf8_text(text: str) -> bool:
    """Whether a string can be written as UTF-8: JSON's `\\ud800` escapes decode to lone
    surrogates, which every later encode (a response, a log collector, a webhook) refuses."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_utf8_text(text: str) -> str:
    """The string with anything UTF-8 cannot hold (lone surrogates) replaced by U+FFFD."""
    if is_utf8_text(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# Format characters that join emoji and scripts are kept in text; the others (bidi overrides,
# invisible separators) are dropped.
_JOINERS = frozenset({"\u200c", "\u200d"})


def clean_text(raw: str) -> str:
    """Plain multi-line text (a comment's body): NFC, newlines as "\\n", tabs kept, other control,
    format (but the joiners), surrogate, private-use and unassigned characters dropped,
    surrounding blanks trimmed. Markup is not touched: it is text, shown as such."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\n\t" or char in _JOINERS:
            kept.append(char)
        elif category in {"Zl", "Zp"}:
            kept.append("\n")
        elif category not in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            kept.append(char)
    # Blanks and joiners around it go (a joiner there joins nothing: joiners alone are empty).
    joined = "".join(kept)
    start, end = 0, len(joined)
    while start < end and (joined[start].isspace() or joined[start] in _JOINERS):
        start += 1
    while end > start and (joined[end - 1].isspace() or joined[end - 1] in _JOINERS):
        end -= 1
    return joined[start:end]
