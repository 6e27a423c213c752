"""Exceptions raised by the crdt package.

CrdtError
├── ProtocolError      malformed bytes from a peer; the connection closes with ``close_code``
│   └── FrameTooLarge  a frame over the size limit (close code 1009)
├── UpdateRejected     well-formed on the wire, but pycrdt refused it; the document is unchanged
└── UpdateGap          the update starts past the document's state; not applied, resync instead

Foreign errors (pycrdt's ``ValueError`` and ``PanicException``) are translated by
``pycrdt_refusals`` so that callers only ever see this tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

_PASS_THROUGH = (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit)


class CrdtError(Exception):
    """Base of every error the crdt package raises on purpose."""


class ProtocolError(CrdtError):
    """Bytes from a peer that do not follow the wire format; the peer is closed."""

    close_code: int = 1002


class FrameTooLarge(ProtocolError):
    """A frame larger than the configured limit; refused before any parsing."""

    close_code = 1009


class UpdateRejected(CrdtError):
    """pycrdt refused an update that our decoder accepted; the document is unchanged."""


@contextmanager
def pycrdt_refusals(action: str) -> Iterator[None]:
    """Run pycrdt code, turning every failure of it into UpdateRejected("pycrdt {action}: …")
    (docs/pycrdt-pitfalls.md#panics-are-baseexceptions).

    An ``ExceptionGroup`` (from an observer: the work *was* done) and interpreter exits pass.
    """
    try:
        yield
    except BaseExceptionGroup:
        raise
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # pyo3_runtime.PanicException is a BaseException
        raise UpdateRejected(f"pycrdt {action}: {type(exc).__name__}: {exc}") from exc


class UpdateGap(CrdtError):
    """An update whose clocks start past what the document has seen.

    yrs would integrate it out of order and diverge from Yjs
    (docs/pycrdt-pitfalls.md#out-of-order-updates), so it is held
    back and the caller resolves it with a state-vector sync. ``missing`` maps each client
    to ``(clock the document has, clock the update needs)``.
    """

    def __init__(self, missing: dict[int, tuple[int, int]]) -> None:
        self.missing = missing
        detail = ", ".join(
            f"client {client}: have {have}, update starts at {start}"
            for client, (have, start) in sorted(missing.items())
        )
        super().__init__(f"update does not follow the document's state ({detail})")
