"""Names that strangers choose come out as short, inert plain text."""

from __future__ import annotations

import pytest

from crdt.sanitize import MAX_NAME_LENGTH, clean_name

PAYLOADS = {
    "<script>alert(1)</script>Mallory": "alert(1)Mallory",
    '<img src=x onerror="alert(1)">Eve': "Eve",
    "<svg onload=alert(1)>": "Anonymous",
    '<a href="javascript:alert(1)">Ann</a>': "Ann",
    '<a href="data:text/html;base64,PHNjcmlwdD4=">Dan</a>': "Dan",
    "&lt;script&gt;alert(1)&lt;/script&gt;": "scriptalert(1)/script",
    "&#60;b onmouseover=alert(1)&#62;x": "b onmouseover=alert(1)x",
    "Bob\u202e\u200bgnp.exe": "Bobgnp.exe",
    "Line\nbreak\r\x00\x07end": "Line break end",
    "  O'Brien & Søn  ": "O'Brien & Søn",
}


@pytest.mark.parametrize("raw", PAYLOADS)
def test_markup_and_control_characters_are_removed(raw: str) -> None:
    cleaned = clean_name(raw)
    assert cleaned == PAYLOADS[raw]
    assert "<" not in cleaned and ">" not in cleaned


def test_oversized_names_are_cut() -> None:
    cleaned = clean_name("A" * 1_000_000)
    assert len(cleaned) == MAX_NAME_LENGTH and cleaned.endswith("…")


@pytest.mark.parametrize("raw", [None, 42, {"name": "x"}, "", "   ", "<b></b>"])
def test_nothing_usable_gives_the_fallback(raw: object) -> None:
    assert clean_name(raw) == "Anonymous"
    assert clean_name(raw, fallback="") == ""
