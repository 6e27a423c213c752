"""History against a real `tandem serve` with stock Yjs clients, and the CLI on its store."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.tandem import ROOT, TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TandemProcess]:
    """A hub whose versions close after half a second of quiet, on its own SQLite file."""
    process = TandemProcess(
        "--port",
        "0",
        "--store",
        f"sqlite:///{tmp_path / 'history.db'}",
        env={"TANDEM_VERSION_IDLE_SECONDS": "0.5"},
    )
    await process.start()
    yield process
    await process.stop()


async def _same(clients: list[YjsClient], expected: str | None = None) -> list[str]:
    async def probe() -> list[str]:
        return [await c.xml() for c in clients]

    return await eventually(
        probe,
        lambda xs: len(set(xs)) == 1 and (expected is None or xs[0] == expected),
        what="clients converge",
    )


async def _versions(http: httpx.AsyncClient, doc: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/docs/{doc}/versions")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def test_a_version_closes_after_the_idle_gap(server, yjs_clients) -> None:
    writer = await yjs_clients(server.ws_url, "idle")
    await writer.call("append", text="one burst")
    await writer.call("append", text="of typing")
    async with httpx.AsyncClient(base_url=server.url) as http:
        versions = await eventually(lambda: _versions(http, "idle"), what="a version")
        assert len(versions) == 1
        version = versions[0]
        assert version["version"] == 1 and version["label"] is None
        assert version["added"] == len("one burst") + len("of typing")
        assert version["authors"] == ["anonymous"]
        assert version["at"].endswith("Z")


async def test_versions_hold_what_clients_saw_and_restore_converges_everyone(
    server, yjs_clients
) -> None:
    ana, ben, cy = [await yjs_clients(server.ws_url, "story") for _ in range(3)]
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=server.url) as http:
        await ana.call("append", text="Once upon a time")
        await _same([ana, ben, cy])
        await ben.call("append", text="there was a hub ✓")
        seen.append((await _same([ana, ben, cy]))[0])
        first = await http.post("/api/docs/story/versions", json={"label": "opening"})
        assert first.status_code == 201 and first.json()["version"] == 1
        assert first.json()["label"] == "opening"

        await cy.call("typeAt", index=0, offset=0, text="¡")
        await ana.call("formatAt", index=1, offset=0, length=5, mark="strong")
        await ben.call("deleteAt", index=0)
        await ben.call("append", text="vandalised")
        seen.append((await _same([ana, ben, cy]))[0])
        second = await http.post("/api/docs/story/versions", json={})
        assert second.json()["version"] == 2 and second.json()["label"] is None

        for version, expected in enumerate(seen, start=1):
            raw = await http.get(f"/api/docs/story/versions/{version}", params={"format": "yjs"})
            assert raw.headers["content-type"] == "application/octet-stream"
            assert await ana.call("xmlOfUpdate", hex=raw.content.hex()) == expected

        restored = await http.post("/api/docs/story/restore", json={"version": 1})
        assert restored.status_code == 200, restored.text
        assert restored.json()["version"] == 3 and restored.json()["restored_from"] == 1
        assert restored.json()["label"] == "Restored from version 1 by Anonymous"
        await _same([ana, ben, cy], expected=seen[0])
        late = await yjs_clients(server.ws_url, "story")
        assert await late.xml() == seen[0]
        await ana.call("append", text="and they lived on")  # editing goes on after a restore
        await _same([ana, ben, cy, late])
        text = await http.get("/api/docs/story/versions/1", params={"format": "text"})
        assert text.text == "Once upon a time\nthere was a hub ✓"
        listed = await _versions(http, "story")
        assert [v["restored_from"] for v in listed] == [None, None, 1]


async def test_diff_between_versions_and_against_the_current_content(server, yjs_clients) -> None:
    writer = await yjs_clients(server.ws_url, "draft")
    async with httpx.AsyncClient(base_url=server.url) as http:
        await writer.call("append", text="keep this")
        await writer.call("append", text="drop this")
        await http.post("/api/docs/draft/versions", json={"label": "a"})
        await writer.call("deleteAt", index=1)
        await writer.call("typeAt", index=0, offset=9, text=" and more")
        await http.post("/api/docs/draft/versions", json={"label": "b"})
        await writer.call("append", text="unsaved")
        diff = (await http.get("/api/docs/draft/diff", params={"from": 1, "to": 2})).json()
        assert [(b["op"], b.get("after", b.get("before"))) for b in diff["blocks"]] == [
            ("change", "keep this and more"),
            ("delete", "drop this"),
        ]
        assert (diff["added"], diff["removed"]) == (len(" and more"), len("drop this"))
        assert "<ins> and more</ins>" in diff["html"] and "<del>drop this</del>" in diff["html"]

        async def against_current() -> dict[str, Any]:
            response = await http.get("/api/docs/draft/diff", params={"from": 2})
            result: dict[str, Any] = response.json()
            return result

        current = await eventually(
            against_current, lambda d: d["added"] == len("unsaved"), what="current diff"
        )
        assert current["to"] == "current" and current["blocks"][-1]["op"] == "insert"


async def test_hostile_content_renders_inert_at_every_version(server, yjs_clients) -> None:
    writer = await yjs_clients(server.ws_url, "xss")
    await writer.call("append", text="<script>alert(1)</script>")
    await writer.call("append", text="click me")
    await writer.call(
        "formatAt", index=1, offset=0, length=5, mark="link", attrs={"href": "javascript:alert(1)"}
    )
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.post("/api/docs/xss/versions", json={})
        html = (await http.get("/api/docs/xss/versions/1", params={"format": "html"})).text
        assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>click me</p>"
        current = await eventually(
            lambda: http.get("/api/docs/xss", params={"format": "html"}),
            lambda r: "click me" in r.text,
            what="current html",
        )
        assert current.text == html


async def test_bad_requests_get_clear_errors(server, yjs_clients) -> None:
    writer = await yjs_clients(server.ws_url, "known")
    await writer.call("append", text="x")
    async with httpx.AsyncClient(base_url=server.url) as http:
        await eventually(
            lambda: http.get("/api/docs/known"), lambda r: r.status_code == 200, what="stored"
        )
        await http.post("/api/docs/known/versions", json={})
        cases = [
            ("GET", "/api/docs/nobody/versions", None, 404),
            ("GET", "/api/docs/known/versions/9", None, 404),
            ("GET", "/api/docs/known/versions/x", None, 400),
            ("GET", "/api/docs/known/versions/1?format=pdf", None, 400),
            ("GET", "/api/docs/known/diff?from=zero", None, 400),
            ("GET", "/api/docs/known/diff?from=1&to=5", None, 404),
            ("POST", "/api/docs/known/restore", {"version": "1"}, 400),
            ("POST", "/api/docs/known/restore", {"version": 8}, 404),
            ("POST", "/api/docs/known/versions", {"label": 5}, 400),
            ("POST", "/api/docs/nobody/versions", {"label": "x"}, 404),
            ("GET", "/api/docs/bad%20id/versions", None, 400),
        ]
        for method, path, body, status in cases:
            response = await http.request(method, path, json=body)
            assert response.status_code == status, (method, path, response.text)
            assert "error" in response.json()
        raw = await http.post(
            "/api/docs/known/restore",
            content=b"{nope",
            headers={"content-type": "application/json"},
        )
        assert raw.status_code == 400


async def _cli(*args: str) -> tuple[int, bytes, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


async def test_cli_and_api_give_the_same_answers(tmp_path: Path, yjs_clients) -> None:
    store = f"sqlite:///{tmp_path / 'same.db'}"
    server = await TandemProcess("--port", "0", "--store", store).start()
    try:
        writer = await yjs_clients(server.ws_url, "report")
        async with httpx.AsyncClient(base_url=server.url) as http:
            await writer.call("append", text="Quarterly report")
            await writer.call("formatAt", index=0, offset=0, length=9, mark="em")
            await http.post("/api/docs/report/versions", json={"label": "draft"})
            await writer.call("append", text="Numbers: 42 ünïcode")
            await http.post("/api/docs/report/versions", json={"label": "final"})
            await writer.close()
            api_versions = await _versions(http, "report")
            code, out, err = await _cli("history", "report", "--store", store, "--json")
            assert code == 0, err
            assert json.loads(out) == api_versions
            code, out, _ = await _cli("history", "report", "--store", store)
            table = out.decode().splitlines()
            assert table[0].split() == [
                "VERSION",
                "AT",
                "(UTC)",
                "AUTHORS",
                "ADDED",
                "REMOVED",
                "LABEL",
            ]
            assert [row.split()[0] for row in table[1:]] == ["1", "2"]
            assert table[1].split()[-1] == "draft" and table[2].split()[-1] == "final"
            assert f"+{api_versions[1]['added']}" in table[2]
            for version in (1, 2):
                for fmt in ("text", "html", "json", "yjs"):
                    api = await http.get(
                        f"/api/docs/report/versions/{version}", params={"format": fmt}
                    )
                    code, out, err = await _cli(
                        "export",
                        "report",
                        "--version",
                        str(version),
                        "--format",
                        fmt,
                        "--store",
                        store,
                    )
                    assert code == 0, err
                    # The CLI's text ends its last line, as a text file does.
                    same = api.content + b"\n" if fmt == "text" and api.content else api.content
                    assert out == same, (version, fmt)
            current = await http.get("/api/docs/report", params={"format": "json"})
            await eventually(
                lambda: _cli("export", "report", "--format", "json", "--store", store),
                lambda result: result[1] == current.content,
                what="the CLI sees the flushed content",
            )
            code, _, err = await _cli("export", "report", "--version", "7", "--store", store)
            assert code == 2 and "no version 7" in err
            code, _, err = await _cli("history", "nobody", "--store", store)
            assert code == 2 and "no document" in err
            code, _, err = await _cli("history", "x", "--store", f"sqlite:///{tmp_path / 'no.db'}")
            assert code == 2 and "no store" in err
    finally:
        await server.stop()
