"""`changed` notifications: the first at once, the rest gathered until the interval ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.events.changes import ChangeNotifier
from tests.support.waiting import eventually, throughout


class Sent:
    def __init__(self) -> None:
        self.notified: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, doc: str, payload: Mapping[str, Any]) -> None:
        self.notified.append((doc, dict(payload)))

    async def authors(self) -> list[list[str]]:
        return [payload["by"] for _, payload in self.notified]


async def test_edits_within_the_interval_are_notified_together_when_it_ends() -> None:
    sent = Sent()
    changes = ChangeNotifier(0.2, sent)
    changes.edited("notes", "ana")
    assert await sent.authors() == [["ana"]]  # at once: nothing was notified before
    changes.edited("notes", "ben")
    changes.edited("notes", None)  # the server's own change: no author
    changes.edited("notes", "cy")
    assert await sent.authors() == [["ana"]]
    by = await eventually(sent.authors, lambda a: len(a) == 2, what="the trailing changed")
    assert by == [["ana"], ["ben", "cy"]]
    assert sent.notified[1][1]["at"].endswith("Z")


async def test_documents_are_limited_each_on_their_own() -> None:
    sent = Sent()
    changes = ChangeNotifier(60, sent)
    changes.edited("a", "ana")
    changes.edited("b", "ben")
    assert [doc for doc, _ in sent.notified] == ["a", "b"]
    changes.stop()


async def test_another_instances_changed_starts_the_interval_here_too() -> None:
    sent = Sent()
    changes = ChangeNotifier(0.2, sent)
    changes.heard("notes")
    changes.edited("notes", "ana")
    assert sent.notified == []
    await eventually(sent.authors, lambda a: a == [["ana"]], what="notified after the interval")


async def test_nothing_pending_is_notified_once_stopped() -> None:
    sent = Sent()
    changes = ChangeNotifier(0.1, sent)
    changes.edited("notes", "ana")
    changes.edited("notes", "ben")
    changes.stop()
    await throughout(sent.authors, lambda a: a == [["ana"]], duration=0.3, interval=0.05)
