"""The content API against real `tandem serve` processes and stock Yjs clients: PUT and append
in every format, read back in every format; a PUT while someone types keeps every keystroke
and cursors in untouched text; the change reaches a second hub; versions name the caller; the
refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.security.conftest import SECRET, token
from tests.support.http_receiver import HttpReceiver
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

RULE = "horizontal_rule"
Connect = Callable[..., Awaitable[YjsClient]]

MARKDOWN = """# Plan

Ship the **content API** with *Markdown* and `code`.

- one
  - nested
- two

> quoted

```python
print("hi")
```

---

Last line\\
after a break, and a [link](https://example.org).
"""


def bearer(user: str, role: str = "write", name: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, role=role, name=name)}"}


@pytest.fixture
async def auth_tandem(tmp_path: Path) -> AsyncIterator[TandemProcess]:
    server = TandemProcess(
        *("--port", "0", "--store", f"sqlite:///{tmp_path / 't.db'}", "--auth-secret", SECRET),
        *("--max-body", "65536"),
        env={"TANDEM_VERSION_IDLE_SECONDS": "0.3"},
    )
    await server.start()
    yield server
    assert await server.stop() == 0, server.output()


async def test_every_format_in_and_out(tandem: TandemProcess, yjs_clients: Connect) -> None:
    api = f"{tandem.url}/api/docs/formats"
    async with httpx.AsyncClient(timeout=10) as http:
        put = await http.put(api, content=MARKDOWN, headers={"Content-Type": "text/markdown"})
        assert put.status_code == 200, put.text
        assert put.json()["changed"] is True and put.headers["ETag"]
        markdown = await http.get(api, params={"format": "markdown"})
        assert markdown.text == MARKDOWN
        assert markdown.headers["content-type"].startswith("text/markdown")
        html = (await http.get(api, params={"format": "html"})).text
        assert "<h1>Plan</h1>" in html and "<strong>content API</strong>" in html
        assert '<a href="https://example.org"' in html
        text = (await http.get(api, params={"format": "text"})).text
        assert text.splitlines()[:2] == ["Plan", "Ship the content API with Markdown and code."]
        document = (await http.get(api, params={"format": "json"})).json()

        # A stock Yjs client sees it as y-prosemirror would have written it.
        client = await yjs_clients(tandem.ws_url, "formats")
        xml = await client.xml()
        assert '<heading level="1">Plan</heading>' in xml
        assert "<strong>content API</strong>" in xml

        # The same again changes nothing; JSON in gives the same document.
        again = await http.put(api, content=MARKDOWN, headers={"Content-Type": "text/markdown"})
        assert again.json() == {"id": "formats", "changed": False, "update_bytes": 0}
        body = json.dumps(document)
        other = f"{tandem.url}/api/docs/formats-json"
        put = await http.put(other, content=body, headers={"Content-Type": "application/json"})
        assert put.status_code == 200, put.text
        assert (await http.get(other, params={"format": "markdown"})).text == MARKDOWN

        # HTML is sanitized, then read: scripts and handlers are gone, their text stays text.
        dirty = '<h2 onclick="x()">Title</h2><p>a <b>bold</b> <script>alert(1)</script></p>'
        dirty += '<p><a href="javascript:alert(1)">bad</a> <i>it</i></p><img src=x onerror=y()>'
        put = await http.put(api, content=dirty, headers={"Content-Type": "text/html"})
        assert put.status_code == 200, put.text
        markdown = (await http.get(api, params={"format": "markdown"})).text
        assert markdown == "## Title\n\na **bold** alert(1)\n\nbad *it*\n"
        await client.call("waitText", text="Title")
        assert "script" not in await client.xml()

        # Plain text: paragraphs at blank lines, line breaks kept.
        put = await http.put(
            api, content="first\nline\n\nsecond", headers={"Content-Type": "text/plain"}
        )
        assert put.status_code == 200
        assert (await http.get(api, params={"format": "markdown"})).text == (
            "first\\\nline\n\nsecond\n"
        )
        assert (await http.get(api, params={"format": "text"})).text == "first\nline\nsecond"

        # Append: each type, at the end, one change each.
        for media, content in [
            ("text/markdown", "## Appended"),
            ("text/html", "<p>from <em>html</em></p>"),
            ("text/plain", "plain tail"),
            (
                "application/json",
                json.dumps({"type": "doc", "content": [{"type": "horizontal_rule"}]}),
            ),
        ]:
            added = await http.post(
                f"{api}/append", content=content, headers={"Content-Type": media}
            )
            assert added.status_code == 200, added.text
        markdown = (await http.get(api, params={"format": "markdown"})).text
        assert markdown.endswith("second\n\n## Appended\n\nfrom *html*\n\nplain tail\n\n---\n")
        await client.call("waitText", text="plain tail")

        # A new document is created by PUT; versions and export read Markdown too.
        fresh = f"{tandem.url}/api/docs/fresh"
        assert (await http.get(fresh)).status_code == 404
        put = await http.put(fresh, content="# New", headers={"Content-Type": "text/markdown"})
        assert put.status_code == 200
        assert (await http.get(fresh, params={"format": "markdown"})).text == "# New\n"
        version = await http.post(f"{fresh}/versions", json={})
        assert version.status_code == 201
        number = version.json()["version"]
        at = await http.get(f"{fresh}/versions/{number}", params={"format": "markdown"})
        assert at.text == "# New\n"


async def test_a_put_while_someone_types_keeps_every_keystroke_and_cursor(
    tandem: TandemProcess, yjs_clients: Connect
) -> None:
    api = f"{tandem.url}/api/docs/live"
    start = "Alpha beta gamma.\n\nThe cursor sits here, untouched.\n\nOmega.\n"
    async with httpx.AsyncClient(timeout=10) as http:
        put = await http.put(api, content=start, headers={"Content-Type": "text/markdown"})
        assert put.status_code == 200
        typist = await yjs_clients(tandem.ws_url, "live")
        await typist.call("markPosition", name="cursor", index=1, offset=11)
        read = await http.get(api, params={"format": "markdown"})
        etag = read.headers["ETag"]
        typing = asyncio.create_task(typist.call("typeFor", ms=1500, every=5, prefix="t"))
        puts = 0
        words = ["Delta", "Epsilon", "Zeta", "Eta", "Theta"]
        while not typing.done():
            word = words[puts % len(words)]
            body = read.text.replace("Alpha", word)
            headers = {"Content-Type": "text/markdown", "If-Match": etag}
            put = await http.put(api, content=body, headers=headers)
            assert put.status_code == 200, put.text
            assert put.json()["update_bytes"] < 200  # one word, not the document
            puts += 1
            await asyncio.sleep(0.05)
        typed = await typing
        assert puts >= 3 and typed > 50
        expected = "t" + "".join(chr(97 + i % 26) for i in range(typed))
        await typist.call("waitText", text=expected)
        markdown = await eventually(
            lambda: http.get(api, params={"format": "markdown"}),
            lambda r: expected in r.text,
            what="every keystroke on the server",
        )
        assert markdown.text.startswith(f"{words[(puts - 1) % len(words)]} beta gamma.\n\n")
        assert "The cursor sits here, untouched.\n\nOmega.\n\n" + expected in markdown.text
        position = await typist.call("position", name="cursor")
        assert position == {"index": 1, "offset": 11, "text": "The cursor sits here, untouched."}

        # Without If-Match the document becomes exactly the body.
        put = await http.put(api, content=start, headers={"Content-Type": "text/markdown"})
        assert (await http.get(api, params={"format": "markdown"})).text == start
        await typist.call("waitText", text="Alpha")
        assert expected not in await typist.xml()
        assert (await typist.call("position", name="cursor"))["index"] == 1
        # An ETag this hub never gave is refused, and nothing changes.
        stale = {"Content-Type": "text/markdown", "If-Match": '"0123"'}
        refused = await http.put(api, content="# Gone", headers=stale)
        assert refused.status_code == 412
        assert (await http.get(api, params={"format": "markdown"})).text == start


async def test_a_one_word_edit_of_a_hundred_paragraphs_is_a_small_update(
    tandem: TandemProcess,
) -> None:
    api = f"{tandem.url}/api/docs/hundred"
    paragraphs = [
        f"Paragraph {i} says something about the plan, at some length." for i in range(100)
    ]
    body = "\n\n".join(paragraphs) + "\n"
    async with httpx.AsyncClient(timeout=10) as http:
        first = await http.put(api, content=body, headers={"Content-Type": "text/markdown"})
        edited = body.replace("Paragraph 50 says", "Paragraph 50 claims")
        second = await http.put(api, content=edited, headers={"Content-Type": "text/markdown"})
    whole, edit = first.json()["update_bytes"], second.json()["update_bytes"]
    print(f"100 paragraphs: whole document {whole} bytes, one-word edit {edit} bytes")
    assert whole > 5000 and edit < 100


async def test_the_change_reaches_a_second_hub_and_versions_name_the_caller(
    redis_url: str, yjs_clients: Connect
) -> None:
    hubs = [
        TandemProcess(
            *("--port", "0", "--store", redis_url, "--auth-secret", SECRET),
            env={"TANDEM_VERSION_IDLE_SECONDS": "0.3"},
        )
        for _ in range(2)
    ]
    await asyncio.gather(*(hub.start() for hub in hubs))
    try:
        one, two = hubs
        reader = await yjs_clients(two.ws_url, "shared-put", params={"token": token("ben")})
        async with httpx.AsyncClient(timeout=10) as http:
            headers = {**bearer("agent", name="Agent Smith"), "Content-Type": "text/markdown"}
            put = await http.put(
                f"{one.url}/api/docs/shared-put", content="# From the API", headers=headers
            )
            assert put.status_code == 200, put.text
            await reader.call("waitText", text="From the API")
            versions = await eventually(
                lambda: http.get(f"{two.url}/api/docs/shared-put/versions", headers=bearer("ben")),
                lambda r: r.status_code == 200 and len(r.json()) >= 1,
                what="a version of the PUT",
            )
            assert versions.json()[0]["authors"] == ["agent"]
            assert versions.json()[0]["names"] == {"agent": "Agent Smith"}
            appended = await http.post(
                f"{two.url}/api/docs/shared-put/append", content="tail", headers=headers
            )
            assert appended.status_code == 200
            # Appended on the other hub: it reaches this one through the broker.
            await eventually(
                lambda: http.get(
                    f"{one.url}/api/docs/shared-put",
                    params={"format": "text"},
                    headers=bearer("ben"),
                ),
                lambda r: r.text == "From the API\ntail",
                what="the append on the first hub",
            )
            await reader.call("waitText", text="tail")
    finally:
        for hub in hubs:
            assert await hub.stop() == 0, hub.output()


async def test_refusals(auth_tandem: TandemProcess) -> None:
    api = f"{auth_tandem.url}/api/docs/guarded"
    markdown = {"Content-Type": "text/markdown"}
    async with httpx.AsyncClient(timeout=10) as http:
        ok = await http.put(api, content="kept", headers={**markdown, **bearer("ana")})
        assert ok.status_code == 200

        async def refused(status: int, *, path: str = "", **kwargs: object) -> str:
            response = await http.request("PUT", api + path, **kwargs)  # type: ignore[arg-type]
            assert response.status_code == status, response.text
            return str(response.json()["error"])

        await refused(401, content="x", headers=markdown)
        await refused(403, content="x", headers={**markdown, **bearer("ana", role="read")})
        await refused(415, content="x", headers={"Content-Type": "image/png", **bearer("ana")})
        await refused(415, content="x", headers=bearer("ana"))
        as_json = {"Content-Type": "application/json", **bearer("ana")}
        assert "malformed JSON" in await refused(400, content="{not json", headers=as_json)
        outside = {
            "type": "doc",
            "content": [{"type": "paragraph", "content": [{"type": "image"}]}],
        }
        error = await refused(400, content=json.dumps(outside), headers=as_json)
        assert "doc.content[0].content[0]" in error and "image" in error
        bad_level = {"type": "doc", "content": [{"type": "heading", "attrs": {"level": 9}}]}
        assert "level" in await refused(400, content=json.dumps(bad_level), headers=as_json)
        assert "ProseMirror" in await refused(400, content="[1, 2]", headers=as_json)
        await refused(400, content=b"\xff\xfe", headers={**markdown, **bearer("ana")})
        big = "x" * 70000
        response = await http.put(api, content=big, headers={**markdown, **bearer("ana")})
        assert response.status_code == 413
        bad_id = await http.put(
            f"{auth_tandem.url}/api/docs/..bad", content="x", headers={**markdown, **bearer("ana")}
        )
        assert bad_id.status_code == 400
        # Nothing of any of them was applied, and the server is healthy.
        text = await http.get(api, params={"format": "text"}, headers=bearer("ana", role="read"))
        assert text.text == "kept"
        assert (await http.get(f"{auth_tandem.url}/readyz")).status_code == 200
        append = await http.post(f"{api}/append", content="x", headers=bearer("ana", role="read"))
        assert append.status_code == 403


async def test_changed_notifications_and_webhooks_name_the_caller(tmp_path: Path) -> None:
    async with HttpReceiver() as receiver:
        server = TandemProcess(
            *("--port", "0", "--store", f"sqlite:///{tmp_path / 'w.db'}", "--auth-secret", SECRET),
            *("--webhook", receiver.url + "/hook", "--webhook-secret", "s3cret"),
        )
        await server.start()
        try:
            headers = {**bearer("agent", name="Agent"), "Content-Type": "text/markdown"}
            async with httpx.AsyncClient(timeout=10) as http:
                put = await http.put(
                    f"{server.url}/api/docs/hooked", content="# Hi", headers=headers
                )
                assert put.status_code == 200

            def changed() -> list[dict[str, object]]:
                bodies = [json.loads(r.body) for r in receiver.delivered()]
                return [b for b in bodies if b.get("type") == "changed"]

            async def probe() -> list[dict[str, object]]:
                return changed()

            events = await eventually(probe, what="a changed webhook")
            assert events[0]["doc"] == "hooked" and events[0]["by"] == ["agent"]
        finally:
            assert await server.stop() == 0, server.output()
