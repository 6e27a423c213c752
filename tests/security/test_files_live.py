"""What a live server leaves on disk: its SQLite files are readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually


async def test_the_sqlite_files_are_created_owner_only(tmp_path: Path, yjs_clients) -> None:
    db = tmp_path / "data" / "tandem.db"
    server = await TandemProcess("--port", "0", "--store", f"sqlite:///{db}").start()
    try:
        writer = await yjs_clients(server.ws_url, "private")
        await writer.call("append", text="not for other users of this machine")
        files = [db, db.with_name("tandem.db-wal"), db.with_name("tandem.db-shm")]

        async def modes() -> dict[str, int]:
            return {f.name: stat.S_IMODE(f.stat().st_mode) for f in files if f.exists()}

        # The update is flushed within a tenth of a second, through the WAL.
        found = await eventually(modes, lambda m: len(m) == 3, what="the three SQLite files")
        assert found == {"tandem.db": 0o600, "tandem.db-wal": 0o600, "tandem.db-shm": 0o600}
    finally:
        await server.stop()
