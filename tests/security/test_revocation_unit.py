"""Revocations without a network: which credentials a revocation refuses, which sockets it
closes, how long tokens may live, and what the bus may say."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator

import jwt
import pytest

from server.core.connection import Connection
from server.core.identity import ANONYMOUS, Identity
from server.ops.metrics import Metrics
from server.pubsub.channel import Channel
from server.pubsub.memory import MemoryBroker, MemoryBus
from server.security.auth import Authenticator, Unauthenticated, decode_token, mint_token
from server.security.revocations import CHANNEL, Revocations
from server.stores import Revocation
from server.stores.memory import MemoryStore
from tests.security.conftest import SECRET
from tests.support.channels import RecordingChannel
from tests.support.waiting import eventually, now

DAY = 86400.0


def revocations(store: MemoryStore | None = None, bus: MemoryBus | None = None) -> Revocations:
    return Revocations(
        store or MemoryStore(), Channel(MemoryBroker(bus), CHANNEL), Metrics(), keep=DAY
    )


@contextlib.asynccontextmanager
async def running(*services: Revocations | Channel) -> AsyncIterator[None]:
    """Run revocation tables (and raw channels) on their bus while the block runs."""
    tasks = [
        asyncio.create_task(
            s.run(lambda data: None, lambda: None) if isinstance(s, Channel) else s.run()
        )
        for s in services
    ]
    brokers = [s.broker if isinstance(s, Channel) else s.bus.broker for s in services]
    try:
        await eventually(
            now(lambda: all(b.is_subscribed(CHANNEL) for b in brokers)), what="subscribed"
        )
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def person(user: str, issued_at: float | None) -> Identity:
    return Identity(user=user, name=user, anonymous=False, issued_at=issued_at)


def connection(identity: Identity) -> tuple[Connection, RecordingChannel]:
    channel = RecordingChannel()
    return Connection(channel, identity=identity, spawn=asyncio.create_task), channel


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_revocation_refuses_what_was_issued_before_it_and_only_that() -> None:
    table = revocations()
    before = time.time()
    revoked = await table.revoke("ana")
    assert revoked.before == math.floor(revoked.before * 1000) / 1000  # its millisecond
    assert before - 0.001 <= revoked.before <= time.time()
    assert revoked.until == pytest.approx(revoked.before + DAY)
    assert table.refuses(person("ana", before - 60))
    assert table.refuses(person("ana", None))  # no issue time: cannot prove it is newer
    assert not table.refuses(person("ana", revoked.before))  # that millisecond or later
    assert not table.refuses(person("ben", before - 60))
    assert not table.refuses(ANONYMOUS)


async def test_a_token_minted_just_after_a_revocation_works_in_the_same_second() -> None:
    store = MemoryStore()
    second = float(int(time.time()) - 10)  # a revocation half-way through that second
    await store.revoke(Revocation("ana", before=second + 0.5, until=second + DAY))
    table = revocations(store)
    await table.load()
    auth = Authenticator(secret=SECRET, max_token_ttl=DAY, revocations=table)

    def minted(iat: float) -> str:
        claims = {"sub": "ana", "docs": ["*"], "role": "write", "iat": iat, "exp": second + 3600}
        return jwt.encode(claims, SECRET)

    assert (
        await auth.identify(mint_token(SECRET, user="ana", docs=["*"], now=second + 0.501), None)
    ).user == "ana"
    for refused in (
        mint_token(SECRET, user="ana", docs=["*"], now=second - 5),
        minted(second + 0.499),
    ):
        with pytest.raises(Unauthenticated, match="token revoked"):
            await auth.identify(refused, None)
    # A JWT library writing whole seconds: minted in the revocation's second, it may predate
    # it, so it is refused; one a second later works.
    with pytest.raises(Unauthenticated, match="token revoked"):
        await auth.identify(minted(second), None)
    assert (await auth.identify(minted(second + 1), None)).user == "ana"


async def test_revoking_closes_the_users_sockets_and_watching_a_revoked_one_closes_it() -> None:
    table = revocations()
    issued = time.time() - 10
    ana, ana_channel = connection(person("ana", issued))
    ben, ben_channel = connection(person("ben", issued))
    guest, guest_channel = connection(ANONYMOUS)
    for conn in (ana, ben, guest):
        table.watch(conn)
    await table.revoke("ana")
    await settle()
    assert ana_channel.closed == (4401, "token revoked")
    assert ben_channel.closed is None and guest_channel.closed is None
    # A socket set up with a token the revocation caught is closed as soon as it is watched;
    # one with a token issued afterwards stays.
    late, late_channel = connection(person("ana", issued))
    newer, newer_channel = connection(person("ana", time.time() + 1))
    table.watch(late)
    table.watch(newer)
    await settle()
    assert late_channel.closed == (4401, "token revoked") and newer_channel.closed is None
    for conn in (ana, ben, guest, late, newer):
        table.unwatch(conn)
    assert not table._watched  # nothing kept for sockets that are gone


async def test_another_hub_takes_a_revocation_from_the_bus_or_from_the_store() -> None:
    store, bus = MemoryStore(), MemoryBus()
    here, there = revocations(store, bus), revocations(store, bus)
    there_conn, channel = connection(person("ana", time.time() - 10))
    there.watch(there_conn)
    async with running(here, there):
        revoked = await here.revoke("ana")
        await eventually(now(lambda: channel.closed), what="the other hub closes ana's socket")
    assert channel.closed == (4401, "token revoked")
    later = revocations(store)  # a hub started afterwards (or whose bus was down) loads it
    assert later.problem() is not None
    await later.load()
    assert later.problem() is None and later.refuses(person("ana", revoked.before - 1))


FAR = 4_000_000_000.0  # in force, were it taken
MALFORMED: list[object] = [
    {"op": "grant", "user": "ana", "before": 1.0, "until": FAR},
    {"op": "revoke", "user": "", "before": 1.0, "until": FAR},
    {"op": "revoke", "user": "x" * 129, "before": 1.0, "until": FAR},
    {"op": "revoke", "user": ["ana"], "before": 1.0, "until": FAR},
    {"op": "revoke", "user": "ana", "before": "1", "until": FAR},
    {"op": "revoke", "user": "ana", "before": True, "until": FAR},
    {"op": "revoke", "user": "ana"},
    ["revoke", "ana"],
]


@pytest.mark.parametrize("data", [*(json.dumps(m).encode() for m in MALFORMED), b"not JSON"])
async def test_malformed_bus_messages_change_nothing(data: bytes) -> None:
    bus = MemoryBus()
    table, hostile = revocations(bus=bus), Channel(MemoryBroker(bus), CHANNEL)
    ben = {"op": "revoke", "user": "ben", "before": time.time(), "until": time.time() + DAY}
    async with running(table, hostile):
        hostile.publish(data)
        hostile.publish(json.dumps(ben).encode())  # in order: once it counts, so did `data`
        await eventually(now(lambda: table.refuses(person("ben", 0.0))), what="ben's revocation")
    assert not table.refuses(person("ana", 0.0))


async def test_a_lapsed_revocation_refuses_nothing() -> None:
    store = MemoryStore()
    await store.revoke(Revocation("ana", before=time.time(), until=time.time() + 0.05))
    table = revocations(store)
    await table.load()
    assert table.refuses(person("ana", 0.0))
    await asyncio.sleep(0.1)
    assert not table.refuses(person("ana", 0.0))


def test_tokens_may_not_outlive_the_time_revocations_are_kept() -> None:
    now = time.time()
    short = mint_token(SECRET, user="ana", docs=["*"], ttl=DAY)
    assert decode_token(SECRET, short, max_ttl=DAY).issued_at == pytest.approx(now, abs=1)
    long = mint_token(SECRET, user="ana", docs=["*"], ttl=DAY + 60)
    with pytest.raises(Unauthenticated, match="longer than the 86400 s allowed"):
        decode_token(SECRET, long, max_ttl=DAY)
    # Without iat, what counts is how long from now.
    base = {"sub": "ana", "docs": ["*"], "role": "write"}
    no_iat = jwt.encode({**base, "exp": int(now + 3600)}, SECRET)
    assert decode_token(SECRET, no_iat, max_ttl=DAY).issued_at is None
    far = jwt.encode({**base, "exp": int(now + 2 * DAY)}, SECRET)
    with pytest.raises(Unauthenticated, match="longer than"):
        decode_token(SECRET, far, max_ttl=DAY)
    odd = jwt.encode({**base, "exp": int(now + 60), "iat": True}, SECRET)
    with pytest.raises(Unauthenticated, match="iat must be a number"):
        decode_token(SECRET, odd, max_ttl=DAY)
