"""History behaviour every Store must have (server/stores/base.py): versions apart from the log."""

from __future__ import annotations

import asyncio

from pycrdt import XmlElement, XmlText

from crdt.document import Document
from crdt.render import to_text
from server.core.persistence import compact
from server.history.archive import rebuild_version
from server.stores import Store, VersionInfo


def _versions(n: int) -> list[tuple[VersionInfo, bytes, bytes, str]]:
    """n versions of a document that gains a paragraph each time (and loses one every third)."""
    doc = Document()
    state_vector = doc.state_vector()
    out = []
    for v in range(1, n + 1):
        doc.content.children.append(XmlElement("paragraph", {}, [XmlText(f"paragraph {v}")]))
        if v % 3 == 0:
            del doc.content.children[0]
        diff = doc.diff(state_vector)
        state_vector = doc.state_vector()
        info = VersionInfo(
            version=v,
            at=1_700_000_000.0 + v,
            authors=("ana", "ben") if v % 2 else ("ana",),
            label=f"v{v}" if v % 4 == 0 else None,
            added=len(f"paragraph {v}"),
            removed=0,
            restored_from=1 if v == 5 else None,
            names={"ana": "Ana", "ben": "Ben Ünïcode"} if v % 2 else {"ana": "Ana"},
        )
        out.append((info, diff, state_vector, to_text(doc.content)))
    return out


async def _record(store: Store, doc: str, versions, every: int = 0) -> None:
    for info, diff, state_vector, _ in versions:
        checkpoint = None
        if every and info.version % every == 0:
            checkpoint = (await rebuild_version(store, doc, info.version - 1)).encode()
            checkpoint = Document.load(checkpoint, [diff]).encode()
        assert await store.append_version(doc, info, diff, state_vector, checkpoint)


async def test_a_document_without_history(store: Store) -> None:
    assert await store.list_versions("none") == []
    assert await store.last_version("none") is None
    assert await store.version_diffs("none", 1, 10) == []
    assert await store.checkpoint("none", 10) is None


async def test_versions_come_back_in_order_with_their_metadata(store: Store) -> None:
    versions = _versions(6)
    await _record(store, "doc", versions)
    listed = await store.list_versions("doc")
    assert listed == [info for info, _, _, _ in versions]
    last = await store.last_version("doc")
    assert last is not None and last.info == versions[-1][0]
    assert last.state_vector == versions[-1][2]
    assert await store.version_diffs("doc", 2, 4) == [d for _, d, _, _ in versions[1:4]]
    assert await store.list_versions("other") == []


async def test_a_version_number_that_does_not_follow_is_refused(store: Store) -> None:
    versions = _versions(3)
    await _record(store, "doc", versions[:1])
    info, diff, sv, _ = versions[2]
    assert not await store.append_version("doc", info, diff, sv)  # skips 2
    assert not await store.append_version("doc", *versions[0][:3])  # 1 is taken
    assert [v.version for v in await store.list_versions("doc")] == [1]


async def test_concurrent_claims_of_one_number_let_exactly_one_win(store: Store) -> None:
    info, diff, sv, _ = _versions(1)[0]
    results = await asyncio.gather(
        *(store.append_version("race", info, diff, sv) for _ in range(8))
    )
    assert results.count(True) == 1
    assert len(await store.list_versions("race")) == 1


async def test_every_version_rebuilds_from_diffs_and_checkpoints(store: Store) -> None:
    versions = _versions(12)
    await _record(store, "doc", versions, every=5)
    assert (await store.checkpoint("doc", 4)) is None
    found = await store.checkpoint("doc", 12)
    assert found is not None and found[0] == 10
    assert (await store.checkpoint("doc", 9))[0] == 5  # type: ignore[index]
    for info, _, _, text in versions:
        rebuilt = await rebuild_version(store, "doc", info.version)
        assert to_text(rebuilt.content) == text


async def test_compacting_the_live_log_keeps_history(store: Store) -> None:
    versions = _versions(4)
    live = Document.load(None, [d for _, d, _, _ in versions])
    await store.append({"doc": [d for _, d, _, _ in versions]})
    await _record(store, "doc", versions)
    assert await compact(store, "doc")
    assert (await store.load("doc")).updates == []
    assert await store.list_versions("doc") == [info for info, _, _, _ in versions]
    assert to_text((await rebuild_version(store, "doc", 2)).content) == versions[1][3]
    assert to_text(live.content) == versions[-1][3]


async def test_delete_removes_history_too(store: Store) -> None:
    await store.append({"gone": [_versions(1)[0][1]]})
    await _record(store, "gone", _versions(5), every=5)
    assert await store.delete("gone")
    assert await store.list_versions("gone") == []
    assert await store.last_version("gone") is None
    assert await store.checkpoint("gone", 5) is None
