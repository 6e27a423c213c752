"""Comments on a large document (server/core/comments.py): placing a thread's mark and taking
it off copy the whole document, so past the offload threshold that work runs in the worker
process (server/core/offload.py) and the event loop stays free for every other document.

The bound is measured against the work itself: the loop may be held for at most a quarter of
what resolving the anchor costs when done in this process, whatever the machine's speed."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from crdt.comments import Quote, parse_anchor, place, quotes, remove
from crdt.lib0 import Encoder
from crdt.split import split_update
from server.config import Config
from server.core.comments import Comments
from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.errors import BadRequest
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

        # Refusals and relative positions come back from the worker as they would from here
        with pytest.raises(BadRequest, match="not in the document"):
            await comments.create("big", by=BEN, body="?", anchor={"quote": "absent words"})
        state = room.document.state()
        client = max(state, key=state.__getitem__)  # the builder's (marks are short)
        positions = {"from": _position(client, 12), "to": _position(client, 20)}
        here = place(room.document, "probe", parse_anchor(positions)).quote
        there = await comments.create("big", by=BEN, body="This?", anchor=positions)
        assert there["quote"] == here and len(here) == 8
        assert quotes(hub.rooms["big"].document.content) == {there["id"]: here}


def _position(client: int, clock: int) -> str:
    """A Yjs relative position before item (client, clock), assoc 0, in base64."""
    encoder = Encoder()
    for number in (0, client, clock, 0):
        encoder.write_var_uint(number)
    return base64.b64encode(encoder.to_bytes()).decode()
