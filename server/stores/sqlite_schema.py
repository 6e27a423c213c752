"""The SQLite store's tables (server/stores/sqlite.py), and bringing a database that an earlier
version made up to them: a column added since is added to an existing table, nothing is lost."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    snapshot BLOB,
    generation INTEGER NOT NULL DEFAULT 0,
    snapshot_size INTEGER NOT NULL DEFAULT 0,
    tail_count INTEGER NOT NULL DEFAULT 0,
    tail_size INTEGER NOT NULL DEFAULT 0,
    title TEXT
);
CREATE TABLE IF NOT EXISTS updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS updates_doc_seq ON updates (doc, seq);
-- History: its own tables, which compaction of the live log never touches.
CREATE TABLE IF NOT EXISTS versions (
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    meta TEXT NOT NULL,
    diff BLOB NOT NULL,
    state_vector BLOB NOT NULL,
    PRIMARY KEY (doc, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (doc, version)
) WITHOUT ROWID;
-- Deleted documents (until created again): a client's old copy must not bring one back.
CREATE TABLE IF NOT EXISTS tombstones (
    doc TEXT PRIMARY KEY,
    deleted_at REAL NOT NULL
) WITHOUT ROWID;
-- Comment threads (server/stores/sqlite_threads.py): one row per thread, its JSON.
CREATE TABLE IF NOT EXISTS comment_threads (
    doc TEXT NOT NULL,
    id TEXT NOT NULL,
    created REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (doc, id)
) WITHOUT ROWID;
-- Per user: tokens issued before issued_before are refused, until keep_until.
CREATE TABLE IF NOT EXISTS revocations (
    user_id TEXT PRIMARY KEY,
    issued_before REAL NOT NULL,
    keep_until REAL NOT NULL
) WITHOUT ROWID;
"""

# Columns added to existing tables since their first release: (table, column, declaration).
ADDED_COLUMNS = (("docs", "title", "TEXT"),)


def create_schema(db: sqlite3.Connection) -> None:
    """Create what is missing: the tables, and the columns added since a database was made."""
    db.executescript(SCHEMA)
    for table, column, declaration in ADDED_COLUMNS:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
