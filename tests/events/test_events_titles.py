"""`title` notifications: a burst of renames of one document is told as its first rename at
once and its last when the interval ends, never one notification per rename."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from server.events.titles import TitleNotifier
from tests.support.events import EventWatcher
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually


class Sent:
    def __init__(self) -> None:
        self.notified: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, doc: str, payload: Mapping[str, Any]) -> None:
        self.notified.append((doc, dict(payload)))

    async def titles(self) -> list[tuple[str, Any]]:
        return [(doc, payload["title"]) for doc, payload in self.notified]


def _title(title: str | None, by: str = "ana") -> dict[str, Any]:
    return {"type": "title", "title": title, "by": by, "name": by.title()}


async def test_a_burst_of_renames_is_told_as_its_first_and_its_last() -> None:
    sent = Sent()
    titles = TitleNotifier(0.2, sent)
    for n in range(50):
        titles.titled("plan", _title(f"Plan {n}"))
    titles.titled("other", _title("Other", by="ben"))  # each document on its own
    assert await sent.titles() == [("plan", "Plan 0"), ("other", "Other")]
    told = await eventually(sent.titles, lambda t: len(t) == 3, what="the burst's last title")
    assert told[2] == ("plan", "Plan 49") and sent.notified[2][1]["by"] == "ana"
    # A quiet interval later, a rename is told at once again
    await _quiet(0.2)
    titles.titled("plan", _title("Again"))
    assert (await sent.titles())[3:] == [("plan", "Again")]
    titles.stop()


async def _quiet(interval: float) -> None:
    """Until an interval has passed since now (a timer's condition, not a sleep to wait for one)."""
    until = time.monotonic() + interval

    async def now() -> float:
        return time.monotonic()

    await eventually(now, lambda t: t > until, what="a quiet interval")


async def test_a_rename_told_by_another_hub_meanwhile_wins() -> None:
    sent = Sent()
    titles = TitleNotifier(0.05, sent)
    titles.titled("plan", _title("Mine"))
    titles.titled("plan", _title("Mine, later"))
    titles.heard("plan")  # another hub told a rename written after ours
    titles.titled("other", _title("Other"))
    await _quiet(0.1)  # the interval's end has come and gone: "Mine, later" was not told
    titles.titled("plan", _title("Again"))
    assert await sent.titles() == [("plan", "Mine"), ("other", "Other"), ("plan", "Again")]
    titles.stop()


async def test_nothing_pending_is_told_once_stopped() -> None:
    sent = Sent()
    titles = TitleNotifier(0.05, sent)
    titles.titled("plan", _title("One"))
    titles.titled("plan", _title(None))
    titles.stop()
    await _quiet(0.1)  # the interval's end has come and gone: what was pending stays untold
    assert await sent.titles() == [("plan", "One")]


async def test_many_renames_over_http_are_not_one_notification_each() -> None:
    server = await TandemProcess("--port", "0", "--store", "memory://").start()
    try:
        watcher = await EventWatcher.connect(server.url, "plan")
        async with httpx.AsyncClient(base_url=server.url) as http:
            for n in range(30):
                answer = await http.patch("/api/docs/plan", json={"title": f"Plan {n}"})
                assert answer.status_code == 200, answer.text
        await watcher.wait_for(
            lambda w: any(e["title"] == "Plan 29" for e in w.of_type("title")),
            what="the last title",
        )
        told = watcher.of_type("title")
        assert told[0]["title"] == "Plan 0" and told[-1]["title"] == "Plan 29"
        assert len(told) < 10, [e["title"] for e in told]
        await watcher.close()
    finally:
        await server.stop()
