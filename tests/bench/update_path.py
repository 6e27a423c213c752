"""What the hub's per-update checks cost: `Document.apply` (our reader, the checks against the
document's state, pycrdt's apply) on the updates real editing sends.

Workloads, each replayed into a fresh document and timed per update:
- keystrokes: N y-prosemirror-shaped peers taking turns typing single characters into their own
  paragraphs (the origin of each keystroke is usually the peer's previous one);
- interleaved: the same peers typing into one shared paragraph, so nearly every keystroke's
  origin is another peer's character;
- merge: one SyncStep2-sized update holding a whole document written by every peer (what an
  offline client or a reloaded hub sends at once).

    python -m tests.bench.update_path [--peers 20] [--keystrokes 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.document import Document


def _typing(peers: int, keystrokes: int, *, shared: bool) -> tuple[list[bytes], bytes]:
    """The updates of `peers` typing in turn, and the merged state they make."""
    docs: list[Doc[Any]] = [Doc(client_id=1000 + n) for n in range(peers)]
    first = docs[0].get("content", type=XmlFragment)
    with docs[0].transaction():
        for _ in range(1 if shared else peers):
            first.children.append(XmlElement("paragraph", {}, [XmlText("")]))
    updates = [bytes(docs[0].get_update())]
    for doc in docs[1:]:
        doc.apply_update(updates[0])
    for k in range(keystrokes):
        n = k % peers
        doc = docs[n]
        body = doc.get("content", type=XmlFragment)
        paragraph = body.children[0 if shared else n]
        text = paragraph.children[0]
        assert isinstance(paragraph, XmlElement) and isinstance(text, XmlText)
        before = doc.get_state()
        text.insert(len(str(text)) if not shared else (k * 7) % (len(str(text)) + 1), "x")
        update = bytes(doc.get_update(before))
        updates.append(update)
        for other in docs:
            if other is not doc:
                other.apply_update(update)
    return updates, bytes(docs[0].get_update())


def _per_update_us(updates: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        doc = Document()
        started = time.perf_counter()
        for update in updates:
            doc.apply(update)
        best = min(best, time.perf_counter() - started)
    return best / len(updates) * 1e6


def _merge_ms(state: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        doc = Document()
        started = time.perf_counter()
        doc.apply(state)
        times.append(time.perf_counter() - started)
    return min(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=int, default=20)
    parser.add_argument("--keystrokes", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    own, _ = _typing(args.peers, args.keystrokes, shared=False)
    shared, state = _typing(args.peers, args.keystrokes, shared=True)
    print(f"{args.peers} peers, {args.keystrokes} keystrokes, best of {args.repeat}")
    print(f"keystrokes, own paragraphs: {_per_update_us(own, args.repeat):6.1f} µs per update")
    print(f"keystrokes, one paragraph:  {_per_update_us(shared, args.repeat):6.1f} µs per update")
    print(
        f"merge of the whole document ({len(state) / 1024:.0f} KiB, one update): "
        f"{_merge_ms(state, args.repeat):.1f} ms"
    )
    samples = [_per_update_us(shared, 1) for _ in range(args.repeat)]
    print(f"(one paragraph, spread over runs: {statistics.pstdev(samples):.1f} µs)")


if __name__ == "__main__":
    main()
