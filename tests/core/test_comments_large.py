"""Comments on a large document (server/core/comments.py): placing a thread's mark and taking
it off copy the whole document, so past the offload threshold that work runs in the worker
process (server/core/offload.py) and the event loop stays free for every other document.

The bound is measured against the work itself: the loop may be held for at most a quarter of
what resolving the anchor costs when done in this process, whatever the machine's speed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from crdt.comments import Quote, place, quotes, remove
from crdt.split import split_update
from server.config import Config
from server.core.comments import Comments
from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.stores.memory import MemoryStore
from tests.bench.large_costs import build_document

BEN = Identity(user="ben", name="Ben", role=Role.COMMENT, anonymous=False)


class _Stalls:
    """The longest stretch the event loop could not run a callback."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - started - 0.001)

    @contextlib.asynccontextmanager
    async def measuring(self) -> AsyncIterator[None]:
        self.worst = 0.0
        task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        try:
            yield
            await asyncio.sleep(0.01)  # a stall at the very end counts too
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_comment_on_a_large_document_does_not_hold_the_event_loop() -> None:
    state = build_document(8)
    hub = Hub(Config(flush_interval=0.05), MemoryStore())
    comments = Comments(hub, lambda doc, payload: None)
    stalls = _Stalls()
    async with hub.running():
        room = await hub.open_room("big")
        for piece in split_update(state, 1024 * 1024).all:
            assert room.apply_update(piece, origin=None)
        assert room.size > hub.offload.threshold
        assert await hub.persister.flush()  # what the store takes is not measured here
        anchor = Quote("dolor", 700)
        started = time.perf_counter()
        place(room.document, "probe", anchor)
        placing = time.perf_counter() - started
        started = time.perf_counter()
        remove(room.document, "probe")
        removing = time.perf_counter() - started

        async with stalls.measuring():
            thread = await comments.create(
                "big", by=BEN, body="Which one?", anchor={"quote": "dolor", "occurrence": 700}
            )
        assert thread["quote"] == "dolor"
        assert quotes(hub.rooms["big"].document.content) == {thread["id"]: "dolor"}
        assert stalls.worst < placing / 4, (stalls.worst, placing)

        async with stalls.measuring():
            await comments.delete("big", thread["id"], by=BEN)
        assert quotes(hub.rooms["big"].document.content) == {}
        assert stalls.worst < removing / 4, (stalls.worst, removing)
