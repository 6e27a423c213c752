"""What a live server gives away: no token in its logs however the query spells the name, and
close reasons that say what was refused, never how a library failed."""

from __future__ import annotations

from pathlib import Path

import websockets

from crdt.protocol import encode_sync_update
from tests.security.conftest import SECRET, closed_with, serving, token
from tests.support.waiting import eventually

# Well-formed for our reader (a JSON item "{not json" in root "t"); yrs' decoder refuses it.
YRS_REFUSES = bytes.fromhex("010163000201017401097b6e6f74206a736f6e00")


async def test_a_token_under_a_percent_encoded_name_is_redacted(tmp_path: Path) -> None:
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        secrets = {}
        for spelling in ("%74oken", "t%6Fk%65n", "%74%6F%6B%65%6E"):
            secret = secrets[spelling] = token(user=f"user-{len(secrets)}")
            async with websockets.connect(f"{server.ws_url}/doc?{spelling}={secret}") as ws:
                assert (await ws.recv())[:2] == b"\x00\x00"  # accepted: it is the token
        await eventually(
            lambda: _output(server), lambda out: out.count("[redacted]") >= 3, what="log lines"
        )
        out = server.output()
        for spelling, secret in secrets.items():
            assert secret not in out, spelling
            assert secret.split(".")[1] not in out  # not even the claims
            assert f"{spelling}=[redacted]" in out


async def _output(server) -> str:
    return str(server.output())


async def test_close_reasons_name_what_was_refused_not_the_library(tmp_path, yjs_clients) -> None:
    async with serving(tmp_path) as server:
        one = await yjs_clients(server.ws_url, "doc", clientId=1)
        await one.call("append", text="content of client 1")
        code, reason = await closed_with(f"{server.ws_url}/doc", encode_sync_update(YRS_REFUSES))
        assert (code, reason) == (1002, "update refused: the document cannot apply it")
        # The operator still learns how pycrdt failed, in the log line of the close.
        (detail,) = [line for line in server.output().splitlines() if "pycrdt refused" in line]
        assert "event=connection_closed" in detail and "Cannot decode update" in detail
        assert (await one.call("status"))["closes"] == []
