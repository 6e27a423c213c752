"""Display names and colours others see, the awareness rewrite that enforces them, and
document titles (cleaned as names are).

A y-websocket client announces `{"user": {"name", "color"}, …}` in its awareness state and every
other client shows it next to the cursor. The room passes each announced state through
`stamp_awareness` so that an authenticated connection always shows the name of its identity, an
anonymous one shows what it announced but sanitized, and a colour can never smuggle CSS.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from typing import Any

from crdt import sanitize
from crdt.awareness import AwarenessEntry
from server.core.identity import Identity

MAX_NAME = 64
DEFAULT_NAME = "Anonymous"
# A document title's longest length, in characters after cleaning; a longer one is refused.
MAX_TITLE = 200

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# The colours a user gets from their id (dark enough for white initials and cursor labels:
# contrast 4.5:1 or more); pages hand the same list to the browser (data-colours).
PALETTE = (
    "#b91c1c",
    "#c2410c",
    "#a16207",
    "#15803d",
    "#0f766e",
    "#0369a1",
    "#1d4ed8",
    "#4338ca",
    "#7e22ce",
    "#a21caf",
    "#be185d",
    "#57534e",
)


def clean_name(raw: object, fallback: str = DEFAULT_NAME) -> str:
    """A name safe to show anywhere: markup stripped by bleach, then NFC, printable,
    single-spaced plain text of at most 64 characters (crdt.sanitize)."""
    return sanitize.clean_name(raw, fallback=fallback, limit=MAX_NAME)


class TitleTooLong(ValueError):
    pass


def clean_title(raw: str) -> str | None:
    """A title safe to show anywhere, by the rules of names: plain, printable, trimmed,
    single-spaced text (crdt.sanitize); None when nothing is left (no title). TitleTooLong past
    MAX_TITLE characters: a title is never cut where nobody sees it."""
    if len(raw) > 16 * MAX_TITLE:  # far past the limit, whatever cleaning would drop
        raise TitleTooLong(f"a title has at most {MAX_TITLE} characters")
    text = sanitize.clean_name(raw, fallback="", limit=len(raw) + 1)
    if len(text) > MAX_TITLE:
        raise TitleTooLong(f"a title has at most {MAX_TITLE} characters")
    return text or None


def color_for(user: str) -> str:
    """A stable colour for a user id (the same on every instance)."""
    digest = hashlib.sha256(user.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def clean_color(raw: object, user: str) -> str:
    if isinstance(raw, str) and _COLOR.fullmatch(raw):
        return raw.lower()
    return color_for(user)


def announced_user(state: str | None) -> dict[str, Any] | None:
    """The `user` object of a raw awareness state, if it has one."""
    if state is None:
        return None
    try:
        parsed = json.loads(state)
    except ValueError:
        return None
    if isinstance(parsed, dict):
        user = parsed.get("user")
        if isinstance(user, dict):
            return user
    return None


def stamp_awareness(identity: Identity, entries: list[AwarenessEntry]) -> list[AwarenessEntry]:
    """Rewrite `user.name` (and `user.color`) in states a connection announced.

    Authenticated connections get the name of their identity whatever they sent; anonymous ones
    keep the name they announced, sanitized. States without a `user` object pass unchanged.
    """
    stamped: list[AwarenessEntry] = []
    for entry in entries:
        if entry.state is None:
            stamped.append(entry)
            continue
        try:
            state = json.loads(entry.state)
        except ValueError:  # the codec already refused invalid JSON; be safe anyway
            stamped.append(entry)
            continue
        if not isinstance(state, dict) or "user" not in state:
            stamped.append(entry)
            continue
        user = state["user"] if isinstance(state["user"], dict) else {}
        if identity.anonymous:
            name = clean_name(user.get("name"))
        else:
            name = clean_name(identity.name, fallback=clean_name(identity.user))
        key = identity.user if not identity.anonymous else name
        new_user = {**user, "name": name, "color": clean_color(user.get("color"), key)}
        if new_user == user:
            stamped.append(entry)
            continue
        state["user"] = new_user
        text = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
        stamped.append(AwarenessEntry(entry.client_id, entry.clock, text))
    return stamped


def announced_author(
    identity: Identity, guest: str, entries: list[AwarenessEntry]
) -> Identity | None:
    """Who an anonymous connection's edits are by, from the (stamped) states it announced: its
    presence id `guest` under the name it gave. None: no name in them (or not anonymous: an
    identity from a token stays authoritative)."""
    if not identity.anonymous:
        return None
    for entry in reversed(entries):
        user = announced_user(entry.state)
        if user is not None and isinstance(user.get("name"), str):
            return replace(identity, user=guest, name=clean_name(user["name"]))
    return None
