"""A guard for loops that run until cancelled, around libraries that lose cancellations."""

from __future__ import annotations

import asyncio


def honour_cancellation() -> None:
    """Raise the CancelledError redis-py swallowed, if it did. A command cancelled at the
    wrong moment sometimes returns normally instead (measured: about 1 in 20 cancels of a
    publish loop), and a loop that goes on keeps a stopping hub waiting forever. Call it after
    each Redis await in a loop that runs until cancelled (not in cleanup that runs while
    cancelling on purpose: it would cut that short)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
