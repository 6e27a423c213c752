"""Comment threads on a document (README, Comments): kept in the store, anchored in the body.

    thread = await comments.create("plan", by=identity, body="Why?", anchor={"quote": "ship"})
    await comments.reply("plan", thread["id"], by=other, body="Because.")
    await comments.change("plan", thread["id"], by=identity, resolved=True)

Creating a thread places its `comment` mark over the anchor's text as one change applied to
the open room like any client's (crdt/comments.py), attributed to the caller; deleting it takes
the mark off the same way. The thread itself (author, body, replies, resolved) is in the store,
under the document. Every change is announced with `publish(doc, {"type": "comment", …})`.

Authors come from the identity: a token's user and name. On an open hub (no auth) everyone is
the user `anonymous`, under the display name the request gives (`name`, cleaned as names are).
Whoever may comment may reply and resolve or reopen; only a thread's (or reply's) author edits
its body; its author or an admin deletes a thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from crdt import jobs
from crdt.comments import AnchorError, new_thread_id, parse_anchor, place, quotes, remove
from crdt.errors import UpdateRejected
from crdt.sanitize import clean_text
from server.core.host import DocumentHost
from server.core.identity import Identity, Role
from server.core.limits import LimitExceeded
from server.core.names import clean_name
from server.core.offload import OffloadFailed
from server.core.timestamps import iso
from server.errors import BadRequest, NotFound, Refused, TooLarge
from server.stores.threads import Author, Reply, Thread

if TYPE_CHECKING:
    from server.core.room import Room

log = logging.getLogger("tandem.comments")

MAX_BODY = 10_000  # characters of a comment, after cleaning
MAX_THREADS = 1_000  # per document
MAX_REPLIES = 500  # per thread
# Characters of a document's threads together (bodies, replies, quotes): what every reader loads.
MAX_COMMENT_TEXT = 10_000_000

Publish = Callable[[str, Mapping[str, Any]], None]
T = TypeVar("T")


class NotAllowed(Refused):
    """403: the caller may comment, but not do this to that thread."""

    status = 403


def clean_body(raw: object) -> str:
    """A comment's text, or BadRequest: plain text of 1 to MAX_BODY characters."""
    if not isinstance(raw, str) or len(raw) > 4 * MAX_BODY:
        raise BadRequest(f"body must be text of 1 to {MAX_BODY} characters")
    body = clean_text(raw)
    if not body or len(body) > MAX_BODY:
        raise BadRequest(f"body must be text of 1 to {MAX_BODY} characters")
    return body


def author_of(identity: Identity, name: object = None) -> Author:
    """Who a comment is by: the identity's user and name; on an open hub `anonymous` under the
    name given (cleaned), never what a request claims otherwise."""
    if identity.anonymous:
        return Author(identity.user, clean_name(name, fallback=identity.name))
    return Author(identity.user, clean_name(identity.name, fallback=clean_name(identity.user)))


def thread_json(thread: Thread, now: dict[str, str]) -> dict[str, Any]:
    """A thread as the API gives it; `now`: what each thread's mark covers in the body now."""
    quote = now.get(thread.id)
    return {
        "id": thread.id,
        "author": thread.author.as_json(),
        "body": thread.body,
        "created": iso(thread.created),
        "edited": None if thread.edited is None else iso(thread.edited),
        "resolved": thread.resolved,
        "quote": quote or "",
        "detached": quote is None,
        "original_quote": thread.quote,
        "replies": [
            {
                "id": r.id,
                "author": r.author.as_json(),
                "body": r.body,
                "created": iso(r.created),
                "edited": None if r.edited is None else iso(r.edited),
            }
            for r in thread.replies
        ],
    }


class Comments:
    def __init__(self, hub: DocumentHost, publish: Publish) -> None:
        self._hub = hub
        self._publish = publish

    async def list(self, doc: str) -> list[dict[str, Any]]:
        await self._require(doc)
        threads = await self._hub.store.threads(doc)
        now = await self._quotes(doc) if threads else {}
        return [thread_json(thread, now) for thread in threads]

    async def get(self, doc: str, thread: str) -> dict[str, Any]:
        await self._require(doc)
        return await self._answer(doc, await self._thread(doc, thread))

    async def create(
        self, doc: str, *, by: Identity, body: object, anchor: object, name: object = None
    ) -> dict[str, Any]:
        text = clean_body(body)
        try:
            parsed = parse_anchor(anchor)
        except AnchorError as exc:
            raise BadRequest(f"anchor: {exc}") from None
        author = author_of(by, name)
        await self._require(doc)
        store = self._hub.store
        kept = await store.threads(doc)
        if len(kept) >= MAX_THREADS:
            raise TooLarge(f"a document holds at most {MAX_THREADS} comment threads")
        others = _stored_text(kept)
        _fits(others, Thread("x" * 12, author, text, 0.0))
        room = await self._open(doc)
        thread_id = new_thread_id()
        try:
            if room.size < self._hub.offload.threshold:
                # Nothing awaits until it is applied: the anchor is resolved on the state it marks.
                placed = place(room.document, thread_id, parsed)
            else:
                # A copy of the whole document: in the worker. Edits that land meanwhile are
                # concurrent with the mark, as any editor's are with another's formatting.
                placed = await self._offloaded(room, jobs.place_comment, thread_id, parsed)
                room = await self._open(doc)
        except AnchorError as exc:
            raise BadRequest(f"anchor: {exc}") from None
        self._apply(room, placed.update, by)
        thread = Thread(thread_id, author, text, time.time(), quote=placed.quote)
        try:
            _fits(others, thread)  # the quote of a long range counts too
            await store.add_thread(doc, thread)
        except BaseException:
            await self._unmark(doc, thread_id, by)  # no mark without its thread
            raise
        if self._hub.rooms.get(doc) is not room and await store.info(doc) is None:
            # Deleted while the thread was written: it goes too (a new document of the name
            # must not inherit it).
            await store.delete_thread(doc, thread_id)
            raise NotFound(f"the document {doc!r} was deleted")
        self._announce(doc, "created", thread_id, author)
        return thread_json(thread, {thread_id: placed.quote})

    async def reply(
        self, doc: str, thread: str, *, by: Identity, body: object, name: object = None
    ) -> dict[str, Any]:
        text = clean_body(body)
        author = author_of(by, name)
        await self._require(doc)
        others = await self._others(doc, thread)

        def add(kept: Thread) -> Thread:
            if len(kept.replies) >= MAX_REPLIES:
                raise TooLarge(f"a thread holds at most {MAX_REPLIES} replies")
            reply = Reply(new_thread_id(), author, text, time.time())
            return _fits(others, replace(kept, replies=(*kept.replies, reply)))

        changed = await self._change(doc, thread, add)
        self._announce(doc, "replied", thread, author)
        return await self._answer(doc, changed)

    async def change(
        self,
        doc: str,
        thread: str,
        *,
        by: Identity,
        resolved: object = None,
        body: object = None,
        reply: object = None,
        name: object = None,
    ) -> dict[str, Any]:
        """Resolve or reopen (`resolved`), or edit the body of the thread or of one of its
        replies (`body`, with `reply`: its id); one of them per call."""
        if (resolved is None) == (body is None):
            raise BadRequest('give one of {"resolved": true|false} or {"body": "…"}')
        author = author_of(by, name)
        await self._require(doc)
        if resolved is not None:
            if not isinstance(resolved, bool):
                raise BadRequest("resolved must be true or false")
            was: list[bool] = []  # the last call is the change the store kept

            def resolve(kept: Thread) -> Thread:
                was.append(kept.resolved)
                return replace(kept, resolved=resolved)

            changed = await self._change(doc, thread, resolve)
            if was[-1] != resolved:  # resolving a resolved thread tells nobody
                self._announce(doc, "resolved" if resolved else "reopened", thread, author)
            return await self._answer(doc, changed)
        text = clean_body(body)
        if reply is not None and not isinstance(reply, str):
            raise BadRequest("reply must be a reply's id")
        others = await self._others(doc, thread)

        same: list[bool] = []  # the last call is the change the store kept

        def edit(kept: Thread) -> Thread:
            if reply is None:
                _own(kept.author, by, "edit this comment")
                same.append(kept.body == text)
                if same[-1]:
                    return kept
                return _fits(others, replace(kept, body=text, edited=time.time()), kept)
            replies = list(kept.replies)
            for index, old in enumerate(replies):
                if old.id == reply:
                    _own(old.author, by, "edit this reply")
                    same.append(old.body == text)
                    if same[-1]:
                        return kept
                    replies[index] = replace(old, body=text, edited=time.time())
                    return _fits(others, replace(kept, replies=tuple(replies)), kept)
            raise NotFound(f"no reply {reply!r} in thread {thread!r}")

        changed = await self._change(doc, thread, edit)
        if not same[-1]:  # the body it has already: not an edit
            self._announce(doc, "edited", thread, author)
        return await self._answer(doc, changed)

    async def delete(self, doc: str, thread: str, *, by: Identity, name: object = None) -> None:
        """Delete a thread (its author or an admin) and take its mark off the body."""
        await self._require(doc)
        kept = await self._thread(doc, thread)
        if by.role is not Role.ADMIN:
            _own(kept.author, by, "delete this thread")
        if await self._hub.store.delete_thread(doc, thread):
            await self._unmark(doc, thread, by)
            self._announce(doc, "deleted", thread, author_of(by, name))

    # -- parts ------------------------------------------------------------------------------

    async def _require(self, doc: str) -> None:
        hub = self._hub
        if doc not in hub.rooms and await hub.store.info(doc) is None:
            raise NotFound(f"no document {doc!r}")

    async def _thread(self, doc: str, thread: str) -> Thread:
        kept = await self._hub.store.thread(doc, thread)
        if kept is None:
            raise NotFound(f"no comment thread {thread!r} in {doc!r}")
        return kept

    async def _change(self, doc: str, thread: str, change: Callable[[Thread], Thread]) -> Thread:
        changed = await self._hub.store.change_thread(doc, thread, change)
        if changed is None:
            raise NotFound(f"no comment thread {thread!r} in {doc!r}")
        return changed

    async def _others(self, doc: str, thread: str) -> int:
        """The characters of the document's threads other than `thread`."""
        return _stored_text(t for t in await self._hub.store.threads(doc) if t.id != thread)

    async def _answer(self, doc: str, thread: Thread) -> dict[str, Any]:
        return thread_json(thread, await self._quotes(doc))

    async def _quotes(self, doc: str) -> dict[str, str]:
        """What each thread's mark covers now: read from the live room when it is small, else
        (like every whole-document job) from its parts, in the worker once they are large."""
        room = self._hub.rooms.get(doc)
        if room is not None and room.size < self._hub.offload.threshold:
            return quotes(room.document.content)
        parts = await self._hub.document_parts(doc)
        now: dict[str, str] = await self._hub.offload.run(
            sum(map(len, parts)), jobs.comment_quotes, parts
        )
        return now

    async def _open(self, doc: str) -> Room:
        while True:
            room = await self._hub.open_room(doc)
            if room.is_open:
                return room

    async def _offloaded(self, room: Room, job: Callable[..., T], *args: Any) -> T:
        parts = room.sync.parts()
        return await self._hub.offload.run(sum(map(len, parts)), job, parts, *args)

    def _apply(self, room: Room, update: bytes, by: Identity) -> None:
        try:
            applied = room.apply_update(update, origin=None, author=by)
        except LimitExceeded as exc:
            raise TooLarge(str(exc)) from None
        if not applied:  # the document was deleted (and begun again) while it was computed
            raise NotFound(f"the document {room.name!r} was deleted")

    async def _unmark(self, doc: str, thread: str, by: Identity) -> None:
        """Take a thread's mark off the body. A mark that cannot go (a body no editor could
        have written, or one at its size limit) stays, logged: it belongs to no thread, and
        readers ignore it."""
        room = await self._open(doc)
        try:
            if room.size < self._hub.offload.threshold:
                update = remove(room.document, thread)
            else:
                update = await self._offloaded(room, jobs.remove_comment, thread)
                room = await self._open(doc)
            if update is not None:
                room.apply_update(update, origin=None, author=by)
        except (UpdateRejected, LimitExceeded, OffloadFailed) as exc:
            log.warning("event=comment_mark_kept doc=%s thread=%s error=%s", doc, thread, exc)

    def _announce(self, doc: str, event: str, thread: str, author: Author) -> None:
        self._publish(
            doc,
            {
                "type": "comment",
                "event": event,
                "id": thread,
                "by": author.user,
                "name": author.name,
            },
        )


def _own(author: Author, by: Identity, what: str) -> None:
    if author.user != by.user:
        raise NotAllowed(f"only its author may {what}")


def _text_size(thread: Thread) -> int:
    return len(thread.body) + len(thread.quote) + sum(len(r.body) for r in thread.replies)


def _stored_text(threads: Iterable[Thread]) -> int:
    return sum(_text_size(thread) for thread in threads)


def _fits(others: int, thread: Thread, before: Thread | None = None) -> Thread:
    """`thread`, or TooLarge when the document's threads would pass MAX_COMMENT_TEXT with it
    (a change that does not grow a thread always fits: a shorter edit is never refused)."""
    size = _text_size(thread)
    if others + size > MAX_COMMENT_TEXT and (before is None or size > _text_size(before)):
        raise TooLarge(
            f"a document's comments hold at most {MAX_COMMENT_TEXT:,} characters together"
        )
    return thread
