"""Naming the newest version (Store.name_version): what a named save right after an automatic
version does instead of recording an empty one. Every store: compare, then set."""

from __future__ import annotations

from crdt.document import Document
from server.stores import Store, VersionInfo


async def _version(store: Store, doc: str, number: int, label: str | None = None) -> VersionInfo:
    info = VersionInfo(
        version=number, at=1_700_000_000.5 + number, authors=("ana",), label=label,
        names={"ana": "Ana Ünïcode"},
    )  # fmt: skip
    empty = Document()
    state_vector = empty.state_vector()
    assert await store.append_version(doc, info, empty.diff(state_vector), state_vector)
    return info


async def test_the_newest_version_gets_a_name(store: Store) -> None:
    await _version(store, "doc", 1)
    second = await _version(store, "doc", 2)
    named = await store.name_version("doc", second, "Draft for Ben")
    assert named is not None and named.label == "Draft for Ben" and named.version == 2
    listed = await store.list_versions("doc")
    assert [v.label for v in listed] == [None, "Draft for Ben"]
    assert listed[1] == named and listed[1].names == {"ana": "Ana Ünïcode"}
    last = await store.last_version("doc")
    assert last is not None and last.info == named


async def test_only_the_newest_version_as_it_was_read(store: Store) -> None:
    assert await store.name_version("none", VersionInfo(version=1, at=0.0), "x") is None
    first = await _version(store, "doc", 1)
    await _version(store, "doc", 2)
    assert await store.name_version("doc", first, "late") is None  # no longer the newest
    newest = await store.list_versions("doc")
    assert await store.name_version("doc", newest[1], "one") is not None
    assert await store.name_version("doc", newest[1], "two") is None  # it changed since read
    assert [v.label for v in await store.list_versions("doc")] == [None, "one"]
