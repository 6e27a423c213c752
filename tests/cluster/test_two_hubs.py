"""Two `tandem serve` hubs on one real redis-server, with auth: what one hub does to a document
(delete it, record its versions) holds on the other too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import redis.asyncio as aioredis

from server.broker.fanout import CONFIRM_TIMEOUT
from server.redisconn import INDEX_KEY, doc_key
from tests.security.conftest import SECRET, token
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually, throughout
from tests.support.yjs import YjsClient

Connect = Callable[..., Awaitable[YjsClient]]
Hubs = Callable[..., Awaitable[list[TandemProcess]]]


@pytest.fixture
async def hubs(redis_url: str) -> AsyncIterator[Hubs]:
    """Start two hubs on the session's Redis, with `env` settings; stopped at the end."""
    started: list[TandemProcess] = []

    async def start(**env: str) -> list[TandemProcess]:
        pair = [
            TandemProcess(*("--port", "0", "--store", redis_url, "--auth-secret", SECRET), env=env)
            for _ in range(2)
        ]
        started.extend(pair)
        await asyncio.gather(*(hub.start() for hub in pair))
        return pair

    yield start
    for hub in started:
        assert await hub.stop() == 0, hub.output()


def bearer(user: str, role: str = "write") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, role=role)}"}


async def stored_keys(redis_url: str, doc: str) -> list[str]:
    """Every Redis key of `doc` (content, history), and its entry in the index."""
    async with aioredis.Redis.from_url(redis_url) as client:
        keys = [k.decode() for k in await client.keys(doc_key(doc, "*"))]
        if await client.sismember(INDEX_KEY, doc):  # type: ignore[misc]
            keys.append(f"{INDEX_KEY} {doc}")
    return sorted(keys)


async def test_a_document_deleted_on_one_hub_is_gone_from_both(
    hubs: Hubs, redis_url: str, yjs_clients: Connect
) -> None:
    # Versions close after 0.5 s of quiet: a hub that kept its burst would record one.
    one, two = await hubs(TANDEM_VERSION_IDLE_SECONDS="0.5")
    ana = await yjs_clients(one.ws_url, "doomed", params={"token": token("ana")})
    ben = await yjs_clients(two.ws_url, "doomed", params={"token": token("ben")})
    await ana.call("append", text="ana was here")
    await ben.call("append", text="ben was here")
    for client in (ana, ben):
        for text in ("ana was here", "ben was here"):
            await client.call("waitText", text=text)
    async with httpx.AsyncClient(timeout=10) as http:
        await eventually(
            lambda: http.get(f"{two.url}/api/docs/doomed/versions", headers=bearer("ben")),
            lambda r: len(r.json()) >= 2,
            what="versions recorded on both hubs",
        )
        # Unflushed edits on both hubs, and open bursts, as the admin deletes.
        await ana.call("append", text="ana, last words")
        await ben.call("append", text="ben, last words")
        deleted = await http.delete(f"{one.url}/api/docs/doomed", headers=bearer("boss", "admin"))
        assert deleted.status_code == 204

        for client in (ana, ben):
            status = await eventually(
                lambda c=client: c.call("status"), lambda s: s["closes"], what="editor closed"
            )
            assert status["closes"][0]["code"] == 4404
            assert not status["connected"]
        await eventually(
            lambda: stored_keys(redis_url, "doomed"), lambda keys: not keys, what="store empty"
        )
        # Nothing comes back: not a flush, not the unconfirmed-updates safety net, not a version.
        await throughout(
            lambda: stored_keys(redis_url, "doomed"),
            lambda keys: not keys,
            duration=CONFIRM_TIMEOUT + 1.5,
            what="the store stays empty",
        )
        for hub in (one, two):
            response = await http.get(f"{hub.url}/api/docs/doomed", headers=bearer("boss"))
            assert response.status_code == 404, f"{hub.url} still has it"
    assert "event=document_deleted_elsewhere doc=doomed" in two.output()
