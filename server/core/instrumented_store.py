"""A Store wrapper that records every call's latency and failures on the hub's metrics.

It forwards any coroutine method of the wrapped store (those added to the protocol later too),
timing it under its own name: `tandem_store_seconds{op=...}`, `tandem_store_errors_total{op=...}`.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from server.errors import StoreError
from server.ops.metrics import Metrics


class InstrumentedStore:
    def __init__(self, store: Any, metrics: Metrics) -> None:
        self.wrapped = store
        self._metrics = metrics

    def __repr__(self) -> str:
        return f"<InstrumentedStore {self.wrapped!r}>"

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.wrapped, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        timed = self._timed(name, attr)
        setattr(self, name, timed)  # found directly next time
        return timed

    def _timed(self, op: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        seconds = self._metrics.store_seconds.labels(op=op)
        errors = self._metrics.store_errors.labels(op=op)

        @functools.wraps(call)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            except StoreError:
                errors.inc()
                raise
            finally:
                seconds.observe(time.perf_counter() - started)

        return timed
