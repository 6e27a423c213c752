"""Revocations in every Store (server/stores/base.py): per user, the later times win, kept
until `until`."""

from __future__ import annotations

from server.stores import Revocation, Store


async def test_no_revocations_at_first(store: Store) -> None:
    assert await store.revocations(0.0) == []


async def test_a_revocation_is_kept_and_listed(store: Store) -> None:
    ana = Revocation("ana", before=1_700_000_000.123, until=1_702_592_000.123)
    assert await store.revoke(ana) == ana
    await store.revoke(Revocation("ben@example.org", before=5.5, until=1_800_000_000.0))
    assert await store.revocations(1_700_000_001.0) == [
        ana,
        Revocation("ben@example.org", 5.5, 1_800_000_000.0),
    ]


async def test_a_later_revocation_moves_the_times_forward_an_earlier_one_does_not(
    store: Store,
) -> None:
    await store.revoke(Revocation("ana", before=100.25, until=1000.0))
    later = await store.revoke(Revocation("ana", before=200.5, until=2000.0))
    assert later == Revocation("ana", 200.5, 2000.0)
    earlier = await store.revoke(Revocation("ana", before=50.0, until=500.0))
    assert earlier == later  # what is in force, after merging
    assert await store.revocations(0.0) == [later]


async def test_lapsed_revocations_are_dropped(store: Store) -> None:
    await store.revoke(Revocation("old", before=1.0, until=10.0))
    await store.revoke(Revocation("new", before=1.0, until=30.0))
    assert [r.user for r in await store.revocations(20.0)] == ["new"]
    assert [r.user for r in await store.revocations(5.0)] == ["new"]  # gone for good


async def test_odd_user_ids_round_trip(store: Store) -> None:
    users = ["auth0|5f3c", "Ana Lima", "ünïcode", "a:b:{c}", "x" * 128]
    for user in users:
        await store.revoke(Revocation(user, before=1.5, until=99.0))
    assert sorted(r.user for r in await store.revocations(2.0)) == sorted(users)


async def test_revocations_outlive_deleting_documents(store: Store) -> None:
    await store.revoke(Revocation("ana", before=1.0, until=99.0))
    await store.append({"ana": [b"\x00\x00"]})
    await store.delete("ana")
    assert [r.user for r in await store.revocations(2.0)] == ["ana"]
