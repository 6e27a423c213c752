"""The guarded pycrdt document: gaps held back, rejections leave the document untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

from crdt.document import CONTENT, Document, _decode_own_state_vector, merge_into_snapshot
from crdt.errors import CrdtError, ProtocolError, UpdateGap, UpdateRejected
from crdt.protocol import encode_state_vector, parse_state_vector
from crdt.render import to_text
from crdt.update import read_update
from tests.support.mutations import Edit, byte_edits, mutate

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "yjs_fixtures.json").read_text(encoding="utf-8")
)
SCENARIOS = {scenario["name"]: scenario for scenario in FIXTURES["scenarios"]}

PANIC_UPDATE = bytes.fromhex("0100010000")
GAP_UPDATE = bytes.fromhex("0101050304010174015800")  # client 5 from clock 3; 0-2 never sent


def _updates(name: str) -> list[bytes]:
    return [bytes.fromhex(update["hex"]) for update in SCENARIOS[name]["updates"]]


def _doc_with_client_1_text() -> Document:
    source: Doc[Any] = Doc(client_id=1)
    text = source.get("t", type=Text)
    text.insert(0, "hello")
    doc = Document()
    doc.apply(source.get_update())
    return doc


def _snapshot(doc: Document) -> tuple[bytes, bytes]:
    return doc.state_vector(), doc.encode()


@pytest.mark.parametrize(
    "name", [name for name, s in SCENARIOS.items() if s["final_sv"] and not s["pycrdt_rejects"]]
)
def test_yjs_updates_apply_in_order(name: str) -> None:
    doc = Document()
    for update in _updates(name):
        doc.apply(update)
    expected = {int(client): clock for client, clock in SCENARIOS[name]["final_sv"].items()}
    assert doc.state() == expected
    if SCENARIOS[name]["text"] is not None:
        assert str(doc.ydoc.get("t", type=Text)) == SCENARIOS[name]["text"]


@pytest.mark.parametrize(
    "name", [name for name, s in SCENARIOS.items() if s["full"] and not s["pycrdt_rejects"]]
)
def test_yjs_full_state_loads_and_reencodes(name: str) -> None:
    doc = Document()
    doc.apply(bytes.fromhex(SCENARIOS[name]["full"]))
    again = Document()
    again.apply(doc.encode())
    assert again.state() == doc.state()
    assert doc.state() == {int(c): k for c, k in SCENARIOS[name]["final_sv"].items()}


def test_body_text_is_one_line_per_block() -> None:
    doc = Document()
    doc.apply(bytes.fromhex(SCENARIOS["xml_prosemirror"]["full"]))
    assert to_text(doc.content) == "ain bold link"
    source: Doc[Any] = Doc()
    frag = source.get(CONTENT, type=XmlFragment)
    frag.children.append(XmlElement("heading", {"level": "1"}, [XmlText("Tïtle")]))
    paragraph = frag.children.append(XmlElement("paragraph", None, [XmlText("one ")]))
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    text.insert(4, "two", {"strong": True})
    other = Document()
    other.apply(source.get_update())
    assert to_text(other.content) == "Tïtle\none two"


def test_update_pycrdt_cannot_read_is_rejected_and_harmless() -> None:
    doc = _doc_with_client_1_text()
    before = _snapshot(doc)
    hook = bytes.fromhex(SCENARIOS["xml_hook"]["updates"][0]["hex"])
    read_update(hook)  # well-formed Yjs...
    with pytest.raises(UpdateRejected):  # ...that yrs cannot decode
        doc.apply(hook)
    assert _snapshot(doc) == before


def test_gap_update_is_held_back() -> None:
    doc = Document()
    with pytest.raises(UpdateGap) as info:
        doc.apply(GAP_UPDATE)
    assert info.value.missing == {5: (0, 3)}
    assert doc.state() == {}
    assert doc.encode() == Document().encode()


def test_gap_closes_once_the_missing_clocks_arrive() -> None:
    source: Doc[Any] = Doc(client_id=5)
    text = source.get("t", type=Text)
    text.insert(0, "abc")
    first = source.get_update()
    sv = source.get_state()
    text.insert(3, "X")
    second = source.get_update(sv)
    doc = Document()
    with pytest.raises(UpdateGap):
        doc.apply(second)
    doc.apply(first)
    doc.apply(second)
    assert str(doc.ydoc.get("t", type=Text)) == "abcX"


def test_skip_in_merged_update_counts_as_gap() -> None:
    merged = _updates("merged_with_skip")[0]
    doc = Document()
    with pytest.raises(UpdateGap):
        doc.apply(merged)
    assert doc.state() == {}


def test_panic_update_is_refused_by_the_decoder() -> None:
    doc = _doc_with_client_1_text()
    before = _snapshot(doc)
    with pytest.raises(ProtocolError):
        doc.apply(PANIC_UPDATE)
    assert _snapshot(doc) == before


def test_pycrdt_panic_becomes_update_rejected_and_document_is_intact() -> None:
    """yrs panics (a BaseException) on this update; the guard must hold
    (docs/pycrdt-pitfalls.md#panics-are-baseexceptions)."""
    doc = _doc_with_client_1_text()
    before = _snapshot(doc)
    with pytest.raises(UpdateRejected) as info:
        doc._apply_unchecked(PANIC_UPDATE)
    assert isinstance(info.value.__cause__, BaseException)
    assert not isinstance(info.value.__cause__, Exception)  # it really was the panic
    assert _snapshot(doc) == before
    assert str(doc.ydoc.get("t", type=Text)) == "hello"


def test_observer_exception_group_is_not_a_rejection() -> None:
    doc = Document()

    def boom(_event: object) -> None:
        raise RuntimeError("observer failed")

    doc.ydoc.observe(boom)
    source: Doc[Any] = Doc(client_id=3)
    source.get("t", type=Text).insert(0, "x")
    with pytest.raises(BaseExceptionGroup):
        doc.apply(source.get_update())
    assert doc.state() == {3: 1}  # it was applied


def test_diff_brings_a_peer_up_to_date() -> None:
    doc = _doc_with_client_1_text()
    peer = Document()
    peer.apply(doc.diff(peer.state_vector()))
    assert peer.state() == doc.state() == {1: 5}
    assert peer.diff(encode_state_vector({1: 5})) == doc.diff(doc.state_vector())


@pytest.mark.parametrize("sv", [b"", b"\x07\x80\x80\x80\x80\x01\x01\x01", b"\x00\x00"])
def test_diff_refuses_a_bad_state_vector(sv: bytes) -> None:
    with pytest.raises(ProtocolError):
        _doc_with_client_1_text().diff(sv)


def test_load_replays_snapshot_then_tail() -> None:
    updates = _updates("text_plain")
    doc = Document.load(updates[0], updates[1:])
    assert str(doc.ydoc.get("t", type=Text)) == SCENARIOS["text_plain"]["text"]
    assert Document.load(None, []).state() == {}


def test_load_keeps_an_out_of_order_tail() -> None:
    updates = _updates("text_plain")
    doc = Document.load(None, [updates[1], updates[0], updates[2]])
    assert doc.state() == {7: 6}


def test_load_refuses_corrupt_bytes() -> None:
    with pytest.raises(ProtocolError):
        Document.load(b"\x01", [])


def test_merge_into_snapshot_equals_replay() -> None:
    updates = _updates("xml_prosemirror")
    snapshot = merge_into_snapshot(updates[0], updates[1:4])
    merged = merge_into_snapshot(snapshot, updates[4:])
    replayed = Document.load(None, updates)
    doc = Document.load(merged, [])
    assert doc.state() == replayed.state()
    assert to_text(doc.content) == to_text(replayed.content)


def test_skip_gc_is_passed_to_pycrdt() -> None:
    doc = Document(skip_gc=True)
    for update in _updates("gc"):
        doc.apply(update)
    kept = len(doc.encode())
    gced = Document()
    for update in _updates("gc"):
        gced.apply(update)
    assert kept > len(gced.encode())


ALL_FIXTURE_BYTES = [
    bytes.fromhex(update["hex"])
    for scenario in SCENARIOS.values()
    for update in scenario["updates"]
]
_BASE = _doc_with_client_1_text().encode()


@settings(max_examples=2000, deadline=None, database=None)
@given(st.sampled_from(ALL_FIXTURE_BYTES), byte_edits)
def test_mutated_updates_raise_only_crdt_errors_and_rejections_leave_no_trace(
    data: bytes, edits: list[Edit]
) -> None:
    doc = Document()
    doc.apply(_BASE)
    before = _snapshot(doc)
    try:
        doc.apply(mutate(data, edits))
    except CrdtError:
        assert _snapshot(doc) == before


def test_apply_tells_whether_an_update_only_added_new_ids() -> None:
    source: Doc = Doc(client_id=5)
    text = source.get("t", type=Text)
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    text += "ab"
    text += "cd"
    rogue: Doc = Doc(client_id=5)
    rogue.get("t", type=Text).insert(0, "XYZ")  # the same ids as "ab", other content
    doc = Document()
    assert doc.apply(updates[0]).extends
    assert not doc.apply(updates[0]).extends  # a re-send overlaps what the document holds
    assert doc.apply(updates[1]).extends
    assert not doc.apply(rogue.get_update()).extends  # clocks 0-2 again, other content


@settings(max_examples=200)
@given(st.dictionaries(st.integers(0, 2**53 - 1), st.integers(1, 2**40), max_size=20))
def test_own_state_vector_decodes_as_the_strict_parser_does(state: dict[int, int]) -> None:
    sv = encode_state_vector(state)
    assert _decode_own_state_vector(sv) == parse_state_vector(sv) == state
