"""Errors of the hub, in one tree.

TandemError
├── ConfigError          bad flags, environment or store URL (the CLI prints it and exits 2)
├── StoreError           a store backend failed (SQLite or Redis errors are translated into
│                        this); over HTTP a 503 "the store is unavailable"
└── Refused              a request that gets an answer of its own: `status` and {"error": message}
    ├── BadRequest       400: malformed input (core/docids.InvalidDocId is one)
    ├── NotFound         404: no such document (history/archive.NoSuchVersion is one)
    ├── TooLarge         413: a write would grow the document past its size limit
    ├── UnsupportedType  415: a body of a content type the route does not take
    ├── Unavailable      503: a dependency cannot do it now
    └── AuthError        401 / 403, also as WebSocket close codes (security/auth.py)

Elsewhere, for the hub's own flow: LimitExceeded (core/limits), OffloadFailed (core/offload),
BrokerError (pubsub/base). server/http/errors.py maps the tree to HTTP responses, once (and
crdt's UpdateRejected, the document's content refusing a change, to a 409).
"""

from __future__ import annotations


class TandemError(Exception):
    pass


class ConfigError(TandemError):
    pass


class StoreError(TandemError):
    pass


class Refused(TandemError):
    """A request refused with `status`; its message is the body's "error" (no internals in it)."""

    status = 400

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class BadRequest(Refused):
    status = 400


class NotFound(Refused):
    status = 404


class TooLarge(Refused):
    status = 413


class UnsupportedType(Refused):
    status = 415


class Unavailable(Refused):
    status = 503
