"""Comment anchors (crdt/comments.py) against real Yjs and y-prosemirror: the mark's attribute
key is y-prosemirror's, relative positions made by Yjs resolve to the right text, the placed
mark is what a stock Yjs client reads, it moves with its text, and bad anchors are refused."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, XmlFragment, XmlText

from crdt.comments import (
    AnchorError,
    Positions,
    Quote,
    mark_key,
    parse_anchor,
    place,
    quotes,
    remove,
)
from crdt.content import parse
from crdt.document import Document
from crdt.edit import replace_update
from crdt.markdown import to_markdown
from crdt.render import to_html, to_prosemirror, to_text
from tests.support.services import require_executable

SCRIPT = Path(__file__).with_name("comment_anchors.mjs")


def _node(command: dict[str, Any]) -> dict[str, Any]:
    node = require_executable("node")
    done = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(command), capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _yjs_doc(paragraphs: list[str], ranges: list[Any]) -> tuple[Document, dict[str, Any]]:
    made = _node({"op": "doc", "paragraphs": paragraphs, "ranges": ranges})
    document = Document()
    document.apply(base64.b64decode(made["state"]))
    return document, made


def _positions(made: dict[str, Any], index: int) -> Positions:
    anchor = parse_anchor(made["ranges"][index])
    assert isinstance(anchor, Positions)
    return anchor


def _deltas(*updates: bytes) -> list[Any]:
    encoded = [base64.b64encode(u).decode() for u in updates]
    deltas: list[Any] = _node({"op": "deltas", "updates": encoded})["deltas"]
    return deltas


def test_the_mark_key_is_y_prosemirrors() -> None:
    ids = ["abc", "x-_9Zq", "AAAAAAAAAAAA", "ünï😀code", "a" * 64, "z"]
    assert [mark_key(i) for i in ids] == _node({"op": "hash", "ids": ids})["keys"]


def test_a_quote_gets_a_mark_a_stock_yjs_client_reads() -> None:
    document, made = _yjs_doc(["hello wörld, hello"], [])
    placed = place(document, "t1", Quote("hello", 2))
    document.apply(placed.update)
    assert placed.quote == "hello"
    assert quotes(document.content) == {"t1": "hello"}
    delta = _deltas(base64.b64decode(made["state"]), placed.update)[0]
    assert delta == [
        {"insert": "hello wörld, "},
        {"insert": "hello", "attributes": {mark_key("t1"): {"id": "t1"}}},
    ]


def test_relative_positions_from_yjs_resolve_to_their_text() -> None:
    document, made = _yjs_doc(["hello wörld", "second"], [[0, 6, 11], [0, 2, [1, 3]], [1, 0, 6]])
    inside = place(document, "in", _positions(made, 0))
    assert inside.quote == "wörld"  # the end of a text is Yjs' position on the text itself
    document.apply(inside.update)
    across = place(document, "across", _positions(made, 1))
    assert across.quote == "llo wörld\nsec"
    document.apply(across.update)
    whole = place(document, "whole", _positions(made, 2))
    document.apply(whole.update)
    assert quotes(document.content) == {
        "in": "wörld",
        "across": "llo wörld\nsec",
        "whole": "second",
    }


def test_an_insert_before_the_anchor_keeps_the_quote() -> None:
    document, made = _yjs_doc(["the quick fox"], [[0, 4, 9]])
    placed = place(document, "t1", _positions(made, 0))
    document.apply(placed.update)
    # Another client types at the start of the paragraph and inside the word
    other: Doc[Any] = Doc()
    other.apply_update(document.encode())
    text = other.get("content", type=XmlFragment).children[0].children[0]
    assert isinstance(text, XmlText)
    state = document.state_vector()
    text.insert(0, "Look: ")
    document.apply(bytes(other.get_update(state)))
    assert quotes(document.content) == {"t1": "quick"}
    assert to_text(document.content) == "Look: the quick fox"


def test_overlapping_threads_and_removing_one() -> None:
    document, _ = _yjs_doc(["one two three"], [])
    for thread, quote in [("a", "one two"), ("b", "two three")]:
        document.apply(place(document, thread, Quote(quote)).update)
    assert quotes(document.content) == {"a": "one two", "b": "two three"}
    update = remove(document, "a")
    assert update is not None
    document.apply(update)
    assert quotes(document.content) == {"b": "two three"}
    assert remove(document, "a") is None


def test_deleted_text_leaves_no_quote() -> None:
    document = Document()
    document.apply(replace_update(document, parse("markdown", "keep this\n\ndrop that\n")) or b"")
    document.apply(place(document, "t1", Quote("drop")).update)
    document.apply(replace_update(document, parse("markdown", "keep this\n")) or b"")
    assert quotes(document.content) == {}


def test_a_content_write_keeps_marks_on_text_it_leaves() -> None:
    document = Document()
    document.apply(replace_update(document, parse("markdown", "alpha beta\n\ngamma\n")) or b"")
    document.apply(place(document, "t1", Quote("beta")).update)
    document.apply(place(document, "t2", Quote("gamma")).update)
    # The same text again: nothing to write
    assert replace_update(document, parse("markdown", "alpha beta\n\ngamma\n")) is None
    # Another block edited, and the commented block edited around its anchor
    update = replace_update(document, parse("markdown", "alpha **beta** now\n\ngamma ray\n"))
    assert update is not None
    document.apply(update)
    assert quotes(document.content) == {"t1": "beta", "t2": "gamma"}
    assert to_markdown(to_prosemirror(document.content)) == "alpha **beta** now\n\ngamma ray\n"


def test_renderers_show_or_drop_the_mark() -> None:
    document = Document()
    document.apply(replace_update(document, parse("markdown", "say **hi** there\n")) or b"")
    document.apply(place(document, "t-1", Quote("hi there")).update)
    assert to_html(document.content) == (
        '<p>say <strong><span class="tandem-comment" data-comment="t-1">hi</span></strong>'
        '<span class="tandem-comment" data-comment="t-1"> there</span></p>'
    )
    assert to_text(document.content) == "say hi there"
    assert to_markdown(to_prosemirror(document.content)) == "say **hi** there\n"
    marks = to_prosemirror(document.content)["content"][0]["content"][2]["marks"]
    assert marks == [{"type": "comment", "attrs": {"id": "t-1"}}]


@pytest.mark.parametrize(
    ("anchor", "message"),
    [
        ({"quote": "absent"}, "not in the document"),
        ({"quote": "one", "occurrence": 2}, "occurs 1 time"),
        ({"quote": ""}, "1 to"),
        ({"quote": "one", "occurrence": 0}, "from 1"),
        ({"quote": "one", "occurrence": True}, "whole number"),
        ({"quote": 5}, "string"),
        ({"quote": "\ud800"}, "text"),
        ({"quote": "x", "author": "ana"}, "only quote"),
        ({"from": "!!", "to": "AA=="}, "base64"),
        ({"from": "AA==", "to": 3}, "relative position"),
        ("one", "anchor must be"),
        ({"from": "AQ=="}, "anchor must be"),
    ],
)
def test_malformed_or_absent_anchors_are_refused(anchor: Any, message: str) -> None:
    document, _ = _yjs_doc(["one two"], [])
    with pytest.raises(AnchorError, match=message):
        place(document, "t1", parse_anchor(anchor))


def test_positions_that_name_no_text_are_refused() -> None:
    document, made = _yjs_doc(["one two", "three"], [[0, 3, 3], [0, 5, 2]])
    for bad in (made["ranges"][0], made["ranges"][1]):  # empty, inverted
        with pytest.raises(AnchorError, match="empty"):
            place(document, "t1", parse_anchor(bad))
    between = {"from": made["between"], "to": made["ranges"][0]["to"]}
    unseen = base64.b64encode(bytes([0, 0x85, 0x03, 7, 0])).decode()  # client 389 never wrote
    root = base64.b64encode(bytes([1, 7, *b"content", 0])).decode()
    for start in (made["between"], unseen, root):
        with pytest.raises(AnchorError, match=r"not inside|not a Yjs"):
            place(document, "t1", parse_anchor({**between, "from": start}))
    assert quotes(document.content) == {}


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.fixed_dictionaries(
            {"quote": st.text(max_size=12)},
            optional={"occurrence": st.one_of(st.integers(-3, 5), st.booleans(), st.none())},
        ),
        st.fixed_dictionaries(
            {
                "from": st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
                "to": st.one_of(
                    st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
                    st.text(max_size=8),
                ),
            }
        ),
        st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
    )
)
def test_hostile_anchors_are_refused_or_placed_on_text(anchor: dict[str, Any]) -> None:
    document = _HOSTILE_DOC
    try:
        placed = place(document, "t1", parse_anchor(anchor))
    except AnchorError:
        return
    assert placed.quote and placed.quote in "one twö three\nfour"
    copy = Document.load(None, [document.encode()])
    copy.apply(placed.update)
    assert quotes(copy.content) == {"t1": placed.quote}


def _hostile_doc() -> Document:
    document = Document()
    document.apply(replace_update(document, parse("markdown", "one twö three\n\nfour\n")) or b"")
    return document


_HOSTILE_DOC = _hostile_doc()


def test_positions_count_utf16_units_like_yjs() -> None:
    # "h😀é wörld": the emoji is two UTF-16 units, é and ö two UTF-8 bytes
    document, made = _yjs_doc(["h😀é wörld"], [[0, 1, 3], [0, 5, 10], [0, 0, 1]])
    assert place(document, "a", _positions(made, 0)).quote == "😀"
    assert place(document, "b", _positions(made, 1)).quote == "wörld"
    assert place(document, "c", _positions(made, 2)).quote == "h"
    _, inside = _yjs_doc(["h😀é wörld"], [[0, 2, 4]])  # from the emoji's second half
    with pytest.raises(AnchorError, match="not inside"):
        place(document, "d", _positions(inside, 0))


def test_quotes_count_occurrences_across_blocks_and_stay_inside_one() -> None:
    document = Document()
    markdown = "one fox\n\n- two fox\n- red\\\nfox three\n"
    document.apply(replace_update(document, parse("markdown", markdown)) or b"")
    second = place(document, "b", Quote("fox", 2))
    document.apply(second.update)
    broken = place(document, "c", Quote("red\nfox"))  # across a hard break, in one block
    document.apply(broken.update)
    assert quotes(document.content) == {"b": "fox", "c": "red\nfox"}
    assert to_html(document.content).count("tandem-comment") == 3
    with pytest.raises(AnchorError, match="not in the document"):
        place(document, "d", Quote("fox\n\n- two"))  # never across blocks
    with pytest.raises(AnchorError, match="occurs 5 times"):
        place(document, "d", Quote("o", 9))


def test_positions_without_their_assoc_are_read_as_yjs_reads_them() -> None:
    # Y.decodeRelativePosition reads a missing assoc as 0 (older Yjs did not write it)
    document, made = _yjs_doc(["hello wörld"], [[0, 6, 9]])
    anchor = _positions(made, 0)
    assert anchor.start[-1] == anchor.end[-1] == 0  # assoc 0 is one byte
    short = Positions(anchor.start[:-1], anchor.end[:-1])
    assert place(document, "t1", short).quote == place(document, "t2", anchor).quote == "wör"
