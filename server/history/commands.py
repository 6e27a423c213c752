"""`tandem history` and `tandem export`: read the store directly (the server need not run);
`tandem import`: write a document's content, through a running server's content API or into
the store when no server has the document open.

They go through ``server.history.archive``, as the REST API does, so both give the same answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from crdt import jobs
from crdt.content import ContentError, parse
from crdt.document import Document
from crdt.edit import replace_update
from server.config import build_config
from server.core.docids import InvalidDocId, check_doc_id
from server.core.timestamps import iso
from server.errors import ConfigError, TandemError
from server.history import archive
from server.ops import remote
from server.stores import Store, VersionInfo, open_store

T = TypeVar("T")


def _with_store(url: str | None, work: Callable[[Store], Awaitable[T]], create: bool = False) -> T:
    config = build_config({"store": url})
    if config.store.startswith("sqlite:///") and not create:
        path = Path(config.store[len("sqlite:///") :])
        if not path.exists():  # opening would create an empty database
            raise ConfigError(f"no store at {path} (pass --store or set TANDEM_STORE)")
    store = open_store(config.store)

    async def run() -> T:
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _doc_id(raw: str) -> str:
    try:
        return check_doc_id(raw)
    except InvalidDocId as exc:
        raise ConfigError(str(exc)) from None


async def _require_doc(store: Store, doc: str) -> None:
    if await store.info(doc) is None and not await store.list_versions(doc):
        raise TandemError(f"no document {doc!r} in this store")


def table(versions: list[VersionInfo]) -> str:
    """The versions as a readable, aligned table, oldest first."""
    header = ("VERSION", "AT (UTC)", "AUTHORS", "ADDED", "REMOVED", "LABEL")
    rows = [
        (
            str(info.version),
            iso(info.at).replace("T", " ")[:19],
            ", ".join(info.names.get(user, user) for user in info.authors) or "-",
            f"+{info.added}",
            f"-{info.removed}",
            info.label or "",
        )
        for info in versions
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {0, 3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in [header, *rows])


def history(args: argparse.Namespace) -> int:
    doc = _doc_id(args.doc)

    async def work(store: Store) -> list[VersionInfo]:
        await _require_doc(store, doc)
        return await store.list_versions(doc)

    versions = _with_store(args.store, work)
    if args.json:
        print(json.dumps([archive.version_json(info) for info in versions], ensure_ascii=False))
    elif versions:
        print(table(versions))
    else:
        print(f"{doc} has no versions yet")
    return 0


def export(args: argparse.Namespace) -> int:
    doc = _doc_id(args.doc)
    if args.format == "yjs" and not args.output and sys.stdout.isatty():
        # A binary update garbles a terminal (and is of no use there).
        raise ConfigError("--format yjs writes binary: pass --output FILE, or redirect it")

    async def work(store: Store) -> bytes:
        await _require_doc(store, doc)
        if args.version is None:
            parts = await archive.stored_parts(store, doc)
        else:
            parts = await archive.version_parts(store, doc, args.version)
        return jobs.render(parts, args.format)[1]

    body = _with_store(args.store, work)
    if args.format == "text" and body and not body.endswith(b"\n"):
        body += b"\n"  # a text file's last line ends with a newline, as tools expect
    if args.output:
        Path(args.output).write_bytes(body)
        return 0
    sys.stdout.buffer.write(body)
    if args.format in {"html", "json"} and sys.stdout.isatty():
        sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()
    return 0


IMPORT_TYPES = {"markdown": "text/markdown", "html": "text/html", "json": "application/json"}
IMPORT_TYPES["text"] = "text/plain"
_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
_SUFFIXES |= {".json": "json", ".txt": "text"}


def import_content(args: argparse.Namespace) -> int:
    """Make DOC the content of FILE: a PUT to a running hub (its editors see it at once), or,
    with --store, one update appended to the store (only when no server has DOC open: a hub
    holding it would not see the change until it loads the document again)."""
    doc = _doc_id(args.doc)
    path = Path(args.file)
    kind = args.format or _SUFFIXES.get(path.suffix.lower(), "markdown")
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if args.server:
        return _import_over_http(args, doc, kind, body)
    try:
        target = parse(kind, body)
    except ContentError as exc:
        raise TandemError(f"{path}: {exc}") from None

    async def work(store: Store) -> int:
        await store.undelete(doc)  # an import creates it: a deleted one's name is free again
        stored = await store.load(doc)
        update = replace_update(Document.load(None, stored.parts), target)
        if update is not None:
            await store.append({doc: [update]})
        return len(update or b"")

    size = _with_store(args.store, work, create=True)
    print(f"imported {path} into {doc} ({size} bytes of update)" if size else f"{doc} unchanged")
    return 0


def _import_over_http(args: argparse.Namespace, doc: str, kind: str, body: str) -> int:
    headers = {"Content-Type": IMPORT_TYPES[kind]}
    token = args.token or os.environ.get("TANDEM_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{args.server.rstrip('/')}/api/docs/{doc}"
    result = remote.call(
        "PUT", url, what="import", headers=headers, content=body.encode(), timeout=60
    )
    if result is None:
        return 1
    print(f"imported {args.file} into {doc} ({result['update_bytes']} bytes of update)")
    return 0
