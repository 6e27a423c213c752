"""y-protocols awareness: the codec and a table that relays only real changes.

y-websocket clients re-send every presence entry they receive; relaying entries whose
clock did not advance turns each renewal into k² messages
(docs/pycrdt-pitfalls.md#awareness-echoes). ``AwarenessTable``
follows y-protocols' ``applyAwarenessUpdate`` so echoes stop at the server, and it is bounded:
present clients and their state bytes up to a cap, departed clients forgotten after a while.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crdt.errors import ProtocolError
from crdt.lib0 import MAX_SAFE_INTEGER, Decoder, Encoder

_NULL = "null"

MAX_CLOCK = MAX_SAFE_INTEGER - 1
"""The highest clock of a state: the removal of a client bumps its clock, which must stay
encodable (a removal itself may carry MAX_SAFE_INTEGER)."""

# A surrogate can only come from a \u escape (the text itself is valid UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(slots=True)
class AwarenessEntry:
    """One client's presence; ``state`` is the raw JSON text, None when the client left."""

    client_id: int
    clock: int
    state: str | None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _check_json(text: str, client_id: int) -> None:
    """Refuse what JavaScript's JSON.parse would refuse, so peers never see it, and strings
    no peer could encode as UTF-8 (a lone surrogate escape such as "\\ud800")."""
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"awareness state is not valid JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(parsed):
        raise ProtocolError(
            f"awareness state of client {client_id} has a lone surrogate (not UTF-8)"
        )


def _has_lone_surrogate(value: object) -> bool:
    """Whether a parsed JSON value holds a surrogate code point (a pair became one character)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def decode_awareness_update(
    data: bytes, *, max_entries: int = 1024, max_state_bytes: int = 64 * 1024
) -> list[AwarenessEntry]:
    """Decode an awareness update: varUint n, then n * (clientID, clock, JSON state)."""
    dec = Decoder(data)
    count = dec.read_var_uint()
    if count > max_entries:
        raise ProtocolError(f"awareness update has {count} entries (limit {max_entries})")
    if count * 3 > dec.remaining:
        raise ProtocolError(f"{count} awareness entries claimed in {dec.remaining} bytes")
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client_id = dec.read_var_uint()
        clock = dec.read_var_uint()
        size = dec.read_var_uint()
        if size > max_state_bytes:
            raise ProtocolError(
                f"awareness state of {size} bytes exceeds the limit of {max_state_bytes}"
            )
        raw = dec.read_bytes(size)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("awareness state is not valid UTF-8") from None
        _check_json(text, client_id)
        state = None if text.strip() == _NULL else text
        if state is not None and clock > MAX_CLOCK:
            raise ProtocolError(
                f"awareness clock {clock} of client {client_id} cannot be incremented"
            )
        entries.append(AwarenessEntry(client_id, clock, state))
    if not dec.done:
        raise ProtocolError(f"{dec.remaining} trailing bytes after awareness update")
    return entries


def encode_awareness_update(entries: Iterable[AwarenessEntry]) -> bytes:
    items = list(entries)
    enc = Encoder()
    enc.write_var_uint(len(items))
    for entry in items:
        enc.write_var_uint(entry.client_id)
        enc.write_var_uint(entry.clock)
        enc.write_var_string(_NULL if entry.state is None else entry.state)
    return enc.to_bytes()


@dataclass(slots=True)
class _Meta:
    clock: int
    state: str | None  # None: a tombstone that remembers the clock of a departed client
    last_updated: float
    size: int = 0  # UTF-8 bytes of the state


@dataclass(frozen=True, slots=True)
class Applied:
    """What an awareness update did to the table."""

    changed: list[AwarenessEntry]  # the entries worth relaying
    refused: int = 0  # states left out because the table was full
    # Ids among `changed` whose state is the one they had: a renewal (y-protocols renews every
    # 15 s; Tandem's client every few seconds, as its heartbeat), news to nobody but the timer.
    renewed: frozenset[int] = frozenset()


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class AwarenessTable:
    """Presence of the clients of one document, with tombstones for those who left.

    At most `max_clients` present clients holding `max_bytes` of state: what a joiner is sent
    stays bounded. Tombstones go after `tombstone_ttl` seconds (y-protocols' outdated timeout),
    the oldest first when there are more than `max_clients` of them. Time is passed in
    (monotonic seconds) so the table stays pure and testable.
    """

    __slots__ = ("_departed", "_live", "_meta", "live_bytes", "max_bytes", "max_clients", "ttl")

    def __init__(
        self,
        *,
        max_clients: int = 4096,
        max_bytes: int = 4 * 1024 * 1024,
        tombstone_ttl: float = 30.0,
    ) -> None:
        self.max_clients = max_clients
        self.max_bytes = max_bytes
        self.ttl = tombstone_ttl
        self._meta: dict[int, _Meta] = {}
        # Tombstones in the order their clients left (re-inserted on each departure).
        self._departed: dict[int, None] = {}
        self._live = 0
        self.live_bytes = 0

    def apply(self, entries: Iterable[AwarenessEntry], now: float) -> Applied:
        """Apply y-protocols' rules; return the entries worth relaying.

        An entry is accepted when its clock is newer than the one known (an unknown client
        counts as clock 0, as in y-protocols), or when it removes a present client at the
        same clock. A removal of a client never seen is recorded but not relayed. A state that
        would take the table past its bounds is refused (counted in `refused`).
        """
        changed: list[AwarenessEntry] = []
        renewed: set[int] = set()
        refused = 0
        for entry in entries:
            meta = self._meta.get(entry.client_id)
            current = 0 if meta is None else meta.clock
            present = meta is not None and meta.state is not None
            if not (
                entry.clock > current
                or (entry.clock == current and entry.state is None and present)
            ):
                continue
            size = 0 if entry.state is None else _utf8_size(entry.state)
            if entry.state is not None and not self._fits(size, meta if present else None):
                refused += 1
                continue
            self._set(entry.client_id, _Meta(entry.clock, entry.state, now, size), meta)
            if meta is not None or entry.state is not None:
                changed.append(AwarenessEntry(entry.client_id, entry.clock, entry.state))
                if meta is not None and meta.state is not None and entry.state == meta.state:
                    renewed.add(entry.client_id)
        self._prune(now)
        return Applied(changed, refused, frozenset(renewed))

    def remove(self, client_ids: Iterable[int], now: float) -> list[AwarenessEntry]:
        """Mark present clients as gone (their connection closed); return the null entries."""
        removed: list[AwarenessEntry] = []
        for client_id in client_ids:
            meta = self._meta.get(client_id)
            if meta is None or meta.state is None:
                continue
            clock = min(meta.clock + 1, MAX_SAFE_INTEGER)  # the codec keeps clocks below this
            self._set(client_id, _Meta(clock, None, now), meta)
            removed.append(AwarenessEntry(client_id, clock, None))
        self._prune(now)
        return removed

    def _fits(self, size: int, replaced: _Meta | None) -> bool:
        if replaced is None:
            return self._live < self.max_clients and self.live_bytes + size <= self.max_bytes
        return self.live_bytes - replaced.size + size <= self.max_bytes

    def _set(self, client_id: int, meta: _Meta, previous: _Meta | None) -> None:
        if previous is not None and previous.state is not None:
            self._live -= 1
            self.live_bytes -= previous.size
        self._meta[client_id] = meta
        self._departed.pop(client_id, None)
        if meta.state is None:
            self._departed[client_id] = None
        else:
            self._live += 1
            self.live_bytes += meta.size

    def _prune(self, now: float) -> None:
        """Forget the oldest tombstones: those past their time, and any beyond the cap."""
        departed = self._departed
        while departed:
            oldest = next(iter(departed))
            if (
                len(departed) <= self.max_clients
                and now - self._meta[oldest].last_updated < self.ttl
            ):
                return
            del departed[oldest]
            del self._meta[oldest]

    def states(self) -> list[AwarenessEntry]:
        return [
            AwarenessEntry(client_id, meta.clock, meta.state)
            for client_id, meta in self._meta.items()
            if meta.state is not None
        ]

    def state_bytes(self, client_id: int) -> int:
        """UTF-8 bytes of a present client's state (0 when it is not present)."""
        meta = self._meta.get(client_id)
        return 0 if meta is None else meta.size

    @property
    def departed_count(self) -> int:
        return len(self._departed)

    def __len__(self) -> int:
        return self._live

    def __contains__(self, client_id: object) -> bool:
        meta = self._meta.get(client_id) if isinstance(client_id, int) else None
        return meta is not None and meta.state is not None
