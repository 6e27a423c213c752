"""A `/events` subscriber for tests: collects every JSON notification it receives."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.waiting import eventually


class EventWatcher:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, base_url: str, docs: str, **params: str) -> EventWatcher:
        query = "&".join(f"{k}={v}" for k, v in {"docs": docs, **params}.items())
        url = base_url.replace("http://", "ws://", 1) + f"/events?{query}"
        return cls(await connect(url))

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for message in self.ws:
                self.events.append(json.loads(message))

    def presence(self, doc: str | None = None) -> list[tuple[str, str, int]]:
        return [
            (e["name"], e["event"], e["count"])
            for e in self.events
            if e["type"] == "presence" and (doc is None or e["doc"] == doc)
        ]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def wait_for(
        self,
        check: Callable[[EventWatcher], bool],
        *,
        timeout: float = 10.0,
        what: str = "notifications",
    ) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]]:
            return list(self.events)

        return await eventually(probe, lambda _: check(self), timeout=timeout, what=what)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader
