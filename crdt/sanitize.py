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
    text = bleach.clean(raw[:_MAX_INPUT], tags=set(), attributes={}, strip=True)
    text = html.unescape(text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "<>" or category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            kept.append(" " if category == "Cc" else "")
        elif category in {"Zl", "Zp"}:
            kept.append(" ")
        else:
            kept.append(char)
    text = " ".join("".join(kept).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or fallback
