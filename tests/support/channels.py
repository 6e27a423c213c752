"""A Channel for tests without a network: it records what a connection sends and how it closed."""

from __future__ import annotations

import asyncio


class RecordingChannel:
    def __init__(self, *, stall: bool = False) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        # A stalled channel never completes a send: a client that stopped reading.
        self.stall = stall

    async def send(self, data: bytes) -> None:
        if self.stall:
            await asyncio.Event().wait()
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
