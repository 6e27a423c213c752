"""The hub's background services: each supervised (a crash restarts it), and a stop that hangs
reported with where every task stands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("tandem.hub")  # what these log is the hub's lifecycle

SLOW_SHUTDOWN_SECONDS = 8.0


def log_pending_tasks() -> None:
    """A stop that takes this long is stuck somewhere: say where, so it can be fixed."""
    for task in asyncio.all_tasks():
        log.warning("event=shutdown_slow task=%s at=%s", task.get_name(), _awaiting(task))


def _awaiting(task: asyncio.Task[Any]) -> str:
    """The chain of awaits a task is suspended in, outermost first (get_stack shows one)."""
    places: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(places) < 20:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            places.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return "; ".join(places) or repr(task)


async def supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background service alive: log a crash and restart it after a pause, unless the
    hub is stopping (a service that fails while it is cancelled would otherwise run forever,
    and the shutdown would never reach its final flush)."""
    task = asyncio.current_task()
    while True:
        try:
            await run()
            return
        except Exception:
            log.exception("event=service_crashed service=%s", name)
            if task is not None and task.cancelling():
                return
            await asyncio.sleep(1.0)
