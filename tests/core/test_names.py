"""Names and colours others see: sanitized, and taken from the accepted identity."""

from __future__ import annotations

import json

from crdt.awareness import AwarenessEntry
from server.core.identity import ANONYMOUS, Identity
from server.core.names import clean_color, clean_name, color_for, stamp_awareness


def state(entry: AwarenessEntry) -> dict[str, object]:
    assert entry.state is not None
    parsed = json.loads(entry.state)
    assert isinstance(parsed, dict)
    return parsed


def test_clean_name_keeps_printable_text_only() -> None:
    assert clean_name("  Ana   Lopez ") == "Ana Lopez"
    assert clean_name("Ana\u202eevil\u200b\x00\n") == "Anaevil"
    assert clean_name("<script>x</script>") == "x"  # bleach strips the markup
    assert clean_name("e\u0301") == "\u00e9"  # NFC
    assert len(clean_name("x" * 500)) == 64
    assert clean_name("") == "Anonymous"
    assert clean_name(" \u200b ") == "Anonymous"
    assert clean_name(42) == "Anonymous"
    assert clean_name(None, fallback="ana") == "ana"


def test_clean_color_accepts_hex_only() -> None:
    assert clean_color("#A0B1C2", "ana") == "#a0b1c2"
    assert clean_color("#abc", "ana") == "#abc"
    assert clean_color("red; background:url(x)", "ana") == color_for("ana")
    assert clean_color(None, "ana") == color_for("ana") == color_for("ana")


def test_an_authenticated_connection_is_shown_under_its_identity() -> None:
    ana = Identity(user="ana", name="Ana", anonymous=False)
    forged = AwarenessEntry(1, 1, '{"user":{"name":"Boss","color":"#112233"},"cursor":{"a":1}}')
    (stamped,) = stamp_awareness(ana, [forged])
    assert state(stamped) == {"user": {"name": "Ana", "color": "#112233"}, "cursor": {"a": 1}}
    assert (stamped.client_id, stamped.clock) == (1, 1)


def test_an_anonymous_connection_keeps_its_name_sanitized() -> None:
    entry = AwarenessEntry(1, 3, '{"user":{"name":"Ben\\u202e<b>","color":"url(evil)"}}')
    (stamped,) = stamp_awareness(ANONYMOUS, [entry])
    assert state(stamped)["user"] == {"name": "Ben", "color": color_for("Ben")}


def test_states_without_a_user_and_removals_pass_unchanged() -> None:
    entries = [AwarenessEntry(1, 1, '{"cursor":null}'), AwarenessEntry(2, 5, None)]
    ana = Identity(user="ana", name="Ana", anonymous=False)
    assert stamp_awareness(ana, entries) == entries
    clean = AwarenessEntry(3, 1, '{"user":{"name":"Ana","color":"#123456"}}')
    assert stamp_awareness(ana, [clean])[0] is clean
