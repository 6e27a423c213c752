"""Comment bodies and authors (server/core/comments.py) from hostile input: a body is plain
UTF-8 text of 1 to 10,000 characters without control, bidi or surrogate characters, or the
request is a 400; an author comes from the identity, never from the request."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.comments import MAX_BODY, author_of, clean_body
from server.core.identity import ANONYMOUS, Identity, Role
from server.errors import BadRequest

JOINERS = "\u200c\u200d"
ANA = Identity(user="ana", name="Ana", role=Role.COMMENT, anonymous=False)


@given(st.text(max_size=200) | st.binary(max_size=50).map(lambda b: b.decode("utf-16", "replace")))
def test_a_body_is_clean_text_or_refused(raw: str) -> None:
    try:
        body = clean_body(raw)
    except BadRequest:
        return
    body.encode("utf-8")  # no lone surrogates
    assert 1 <= len(body) <= MAX_BODY and body == body.strip()
    assert body[0] not in JOINERS and body[-1] not in JOINERS  # a joiner joins nothing there
    for char in body:
        category = unicodedata.category(char)
        assert char in "\n\t\u200c\u200d" or category not in {"Cc", "Cf", "Cs", "Co", "Cn"}


@given(
    st.one_of(st.none(), st.integers(), st.lists(st.text()), st.dictionaries(st.text(), st.text()))
)
def test_a_body_that_is_no_string_is_refused(raw: object) -> None:
    with pytest.raises(BadRequest):
        clean_body(raw)


def test_bodies_keep_lines_emoji_and_markup_as_text() -> None:
    raw = " Family: 👨\u200d👩\u200d👧\r\n<b>not bold</b>\u202e\x07\ud800 \n"
    assert clean_body(raw) == "Family: 👨\u200d👩\u200d👧\n<b>not bold</b>"
    assert len(clean_body("x" * MAX_BODY)) == MAX_BODY
    assert clean_body("\u200d x \u200c\n") == "x"
    for bad in ("", " \n\t ", "\x00\x01", "x" * (MAX_BODY + 1), "\u200d", "\u200c \u200d\n\u200d"):
        with pytest.raises(BadRequest):
            clean_body(bad)


@given(
    st.one_of(
        st.none(), st.text(max_size=300), st.integers(), st.dictionaries(st.text(), st.text())
    )
)
def test_the_author_is_the_identity(name: object) -> None:
    assert author_of(ANA, name).user == "ana" and author_of(ANA, name).name == "Ana"
    anonymous = author_of(ANONYMOUS, name)
    assert anonymous.user == "anonymous" and 1 <= len(anonymous.name) <= 64
    assert "<" not in anonymous.name and anonymous.name == anonymous.name.strip()
