"""What the hub's document services use of the hub: the content API (server/core/documents.py)
and comments (server/core/comments.py) edit open rooms through it. They are parts the hub
owns, so they see it through this Protocol and never import it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from server.core.offload import Offload
    from server.core.room import Room
    from server.stores.base import Store


class DocumentHost(Protocol):
    rooms: dict[str, Room]
    store: Store
    offload: Offload

    async def open_room(self, doc: str) -> Room: ...

    async def document_parts(self, doc: str) -> list[bytes]: ...
