"""Documents deleted on another instance (DELETED): forgotten here at once (editors closed
with 4404, nothing of it kept or written), and its data deleted once more after this
instance's own writes of it under way, which could otherwise bring it back."""

from __future__ import annotations

import asyncio
import logging

from server.cluster.access import RoomAccess
from server.errors import StoreError

log = logging.getLogger("tandem.fanout")

RETRY_AFTER = 1.0  # seconds between attempts while the store refuses an erase


class Deletions:
    def __init__(self, access: RoomAccess) -> None:
        self.access = access
        self._erase: set[str] = set()
        self._ready = asyncio.Event()

    def deleted_elsewhere(self, doc: str) -> None:
        self.access.forget(doc)
        self._erase.add(doc)
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            docs, self._erase = self._erase, set()
            for doc in docs:
                if self.access.room(doc) is not None:
                    continue  # opened again since: a new document by that name, not erased
                try:
                    await self.access.erase(doc)
                except StoreError as exc:
                    log.warning("event=erase_failed doc=%s error=%s", doc, exc)
                    self._erase.add(doc)
            if self._erase:
                await asyncio.sleep(RETRY_AFTER)
                self._ready.set()
