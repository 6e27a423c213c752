"""Comments on a large document (server/core/comments.py): placing a thread's mark and taking
it off copy the whole document, so past the offload threshold that work runs in the worker
process (server/core/offload.py) and the event loop stays free for every other document.

The test checks where the work runs (no timing asserts: tests/bench/large_costs.py measures the
loop's stalls) and that its answers are the same as in-process."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from crdt.comments import parse_anchor, place, quotes
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


def _recording(hub: Hub) -> list[tuple[str, bool]]:
    """Record the hub's offloaded calls: (function name, whether it ran in the worker)."""
    calls: list[tuple[str, bool]] = []
    run = hub.offload.run

    async def recorded(size: int, fn: Any, *args: Any) -> Any:
        calls.append((fn.__name__, size >= hub.offload.threshold))
        return await run(size, fn, *args)

    hub.offload.run = recorded  # type: ignore[method-assign]
    return calls


async def test_a_comment_on_a_large_document_does_not_hold_the_event_loop() -> None:
    state = build_document(8)
    hub = Hub(Config(flush_interval=0.05), MemoryStore())
    comments = Comments(hub, lambda doc, payload: None)
    calls = _recording(hub)
    async with hub.running():
        room = await hub.open_room("big")
        for piece in split_update(state, 1024 * 1024).all:
            assert room.apply_update(piece, origin=None)
        assert room.size > hub.offload.threshold
        assert await hub.persister.flush()  # what the store takes is not measured here
        calls.clear()
        thread = await comments.create(
            "big", by=BEN, body="Which one?", anchor={"quote": "dolor", "occurrence": 700}
        )
        assert thread["quote"] == "dolor"
        assert quotes(hub.rooms["big"].document.content) == {thread["id"]: "dolor"}
        assert calls and all(in_worker for _, in_worker in calls), calls

        calls.clear()
        await comments.delete("big", thread["id"], by=BEN)
        assert quotes(hub.rooms["big"].document.content) == {}
        assert calls and all(in_worker for _, in_worker in calls), calls

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
