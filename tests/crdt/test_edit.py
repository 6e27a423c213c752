"""The minimal change (crdt/edit.py) and the content readers (crdt/content.py), in process on
pycrdt documents: the result is the target, untouched blocks and text keep their identity,
positions are right with non-ASCII text, marks change by formatting."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, XmlFragment, XmlText

from crdt.content import ContentError, parse, validate
from crdt.document import Document
from crdt.edit import append_update, replace_update
from crdt.markdown import to_markdown
from crdt.merge import merge_blocks
from crdt.render import to_prosemirror


def _doc(markdown: str) -> Document:
    document = Document()
    update = replace_update(document, parse("markdown", markdown))
    assert update is not None
    document.apply(update)
    return document


def _put(document: Document, markdown: str) -> bytes:
    update = replace_update(document, parse("markdown", markdown))
    assert update is not None
    document.apply(update)
    assert to_markdown(to_prosemirror(document.content)) == markdown
    return update


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a\n", "b\n"),
        ("one\n\ntwo\n\nthree\n", "one\n\nthree\n"),
        ("one\n\nthree\n", "zero\n\none\n\ntwo\n\nthree\n\nfour\n"),
        ("café au lait 日本\n", "café noir 日本語 🎉\n"),
        ("plain text here\n", "plain **text** here\n"),
        ("**all bold**\n", "all bold\n"),
        ("[link](https://a.org) x\n", "[link](https://b.org) x\n"),
        ("- a\n  - b\n- c\n", "- a\n  - b2\n  - b3\n- c\n"),
        ("# Title\n", "## Title\n"),
        ("line\\\nbreak\n", "line\\\nbroken\n"),
        ("> quote\n", "> quote\n>\n> more\n"),
        ("```py\nx = 1\n```\n", "```py\nx = 2\n```\n"),
        ("text\n", ""),
    ],
)
def test_the_document_becomes_the_target(before: str, after: str) -> None:
    document = _doc(before)
    if before != after and after:
        _put(document, after)
    elif not after:
        update = replace_update(document, parse("markdown", after))
        assert update is not None
        document.apply(update)
        assert to_prosemirror(document.content) == {"type": "doc", "content": []}


def test_untouched_blocks_and_text_keep_their_identity() -> None:
    paragraphs = [f"Paragraph {i} with some words." for i in range(100)]
    document = _doc("\n\n".join(paragraphs) + "\n")
    first = document.content.children[0]
    middle_text = document.content.children[50].children[0]
    peer: Doc[Any] = Doc()
    peer.apply_update(document.encode())
    peer_text = peer.get("content", type=XmlFragment).children[50].children[0]
    assert isinstance(peer_text, XmlText)
    paragraphs[50] = "Paragraph 50 with more words."
    update = _put(document, "\n\n".join(paragraphs) + "\n")
    assert len(update) < 60, len(update)
    assert document.content.children[0] == first
    assert document.content.children[50].children[0] == middle_text
    peer.apply_update(update)
    assert str(peer_text) == "Paragraph 50 with more words."


def test_append_adds_after_the_last_block() -> None:
    document = _doc("first\n")
    update = append_update(document, parse("text", "second\nline"))
    assert update is not None
    document.apply(update)
    assert to_markdown(to_prosemirror(document.content)) == "first\n\nsecond\\\nline\n"
    assert append_update(document, parse("text", "")) is None


def test_merge_keeps_what_others_did_to_blocks_the_writer_left() -> None:
    base = parse("markdown", "a\n\nb\n\nc\n")
    mine = parse("markdown", "A\n\nb\n\nc\n\nmine\n")
    now = parse("markdown", "first\n\na\n\nb typed\n\nc\n\ntheirs\n")
    merged = merge_blocks(base, mine, now)
    assert to_markdown(merged) == "first\n\nA\n\nb typed\n\nc\n\ntheirs\n\nmine\n"


def test_html_and_text_readers() -> None:
    html = '<h3>T</h3><ul><li>x <b>y</b></li><li><p>z</p><ol start="3"><li>n</li></ol></li></ul>'
    html += "<pre><code>a &lt; b\n</code></pre><blockquote>q<br>r</blockquote><hr>"
    markdown = to_markdown(parse("html", html))
    assert markdown == "### T\n\n- x **y**\n- z\n  3. n\n\n```\na < b\n\n```\n\n> q\\\n> r\n\n---\n"
    assert to_markdown(parse("text", "a\r\nb\n\n\n  \nc")) == "a\\\nb\n\nc\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "paragraph"}, "ProseMirror document"),
        ({"type": "doc", "content": {}}, "doc.content: must be a list"),
        ({"type": "doc", "content": [{"type": "text", "text": "x"}]}, "doc.content[0]"),
        (
            {
                "type": "doc",
                "content": [{"type": "bullet_list", "content": [{"type": "paragraph"}]}],
            },
            "list_item",
        ),
        (
            {
                "type": "doc",
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
            },
            "non-empty",
        ),
        (
            {
                "type": "doc",
                "content": [
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": "x", "marks": [{"type": "underline"}]}
                        ],
                    }
                ],
            },
            "marks",
        ),
        (
            {
                "type": "doc",
                "content": [
                    {
                        "type": "paragraph",
                        "content": [
                            {
                                "type": "text",
                                "text": "x",
                                "marks": [{"type": "link", "attrs": {"href": "javascript:x"}}],
                            }
                        ],
                    }
                ],
            },
            "href",
        ),
        (
            {
                "type": "doc",
                "content": [{"type": "ordered_list", "attrs": {"order": -1}, "content": []}],
            },
            "order",
        ),
    ],
)
def test_json_outside_the_schema_is_refused_with_where(value: Any, message: str) -> None:
    with pytest.raises(ContentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(value)


def test_a_markdown_writer_leaves_the_empty_paragraphs_it_could_not_see() -> None:
    empty = {"type": "paragraph"}
    base = {"type": "doc", "content": [*parse("markdown", "a\n")["content"], empty]}
    base["content"] += parse("markdown", "b\n")["content"]
    mine = parse("markdown", "A\n\nb\n")  # what a Markdown reader of `base` wrote back
    merged = merge_blocks(base, mine, base, saw_empty=False)
    assert merged["content"][1] == empty and to_markdown(merged) == "A\n\nb\n"
    assert merge_blocks(base, mine, base)["content"] == mine["content"]  # JSON showed it


def test_what_the_editor_schema_refuses_never_gets_in() -> None:
    # An editor (y-prosemirror) deletes an element its schema refuses: none may be written.
    assert to_markdown(parse("markdown", "a\n\n>\n\nb\n")) == "a\n\nb\n"
    assert parse("html", "<ul></ul><blockquote></blockquote>") == {"type": "doc", "content": []}
    code = parse("html", "<pre><code>a<br>b</code></pre>")["content"][0]
    assert code == {"type": "code_block", "content": [{"type": "text", "text": "a\nb"}]}
    marked = {"type": "text", "text": "x", "marks": [{"type": "strong"}]}
    with pytest.raises(ContentError, match="code_block has no marks"):
        validate({"type": "doc", "content": [{"type": "code_block", "content": [marked]}]})
    with pytest.raises(ContentError, match="at least one"):
        validate({"type": "doc", "content": [{"type": "blockquote", "content": []}]})


def test_a_block_inserted_before_an_edited_one_does_not_take_its_place() -> None:
    document = _doc("First paragraph.\n\nThe second paragraph, long enough.\n\nThird.\n")
    second = document.content.children[1]
    after = "First paragraph.\n\nA new one.\n\nThe second paragraph, now edited.\n\nThird.\n"
    _put(document, after)
    assert document.content.children[2] == second


def test_a_heading_changing_level_keeps_its_element_and_text() -> None:
    document = _doc("# Title here\n\n3. three\n")
    heading, text = document.content.children[0], document.content.children[0].children[0]
    _put(document, "## Title here\n\n5. three\n")
    assert document.content.children[0] == heading
    assert document.content.children[0].children[0] == text


@pytest.mark.parametrize(
    ("start", "order"),
    [("7", 7), ("\u00b2", 1), ("\u0663", 1), ("9" * 400, 1), ("999999999", 999999999), ("", 1)],
)
def test_an_html_list_start_becomes_an_order_validate_accepts(start: str, order: int) -> None:
    # Unicode digits pass str.isdigit but not int(); a huge one overflows the float Yjs keeps.
    doc = parse("html", f'<ol start="{start}"><li>one</li></ol>')
    assert doc["content"][0]["attrs"] == {"order": order}
    live = Document()
    update = replace_update(live, doc)
    assert update is not None
    live.apply(update)
    assert to_prosemirror(live.content)["content"][0]["attrs"] == {"order": order}
