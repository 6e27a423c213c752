"""`tandem import` (through a running hub's content API, or into the store) and `tandem export
--format markdown`, run as the real command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from server.stores import open_store
from tests.support.tandem import ROOT, TandemProcess
from tests.support.yjs import YjsClient

MARKDOWN = "# Imported\n\nWith **bold** and a list:\n\n- one\n- two\n"


async def _tandem(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_import_into_the_store_then_export_markdown(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    source = tmp_path / "notes.md"
    source.write_text(MARKDOWN)
    code, out, err = await _tandem("import", "notes", str(source), "--store", store)
    assert code == 0, err
    assert "imported" in out
    code, out, err = await _tandem("export", "notes", "--format", "markdown", "--store", store)
    assert code == 0, err
    assert out == MARKDOWN
    # Again: nothing to change. HTML by its suffix, then read back by a server.
    code, out, _ = await _tandem("import", "notes", str(source), "--store", store)
    assert code == 0 and "unchanged" in out
    page = tmp_path / "page.html"
    page.write_text("<h1>From HTML</h1><p>text <script>x()</script></p>")
    code, _, err = await _tandem("import", "notes", str(page), "--store", store)
    assert code == 0, err
    server = TandemProcess("--port", "0", "--store", store)
    await server.start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            got = await http.get(f"{server.url}/api/docs/notes", params={"format": "markdown"})
        assert got.text == "# From HTML\n\ntext x()\n"
    finally:
        assert await server.stop() == 0


async def test_import_through_a_running_server_reaches_its_editors(
    tandem: TandemProcess, tmp_path: Path
) -> None:
    editor = await YjsClient.connected(tandem.ws_url, "live-import")
    try:
        source = tmp_path / "plan.txt"
        source.write_text("plain\n\ntext")
        code, out, err = await _tandem(
            "import", "live-import", str(source), "--server", tandem.url, "--format", "markdown"
        )
        assert code == 0, err
        assert "bytes of update" in out
        await editor.call("waitText", text="plain")
        bad = tmp_path / "bad.json"
        bad.write_text('{"type": "doc", "content": [{"type": "table"}]}')
        code, _, err = await _tandem("import", "live-import", str(bad), "--server", tandem.url)
        assert code == 1 and "400" in err and "table" in err
        code, _, err = await _tandem("import", "..", str(bad), "--server", tandem.url)
        assert code == 2 and "invalid document id" in err
    finally:
        await editor.close()


async def test_import_into_the_store_creates_a_deleted_document_again(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    source = tmp_path / "again.md"
    source.write_text(MARKDOWN)
    code, _, err = await _tandem("import", "again", str(source), "--store", store)
    assert code == 0, err
    backend = open_store(store)  # what DELETE /api/docs/again does to the store
    await backend.open()
    try:
        assert await backend.delete("again")
    finally:
        await backend.close()
    code, _, err = await _tandem("import", "again", str(source), "--store", store)
    assert code == 0, err
    server = TandemProcess("--port", "0", "--store", store)
    await server.start()
    try:
        client = await YjsClient.connected(server.ws_url, "again")  # not refused: 4404 is gone
        try:
            assert "Imported" in await client.call("xml")
        finally:
            await client.close()
    finally:
        assert await server.stop() == 0
