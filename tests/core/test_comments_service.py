"""The comment threads service in process (server/core/comments.py): creating a thread is one
update relayed to a connected editor, every change is published with who made it, the limits
on threads and replies, and a thread the store cannot keep leaves no mark in the body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from crdt.comments import quotes
from crdt.protocol import SyncUpdate, parse_message
from server.config import Config
from server.core import comments as service
from server.core.comments import Comments, NotAllowed
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import Identity, Role
from server.errors import BadRequest, NotFound, StoreError, TooLarge
from server.stores.memory import MemoryStore
from server.stores.threads import Thread
from tests.support.channels import RecordingChannel

ANA = Identity(user="ana", name="Ana", role=Role.WRITE, anonymous=False)
BEN = Identity(user="ben", name="Ben", role=Role.COMMENT, anonymous=False)


class _Published(list[tuple[str, dict[str, Any]]]):
    def __call__(self, doc: str, payload: Mapping[str, Any]) -> None:
        self.append((doc, dict(payload)))


class _FailingStore(MemoryStore):
    async def add_thread(self, doc: str, thread: Thread) -> None:
        raise StoreError("the disk is full")


async def test_threads_in_process() -> None:
    hub = Hub(Config(flush_interval=0.01), MemoryStore())
    published = _Published()
    comments = Comments(hub, published)
    async with hub.running():
        await hub.documents.replace("notes", text="Ship it on Friday.", by=ANA)
        editor = Connection(RecordingChannel(), identity=Identity(user="ed", name="Ed"))
        await hub.join("notes", editor)
        editor.flush()
        before = len(editor.queued)
        thread = await comments.create(
            "notes", by=BEN, body="Which Friday?", anchor={"quote": "Friday"}
        )
        relayed = [type(parse_message(f)) for f in editor.queued[before:]]
        assert relayed == [SyncUpdate]  # one change
        assert quotes(hub.rooms["notes"].document.content) == {thread["id"]: "Friday"}
        await comments.reply("notes", thread["id"], by=ANA, body="The 12th.")
        await comments.change("notes", thread["id"], by=BEN, resolved=True)
        with pytest.raises(NotAllowed):
            await comments.change("notes", thread["id"], by=ANA, body="Hijacked")
        with pytest.raises(NotAllowed):
            await comments.delete(
                "notes", thread["id"], by=Identity("cy", "Cy", Role.COMMENT, False)
            )
        await comments.delete("notes", thread["id"], by=BEN)
        assert quotes(hub.rooms["notes"].document.content) == {}
        assert [(doc, p["event"], p["by"], p["name"]) for doc, p in published] == [
            ("notes", "created", "ben", "Ben"),
            ("notes", "replied", "ana", "Ana"),
            ("notes", "resolved", "ben", "Ben"),
            ("notes", "deleted", "ben", "Ben"),
        ]
        assert all(p["type"] == "comment" and p["id"] == thread["id"] for _, p in published)
        with pytest.raises(NotFound):
            await comments.list("absent")
        with pytest.raises(BadRequest):
            await comments.create("notes", by=BEN, body="x", anchor={"quote": "Monday"})


async def test_threads_and_replies_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_THREADS", 2)
    monkeypatch.setattr(service, "MAX_REPLIES", 1)
    hub = Hub(Config(flush_interval=0.01), MemoryStore())
    comments = Comments(hub, _Published())
    async with hub.running():
        await hub.documents.replace("notes", text="a b c", by=ANA)
        first = await comments.create("notes", by=BEN, body="1", anchor={"quote": "a"})
        await comments.create("notes", by=BEN, body="2", anchor={"quote": "b"})
        with pytest.raises(TooLarge):
            await comments.create("notes", by=BEN, body="3", anchor={"quote": "c"})
        await comments.reply("notes", first["id"], by=ANA, body="r")
        with pytest.raises(TooLarge):
            await comments.reply("notes", first["id"], by=ANA, body="r2")
        assert len((await comments.get("notes", first["id"]))["replies"]) == 1


async def test_a_thread_the_store_refuses_leaves_no_mark() -> None:
    hub = Hub(Config(flush_interval=0.01), _FailingStore())
    comments = Comments(hub, _Published())
    async with hub.running():
        await hub.documents.replace("notes", text="Ship it.", by=ANA)
        with pytest.raises(StoreError):
            await comments.create("notes", by=BEN, body="?", anchor={"quote": "Ship"})
        assert quotes(hub.rooms["notes"].document.content) == {}


async def test_the_text_of_a_documents_threads_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 threads of 500 replies of 10,000 characters would be 5 GB a commenter could make
    every reader of the document load: their text together is bounded (413)."""
    monkeypatch.setattr(service, "MAX_COMMENT_TEXT", 3_000)
    hub = Hub(Config(flush_interval=0.01), MemoryStore())
    comments = Comments(hub, _Published())
    async with hub.running():
        await hub.documents.replace("notes", text="a b c", by=ANA)
        first = await comments.create("notes", by=BEN, body="x" * 1_000, anchor={"quote": "a"})
        await comments.reply("notes", first["id"], by=ANA, body="é" * 400)
        with pytest.raises(TooLarge):
            await comments.reply("notes", first["id"], by=ANA, body="y" * 1_600)
        with pytest.raises(TooLarge):
            await comments.create("notes", by=BEN, body="z" * 1_600, anchor={"quote": "b"})
        with pytest.raises(TooLarge):
            await comments.change("notes", first["id"], by=BEN, body="w" * 2_700)
        assert quotes(hub.rooms["notes"].document.content) == {first["id"]: "a"}
        # What fits still goes in, and a shorter edit always does
        await comments.reply("notes", first["id"], by=BEN, body="ok")
        await comments.change("notes", first["id"], by=BEN, body="short now")
        await comments.create("notes", by=BEN, body="y" * 1_000, anchor={"quote": "c"})
        assert len(await comments.list("notes")) == 2


class _DeletedMeanwhile(MemoryStore):
    """The document is deleted while its new thread is being written."""

    hub: Hub

    async def add_thread(self, doc: str, thread: Thread) -> None:
        await self.hub.delete(doc)
        await super().add_thread(doc, thread)


async def test_a_thread_whose_document_was_deleted_meanwhile_is_not_kept() -> None:
    store = _DeletedMeanwhile()
    hub = Hub(Config(flush_interval=0.01), store)
    store.hub = hub
    comments = Comments(hub, _Published())
    async with hub.running():
        await hub.documents.replace("notes", text="Ship it.", by=ANA)
        with pytest.raises(NotFound):
            await comments.create("notes", by=BEN, body="?", anchor={"quote": "Ship"})
        assert await store.threads("notes") == []
        # A new document of that name does not inherit the thread
        await hub.documents.replace("notes", text="Ship it.", by=ANA)
        assert await comments.list("notes") == []


async def test_a_change_that_changes_nothing_tells_nobody() -> None:
    """Resolving a resolved thread, or setting a body to what it is, is no event (a commenter
    repeating it in a loop would flood every subscriber and webhook, pushing real events out
    of the webhooks' bounded queues)."""
    hub = Hub(Config(flush_interval=0.01), MemoryStore())
    published = _Published()
    comments = Comments(hub, published)
    async with hub.running():
        await hub.documents.replace("notes", text="a b c", by=ANA)
        thread = await comments.create("notes", by=BEN, body="Why?", anchor={"quote": "a"})
        replied = await comments.reply("notes", thread["id"], by=BEN, body="Oh.")
        (reply,) = replied["replies"]
        for _ in range(3):
            resolved = await comments.change("notes", thread["id"], by=ANA, resolved=True)
            same = await comments.change("notes", thread["id"], by=BEN, body=" Why? ")
            again = await comments.change(
                "notes", thread["id"], by=BEN, body="Oh.", reply=reply["id"]
            )
        assert resolved["resolved"] is True
        assert same["edited"] is None and again["replies"][0]["edited"] is None
        await comments.change("notes", thread["id"], by=ANA, resolved=False)
        assert [p["event"] for _, p in published] == ["created", "replied", "resolved", "reopened"]
