"""Document titles as the API keeps them (server/core/names.py): cleaned as names are, at most
MAX_TITLE characters (longer is refused, never cut), None when nothing is left."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.names import MAX_TITLE, TitleTooLong, clean_title


def test_a_title_is_plain_single_spaced_text() -> None:
    assert clean_title("  Plan\tfor \n\n Q3  ") == "Plan for Q3"
    assert clean_title("Plan\u202e\u200b\x07 B") == "Plan B"
    assert clean_title("<b>Bold</b> plan") == "Bold plan"
    assert clean_title("Caf\u0065\u0301") == "Café"
    assert clean_title("Plan — ünïcode 🚀") == "Plan — ünïcode 🚀"


def test_nothing_left_is_no_title() -> None:
    assert clean_title("") is None
    assert clean_title(" \u200b\t\n ") is None
    assert clean_title("\ud800") is None  # a lone surrogate (JSON's "\ud800") is dropped


def test_a_long_title_is_refused_not_cut() -> None:
    assert clean_title("x" * MAX_TITLE) == "x" * MAX_TITLE
    assert clean_title("  " + "x" * MAX_TITLE + "  ") == "x" * MAX_TITLE  # counted once clean
    with pytest.raises(TitleTooLong, match=str(MAX_TITLE)):
        clean_title("x" * (MAX_TITLE + 1))
    with pytest.raises(TitleTooLong):
        clean_title(" " * 100_000)  # far past the limit: refused before any work


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3 * MAX_TITLE))
def test_any_text_becomes_a_title_safe_to_show_or_is_refused(raw: str) -> None:
    try:
        title = clean_title(raw)
    except TitleTooLong:
        return
    if title is None:
        return
    assert 0 < len(title) <= MAX_TITLE
    assert title == title.strip() and "  " not in title
    assert "<" not in title and ">" not in title
    title.encode("utf-8")  # no lone surrogates
    assert all(
        unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} for c in title
    )
    assert clean_title(title) == title  # what is kept stays as it is when set again
