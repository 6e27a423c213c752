"""The HTTP side of a running hub: probes, the document API, the home page, the CLI's errors."""

from __future__ import annotations

import asyncio
import re
import socket
import sys

import httpx

from tests.support.tandem import ROOT, TandemProcess
from tests.support.waiting import eventually


async def test_health_and_readiness(tandem) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True}


async def test_documents_api_lists_metadata_and_content(tandem, yjs_clients) -> None:
    client = await yjs_clients(tandem.ws_url, "notes", awareness={"user": {"name": "Ana"}})
    await client.call("append", text="Hello")
    await client.call("formatAt", index=0, offset=0, length=5, mark="strong")
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        listing = await eventually(
            lambda: http.get("/api/docs"), lambda r: r.json()["docs"], what="listing"
        )
        (entry,) = listing.json()["docs"]
        assert entry["id"] == "notes" and entry["editors"] == 1
        meta = (await http.get("/api/docs/notes")).json()
        assert meta["live"] and [p["name"] for p in meta["presence"]] == ["Ana"]
        pm = await eventually(
            lambda: http.get("/api/docs/notes?format=json"),
            lambda r: "marks" in r.text,
            what="formatting reaches the server",
        )
        assert pm.json() == {
            "type": "doc",
            "content": [
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "Hello", "marks": [{"type": "strong"}]}],
                }
            ],
        }
        assert (await http.get("/api/docs/notes?format=text")).text == "Hello"
        assert (await http.get("/api/docs/missing")).status_code == 404
        assert (await http.get("/api/docs/notes?format=pdf")).status_code == 400
        home = await http.get("/")
        assert home.status_code == 200 and "/static/home.js" in home.text


async def _run_cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out = await _run_cli("serve", "--port", str(port), "--store", "memory://")
    assert code == 2 and "already in use" in out


async def test_a_bad_store_url_is_a_clear_error() -> None:
    code, out = await _run_cli("serve", "--port", "0", "--store", "ftp://nowhere")
    assert code == 2 and "unsupported store URL" in out


async def test_environment_mirrors_flags(tmp_path) -> None:
    server = TandemProcess(env={"TANDEM_PORT": "0", "TANDEM_STORE": "memory://"})
    await server.start()
    try:
        assert "store: memory://" in server.output()
    finally:
        await server.stop()


async def test_metrics_count_connections_and_updates(tandem, yjs_clients) -> None:
    client = await yjs_clients(tandem.ws_url, "counted")
    await yjs_clients(tandem.ws_url, "counted")
    await client.call("append", text="one")
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        text = await eventually(
            lambda: http.get("/metrics"),
            lambda r: "tandem_updates_received_total 1.0" in r.text,
            what="the update is counted",
        )
    assert "tandem_updates_sent_total 1.0" in text.text  # relayed to the one other client
    fanouts = re.search(r"^tandem_fanout_seconds_count (\S+)$", text.text, re.M)
    assert fanouts and float(fanouts[1]) >= 1  # the update (and the sync replies)
    assert f'tandem_fanout_seconds_bucket{{le="+Inf"}} {fanouts[1]}' in text.text
    received = re.search(r"^tandem_bytes_received_total (\S+)$", text.text, re.M)
    sent = re.search(r"^tandem_bytes_sent_total (\S+)$", text.text, re.M)
    assert received and sent and float(received[1]) == float(sent[1]) > 0
    assert "tandem_connections 2.0" in text.text
    assert "tandem_rooms 1.0" in text.text
