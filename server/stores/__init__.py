"""Store backends, picked by URL scheme and imported lazily."""

from __future__ import annotations

from urllib.parse import urlparse

from server.errors import ConfigError
from server.stores.base import (
    DocInfo,
    Revocation,
    Store,
    StoredDoc,
    StoredVersion,
    TailStats,
    VersionInfo,
)
from server.stores.threads import Author, Reply, Thread

__all__ = [
    "Author",
    "DocInfo",
    "Reply",
    "Revocation",
    "Store",
    "StoredDoc",
    "StoredVersion",
    "TailStats",
    "Thread",
    "VersionInfo",
    "open_store",
]


def open_store(url: str) -> Store:
    """Build (not yet open) the store a URL names: sqlite:///PATH, memory://, redis://HOST:PORT/DB."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            raise ConfigError(f"store URL {url!r} names no file: use sqlite:///PATH")
        path = url[len("sqlite:///") :]
        from server.stores.sqlite import SQLiteStore

        return SQLiteStore(path)
    if scheme == "memory":
        from server.stores.memory import MemoryStore

        return MemoryStore()
    if scheme in {"redis", "rediss"}:
        try:
            from server.stores.redis import RedisStore  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ConfigError("the Redis store is not available in this build") from exc
        return RedisStore(url)  # type: ignore[no-any-return]
    raise ConfigError(
        f"unsupported store URL {url!r}: use sqlite:///PATH, memory:// or redis://HOST:PORT/DB"
    )
