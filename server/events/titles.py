"""`title` notifications: at most one per document per interval on this instance.

A rename after a quiet interval is told at once; renames within the interval are not told one
by one (a script renaming a document in a loop would otherwise send every subscriber, on every
hub, and every open editor page one notification per rename): the latest is told when the
interval ends, so everyone ends up with the title the document has (unless another instance
told a newer rename meanwhile: then the untold one here is dropped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

# How long the time of a document's last `title` is remembered once nothing happens.
_FORGET_AFTER = 60.0


class TitleNotifier:
    def __init__(self, interval: float, notify: Callable[[str, Mapping[str, Any]], None]) -> None:
        self.interval = interval
        self._notify = notify
        self._last: dict[str, float] = {}  # doc -> monotonic time of its last `title`
        self._pending: dict[str, Mapping[str, Any]] = {}  # doc -> its latest untold `title`
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def titled(self, doc: str, payload: Mapping[str, Any]) -> None:
        """`doc` was renamed (`payload`: its `title` notification)."""
        now = time.monotonic()
        last = self._last.get(doc)
        if doc in self._timers or (last is not None and now - last < self.interval):
            self._pending[doc] = payload
            if doc not in self._timers:
                delay = (last or now) + self.interval - now
                self._timers[doc] = asyncio.get_running_loop().call_later(delay, self._due, doc)
            return
        self._tell(doc, payload, now)

    def heard(self, doc: str) -> None:
        """Another instance told a rename of `doc`, written after any still untold here: ours
        is no longer the document's title, and is not told."""
        self._pending.pop(doc, None)

    def stop(self) -> None:
        """Cancel the timers (the service is stopping); what is pending is not told."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._pending.clear()

    def _due(self, doc: str) -> None:
        self._timers.pop(doc, None)
        payload = self._pending.pop(doc, None)
        if payload is not None:
            self._tell(doc, payload, time.monotonic())

    def _tell(self, doc: str, payload: Mapping[str, Any], now: float) -> None:
        self._last[doc] = now
        self._notify(doc, payload)
        for stale in [d for d, t in self._last.items() if now - t > _FORGET_AFTER]:
            del self._last[stale]
