"""History in pure terms: block diffs, character counts, restore updates, rebuilding."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.document import Document
from crdt.errors import UpdateRejected
from crdt.history import blocks, diff_documents, rebuild, restore_update
from crdt.render import to_prosemirror, to_text


def _doc(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": p}]}
            if p
            else {"type": "paragraph"}
            for p in paragraphs
        ],
    }


def test_blocks_walk_into_lists_and_quotes() -> None:
    document = {
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "T"}]},
            {
                "type": "bullet_list",
                "content": [
                    {
                        "type": "list_item",
                        "content": [
                            {
                                "type": "paragraph",
                                "content": [
                                    {"type": "text", "text": "a"},
                                    {"type": "hard_break"},
                                    {"type": "text", "text": "b"},
                                ],
                            }
                        ],
                    }
                ],
            },
            {"type": "horizontal_rule"},
        ],
    }
    found = blocks(document)
    assert [(b.type, b.text, b.level, b.context) for b in found] == [
        ("heading", "T", 3, ()),
        ("paragraph", "a\nb", None, ("bullet_list", "list_item")),
        ("horizontal_rule", "", None, ()),
    ]


def test_diff_reports_inserted_deleted_and_changed_blocks() -> None:
    before = _doc("intro", "the quick brown fox", "doomed", "outro")
    after = _doc("intro", "the slow brown fox jumps", "outro", "new ending")
    result = diff_documents(before, after)
    ops = [(c.op, (c.after or c.before).text) for c in result.changes]  # type: ignore[union-attr]
    assert ops == [
        ("equal", "intro"),
        ("change", "the slow brown fox jumps"),
        ("delete", "doomed"),
        ("equal", "outro"),
        ("insert", "new ending"),
    ]
    changed = result.changes[1]
    assert [(s.op, s.text) for s in changed.segments] == [
        ("equal", "the "),
        ("delete", "quick"),
        ("insert", "slow"),
        ("equal", " brown fox"),
        ("insert", " jumps"),
    ]
    assert result.added == len("slow") + len(" jumps") + len("new ending")
    assert result.removed == len("quick") + len("doomed")


def test_dissimilar_replacements_are_a_delete_and_an_insert() -> None:
    result = diff_documents(_doc("alpha beta gamma"), _doc("zzzz qqqq"))
    assert [c.op for c in result.changes] == ["delete", "insert"]
    assert (result.added, result.removed) == (9, 16)


def test_diff_html_marks_insertions_and_deletions_and_escapes_text() -> None:
    result = diff_documents(_doc("keep", "<script>x</script>"), _doc("keep <b>", "added"))
    html = result.as_json()["html"]
    assert '<div class="diff-block diff-change"><p>keep<ins> &lt;b&gt;</ins></p></div>' in html
    assert (
        '<div class="diff-block diff-delete"><p><del>&lt;script&gt;x&lt;/script&gt;</del></p></div>'
        in html
    )
    assert '<div class="diff-block diff-insert"><p><ins>added</ins></p></div>' in html
    assert "<script" not in html


def test_identical_documents_have_an_empty_diff() -> None:
    result = diff_documents(_doc("a", "b"), _doc("a", "b"))
    assert {c.op for c in result.changes} == {"equal"}
    assert (result.added, result.removed) == (0, 0)


def _rich(doc: Document) -> None:
    body = doc.content
    body.children.append(XmlElement("heading", {"level": 1}, [XmlText("Plan ✓")]))
    p = body.children.append(XmlElement("paragraph", {}, []))
    text = p.children.append(XmlText())
    text.insert(0, "emoji 😀 then ")
    text.insert(
        len("emoji 😀 then ".encode()), "a link", {"link": {"href": "https://x.test"}, "strong": {}}
    )
    body.children.append(
        XmlElement(
            "bullet_list",
            {},
            [XmlElement("list_item", {}, [XmlElement("paragraph", {}, [XmlText("item")])])],
        )
    )


def test_restore_update_turns_the_live_document_into_the_old_one() -> None:
    old = Document()
    _rich(old)
    live = Document()
    live.apply(old.encode())
    live.content.children.append(XmlElement("paragraph", {}, [XmlText("added later")]))
    del live.content.children[0]
    peer = Document()  # a client that is in sync with the live document
    peer.apply(live.encode())
    update = restore_update(live, old)
    assert to_text(live.content) != to_text(old.content)  # computed on a copy
    live.apply(update)
    peer.apply(update)
    for doc in (live, peer):
        assert to_prosemirror(doc.content) == to_prosemirror(old.content)
        assert str(doc.content) == str(old.content)


def test_restore_update_keeps_concurrent_edits_of_other_peers() -> None:
    old = Document()
    old.content.children.append(XmlElement("paragraph", {}, [XmlText("old")]))
    live = Document()
    live.apply(old.encode())
    live.content.children.append(XmlElement("paragraph", {}, [XmlText("newer")]))
    offline = Document()  # edits made offline, concurrently with the restore
    offline.apply(live.encode())
    before = offline.state_vector()
    offline.content.children.append(XmlElement("paragraph", {}, [XmlText("offline edit")]))
    offline_update = offline.diff(before)
    live.apply(restore_update(live, old))
    live.apply(offline_update)
    assert to_text(live.content) == "old\noffline edit"


def test_rebuild_replays_version_diffs_after_a_checkpoint() -> None:
    doc = Document()
    state_vector = doc.state_vector()
    diffs, texts = [], []
    for n in range(5):
        doc.content.children.append(XmlElement("paragraph", {}, [XmlText(f"p{n}")]))
        diffs.append(doc.diff(state_vector))
        state_vector = doc.state_vector()
        texts.append(to_text(doc.content))
    checkpoint = rebuild(None, diffs[:3]).encode()
    assert to_text(rebuild(checkpoint, diffs[3:]).content) == texts[-1]
    assert to_text(rebuild(None, diffs[:2]).content) == texts[1]


# Found by the live fuzz: a string item straight in the root fragment, then one whose parent is
# the XmlText item (client 1618033988, clock 7) of the second of three paragraphs.
_NOT_XML = bytes.fromhex(
    "01028ce6e70100040107636f6e74656e740ac3bdf09b9faec295c2b00400c4fac483060706c3a8f189978f00"
)


@pytest.mark.timeout(30, method="thread")  # the old delete hung in Rust, holding the GIL
def test_a_body_with_strings_straight_in_xml_elements_is_refused_not_hung() -> None:
    author = Doc(client_id=1618033988)
    body = author.get("content", type=XmlFragment)
    for n in range(3):
        body.children.append(XmlElement("paragraph", {}, [XmlText(f"cid {n}")]))
    live = Document()
    live.apply(author.get_update())
    live.apply(_NOT_XML)
    target = Document()
    target.content.children.append(XmlElement("paragraph", {}, [XmlText("old")]))
    with pytest.raises(UpdateRejected, match="not XML"):
        restore_update(live, target)
