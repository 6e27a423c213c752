"""Recording versions in a running hub (no network): bursts, attribution, content, restore."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.document import Document
from crdt.protocol import SyncUpdate, encode_sync_update, parse_message
from crdt.render import to_text
from server.app import add_events, add_history
from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import Identity
from server.core.persistence import compact
from server.history.archive import NoSuchVersion, rebuild_version
from server.history.recorder import HistoryRecorder
from server.stores.memory import MemoryStore
from tests.support.channels import RecordingChannel
from tests.support.waiting import eventually

ANA = Identity(user="ana", name="Ana", anonymous=False)
BEN = Identity(user="ben", name="Ben", anonymous=False)


class Editor:
    """A y-prosemirror-shaped peer: a pycrdt doc whose `content` fragment holds paragraphs."""

    def __init__(self, client_id: int) -> None:
        self.doc: Doc = Doc(client_id=client_id)
        self.body = self.doc.get("content", type=XmlFragment)

    def _change(self, edit: object) -> bytes:
        before = self.doc.get_state()
        with self.doc.transaction():
            assert callable(edit)
            edit()
        return bytes(self.doc.get_update(before))

    def append(self, text: str) -> bytes:
        return self._change(
            lambda: self.body.children.append(XmlElement("paragraph", {}, [XmlText(text)]))
        )

    def delete(self, index: int) -> bytes:
        def edit() -> None:
            del self.body.children[index]

        return self._change(edit)

    def receive(self, update: bytes) -> None:
        self.doc.apply_update(update)


def _frames(conn: Connection) -> list[bytes]:
    frames = list(conn.queued)
    conn.flush()
    return frames


@contextlib.asynccontextmanager
async def started(
    config: Config, store: MemoryStore | None = None
) -> AsyncIterator[tuple[Hub, HistoryRecorder]]:
    hub = Hub(config, store if store is not None else MemoryStore())
    recorder = add_history(hub, add_events(hub).publish)
    async with hub.running():
        yield hub, recorder


@pytest.fixture
async def slow() -> AsyncIterator[tuple[Hub, HistoryRecorder]]:
    """Versions close only on request (the idle gap is a minute)."""
    async with started(Config(version_idle_seconds=60, flush_interval=0.01)) as pair:
        yield pair


async def _join(hub: Hub, doc: str, identity: Identity) -> Connection:
    conn = Connection(RecordingChannel(), identity=identity)
    await hub.join(doc, conn)
    return conn


def _send(hub: Hub, doc: str, conn: Connection, update: bytes) -> None:
    hub.rooms[doc].receive(conn, encode_sync_update(update))


async def test_a_version_closes_when_editing_pauses_for_the_idle_gap() -> None:
    config = Config(version_idle_seconds=1.0, flush_interval=0.01)
    async with started(config) as (hub, _):
        ana = await _join(hub, "gap", ANA)
        editor = Editor(1)
        for n in range(6):  # a burst: pauses well under the gap
            _send(hub, "gap", ana, editor.append(f"line {n}"))
            await asyncio.sleep(0.05)
        assert await hub.store.list_versions("gap") == []
        versions = await eventually(
            lambda: hub.store.list_versions("gap"), what="the burst closes as one version"
        )
        assert [v.version for v in versions] == [1]
        assert versions[0].authors == ("ana",) and versions[0].names == {"ana": "Ana"}
        assert versions[0].added == sum(len(f"line {n}") for n in range(6))
        _send(hub, "gap", ana, editor.append("after the pause"))
        versions = await eventually(
            lambda: hub.store.list_versions("gap"), lambda vs: len(vs) == 2, what="second burst"
        )
        assert versions[1].added == len("after the pause") and versions[1].removed == 0


async def test_a_version_closes_on_request_with_its_label(slow) -> None:
    hub, recorder = slow
    ana = await _join(hub, "label", ANA)
    _send(hub, "label", ana, Editor(1).append("draft"))
    info = await recorder.close_version("label", label="First draft", force=True)
    assert info is not None and info.version == 1
    assert info.label == "First draft" and info.authors == ("ana",)
    assert await recorder.close_version("label") is None  # nothing new: no version
    again = await recorder.close_version("label", label="Same text, new name", force=True)
    assert again is not None and again.version == 2 and again.authors == ()
    assert (again.added, again.removed) == (0, 0)


async def test_two_users_are_both_attributed(slow) -> None:
    hub, recorder = slow
    ana, ben = await _join(hub, "pair", ANA), await _join(hub, "pair", BEN)
    ana_editor, ben_editor = Editor(1), Editor(2)
    _send(hub, "pair", ana, ana_editor.append("from Ana"))
    _send(hub, "pair", ben, ben_editor.append("from Ben"))
    first = await recorder.close_version("pair")
    assert first is not None and set(first.authors) == {"ana", "ben"}
    assert first.names == {"ana": "Ana", "ben": "Ben"}
    _send(hub, "pair", ben, ben_editor.append("Ben alone"))
    second = await recorder.close_version("pair")
    assert second is not None and second.authors == ("ben",)


async def test_updates_from_another_instance_are_not_attributed_here(slow) -> None:
    hub, recorder = slow
    room = await hub.open_room("remote")
    room.apply_update(Editor(9).append("elsewhere"), origin=None, remote=True)
    assert await recorder.close_version("remote") is None  # no burst: nothing to record


async def test_a_version_after_another_instances_holds_both_and_counts_only_its_change() -> None:
    """Two instances, one store, no fan-out between them (an update still in flight)."""
    store, config = MemoryStore(), Config(version_idle_seconds=60, flush_interval=0.01)
    async with started(config, store) as (a, on_a), started(config, store) as (b, on_b):
        ana, ben = await _join(a, "both", ANA), await _join(b, "both", BEN)
        ana_editor, ben_editor = Editor(1), Editor(2)
        _send(a, "both", ana, ana_editor.append("from Ana"))
        first = await on_a.close_version("both")
        assert first is not None and first.version == 1
        _send(b, "both", ben, ben_editor.append("from Ben"))  # b has not seen Ana's line
        second = await on_b.close_version("both")
        assert second is not None and (second.version, second.authors) == (2, ("ben",))
        assert (second.added, second.removed) == (len("from Ben"), 0)
        assert to_text((await rebuild_version(store, "both", 2)).content) == "from Ana\nfrom Ben"
        # Ana's line arrives on b: b's next version counts only what changed since version 2.
        b.rooms["both"].apply_update(ana_editor.doc.get_update(), origin=None, remote=True)
        _send(b, "both", ben, ben_editor.append("Ben again"))
        third = await on_b.close_version("both")
        assert third is not None and (third.added, third.removed) == (len("Ben again"), 0)
        assert to_text((await rebuild_version(store, "both", 3)).content) == to_text(
            b.rooms["both"].document.content
        )


async def test_each_version_rebuilds_to_what_the_clients_saw(tmp_path) -> None:
    config = Config(
        version_idle_seconds=60,
        version_checkpoint_every=3,
        flush_interval=0.01,
        compact_max_updates=4,
    )
    async with started(config) as (hub, recorder):
        ana, ben = await _join(hub, "seen", ANA), await _join(hub, "seen", BEN)
        editors = {ana: Editor(1), ben: Editor(2)}
        seen: list[str] = []
        for step in range(8):
            conn, other = (ana, ben) if step % 2 else (ben, ana)
            editor = editors[conn]
            updates = [editor.append(f"{conn.identity.user} {step}.{n}") for n in range(3)]
            if step in (3, 6):
                updates.append(editor.delete(0))
            for update in updates:
                _send(hub, "seen", conn, update)
                editors[other].receive(update)
            await hub.persister.flush()
            await compact(hub.store, "seen")  # folding the live log never touches history
            seen.append(to_text(hub.rooms["seen"].document.content))
            info = await recorder.close_version("seen")
            assert info is not None and info.version == step + 1
        for version, expected in enumerate(seen, start=1):
            rebuilt = await rebuild_version(hub.store, "seen", version)
            assert to_text(rebuilt.content) == expected, version
        assert (await hub.store.checkpoint("seen", 8)) is not None
        assert (await hub.store.checkpoint("seen", 8))[0] == 6  # type: ignore[index]
        with pytest.raises(NoSuchVersion):
            await rebuild_version(hub.store, "seen", 9)


async def test_unloading_a_room_closes_its_open_version() -> None:
    config = Config(version_idle_seconds=60, unload_delay=0.1, flush_interval=0.01)
    async with started(config) as (hub, _):
        ana = await _join(hub, "unload", ANA)
        _send(hub, "unload", ana, Editor(1).append("before leaving"))
        hub.leave(hub.rooms["unload"], ana)
        versions = await eventually(
            lambda: hub.store.list_versions("unload"), what="the version closes on unload"
        )
        assert versions[0].authors == ("ana",)
        assert "unload" not in hub.rooms


async def test_shutdown_closes_every_open_version() -> None:
    store = MemoryStore()
    hub = Hub(Config(version_idle_seconds=60, flush_interval=0.01), store)
    add_history(hub, add_events(hub).publish)
    async with hub.running():
        ana = await _join(hub, "bye", ANA)
        _send(hub, "bye", ana, Editor(1).append("typed just before shutdown"))
    versions = await store.list_versions("bye")
    assert [(v.version, v.authors) for v in versions] == [(1, ("ana",))]
    rebuilt = await rebuild_version(store, "bye", 1)
    assert to_text(rebuilt.content) == "typed just before shutdown"


async def test_restore_reaches_every_connection_and_is_recorded(slow) -> None:
    hub, recorder = slow
    ana, ben = await _join(hub, "back", ANA), await _join(hub, "back", BEN)
    ana_editor = Editor(1)
    _send(hub, "back", ana, ana_editor.append("the good version"))
    await recorder.close_version("back")
    _send(hub, "back", ana, ana_editor.delete(0))
    _send(hub, "back", ana, ana_editor.append("vandalised"))
    _frames(ana), _frames(ben)
    info = await recorder.restore("back", 1, BEN)
    assert info.version == 3 and info.restored_from == 1
    assert info.label == "Restored from version 1 by Ben" and info.authors == ("ben",)
    versions = await hub.store.list_versions("back")
    assert [v.authors for v in versions] == [("ana",), ("ana",), ("ben",)]
    assert to_text(hub.rooms["back"].document.content) == "the good version"
    for conn in (ana, ben):
        updates = [m.update for m in map(parse_message, _frames(conn)) if isinstance(m, SyncUpdate)]
        assert len(updates) == 1  # one change, sent to everyone
    ana_editor.receive(updates[0])
    assert to_text(hub.rooms["back"].document.content) == "the good version"
    assert str(ana_editor.body) == str(hub.rooms["back"].document.content)
    with pytest.raises(NoSuchVersion):
        await recorder.restore("back", 7, BEN)


async def test_restoring_an_unloaded_document_loads_it_and_persists_the_change() -> None:
    config = Config(version_idle_seconds=60, unload_delay=0.1, flush_interval=0.01)
    async with started(config) as (hub, recorder):
        ana = await _join(hub, "cold", ANA)
        editor = Editor(1)
        _send(hub, "cold", ana, editor.append("keep me"))
        await recorder.close_version("cold")
        _send(hub, "cold", ana, editor.delete(0))
        hub.leave(hub.rooms["cold"], ana)
        await eventually(lambda: _unloaded(hub, "cold"), what="the room unloads")
        info = await recorder.restore("cold", 1, BEN)
        assert info.version == 3 and to_text(hub.rooms["cold"].document.content) == "keep me"
        versions = await hub.store.list_versions("cold")  # 2: the deletion, closed on unload
        assert [(v.authors, v.added, v.removed) for v in versions] == [
            (("ana",), 7, 0),
            (("ana",), 0, 7),
            (("ben",), 7, 0),
        ]
        await hub.persister.flush()
        stored = await hub.store.load("cold")
        assert to_text(Document.load(stored.snapshot, stored.updates).content) == "keep me"


async def _unloaded(hub: Hub, doc: str) -> bool:
    return doc not in hub.rooms


class _CursedStore(MemoryStore):
    """Recording a version of document `cursed` fails the way a bug would (not a StoreError)."""

    async def append_version(self, doc: str, *args: Any, **kwargs: Any) -> bool:
        if doc == "cursed":
            raise RuntimeError("cannot record this one")
        return await super().append_version(doc, *args, **kwargs)


async def test_a_document_whose_versions_fail_holds_up_no_other_nor_the_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _CursedStore()
    config = Config(version_idle_seconds=0.05, flush_interval=0.01)
    async with asyncio.timeout(20), started(config, store) as (hub, _):
        ana, ben = await _join(hub, "cursed", ANA), await _join(hub, "fine", BEN)
        cursed, fine = Editor(1), Editor(2)
        _send(hub, "cursed", ana, cursed.append("never recorded"))
        for n in range(3):
            _send(hub, "fine", ben, fine.append(f"edit {n}"))
            await eventually(
                lambda: store.list_versions("fine"),
                lambda vs, n=n: len(vs) == n + 1,
                what=f"version {n + 1} of the other document",
            )
        _send(hub, "cursed", ana, cursed.append("still open at shutdown"))
    assert "event=version_failed doc=cursed" in caplog.text
    assert "event=service_crashed" not in caplog.text
    # Retried with a growing delay, not on every tick of the service.
    assert caplog.text.count("event=version_failed doc=cursed") <= 4
    assert [v.version for v in await store.list_versions("fine")] == [1, 2, 3]
