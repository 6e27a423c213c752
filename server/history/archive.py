"""Reading history from a store: version metadata, content at a version, the diff of two.

Rebuilding version v replays the version diffs after the nearest checkpoint at or before v
(the recorder stores one every `version_checkpoint_every` versions), so the cost is bounded by
that interval, never by the number of keystrokes or versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from crdt import jobs
from crdt.document import Document
from crdt.history import rebuild
from crdt.sanitize import as_utf8_text
from server.core.offload import Offload
from server.core.timestamps import iso
from server.errors import NotFound
from server.stores.base import Store, VersionInfo

FORMATS = jobs.FORMATS
CURRENT = "current"
# No document reaches this many versions; larger numbers are refused before any store sees them
# (SQLite's integers end at 2**63 - 1, JSON clients' at 2**53 - 1).
MAX_VERSION = 2**53 - 1
EMPTY_DOC: dict[str, Any] = {"type": "doc", "content": []}


class NoSuchVersion(NotFound):
    def __init__(self, doc: str, version: int | str) -> None:
        super().__init__(f"document {doc!r} has no version {version}")


def version_json(info: VersionInfo) -> dict[str, Any]:
    """The version object of the API (README, History). Its text is checked where it enters,
    but a store written before that may hold lone surrogates: they read as U+FFFD."""
    text = as_utf8_text
    return {
        "version": info.version,
        "at": iso(info.at),
        "authors": [text(user) for user in info.authors],
        "names": {text(user): text(info.names.get(user, user)) for user in info.authors},
        "label": None if info.label is None else text(info.label),
        "added": info.added,
        "removed": info.removed,
        "restored_from": info.restored_from,
    }


async def version_parts(store: Store, doc: str, version: int) -> list[bytes]:
    """The updates that rebuild `version`: its checkpoint (if any) and the diffs after it;
    NoSuchVersion if it was never recorded."""
    if not 1 <= version <= MAX_VERSION:
        raise NoSuchVersion(doc, version)
    found = await store.checkpoint(doc, version)
    start, state = found if found is not None else (0, None)
    diffs = await store.version_diffs(doc, start + 1, version)
    if len(diffs) != version - start:
        raise NoSuchVersion(doc, version)
    return [state, *diffs] if state is not None else diffs


async def rebuild_version(store: Store, doc: str, version: int) -> Document:
    """The document exactly as it was at `version`; NoSuchVersion if it was never recorded."""
    parts = await version_parts(store, doc, version)
    return await asyncio.to_thread(rebuild, None, parts)


async def stored_parts(store: Store, doc: str) -> list[bytes]:
    """The live content as the store has it (what the CLI sees; the server may hold more)."""
    return (await store.load(doc)).parts


def parse_ref(raw: str | None, *, default: str | int) -> int | str:
    """A version reference from a query or flag: a number, or "current"; ValueError if not."""
    value: str | int = default if raw is None or raw == "" else raw
    if value == CURRENT:
        return CURRENT
    number = int(value)
    if number < 0:
        raise ValueError(f"version {number} is negative")
    return number


CurrentParts = Callable[[], Awaitable[list[bytes]]]


async def ref_parts(store: Store, doc: str, ref: int | str, current: CurrentParts) -> list[bytes]:
    """The parts of a reference: a version, "current", or 0 (the empty document)."""
    if ref == CURRENT:
        return await current()
    assert isinstance(ref, int)
    if ref == 0:
        return []
    return await version_parts(store, doc, ref)


async def compare(
    store: Store,
    doc: str,
    before: int | str,
    after: int | str,
    current: CurrentParts,
    offload: Offload,
) -> dict[str, Any]:
    """The block-level diff between two references, with its HTML rendering."""
    old = await ref_parts(store, doc, before, current)
    new = await ref_parts(store, doc, after, current)
    size = sum(len(part) for part in (*old, *new))
    result = await offload.run(size, jobs.compare, old, new)
    return {"doc": doc, "from": before, "to": after, **result}


async def render(offload: Offload, parts: list[bytes], fmt: str) -> tuple[str, bytes]:
    """(media type, body) of a document given as parts, in one of FORMATS."""
    return await offload.run(sum(len(part) for part in parts), jobs.render, parts, fmt)
