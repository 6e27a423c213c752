"""Hostile request input against a live server: every one gets a 4xx, nothing is stored, and the
history page, the webhooks and the rest of the hub carry on."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import websockets

from server.stores.base import VersionInfo
from server.stores.sqlite import SQLiteStore
from tests.security.conftest import SECRET, closed_with, serving, token
from tests.support.http_receiver import HttpReceiver
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

HUGE = 2**63  # past SQLite's INTEGER: OverflowError before anything is looked up
# A JSON body nested past the parser's recursion limit.
NESTED = b'{"label":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _alive(server: TandemProcess) -> None:
    assert server.proc is not None and server.proc.returncode is None, "the server died"
    assert "Traceback" not in server.output(), server.output()[-3000:]


@contextlib.asynccontextmanager
async def _with_a_version(
    tmp_path: Path, *args: str
) -> AsyncIterator[tuple[TandemProcess, httpx.AsyncClient]]:
    """A hub with auth (and `args`) holding document `doc` with version 1 ("first"), and an
    HTTP client with a write token for it."""
    async with (
        serving(tmp_path, "--auth-secret", SECRET, *args) as server,
        httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token()}"}
        ) as http,
    ):
        async with websockets.connect(f"{server.ws_url}/doc?token={token()}") as ws:
            await ws.recv()
        first = await http.post("/api/docs/doc/versions", json={"label": "first"})
        assert first.status_code == 201, first.text
        yield server, http


async def test_version_numbers_past_64_bits_are_4xx(tmp_path: Path) -> None:
    async with _with_a_version(tmp_path) as (server, http):
        for path in (f"versions/{HUGE}", f"versions/{HUGE}?format=text", f"versions/-{HUGE}"):
            response = await http.get(f"/api/docs/doc/{path}")
            assert response.status_code == 404, (path, response.text)
        for query in ({"from": str(HUGE)}, {"to": str(HUGE)}, {"from": "1", "to": str(HUGE)}):
            response = await http.get("/api/docs/doc/diff", params=query)
            assert response.status_code == 404, (query, response.text)
        restore = await http.post("/api/docs/doc/restore", json={"version": HUGE})
        assert restore.status_code == 404, restore.text
        # The numbers that exist still work.
        assert (await http.get("/api/docs/doc/versions/1")).status_code == 200
        assert (await http.get("/api/docs/doc/diff", params={"from": "0"})).status_code == 200
        _alive(server)


async def test_a_deeply_nested_json_body_is_a_400(tmp_path: Path) -> None:
    async with _with_a_version(tmp_path, "--max-body", "500000") as (server, http):
        for path in ("/api/docs/doc/versions", "/api/docs/doc/restore"):
            response = await http.post(path, content=NESTED)
            assert response.status_code == 400, (path, response.text)
            assert response.json() == {"error": "the body must be JSON"}
        assert len((await http.get("/api/docs/doc/versions")).json()) == 1
        _alive(server)


async def test_a_label_that_is_not_utf8_is_refused_and_nothing_breaks(tmp_path: Path) -> None:
    async with HttpReceiver() as hook:
        hooked = ("--webhook", hook.url + "/hook", "--webhook-secret", "hook-secret")
        async with _with_a_version(tmp_path, *hooked) as (server, http):
            for label in ("\ud800", "a\udfffb"):
                response = await http.post(
                    "/api/docs/doc/versions",
                    content=json.dumps({"label": label}),  # ASCII escapes: valid JSON
                    headers={"Content-Type": "application/json"},
                )
                assert response.status_code == 400, response.text
                assert response.json() == {"error": "label must be text (valid UTF-8)"}
            versions = await http.get("/api/docs/doc/versions")
            assert versions.status_code == 200
            assert [v["label"] for v in versions.json()] == ["first"]
            assert (await http.get("/d/doc/history")).status_code == 200
            # The webhooks still deliver the versions recorded after.
            later = await http.post("/api/docs/doc/versions", json={"label": "later ✓"})
            assert later.status_code == 201

            def labels() -> list[str]:
                bodies = [json.loads(r.body) for r in hook.delivered()]
                return [b["version"]["label"] for b in bodies if b["type"] == "version"]

            async def delivered() -> list[str]:
                return labels()

            await eventually(delivered, lambda got: "later ✓" in got, what="webhook delivery")
            assert labels() == ["first", "later ✓"]
            _alive(server)


async def test_a_signed_token_with_malformed_claims_is_a_401(tmp_path: Path) -> None:
    import jwt

    def signed(**claims: object) -> str:
        # Valid for an hour (tokens may not live past --max-token-ttl, 30 days by default).
        base = {"sub": "eve", "docs": ["*"], "role": "read", "exp": int(time.time()) + 3600}
        return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")

    bad = {
        "a role that is a list": signed(role=["admin"]),
        "a role that is an object": signed(role={"admin": True}),
        "a user id that is not UTF-8": signed(sub="\ud800"),
        "a pattern that is not UTF-8": signed(docs=["\udc00*"]),
        "an expiry past any date": signed(exp=10**400),
    }
    async with serving(tmp_path, "--auth-secret", SECRET) as server, httpx.AsyncClient() as http:
        for what, bad_token in bad.items():
            response = await http.get(
                f"{server.url}/api/docs", headers={"Authorization": f"Bearer {bad_token}"}
            )
            assert response.status_code == 401, (what, response.text)
            assert response.json()["error"].startswith("invalid token"), what
            code, reason = await closed_with(f"{server.ws_url}/doc?token={bad_token}")
            assert code == 4401, (what, reason)
        # A name that is not UTF-8 is only a name: it is cleaned, the token stands.
        named = signed(name="Eve\ud800")
        async with websockets.connect(f"{server.ws_url}/doc?token={named}") as ws:
            assert (await ws.recv())[:2] == b"\x00\x00"
        _alive(server)


async def test_a_label_stored_before_the_check_reads_as_a_replacement_character(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    store = SQLiteStore(str(db))
    await store.open()
    bad = VersionInfo(version=1, at=0.0, authors=("eve\udc00",), label="x\ud800y")
    await store.append_version("doc", bad, b"\x00\x00", b"\x00")
    await store.close()
    server = await TandemProcess("--port", "0", "--store", f"sqlite:///{db}").start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.get("/api/docs/doc/versions")
        assert response.status_code == 200, response.text
        (version,) = response.json()
        assert version["label"] == "x\ufffdy"
        assert version["authors"] == ["eve\ufffd"]
        assert version["names"] == {"eve\ufffd": "eve\ufffd"}
        _alive(server)
    finally:
        await server.stop()
