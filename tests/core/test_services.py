"""The hub's background services: a crash restarts a service, a shutdown always finishes."""

from __future__ import annotations

import asyncio

import pytest

from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import ANONYMOUS
from server.stores.memory import MemoryStore
from tests.support.channels import RecordingChannel
from tests.support.waiting import eventually


async def test_a_crashed_service_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run fails")
        await asyncio.Event().wait()

    hub = Hub(Config(), MemoryStore())
    hub.add_service("flaky", flaky)
    async with hub.running():

        async def count() -> int:
            return runs

        await eventually(count, lambda n: n == 2, what="restarted after its crash")
    assert "event=service_crashed service=flaky" in caplog.text


async def test_a_service_that_fails_while_stopping_does_not_hold_up_the_final_flush() -> None:
    started = asyncio.Event()

    async def stubborn() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("failed on its way out") from None

    store = MemoryStore()
    hub = Hub(Config(flush_interval=60), store)  # nothing is flushed before the shutdown
    hub.add_service("stubborn", stubborn)
    async with asyncio.timeout(10), hub.running():
        conn = Connection(RecordingChannel(), identity=ANONYMOUS)
        room = await hub.join("doc", conn)
        room.apply_update(bytes.fromhex("01010a00040107636f6e74656e74017800"), origin=conn)
        await started.wait()
    stored = await store.load("doc")
    assert stored.updates, "the final flush did not run"
