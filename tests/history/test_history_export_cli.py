"""`tandem export` as a person at a terminal uses it: text that ends with a newline and keeps
list bullets and numbers, and no binary Yjs update written to a terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from server.stores import open_store
from tests.support.tandem import ROOT

pytestmark = pytest.mark.asyncio


def _paragraph(text: str) -> XmlElement:
    return XmlElement("paragraph", contents=[XmlText(text)])


def _item(*blocks: XmlElement) -> XmlElement:
    return XmlElement("list_item", contents=list(blocks))


def _document() -> bytes:
    doc = Doc()
    doc["content"] = content = XmlFragment()
    content.children.append(_paragraph("Groceries"))
    ripeness = [_item(_paragraph("ripe")), _item(_paragraph("green"))]
    nested = XmlElement("ordered_list", contents=ripeness)
    content.children.append(
        XmlElement(
            "bullet_list",
            contents=[_item(_paragraph("milk")), _item(_paragraph("bananas"), nested)],
        )
    )
    content.children.append(
        XmlElement(
            "ordered_list",
            {"order": "3"},
            contents=[_item(_paragraph("third")), _item(_paragraph("fourth"))],
        )
    )
    return doc.get_update()


@pytest.fixture
async def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tandem.db'}"
    opened = open_store(url)
    await opened.open()
    try:
        await opened.append({"shopping": [_document()]})
    finally:
        await opened.close()
    return url


def _cli(*args: str, tty: bool = False) -> tuple[int, bytes, str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "server.cli", *args]
    if not tty:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=60)
        return done.returncode, done.stdout, done.stderr.decode()
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=follower, stderr=subprocess.PIPE, timeout=60
        )
        os.close(follower)
        follower = -1
        out = b""
        try:
            while chunk := os.read(leader, 65536):
                out += chunk
        except OSError:  # the terminal's other end is closed: all is read
            pass
        return done.returncode, out, done.stderr.decode()
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)


async def test_text_export_keeps_bullets_and_numbers_and_ends_with_a_newline(store: str) -> None:
    code, out, err = await asyncio.to_thread(_cli, "export", "shopping", "--store", store)
    assert code == 0, err
    assert out.decode() == (
        "Groceries\n- milk\n- bananas\n  1. ripe\n  2. green\n3. third\n4. fourth\n"
    )


async def test_yjs_export_refuses_a_terminal_without_output(store: str, tmp_path: Path) -> None:
    args = ("export", "shopping", "--format", "yjs", "--store", store)
    code, out, err = await asyncio.to_thread(_cli, *args, tty=True)
    assert code == 2, (code, out, err)
    assert "--output" in err and out == b""
    target = tmp_path / "shopping.yjs"
    code, _, err = await asyncio.to_thread(_cli, *args, "--output", str(target))
    assert code == 0, err
    update = target.read_bytes()
    doc = Doc()
    doc.apply_update(update)
    assert "bananas" in str(doc.get("content", type=XmlFragment))
    # Into a pipe (a file or another program) the bytes go as they are.
    code, piped, err = await asyncio.to_thread(_cli, *args)
    assert code == 0 and piped == update, err
