"""Wait on conditions with a deadline, never a bare sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool] = bool,
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `probe` until `check(result)` holds; fail with the last result after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if check(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s; last value: {result!r}")
        await asyncio.sleep(interval)


async def throughout(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool] = bool,
    *,
    duration: float,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `probe` for `duration` seconds; fail as soon as `check(result)` does not hold."""
    deadline = time.monotonic() + duration
    while True:
        result = await probe()
        if not check(result):
            raise AssertionError(f"{what} stopped holding; value: {result!r}")
        if time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


def now(get: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """A synchronous probe for `eventually`/`throughout`: `eventually(now(lambda: x), ...)`."""

    async def probe() -> T:
        return get()

    return probe
