"""`changed` notifications: at most one per document per interval, across instances.

The first edit after a quiet interval is notified at once; edits within the interval are
gathered (their authors and the time of the latest) and notified when it ends, by a timer set
for that moment. A `changed` another instance sent starts the interval anew here too, so a
document edited on several instances is still notified about once per interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.core.timestamps import iso

# How long the start of a document's last interval is remembered once nothing happens.
_FORGET_AFTER = 60.0


@dataclass(slots=True)
class _Pending:
    """Edits of a document not yet notified."""

    last_at: float  # Unix time of the latest one
    authors: dict[str, None] = field(default_factory=dict)  # ordered set
    timer: asyncio.TimerHandle | None = None


class ChangeNotifier:
    def __init__(self, interval: float, notify: Callable[[str, Mapping[str, Any]], None]) -> None:
        self.interval = interval
        self._notify = notify
        self._pending: dict[str, _Pending] = {}
        self._last_changed: dict[str, float] = {}  # doc -> monotonic time of its last `changed`

    def edited(self, doc: str, author: str | None) -> None:
        """A local edit of `doc` (`author`: None for the server's own, e.g. a restore)."""
        pending = self._pending.get(doc)
        if pending is None:
            pending = self._pending[doc] = _Pending(last_at=time.time())
        pending.last_at = time.time()
        if author is not None:
            pending.authors[author] = None
        self._flush(doc)

    def heard(self, doc: str) -> None:
        """Another instance notified a `changed` of `doc`: the interval starts again here."""
        self._last_changed[doc] = time.monotonic()

    def stop(self) -> None:
        """Cancel the timers (the service is stopping); what is pending is not notified."""
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
                pending.timer = None

    def _flush(self, doc: str) -> None:
        pending = self._pending.get(doc)
        if pending is None:
            return
        now = time.monotonic()
        last = self._last_changed.get(doc)
        if last is not None and now - last < self.interval:
            if pending.timer is None:  # (again: `heard` may have moved the interval on)
                delay = last + self.interval - now
                pending.timer = asyncio.get_running_loop().call_later(delay, self._due, doc)
            return
        if pending.timer is not None:
            pending.timer.cancel()
        del self._pending[doc]
        self._last_changed[doc] = now
        changed = {"type": "changed", "by": list(pending.authors), "at": iso(pending.last_at)}
        self._notify(doc, changed)
        for stale in [d for d, t in self._last_changed.items() if now - t > _FORGET_AFTER]:
            del self._last_changed[stale]

    def _due(self, doc: str) -> None:
        pending = self._pending.get(doc)
        if pending is not None:
            pending.timer = None
            self._flush(doc)
