"""How long rebuilding a version takes, at version 1 and at the last of a long history.

Records N versions (default 5,000) through the real recorder into a SQLite store: each version
is a burst of keystrokes (single-character updates) into the document, which gains a
paragraph every few versions and loses one now and then. Then it times rebuilding version 1
and version N (checkpoint + version diffs, as the API and CLI do) and, for comparison,
replaying every version diff from the start.

    python -m tests.bench.history [--versions 5000] [--checkpoint-every 50] [--keystrokes 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.document import Document
from crdt.render import to_text
from server.app import add_events, add_history
from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import Identity
from server.history.archive import rebuild_version
from server.stores.sqlite import SQLiteStore


class _Nowhere:
    async def send(self, data: bytes) -> None:
        pass

    async def close(self, code: int, reason: str) -> None:
        pass


class _Typist:
    """A y-prosemirror-shaped peer that types one character per update."""

    def __init__(self) -> None:
        self.doc: Doc = Doc(client_id=4242)
        self.body = self.doc.get("content", type=XmlFragment)

    def _update(self, edit: object) -> bytes:
        before = self.doc.get_state()
        assert callable(edit)
        edit()
        return bytes(self.doc.get_update(before))

    def new_paragraph(self) -> bytes:
        return self._update(
            lambda: self.body.children.append(XmlElement("paragraph", {}, [XmlText()]))
        )

    def type(self, char: str) -> bytes:
        def edit() -> None:
            paragraph = self.body.children[len(self.body.children) - 1]
            assert isinstance(paragraph, XmlElement)
            text = paragraph.children[0]
            assert isinstance(text, XmlText)
            text.insert(len(text), char)

        return self._update(edit)

    def delete_paragraph(self, index: int) -> bytes:
        def edit() -> None:
            del self.body.children[index]

        return self._update(edit)


async def _timed(label: str, run: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        assert callable(run)
        await run()
        samples.append(time.perf_counter() - started)
    median = statistics.median(samples)
    print(f"{label:<52} {median * 1e3:9.1f} ms  (median of {repeat})")
    return median


async def main(versions: int, every: int, keystrokes: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(str(Path(tmp) / "bench.db"))
        await store.open()
        hub = Hub(Config(version_checkpoint_every=every), store)
        recorder = add_history(hub, add_events(hub).publish)
        room = await hub.open_room("bench")
        author = Connection(_Nowhere(), identity=Identity(user="ana", name="Ana"))
        room.join(author)
        typist = _Typist()
        texts: dict[int, str] = {}
        updates = 0
        started = time.perf_counter()
        for v in range(1, versions + 1):
            burst = [typist.new_paragraph()] if v % 4 == 1 else []
            burst += [typist.type("abcdefghij"[(v + k) % 10]) for k in range(keystrokes)]
            if v % 25 == 0:
                burst.append(typist.delete_paragraph(0))
            for update in burst:
                room.apply_update(update, origin=author)
            updates += len(burst)
            info = await recorder.close_version("bench")
            assert info is not None and info.version == v
            if v in (1, versions):
                texts[v] = to_text(room.document.content)
        recording = time.perf_counter() - started
        print(
            f"recorded {versions} versions ({updates} keystroke updates, checkpoint every "
            f"{every}) in {recording:.1f} s: {recording / versions * 1e3:.2f} ms per version"
        )
        print(f"document at the last version: {len(texts[versions])} characters")
        for v in (1, versions):
            rebuilt = await rebuild_version(store, "bench", v)
            assert to_text(rebuilt.content) == texts[v], f"version {v} does not rebuild exactly"
        await _timed("rebuild version 1", lambda: rebuild_version(store, "bench", 1), repeat)
        await _timed(
            f"rebuild version {versions} (checkpoint + diffs)",
            lambda: rebuild_version(store, "bench", versions),
            repeat,
        )

        async def from_scratch() -> None:
            diffs = await store.version_diffs("bench", 1, versions)
            await asyncio.to_thread(Document.load, None, diffs)

        await _timed(f"replay all {versions} version diffs (no checkpoint)", from_scratch, 3)
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--keystrokes", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    asyncio.run(main(args.versions, args.checkpoint_every, args.keystrokes, args.repeat))
