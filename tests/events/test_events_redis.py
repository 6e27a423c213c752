"""/events and presence across two `tandem serve` instances sharing one real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.events import EventWatcher
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually


@pytest.fixture
async def pair(
    tmp_path: Path, redis_url: str
) -> AsyncIterator[tuple[TandemProcess, TandemProcess]]:
    servers = [
        TandemProcess(
            *("--port", "0", "--store", f"sqlite:///{tmp_path / f'{name}.db'}"),
            *("--events-bus", redis_url),
            env={"TANDEM_PRESENCE_HEARTBEAT": "0.5"},
        )
        for name in ("a", "b")
    ]
    for server in servers:
        await server.start()
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            await server.stop()


def named(name: str) -> dict[str, object]:
    return {"user": {"name": name, "color": "#112233"}}


async def test_a_watcher_on_one_instance_sees_what_happens_on_the_other(
    pair: tuple[TandemProcess, TandemProcess], yjs_clients
) -> None:
    a, b = pair
    watcher = await EventWatcher.connect(b.url, "shared")
    try:
        ana = await yjs_clients(a.ws_url, "shared", awareness=named("Ana"))
        await watcher.wait_for(lambda w: w.presence() == [("Ana", "joined", 1)], what="Ana")
        ben = await yjs_clients(b.ws_url, "shared", awareness=named("Ben"))
        await watcher.wait_for(lambda w: len(w.presence()) == 2, what="Ben")
        ana_id = watcher.events[0]["user"]
        await ana.call("append", text="from instance a")
        changed = await watcher.wait_for(lambda w: bool(w.of_type("changed")), what="changed")
        assert next(e["by"] for e in changed if e["type"] == "changed") == [ana_id]
        # Both instances agree on the presence list.
        async with httpx.AsyncClient() as http:
            for server in (a, b):
                people = await eventually(
                    lambda s=server: http.get(f"{s.url}/api/docs/shared"),
                    lambda r: len(r.json()["presence"]) == 2,
                    what=f"presence on {server.url}",
                )
                assert [p["name"] for p in people.json()["presence"]] == ["Ana", "Ben"]
        late = await EventWatcher.connect(a.url, "*")
        await late.wait_for(lambda w: len(w.events) == 2, what="current presence on a")
        assert late.presence() == [("Ana", "joined", 1), ("Ben", "joined", 2)]
        await late.close()
        await ana.kill()  # no close frame: instance a sees the socket die and tells b at once
        await watcher.wait_for(lambda w: ("Ana", "left", 1) in w.presence(), timeout=5)
        await ben.call("disconnect")
        await watcher.wait_for(lambda w: ("Ben", "left", 0) in w.presence(), timeout=5)
        assert watcher.presence() == [
            ("Ana", "joined", 1),
            ("Ben", "joined", 2),
            ("Ana", "left", 1),
            ("Ben", "left", 0),
        ]
    finally:
        await watcher.close()


async def test_users_of_a_crashed_instance_leave_after_missed_heartbeats(
    pair: tuple[TandemProcess, TandemProcess], yjs_clients
) -> None:
    a, b = pair
    await yjs_clients(a.ws_url, "doomed", awareness=named("Ana"))
    watcher = await EventWatcher.connect(b.url, "doomed")
    try:
        await watcher.wait_for(lambda w: w.presence() == [("Ana", "joined", 1)], what="Ana")
        await a.kill()  # SIGKILL the whole instance: nobody says goodbye
        await watcher.wait_for(
            lambda w: w.presence()[-1:] == [("Ana", "left", 0)],
            timeout=10,
            what="Ana expires with her instance",
        )
        assert "event=instance_expired" in b.output()
    finally:
        await watcher.close()
