"""crdt.split: a state cut into bounded updates that apply in order with nothing held back."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.document import Document
from crdt.jobs import split_state
from crdt.protocol import SyncUpdate, parse_message
from crdt.split import split_update
from crdt.update import read_update

# One step of a random editing session: which client acts, what it does, where, and whether
# the clients exchange their changes afterwards (which is what makes structs of one client
# point at another's).
steps = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["paragraph", "type", "bold", "delete"]),
        st.integers(0, 10_000),
        st.text("abcdefgh éß€😀", min_size=1, max_size=30),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


def _session(script: list[tuple[int, str, int, str, bool]]) -> Doc[Any]:
    docs: list[Doc[Any]] = [Doc(client_id=100 + i) for i in range(3)]
    for who, action, where, text, exchange in script:
        fragment = docs[who].get("content", type=XmlFragment)
        paragraphs = list(fragment.children)
        if action == "paragraph" or not paragraphs:
            element = fragment.children.append(XmlElement("paragraph"))
            element.children.append(XmlText(text))
        else:
            node = paragraphs[where % len(paragraphs)]
            assert isinstance(node, XmlElement)
            body = node.children[0]
            assert isinstance(body, XmlText)
            plain = "".join(chunk for chunk, _ in body.diff() if isinstance(chunk, str))
            length = len(plain)

            def at(index: int, plain: str = plain) -> int:  # pycrdt counts UTF-8 bytes
                return len(plain[:index].encode())

            if action == "type":
                body.insert(at(where % (length + 1)), text)
            elif action == "bold" and length:
                start = where % length
                body.format(at(start), at(min(length, start + 5)), {"strong": {}})
            elif action == "delete" and length:
                start = where % length
                del body[at(start) : at(min(length, start + 3))]
        if exchange:
            for a in docs:
                for b in docs:
                    if a is not b:
                        b.apply_update(a.get_update(b.get_state()))
    merged: Doc[Any] = Doc()
    for doc in docs:
        merged.apply_update(doc.get_update())
    return merged


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(1, 400))
def test_pieces_apply_in_order_with_nothing_pending(
    script: list[tuple[int, str, int, str, bool]], max_bytes: int
) -> None:
    source = _session(script)
    state = source.get_update()
    split = split_update(state, max_bytes)
    target = Document()
    for piece in split.updates:
        target.apply_stored(piece)
        # Everything a piece carries was integrated: yrs held nothing back as pending.
        have = target.state()
        for client, end in read_update(piece).end_clocks.items():
            assert have.get(client, 0) >= end
    target.apply_stored(split.delete_set)
    assert target.state_vector() == source.get_state()
    expected = str(source.get("content", type=XmlFragment))
    assert str(target.content) == expected


@settings(max_examples=50, deadline=None)
@given(steps)
def test_pieces_stay_near_their_bound(script: list[tuple[int, str, int, str, bool]]) -> None:
    state = _session(script).get_update()
    split = split_update(state, 64)
    largest_struct = max(len(state) // 4, 200)  # a single struct is never cut
    assert all(len(piece) <= 64 + largest_struct for piece in split.updates)
    assert sum(len(piece) for piece in split.updates) <= len(state) + 16 * len(split.updates)


def test_a_diff_splits_too() -> None:
    """The diff for a peer that has part of the document splits like a whole state."""
    source = _session([(0, "paragraph", 0, "hello", True), (1, "type", 3, "world" * 20, True)])
    known = Doc()
    known.apply_update(source.get_update())
    fragment = source.get("content", type=XmlFragment)
    paragraph = fragment.children.append(XmlElement("paragraph"))
    paragraph.children.append(XmlText("later " * 50))
    diff = source.get_update(known.get_state())
    for piece in split_update(diff, 40).all:
        known.apply_update(piece)
    assert known.get_state() == source.get_state()
    assert str(known.get("content", type=XmlFragment)) == str(fragment)


def test_split_state_gives_frames_a_stock_client_reads_as_updates() -> None:
    source = _session([(0, "paragraph", 0, "x" * 50, False)] * 10 + [(1, "type", 0, "y", True)])
    frames, delete_set, state_vector = split_state([source.get_update()], 100)
    assert len(frames) > 3
    target = Document()
    for frame in frames:
        message = parse_message(frame)
        assert isinstance(message, SyncUpdate)
        target.apply_stored(message.update)
    target.apply_stored(delete_set)
    assert target.state_vector() == state_vector == source.get_state()
