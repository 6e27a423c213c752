"""The room's own costs for a large document, and the longest the event loop was held.

    python -m tests.bench.large_costs [--megabytes 50] [--store sqlite|redis]

A hub runs in this process (SQLite in a temporary directory, or a redis-server started on a
free port). A document of N MB in y-prosemirror's shape is sent to it as ~1 MB updates from one
connection; then each operation below is timed, with a probe that measures the longest stretch
the event loop could not run a callback (the target: about 50 ms for a 50 MB document):
ingest, version recording, compaction, unload and load, a streamed join, rendering, placing and
removing a comment's mark, and a catch-up from the store. Nothing is asserted: it prints the
figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt import jobs
from crdt.protocol import encode_sync_step1, encode_sync_update
from crdt.split import split_update
from server.app import create_app
from server.config import Config
from server.core.connection import Connection
from server.core.identity import Identity, Role
from server.core.persistence import compact
from tests.support.channels import RecordingChannel

WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]


def build_document(megabytes: float) -> bytes:
    """A y-prosemirror-shaped document: ~900-character paragraphs, some bold, some edited."""
    doc: Doc[Any] = Doc()
    fragment = doc.get("content", type=XmlFragment)
    size, i = 0, 0
    while size < megabytes * 1e6:
        with doc.transaction():
            for _ in range(200):
                text = ""
                while len(text) < 900:
                    text += WORDS[(i * 7 + len(text)) % len(WORDS)] + " "
                paragraph = fragment.children.append(XmlElement("paragraph"))
                node = paragraph.children.append(XmlText(text))
                if i % 5 == 0:
                    node.format(10, 30, {"strong": {}})
                if i % 7 == 0:
                    del node[100:130]
                i += 1
        size += 200 * 930
    return doc.get_update()


class LoopProbe:
    """The longest time between two turns of the event loop while it runs."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.002)
            self.worst = max(self.worst, time.perf_counter() - started - 0.002)

    @contextlib.asynccontextmanager
    async def measuring(self) -> AsyncIterator[LoopProbe]:
        self.worst = 0.0
        self._task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _redis_url(stack: contextlib.AsyncExitStack) -> str:
    from tests.support.redis import RedisServer

    server = RedisServer()
    await server.start()
    stack.push_async_callback(server.stop)
    return server.url


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    args = parser.parse_args()
    print(f"building a {args.megabytes:g} MB document …", flush=True)
    state = build_document(args.megabytes)
    pieces = split_update(state, 1024 * 1024).all
    print(f"document: {len(state):,} bytes, sent as {len(pieces)} updates", flush=True)
    rows: list[tuple[str, float, float]] = []
    probe = LoopProbe()

    async def timed(name: str, step: Callable[[], Awaitable[Any]]) -> Any:
        async with probe.measuring():
            started = time.perf_counter()
            result = await step()
            took = time.perf_counter() - started
            await asyncio.sleep(0.01)  # let the probe wake once more: a stall at the end counts
        rows.append((name, took * 1e3, probe.worst * 1e3))
        print(f"{name:<34} {took * 1e3:10,.0f} ms   loop held at most {probe.worst * 1e3:7.1f} ms")
        return result

    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = await _redis_url(stack) if args.store == "redis" else f"sqlite:///{tmp / 'big.db'}"
        config = Config(store=store, unload_delay=0.2, version_idle_seconds=3600)
        app = create_app(config)
        hub, recorder = app.state.hub, app.state.history
        async with hub.running():
            writer = Connection(RecordingChannel())
            room = await hub.join("big", writer)

            longest = 0.0

            async def ingest() -> None:
                nonlocal longest
                for piece in pieces:
                    started = time.perf_counter()
                    room.receive(writer, encode_sync_update(piece))
                    longest = max(longest, time.perf_counter() - started)
                    await asyncio.sleep(0.01)  # one message per callback, as from a socket
                await hub.persister.flush()

            await timed("ingest (1 MB updates) + flush", ingest)
            print(f"  (one 1 MB update: checked and applied in at most {longest * 1e3:.0f} ms)")

            # Someone types (a keystroke every 5 ms) while the whole-document jobs run.
            replica: Doc[Any] = Doc()
            replica.apply_update(state)
            paragraph = replica.get("content", type=XmlFragment).children[0]
            typed = paragraph.children[0]

            async def type_during(job: Awaitable[Any]) -> None:
                task = asyncio.ensure_future(job)
                while not task.done():
                    before = replica.get_state()
                    typed.insert(0, "k")
                    room.receive(writer, encode_sync_update(replica.get_update(before)))
                    await asyncio.sleep(0.005)
                await task

            await timed(
                "typing during version + compaction",
                lambda: type_during(
                    asyncio.gather(
                        recorder.close_version("big", force=True),
                        compact(hub.store, "big", hub.offload),
                    )
                ),
            )
            await timed("version recording", lambda: recorder.close_version("big", force=True))
            await timed("compaction", lambda: compact(hub.store, "big", hub.offload))

            async def render_text() -> None:
                parts = await hub.document_parts("big")
                await hub.offload.run(sum(map(len, parts)), jobs.render, parts, "text")

            await timed("render as text (open room)", render_text)

            comments = app.state.comments
            commenter = Identity(user="ben", name="Ben", role=Role.COMMENT, anonymous=False)
            thread = await timed(
                "comment on a quote (mark placed)",
                lambda: comments.create(
                    "big", by=commenter, body="Which one?", anchor={"quote": "dolor"}
                ),
            )
            await timed(
                "delete the comment (mark removed)",
                lambda: comments.delete("big", thread["id"], by=commenter),
            )

            async def stream_join() -> None:
                joiner = Connection(RecordingChannel(), spawn=asyncio.create_task)
                joined = await hub.join("big", joiner)
                joined.receive(joiner, encode_sync_step1(b"\x00"))
                while joiner.syncing:
                    await asyncio.sleep(0.01)
                joiner.close(1000, "done")
                joiner.flush()  # the close goes out now, not after this callback
                await joiner.finished()
                hub.leave(joined, joiner)

            await timed("streamed join (empty state)", stream_join)
            hub.leave(room, writer)

            async def unload() -> None:
                while "big" in hub.rooms:
                    await asyncio.sleep(0.05)

            await timed("unload (flush, version)", unload)

            async def load() -> None:
                await hub.open_room("big")

            await timed("load from the store", load)
    print()
    print(f"{'operation':<34} {'ms':>10}   {'longest loop stall ms':>22}")
    for name, took, worst in rows:
        print(f"{name:<34} {took:10,.0f}   {worst:22.1f}")


if __name__ == "__main__":
    asyncio.run(main())
