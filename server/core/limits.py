"""What one client may cost the hub: message rates, connections, open documents, presence.

Every limit has a name (the `limit` label of `tandem_limit_exceeded_total`), a close code and a
reason the client is told. Frame size is uvicorn's `ws_max_size` (1009 before the frame is read),
request bodies are bounded in `server.security.guard`, document size in `server.core.room`.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from server.config import Config
from server.core.closecodes import CloseCode
from server.errors import TandemError


class LimitExceeded(TandemError):
    """A limit refused a connection or a message; the connection closes with `close_code`."""

    def __init__(self, limit: str, close_code: int, reason: str) -> None:
        super().__init__(reason)
        self.limit = limit
        self.close_code = close_code
        self.reason = reason


class TokenBucket:
    """`rate` events per second sustained, bursts of up to `burst`."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class MessageRates:
    """Per-connection rates, checked on the first bytes of a frame before it is parsed.

    Sync messages (updates, and sync requests, which make the server compute a diff) and
    awareness queries share one bucket; awareness updates have their own.
    """

    __slots__ = ("_awareness", "_sync")

    def __init__(self, config: Config) -> None:
        self._sync = TokenBucket(config.update_rate, config.update_burst)
        self._awareness = TokenBucket(config.awareness_rate, config.awareness_burst)

    def check(self, frame: bytes) -> None:
        kind = frame[0] if frame else -1
        if kind in (0, 3):
            if not self._sync.take():
                raise LimitExceeded(
                    "update_rate",
                    CloseCode.POLICY,
                    f"more than {self._sync.rate:g} sync messages per second",
                )
        elif kind == 1 and not self._awareness.take():
            raise LimitExceeded(
                "awareness_rate",
                CloseCode.POLICY,
                f"more than {self._awareness.rate:g} awareness messages per second",
            )


@dataclass(frozen=True, slots=True)
class PresenceLimits:
    """Awareness client ids and bytes of state one connection, and one document, may hold.

    A joiner is sent the whole presence of the document at once, so the document's bounds keep
    that message well inside a send queue (checked in server.config); a connection past its own
    bounds is closed with 1008, one that finds the document's presence full with 1013.
    """

    clients_per_connection: int = 8
    bytes_per_connection: int = 16 * 1024
    clients_per_doc: int = 4096
    bytes_per_doc: int = 4 * 1024 * 1024

    @classmethod
    def of(cls, config: Config) -> PresenceLimits:
        return cls(
            config.max_awareness_clients,
            config.max_awareness_bytes,
            config.max_awareness_clients_per_doc,
            config.max_awareness_bytes_per_doc,
        )

    def check_connection(self, clients: int, size: int) -> None:
        """LimitExceeded (1008) when one connection announces too many clients or bytes."""
        if clients > self.clients_per_connection:
            raise LimitExceeded(
                "awareness_clients",
                CloseCode.POLICY,
                f"presence limit: at most {self.clients_per_connection} awareness clients "
                "per connection",
            )
        if size > self.bytes_per_connection:
            raise LimitExceeded(
                "awareness_bytes",
                CloseCode.POLICY,
                f"presence limit: at most {self.bytes_per_connection} bytes of awareness state "
                "per connection",
            )

    def doc_full(self, clients: int) -> LimitExceeded:
        """The refusal of a state that did not fit in the document's presence (1013)."""
        if clients >= self.clients_per_doc:
            limit, what = "doc_awareness_clients", f"{self.clients_per_doc} awareness clients"
        else:
            limit, what = "doc_awareness_bytes", f"{self.bytes_per_doc} bytes of awareness state"
        return LimitExceeded(
            limit,
            CloseCode.TRY_AGAIN_LATER,
            f"presence of this document is full ({what}); try again later",
        )


class ConnectionLimiter:
    """Counts open sockets in total, per document and per client address."""

    def __init__(self, config: Config) -> None:
        self.max_total = config.max_connections
        self.max_per_doc = config.max_connections_per_doc
        self.max_per_address = config.max_connections_per_address
        self.total = 0
        self.per_doc: Counter[str] = Counter()
        self.per_address: Counter[str] = Counter()

    def acquire(self, doc: str | None, address: str | None) -> None:
        """Take a place for a socket; LimitExceeded (1013) when there is none."""
        if self.total >= self.max_total:
            raise LimitExceeded(
                "connections",
                CloseCode.TRY_AGAIN_LATER,
                f"server full ({self.max_total} connections); try again later",
            )
        if doc is not None and self.per_doc[doc] >= self.max_per_doc:
            raise LimitExceeded(
                "connections_per_doc",
                CloseCode.TRY_AGAIN_LATER,
                f"document full ({self.max_per_doc} connections); try again later",
            )
        if address is not None and self.per_address[address] >= self.max_per_address:
            raise LimitExceeded(
                "connections_per_address",
                CloseCode.TRY_AGAIN_LATER,
                f"too many connections from your address (limit {self.max_per_address})",
            )
        self.total += 1
        if doc is not None:
            self.per_doc[doc] += 1
        if address is not None:
            self.per_address[address] += 1

    def release(self, doc: str | None, address: str | None) -> None:
        """Give back the place `acquire` took (exactly once per successful acquire)."""
        self.total -= 1
        if doc is not None:
            _release(self.per_doc, doc)
        if address is not None:
            _release(self.per_address, address)

    @contextlib.contextmanager
    def admit(self, doc: str | None, address: str | None) -> Iterator[None]:
        """Hold a place while the block runs (acquire, then release at the end)."""
        self.acquire(doc, address)
        try:
            yield
        finally:
            self.release(doc, address)


def _release(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
