"""The one timestamp format of the API, events and webhooks: UTC, milliseconds, a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    """`ts` (seconds since the epoch) as e.g. "2025-05-01T09:30:12.345Z"."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
