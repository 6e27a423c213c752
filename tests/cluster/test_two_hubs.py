"""Two `tandem serve` hubs on one real redis-server, with auth: what one hub does to a document
(delete it, record its versions) holds on the other too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.protocol import AwarenessMessage, encode_awareness, parse_message
from server.cluster.fanout import CONFIRM_TIMEOUT
from server.ops.redisconn import INDEX_KEY, doc_key
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
        # Only its tombstone is left (a copy held somewhere must not bring it back).
        tombstone = ["tandem:{doomed}:deleted"]
        await eventually(
            lambda: stored_keys(redis_url, "doomed"),
            lambda keys: keys == tombstone,
            what="store empty but for the tombstone",
        )
        # Nothing comes back: not a flush, not the unconfirmed-updates safety net, not a version.
        await throughout(
            lambda: stored_keys(redis_url, "doomed"),
            lambda keys: keys == tombstone,
            duration=CONFIRM_TIMEOUT + 1.5,
            what="the store stays empty",
        )
        for hub in (one, two):
            response = await http.get(f"{hub.url}/api/docs/doomed", headers=bearer("boss"))
            assert response.status_code == 404, f"{hub.url} still has it"
    # The tombstone is in the shared store: a join on the other hub is refused as well.
    late = await yjs_clients(two.ws_url, "doomed", params={"token": token("cy")}, waitSync=False)
    status = await eventually(lambda: late.call("status"), lambda s: s["closes"], what="refused")
    assert status["closes"][0] == {"code": 4404, "reason": "document deleted"}
    assert await stored_keys(redis_url, "doomed") == ["tandem:{doomed}:deleted"]
    assert "event=document_deleted_elsewhere doc=doomed" in two.output()


class Recording:
    """Users typing on two hubs, and who typed on each hub since that hub's last version."""

    def __init__(self, http: httpx.AsyncClient, hubs: list[TandemProcess]) -> None:
        self.http = http
        self.hubs = hubs
        self.lines: list[str] = []
        self.typed_on: list[list[str]] = [[] for _ in hubs]
        self.since: list[set[str]] = [set() for _ in hubs]
        self.recorded: dict[int, tuple[int, set[str], list[str]]] = {}  # version: hub, who, lines

    async def type(self, hub: int, user: str, client: YjsClient, line: str) -> None:
        """Append a line, and wait until its hub has applied it (so a version now has it)."""
        await client.call("append", text=line)
        await eventually(
            lambda: self.text(hub), lambda text: line in text.splitlines(), what=f"{line} on {hub}"
        )
        self.lines.append(line)
        self.typed_on[hub].append(line)
        self.since[hub].add(user)

    async def text(self, hub: int) -> str:
        url = f"{self.hubs[hub].url}/api/docs/shared?format=text"
        return (await self.http.get(url, headers=bearer("reader"))).text

    async def version(self, hub: int) -> None:
        authors, self.since[hub] = self.since[hub], set()
        lines = list(self.typed_on[hub])  # what the hub surely had (the rest may be on its way)
        response = await self.http.post(
            f"{self.hubs[hub].url}/api/docs/shared/versions", json={}, headers=bearer("ana")
        )
        assert response.status_code == 201, response.text
        number = response.json()["version"]
        assert number not in self.recorded, f"version {number} recorded twice"
        self.recorded[number] = (hub, authors, lines)


async def test_versions_recorded_on_two_hubs_number_attribute_and_rebuild_right(
    hubs: Hubs, yjs_clients: Connect
) -> None:
    hub_list = await hubs()  # versions close on request only (the idle gap is 30 s)
    people = [("ana", 0), ("cleo", 0), ("ben", 1)]
    clients = {
        user: await yjs_clients(
            hub_list[hub].ws_url, "shared", params={"token": token(user, name=user.title())}
        )
        for user, hub in people
    }
    async with httpx.AsyncClient(timeout=10) as http:
        rec = Recording(http, hub_list)
        await rec.type(0, "ana", clients["ana"], "ana 0")
        await rec.version(0)
        await rec.type(1, "ben", clients["ben"], "ben 0")
        await rec.version(1)
        await rec.version(1)  # nothing new on hub 1: a version with no authors
        for n in range(1, 6):
            await asyncio.gather(
                rec.type(0, "ana", clients["ana"], f"ana {n}"),
                rec.type(1, "ben", clients["ben"], f"ben {n}"),
            )
            if n % 2:
                await rec.type(0, "cleo", clients["cleo"], f"cleo {n}")
            await asyncio.gather(rec.version(0), rec.version(1))  # racing for the next number
        # Everyone converged; the last version, on hub 1, holds it all.
        for client in clients.values():
            for line in rec.lines:
                await client.call("waitText", text=line)
        await eventually(
            lambda: rec.text(1), lambda t: set(t.splitlines()) >= set(rec.lines), what="hub 1"
        )
        await rec.version(1)

        last = max(rec.recorded)
        assert sorted(rec.recorded) == list(range(1, last + 1)), "no holes"
        for hub in hub_list:
            listed = await http.get(f"{hub.url}/api/docs/shared/versions", headers=bearer("x"))
            versions = listed.json()
            assert [v["version"] for v in versions] == list(range(1, last + 1)), hub.url
            for v in versions:
                recorded_on, authors, _ = rec.recorded[v["version"]]
                assert set(v["authors"]) == authors, (v, recorded_on)
                assert v["names"] == {user: user.title() for user in authors}
        before: set[str] = set()
        for number, (hub, _, lines) in sorted(rec.recorded.items()):
            url = f"{hub_list[hub].url}/api/docs/shared/versions/{number}?format=text"
            text = set((await http.get(url, headers=bearer("x"))).text.splitlines())
            missing = (set(lines) | before) - text  # nothing was deleted: versions only grow
            assert not missing, f"version {number} (hub {hub}) lacks {missing}"
            before = text
        # What each version says it added and removed is what its content changed.
        for v in versions:
            url = (
                f"{hub_list[0].url}/api/docs/shared/diff?from={v['version'] - 1}&to={v['version']}"
            )
            change = (await http.get(url, headers=bearer("x"))).json()
            assert (v["added"], v["removed"]) == (change["added"], change["removed"]), v
        live = [
            (await http.get(f"{h.url}/api/docs/shared?format=json", headers=bearer("x"))).json()
            for h in hub_list
        ]
        at_last = await http.get(
            f"{hub_list[0].url}/api/docs/shared/versions/{last}?format=json", headers=bearer("x")
        )
        assert live[0] == live[1] == at_last.json()


class PresenceWatcher:
    """A raw read-only socket that records every awareness entry its hub sends it."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.seen: list[AwarenessEntry] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            message = parse_message(frame)  # type: ignore[arg-type]
            if isinstance(message, AwarenessMessage):
                self.seen += decode_awareness_update(message.update)

    def of(self, client_id: int) -> list[tuple[int, str | None]]:
        return [
            (e.clock, None if e.state is None else json.loads(e.state)["user"]["name"])
            for e in self.seen
            if e.client_id == client_id
        ]

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


async def test_a_reader_on_one_hub_cannot_take_over_presence_of_a_client_on_the_other(
    hubs: Hubs, yjs_clients: Connect
) -> None:
    one, two = await hubs()
    ana = await yjs_clients(
        one.ws_url,
        "shared",
        params={"token": token("ana", name="Ana")},
        clientId=4242,
        awareness={"user": {"name": "Ana"}},
    )
    watchers = [
        PresenceWatcher(
            await websockets.connect(f"{hub.ws_url}/shared?token={token('w', role='read')}")
        )
        for hub in (one, two)
    ]
    try:
        for watcher in watchers:
            await eventually(
                lambda w=watcher: _return(w.of(4242)), what="Ana's presence on both hubs"
            )
        eve_url = f"{two.ws_url}/shared?token={token('eve', name='Eve', role='read')}"
        async with websockets.connect(eve_url) as eve:
            for entry in (
                AwarenessEntry(4242, 1000, '{"user":{"name":"Eve"}}'),  # Ana's id, a newer clock
                AwarenessEntry(4242, 1001, None),  # ... then Ana gone
                AwarenessEntry(5151, 1, '{"user":{"name":"Eve"}}'),  # Eve's own: a barrier
            ):
                await eve.send(encode_awareness(encode_awareness_update([entry])))
            # Eve's own presence went through both hubs, so did everything she sent before it.
            for watcher in watchers:
                await eventually(lambda w=watcher: _return(w.of(5151)), what="Eve's own presence")
            # Ana's next change: her own client was never told she is Eve, or gone.
            await ana.call("setAwareness", state={"user": {"name": "Ana"}, "cursor": 7})
            for watcher in watchers:
                await eventually(
                    lambda w=watcher: _return(len(w.of(4242)) >= 2), what="Ana's next change"
                )
        for watcher in watchers:
            assert all(name == "Ana" and clock < 1000 for clock, name in watcher.of(4242)), (
                watcher.of(4242)
            )
    finally:
        for watcher in watchers:
            await watcher.close()
    assert "Traceback" not in one.output() + two.output()


async def _return(value: object) -> object:
    return value
