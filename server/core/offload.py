"""Whole-document work on large documents, in a worker process.

pycrdt holds the GIL while it applies or encodes (measured: 0.24 s to apply and 0.17 s to
encode a 50 MB document, during which no other coroutine runs), so a thread would not keep the
event loop free. Loading, compacting, splitting and rendering a document past
`offload_bytes` run in one worker process instead; what crosses is bytes both ways. Smaller
documents stay in-process, where a few milliseconds cost less than the round trip.

The worker starts on first use (a spawned interpreter, ~0.3 s) and is restarted if it dies;
the call that was running fails with OffloadFailed and nothing else is lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from server.errors import TandemError

log = logging.getLogger("tandem.offload")

T = TypeVar("T")


class OffloadFailed(TandemError):
    """The worker process died during the call (it is restarted for the next one)."""


class Offload:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold  # inputs at least this large go to the worker
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, size: int, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`: in the worker when `size` (bytes of input) reaches the threshold,
        else here, at once. `fn` must be a picklable module-level function."""
        if size < self.threshold:
            return fn(*args)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:
            if self._pool is pool:
                self._pool = None
            log.error("event=offload_worker_died fn=%s", getattr(fn, "__name__", fn))
            raise OffloadFailed(f"the worker process died during {fn.__name__}") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
