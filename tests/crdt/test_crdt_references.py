"""What an update refers to must be in the document or in the update: else it would stay pending
in yrs (uncounted by the size limit, relayed, stored, never shown). Such an update is an
UpdateGap, never applied; everything real editing sends is applied."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

from crdt.document import Document
from crdt.errors import ProtocolError, UpdateGap
from crdt.lib0 import Encoder
from crdt.render import to_prosemirror
from crdt.update import read_update

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "yjs_fixtures.json").read_text(encoding="utf-8")
)


def _struct(
    enc: Encoder,
    *,
    origin: tuple[int, int] | None = None,
    right: tuple[int, int] | None = None,
    parent: tuple[int, int] | str | None = None,
    text: str = "x",
) -> None:
    """One string item (ContentString, ref 4) with the given references."""
    info = 4 | (0x80 if origin else 0) | (0x40 if right else 0)
    enc.write_u8(info)
    for ref in (origin, right):
        if ref is not None:
            enc.write_var_uint(ref[0])
            enc.write_var_uint(ref[1])
    if origin is None and right is None:
        if isinstance(parent, str):
            enc.write_var_uint(1)
            enc.write_var_string(parent)
        else:
            assert parent is not None
            enc.write_var_uint(0)
            enc.write_var_uint(parent[0])
            enc.write_var_uint(parent[1])
    enc.write_var_string(text)


def _update(
    blocks: list[tuple[int, int, list[dict[str, Any]]]],
    deletes: list[tuple[int, int, int]] = (),  # type: ignore[assignment]
) -> bytes:
    """An update of (client, first clock, structs) blocks and a delete set."""
    enc = Encoder()
    enc.write_var_uint(len(blocks))
    for client, clock, structs in blocks:
        enc.write_var_uint(len(structs))
        enc.write_var_uint(client)
        enc.write_var_uint(clock)
        for struct in structs:
            _struct(enc, **struct)
    clients: dict[int, list[tuple[int, int]]] = {}
    for client, clock, length in deletes:
        clients.setdefault(client, []).append((clock, length))
    enc.write_var_uint(len(clients))
    for client, ranges in clients.items():
        enc.write_var_uint(client)
        enc.write_var_uint(len(ranges))
        for clock, length in ranges:
            enc.write_var_uint(clock)
            enc.write_var_uint(length)
    return enc.to_bytes()


def _document_with_hello() -> Document:
    """Client 1 wrote "hello" (clocks 0-4) into root text "t"."""
    source: Doc[Any] = Doc(client_id=1)
    source.get("t", type=Text).insert(0, "hello")
    doc = Document()
    doc.apply(source.get_update())
    return doc


def _refused(doc: Document, update: bytes) -> dict[int, tuple[int, int]]:
    before = (doc.state_vector(), doc.encode())
    with pytest.raises(UpdateGap) as gap:
        doc.apply(update)
    assert (doc.state_vector(), doc.encode()) == before  # nothing of it went in
    return gap.value.missing


def test_references_the_document_has_are_applied() -> None:
    doc = _document_with_hello()
    doc.apply(_update([(2, 0, [{"origin": (1, 4)}, {"origin": (2, 0), "right": (1, 2)}])]))
    assert doc.state()[2] == 2


@pytest.mark.parametrize(
    ("struct", "missing"),
    [
        ({"origin": (1, 5)}, {1: (5, 6)}),  # one past what client 1 wrote
        ({"origin": (9, 0)}, {9: (0, 1)}),  # a client the hub never saw
        ({"right": (7, 41)}, {7: (0, 42)}),
        ({"parent": (8, 3)}, {8: (0, 4)}),  # a parent type the document does not have
    ],
)
def test_a_reference_to_unknown_content_is_a_gap(
    struct: dict[str, Any], missing: dict[int, tuple[int, int]]
) -> None:
    doc = _document_with_hello()
    assert _refused(doc, _update([(2, 0, [struct])])) == missing


def test_a_delete_set_of_unknown_clocks_is_a_gap() -> None:
    doc = _document_with_hello()
    assert _refused(doc, _update([], deletes=[(1, 3, 10)])) == {1: (5, 13)}
    assert _refused(doc, _update([], deletes=[(6, 0, 1)])) == {6: (0, 1)}
    doc.apply(_update([], deletes=[(1, 1, 3)]))  # known clocks: deleted
    # ... and the update's own structs count as known.
    doc.apply(_update([(3, 0, [{"origin": (1, 0), "text": "abc"}])], deletes=[(3, 1, 2)]))


def test_references_within_the_update_are_resolved_in_any_order() -> None:
    doc = _document_with_hello()
    # Client 5 refers to client 4's struct, written after it in the update, and 4 to 1.
    doc.apply(
        _update(
            [
                (5, 0, [{"origin": (4, 1)}, {"origin": (5, 0)}]),
                (4, 0, [{"origin": (1, 4), "text": "ab"}]),
            ]
        )
    )
    assert doc.state() == {1: 5, 4: 2, 5: 2}


def test_a_cycle_within_the_update_is_a_gap() -> None:
    doc = _document_with_hello()
    cycle = _update([(4, 0, [{"origin": (5, 0)}]), (5, 0, [{"origin": (4, 0)}])])
    assert set(_refused(doc, cycle)) == {4, 5}
    # A struct of a client blocked by the cycle blocks the client's later structs too.
    chained = _update(
        [(4, 0, [{"origin": (1, 0)}, {"right": (5, 0)}]), (5, 0, [{"origin": (4, 1)}])]
    )
    assert set(_refused(doc, chained)) == {4, 5}


def test_a_struct_referring_to_its_own_client_after_itself_is_malformed() -> None:
    with pytest.raises(ProtocolError, match="refers to 2:0, after it"):
        read_update(_update([(2, 0, [{"origin": (2, 0)}])]))
    with pytest.raises(ProtocolError, match="refers to 2:7, after it"):
        read_update(_update([(2, 3, [{"right": (2, 7)}])]))


def test_duplicates_of_what_the_document_has_need_nothing_more() -> None:
    doc = _document_with_hello()
    # Client 2's struct 0 is known already: its reference was resolved when it went in.
    doc.apply(_update([(2, 0, [{"origin": (1, 4)}])]))
    doc.apply(_update([(2, 0, [{"origin": (1, 4)}, {"origin": (2, 0)}])]))
    assert doc.state()[2] == 2


IN_ORDER = [s for s in FIXTURES["scenarios"] if s["final_sv"] and not s["pycrdt_rejects"]]


@pytest.mark.parametrize("scenario", IN_ORDER, ids=[s["name"] for s in IN_ORDER])
def test_every_update_real_yjs_wrote_is_applied_in_order(scenario: dict[str, Any]) -> None:
    doc = Document()
    for update in scenario["updates"]:
        doc.apply(bytes.fromhex(update["hex"]))
    if scenario["full"] is not None:
        Document().apply(bytes.fromhex(scenario["full"]))  # the whole state as one update


# -- editing by several peers, as the hub sees it -----------------------------------------------


class _Peer:
    """A y-prosemirror-shaped peer: paragraphs of formatted text, lists, quotes."""

    def __init__(self, client_id: int) -> None:
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.body = self.doc.get("content", type=XmlFragment)

    def edit(self, rng: random.Random) -> None:
        paragraphs = [c for c in self.body.children if isinstance(c, XmlElement)]
        choice = rng.random()
        with self.doc.transaction():
            if not paragraphs or choice < 0.2:
                kind = rng.choice(["paragraph", "heading", "blockquote", "bullet_list"])
                at = rng.randint(0, len(paragraphs))
                element = self.body.children.insert(at, XmlElement(kind, {"level": 2.0}))
                inner = element
                if kind in ("blockquote", "bullet_list"):
                    inner = element.children.append(XmlElement("paragraph"))
                inner.children.append(XmlText(rng.choice(["a", "bc", "def"])))
                return
            paragraph = rng.choice(paragraphs)
            texts = _texts(paragraph)
            if not texts:
                return
            text = rng.choice(texts)
            content = "".join(chunk for chunk, _ in text.diff() if isinstance(chunk, str))
            offsets = list(range(len(content) + 1))  # ASCII text: bytes are characters
            if choice < 0.6 or len(content) == 0:
                text.insert(rng.choice(offsets), rng.choice(["x", "yz", "w"]))
            elif choice < 0.8:
                start, end = sorted(rng.sample(offsets, 2))
                text.format(start, end - start, {rng.choice(["strong", "em"]): True})
            elif choice < 0.9:
                start, end = sorted(rng.sample(offsets, 2))
                del text[start:end]
            else:
                del self.body.children[rng.randrange(len(self.body.children))]


def _texts(element: XmlElement) -> list[XmlText]:
    found: list[XmlText] = []
    stack = [element]
    while stack:
        for child in stack.pop().children:
            if isinstance(child, XmlText):
                found.append(child)
            elif isinstance(child, XmlElement):
                stack.append(child)
    return found


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(2, 5), st.integers(5, 60))
def test_concurrent_and_offline_editing_is_never_refused(seed: int, peers: int, steps: int) -> None:
    """Peers edit concurrently, some offline for a while; whatever each sends the hub, in the
    order the hub gets it (live updates, and on reconnect the diff against the hub's state, as
    the y-websocket sync does), is applied, and the hub ends equal to every peer."""
    rng = random.Random(seed)
    hub = Document()
    group = [_Peer(100 + n) for n in range(peers)]
    online = [True] * peers
    for _ in range(steps):
        n = rng.randrange(peers)
        peer = group[n]
        if rng.random() < 0.15:
            online[n] = not online[n]
            if online[n]:  # back: the sync handshake, both ways
                peer.doc.apply_update(hub.diff(peer.doc.get_state()))
                hub.apply(bytes(peer.doc.get_update(hub.state_vector())))
            continue
        before = peer.doc.get_state()
        peer.edit(rng)
        update = bytes(peer.doc.get_update(before))
        if online[n]:
            hub.apply(update)
            for m, other in enumerate(group):
                if online[m] and other is not peer:
                    other.doc.apply_update(update)
    for n, peer in enumerate(group):
        if not online[n]:
            hub.apply(bytes(peer.doc.get_update(hub.state_vector())))
    for peer in group:
        peer.doc.apply_update(hub.diff(peer.doc.get_state()))
        assert to_prosemirror(peer.body) == to_prosemirror(hub.content)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(2, 4), st.integers(3, 25))
def test_refused_exactly_when_yrs_would_keep_something_pending(
    seed: int, peers: int, steps: int
) -> None:
    """Updates of several peers delivered in a random order: each one is applied when yrs would
    integrate all its structs, and refused (UpdateGap) when yrs would hold some back."""
    rng = random.Random(seed)
    group = [_Peer(200 + n) for n in range(peers)]
    updates: list[bytes] = []
    for _ in range(steps):
        peer = rng.choice(group)
        before = peer.doc.get_state()
        peer.edit(rng)
        update = bytes(peer.doc.get_update(before))
        updates.append(update)
        for other in group:
            if rng.random() < 0.7 and other is not peer:
                other.doc.apply_update(peer.doc.get_update(other.doc.get_state()))
    rng.shuffle(updates)
    doc = Document()
    for update in updates:
        raw: Doc[Any] = Doc()
        raw.apply_update(doc.encode())
        raw.apply_update(update)
        info = read_update(update)
        state = dict(zip(*[iter(_ints(bytes(raw.get_state())))] * 2, strict=False))
        integrates = all(state.get(c, 0) >= end for c, end in info.end_clocks.items())
        gap_in_clocks = any(s > doc.state().get(c, 0) for c, s in info.start_clocks.items())
        try:
            doc.apply(update)
        except UpdateGap:
            assert gap_in_clocks or not integrates or _pending_deletes(info, state)
        else:
            assert integrates and not gap_in_clocks


def _pending_deletes(info: Any, state: dict[int, int]) -> bool:
    return any(end > state.get(c, 0) for c, end in info.delete_ends.items())


def _ints(data: bytes) -> list[int]:
    """The varUints of a state vector, after its count."""
    out, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            out.append(value)
            value = shift = 0
    return out[1:]


def test_a_stored_update_left_pending_is_counted_until_it_integrates() -> None:
    """Stored before the check (or by an older hub): `load` keeps it, yrs holds it back, and
    `pending_bytes` counts it for the size limit until what it needs arrives."""
    source: Doc[Any] = Doc(client_id=1)
    text = source.get("t", type=Text)
    text.insert(0, "hello")
    hello = bytes(source.get_update())
    dangling = _update([(2, 0, [{"origin": (1, 5), "text": "y" * 200}])])  # after "hello!"
    doc = Document.load(hello, [dangling])
    assert doc.pending_bytes() == len(dangling)
    assert doc.state() == {1: 5}  # yrs holds it back: encode() does not see it
    before = source.get_state()
    text.insert(5, "!")
    doc.apply(bytes(source.get_update(before)))
    assert doc.pending_bytes() == 0
    assert str(doc.ydoc.get("t", type=Text)) == "hello!" + "y" * 200
