"""Document content a writer can craft and the hub must render, version and restore anyway: a
heading whose level is not a number, attributes no JSON holds, 2,000 nested blockquotes.

One such update used to stop version recording for every document of the hub, answer 500 on
`?format=…` and `POST …/versions`, and make SIGTERM hang before the final flush."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.protocol import SyncStep2, encode_sync_step1, encode_sync_update, parse_message
from server.stores.sqlite import SQLiteStore
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually

DEPTH = 2_000


def _update(build: Any) -> bytes:
    """The update that writes `build(body)` into an empty document's body."""
    doc: Doc = Doc()
    body = doc.get("content", type=XmlFragment)
    with doc.transaction():
        build(body)
    return bytes(doc.get_update())


def _level_x(body: XmlFragment) -> None:
    body.children.append(XmlElement("heading", {"level": "x"}, [XmlText("Title x")]))


def _unjsonable(body: XmlFragment) -> None:
    body.children.append(XmlElement("heading", {"level": math.nan}, [XmlText("Title nan")]))
    heading = body.children.append(XmlElement("heading", {"level": math.inf, "raw": b"\x00"}))
    text = heading.children.append(XmlText("Title inf"))
    text.format(0, 5, {"link": {"href": -math.inf}, "strong": {"weight": math.nan}})


def _deep(body: XmlFragment) -> None:
    parent: XmlFragment | XmlElement = body
    for _ in range(DEPTH):
        parent = parent.children.append(XmlElement("blockquote"))
    parent.children.append(XmlElement("paragraph", {}, [XmlText("deep text")]))


HOSTILE = {"level-x": _level_x, "unjsonable": _unjsonable, "deep": _deep}
TEXT = {"level-x": "Title x", "unjsonable": "Title nan\nTitle inf", "deep": "deep text"}


async def _send(server: TandemProcess, doc: str, update: bytes) -> None:
    async with websockets.connect(f"{server.ws_url}/{doc}", max_size=None) as ws:
        await ws.recv()  # the server's sync step 1
        await ws.send(encode_sync_update(update))
    async with httpx.AsyncClient(base_url=server.url) as http:
        await eventually(
            lambda: http.get(f"/api/docs/{doc}", params={"format": "text"}),
            lambda r: r.status_code == 200 and r.text == TEXT[doc],
            what=f"{doc} applied",
        )


async def _server_state(server: TandemProcess, doc: str) -> bytes:
    async with websockets.connect(f"{server.ws_url}/{doc}", max_size=None) as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        async with asyncio.timeout(10):
            while not isinstance(message := parse_message(await ws.recv()), SyncStep2):  # type: ignore[arg-type]
                pass
    return message.update


def _nesting(state: bytes) -> int:
    """How deep elements nest in the body of a Yjs state (walked without recursion)."""
    doc: Doc = Doc()
    doc.apply_update(state)
    deepest = 0
    level = [(doc.get("content", type=XmlFragment), 0)]
    while level:
        parent, depth = level.pop()
        deepest = max(deepest, depth)
        level += [(c, depth + 1) for c in parent.children if isinstance(c, XmlElement)]
    return deepest


def _alive(server: TandemProcess) -> None:
    assert server.proc is not None and server.proc.returncode is None, "the server died"
    out = server.output()
    assert "Traceback" not in out and "service_crashed" not in out, out[-3000:]


async def test_hostile_content_renders_versions_and_restores(tmp_path: Path, yjs_clients) -> None:
    db = f"sqlite:///{tmp_path / 'hostile.db'}"
    env = {"TANDEM_VERSION_IDLE_SECONDS": "0.3"}
    server = await TandemProcess("--port", "0", "--store", db, env=env).start()
    try:
        for doc, build in HOSTILE.items():
            await _send(server, doc, _update(build))
        writer = await yjs_clients(server.ws_url, "normal")
        await writer.call("append", text="an ordinary edit")
        async with httpx.AsyncClient(base_url=server.url) as http:
            # Versions are recorded for every document, hostile or not.
            for doc in [*HOSTILE, "normal"]:
                await eventually(
                    lambda d=doc: http.get(f"/api/docs/{d}/versions"),
                    lambda r: r.status_code == 200 and len(r.json()) == 1,
                    what=f"a version of {doc}",
                )
            for doc in HOSTILE:
                for fmt in ("json", "html", "text"):
                    response = await http.get(f"/api/docs/{doc}", params={"format": fmt})
                    assert response.status_code == 200, (doc, fmt, response.text)
                    version = await http.get(f"/api/docs/{doc}/versions/1", params={"format": fmt})
                    assert version.status_code == 200, (doc, fmt, version.text)
                    assert version.content == response.content
                labelled = await http.post(f"/api/docs/{doc}/versions", json={"label": "again"})
                # (version 1 is automatic and nothing changed since: it gets the name, 200)
                assert labelled.status_code == 200, (doc, labelled.text)
                assert labelled.json()["version"] == 1 and labelled.json()["label"] == "again"
                assert (await http.get(f"/api/docs/{doc}/diff")).status_code == 200

            heading = (await http.get("/api/docs/level-x", params={"format": "html"})).text
            assert heading == "<h1>Title x</h1>"  # a level that is not a number: 1
            body = (await http.get("/api/docs/unjsonable", params={"format": "json"})).json()
            assert [node["attrs"] for node in body["content"]] == [
                {"level": None},
                {"level": None},  # NaN and infinity are not JSON; bytes are not attributes
            ]
            assert body["content"][1]["content"][0]["marks"] == [
                {"type": "link", "attrs": {"href": None}},
                {"type": "strong", "attrs": {"weight": None}},
            ]
            deep = (await http.get("/api/docs/deep", params={"format": "html"})).text
            assert deep.count("<blockquote>") == 100 and deep.endswith("</blockquote>")
            assert "deep text" in deep  # nesting past 100 levels is kept as its text

            # Restoring the deep version rebuilds all 2,000 levels, as a change clients receive.
            editor = await yjs_clients(server.ws_url, "deep")
            await editor.call("append", text="edited after")
            await eventually(
                lambda: http.get("/api/docs/deep", params={"format": "text"}),
                lambda r: r.text == "deep text\nedited after",
                what="the edit after version 1",
            )
            restore = await http.post("/api/docs/deep/restore", json={"version": 1})
            assert restore.status_code == 200, restore.text
            text = (await http.get("/api/docs/deep", params={"format": "text"})).text
            assert text == "deep text"
            # (Not editor.xml(): Yjs' own toString recurses and overflows Node's stack here.)
            newcomer = await yjs_clients(server.ws_url, "deep")
            await eventually(
                lambda: asyncio.gather(editor.call("stateVector"), newcomer.call("stateVector")),
                lambda svs: svs[0] == svs[1],
                what="the editor received the restore",
            )
            assert _nesting(await _server_state(server, "deep")) == DEPTH + 1  # and the paragraph
        _alive(server)
    finally:
        await server.stop()


async def test_sigterm_records_every_open_version_with_hostile_ones_among_them(
    tmp_path: Path, yjs_clients
) -> None:
    db = tmp_path / "shutdown.db"
    env = {"TANDEM_VERSION_IDLE_SECONDS": "600"}  # nothing closes before the shutdown
    server = await TandemProcess("--port", "0", "--store", f"sqlite:///{db}", env=env).start()
    try:
        for doc, build in HOSTILE.items():
            await _send(server, doc, _update(build))
        writer = await yjs_clients(server.ws_url, "normal")
        await writer.call("append", text="typed just before the shutdown")
        await asyncio.sleep(0.3)  # flushed (0.1 s): the burst itself stays open
    finally:
        code = await server.stop(timeout=20)
    assert code == 0, server.output()[-3000:]
    store = SQLiteStore(str(db))
    await store.open()
    try:
        for doc in [*HOSTILE, "normal"]:
            assert len(await store.list_versions(doc)) == 1, doc
    finally:
        await store.close()


async def _apply(server: TandemProcess, doc: str, update: bytes) -> None:
    async with websockets.connect(f"{server.ws_url}/{doc}") as ws:
        await ws.recv()
        await ws.send(encode_sync_update(update))
        await ws.send(encode_sync_step1(b"\x00"))  # answered once the update is applied
        async with asyncio.timeout(10):
            while not isinstance(parse_message(await ws.recv()), SyncStep2):  # type: ignore[arg-type]
                pass


async def test_restoring_a_body_holding_strings_straight_in_elements_is_refused(
    tmp_path: Path,
) -> None:
    """yrs' delete of such a body never returned: a restore froze the whole hub."""
    author: Doc = Doc(client_id=1618033988)
    body = author.get("content", type=XmlFragment)
    for n in range(3):
        body.children.append(XmlElement("paragraph", {}, [XmlText(f"cid {n}")]))
    not_xml = bytes.fromhex(  # a string in the fragment, one in the second paragraph's text
        "01028ce6e70100040107636f6e74656e740ac3bdf09b9faec295c2b00400c4fac483060706c3a8f189978f00"
    )
    db = f"sqlite:///{tmp_path / 'not-xml.db'}"
    server = await TandemProcess("--port", "0", "--store", db).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            for update in (bytes(author.get_update()), not_xml):  # version 1: three paragraphs
                await _apply(server, "odd", update)
                assert (await http.post("/api/docs/odd/versions", json={})).status_code == 201
            restore = await http.post("/api/docs/odd/restore", json={"version": 1})
            assert restore.status_code == 409, restore.text
            assert "cannot be restored" in restore.json()["error"]
            assert (await http.get("/healthz")).status_code == 200  # the hub is not frozen
        _alive(server)
    finally:
        await server.stop()
