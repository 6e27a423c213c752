"""The timestamps notifications carry: UTC, ISO 8601 to the millisecond, with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    """`ts` (Unix time) as e.g. 2025-01-01T12:00:00.000Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
