"""The content API in process: read, replace or append to a live document as Markdown, HTML,
ProseMirror JSON or text (README, Content API).

    change = await hub.documents.replace("notes", markdown="# Plan\\n\\nShip it.", by=identity)
    await hub.documents.append("notes", text="One more line.", by=identity)
    markdown = (await hub.documents.read("notes", "markdown")).text

A write is one minimal Yjs update (crdt/edit.py) computed from the open room's document and
applied to it with no await in between, as any client's edit: it reaches every editor, every
other hub, the store, and history and `changed` notifications name `by`. A document that does
not exist is created.

A read gives an ETag naming the content it read. A replace given that tag (`base=`, HTTP
`If-Match`) changes only the blocks its writer changed since: what others typed meanwhile
stays (crdt.edit.merge_blocks). The contents read are remembered per instance, a few per
document; a tag this instance does not know is refused (412: read again).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crdt import jobs
from crdt.content import ContentError, parse, validate
from crdt.edit import append_update, replace_update
from crdt.merge import merge_blocks
from crdt.render import to_prosemirror
from server.core.docids import check_doc_id
from server.core.host import DocumentHost
from server.core.identity import Identity
from server.core.limits import LimitExceeded
from server.errors import BadRequest, NotFound, Refused, TooLarge

if TYPE_CHECKING:
    from server.core.room import Room

Node = dict[str, Any]
# The contents read lately that a replace may name as its base: a few per document, bounded in
# documents and in characters of JSON kept (the oldest go first).
BASES_PER_DOC = 8
BASE_DOCS = 256
BASE_CHARS = 64 * 1024 * 1024
# Formats with no empty paragraphs: a writer of them leaves the base's empty paragraphs be.
LOSSY = frozenset({"markdown", "text"})


class UnknownBase(Refused):
    status = 412


@dataclass(frozen=True, slots=True)
class Change:
    doc: str
    changed: bool  # False: the document already held that content (nothing was sent)
    update_bytes: int  # the size of the Yjs update it took
    etag: str  # the content it left

    def as_json(self) -> dict[str, Any]:
        return {"id": self.doc, "changed": self.changed, "update_bytes": self.update_bytes}


@dataclass(frozen=True, slots=True)
class Content:
    media_type: str
    body: bytes
    etag: str

    @property
    def text(self) -> str:
        return self.body.decode()


def _canonical(body: Node) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Documents:
    def __init__(self, hub: DocumentHost) -> None:
        self._hub = hub
        self._bases: OrderedDict[str, OrderedDict[str, str]] = OrderedDict()  # doc -> tag -> JSON
        self._chars = 0

    async def read(self, doc: str, fmt: str = "markdown") -> Content:
        """The current content in one of crdt.jobs.FORMATS; NotFound if there is none."""
        hub = self._hub
        if doc not in hub.rooms and await hub.store.info(check_doc_id(doc)) is None:
            if await hub.store.deleted_at(doc) is not None:
                raise NotFound(f"document {doc!r} was deleted")
            raise NotFound(f"no document {doc!r}")
        parts = await hub.document_parts(doc)
        media, data, body = await hub.offload.run(sum(map(len, parts)), jobs.content, parts, fmt)
        return Content(media, data, self._remember(doc, body))

    async def replace(
        self, doc: str, *, by: Identity, base: str | None = None, **content: Any
    ) -> Change:
        """Make the document this content (one keyword: markdown, html, text as str, or json
        as str or a ProseMirror document dict); `base`: the ETag of the content read before."""
        kind = next(iter(content), "")
        return await self._write(doc, _target(content), by, base=base, lossy=kind in LOSSY)

    async def append(self, doc: str, *, by: Identity, **content: Any) -> Change:
        """Add this content (same keywords) after the document's last block."""
        return await self._write(doc, _target(content), by, append=True)

    async def write(
        self, doc: str, kind: str, body: str, *, by: Identity, append: bool, base: str | None
    ) -> Change:
        """What the HTTP routes call: `body` of a kind in crdt.content.KINDS. An intentional
        creation: a deleted document's tombstone goes, the name is free again."""
        target = _parsed(kind, body)
        await self._hub.store.undelete(check_doc_id(doc))
        return await self._write(doc, target, by, append=append, base=base, lossy=kind in LOSSY)

    async def _write(
        self,
        doc: str,
        target: Node,
        by: Identity,
        *,
        append: bool = False,
        base: str | None = None,
        lossy: bool = False,
    ) -> Change:
        room = await self._open(check_doc_id(doc))
        # From here to apply_update nothing awaits: the diff is of the state it applies to.
        if base is not None and not append:
            bases = self._bases.get(doc)
            if bases is None or base not in bases:
                raise UnknownBase("that ETag names no content read here lately: read it again")
            bases.move_to_end(base)
            known = json.loads(bases[base])
            now = to_prosemirror(room.document.content, comments=False)
            target = merge_blocks(known, target, now, saw_empty=not lossy)
        update = (append_update if append else replace_update)(room.document, target)
        if update is not None:
            try:
                room.apply_update(update, origin=None, author=by)
            except LimitExceeded as exc:
                raise TooLarge(str(exc)) from None
        after = self._remember(doc, to_prosemirror(room.document.content, comments=False))
        return Change(doc, update is not None, len(update or b""), after)

    def _remember(self, doc: str, body: Node) -> str:
        text = _canonical(body)
        tag = hashlib.sha256(text.encode()).hexdigest()[:32]
        bases = self._bases.pop(doc, None) or OrderedDict()
        self._bases[doc] = bases
        self._chars -= len(bases.pop(tag, ""))
        bases[tag] = text
        self._chars += len(text)
        while len(bases) > BASES_PER_DOC:
            self._chars -= len(bases.popitem(last=False)[1])
        while self._bases and (len(self._bases) > BASE_DOCS or self._chars > BASE_CHARS):
            oldest = next(iter(self._bases.values()))
            self._chars -= len(oldest.popitem(last=False)[1]) if oldest else 0
            if not oldest:
                self._bases.popitem(last=False)
        return tag

    async def _open(self, doc: str) -> Room:
        while True:
            room = await self._hub.open_room(doc)
            if room.is_open:
                return room


def _parsed(kind: str, body: str | Node) -> Node:
    try:
        if isinstance(body, dict):
            if kind != "json":
                raise BadRequest(f"{kind} content must be a string")
            return validate(body)
        return parse(kind, body)
    except ContentError as exc:
        raise BadRequest(str(exc)) from None


def _target(content: dict[str, Any]) -> Node:
    if len(content) != 1 or next(iter(content)) not in {"markdown", "html", "json", "text"}:
        raise TypeError("give exactly one of markdown=, html=, json=, text=")
    ((kind, body),) = content.items()
    return _parsed(kind, body)
