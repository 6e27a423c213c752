"""y-protocols awareness: the codec and a table that relays only real changes.

y-websocket clients re-send every presence entry they receive; relaying entries whose
clock did not advance turns each renewal into k² messages (DESIGN §5). ``AwarenessTable``
follows y-protocols' ``applyAwarenessUpdate`` so echoes stop at the server.
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


class AwarenessTable:
    """Presence of the clients of one document, with tombstones for those who left.

    Time is passed in (monotonic seconds) so the table stays pure and testable.
    """

    __slots__ = ("_meta",)

    def __init__(self) -> None:
        self._meta: dict[int, _Meta] = {}

    def apply(self, entries: Iterable[AwarenessEntry], now: float) -> list[AwarenessEntry]:
        """Apply y-protocols' rules; return the entries worth relaying.

        An entry is accepted when its clock is newer than the one known (an unknown client
        counts as clock 0, as in y-protocols), or when it removes a present client at the
        same clock. A removal of a client never seen is recorded but not relayed.
        """
        changed: list[AwarenessEntry] = []
        for entry in entries:
            meta = self._meta.get(entry.client_id)
            current = 0 if meta is None else meta.clock
            present = meta is not None and meta.state is not None
            if not (
                entry.clock > current
                or (entry.clock == current and entry.state is None and present)
            ):
                continue
            self._meta[entry.client_id] = _Meta(entry.clock, entry.state, now)
            if meta is not None or entry.state is not None:
                changed.append(AwarenessEntry(entry.client_id, entry.clock, entry.state))
        return changed

    def remove(self, client_ids: Iterable[int], now: float) -> list[AwarenessEntry]:
        """Mark present clients as gone (their connection closed); return the null entries."""
        removed: list[AwarenessEntry] = []
        for client_id in client_ids:
            meta = self._meta.get(client_id)
            if meta is None or meta.state is None:
                continue
            meta.clock += 1
            meta.state = None
            meta.last_updated = now
            removed.append(AwarenessEntry(client_id, meta.clock, None))
        return removed

    def states(self) -> list[AwarenessEntry]:
        return [
            AwarenessEntry(client_id, meta.clock, meta.state)
            for client_id, meta in self._meta.items()
            if meta.state is not None
        ]

    def prune_tombstones(self, now: float, older_than: float) -> int:
        """Forget departed clients after a while; returns how many were dropped."""
        stale = [
            client_id
            for client_id, meta in self._meta.items()
            if meta.state is None and now - meta.last_updated > older_than
        ]
        for client_id in stale:
            del self._meta[client_id]
        return len(stale)

    def __len__(self) -> int:
        return sum(1 for meta in self._meta.values() if meta.state is not None)

    def __contains__(self, client_id: object) -> bool:
        meta = self._meta.get(client_id) if isinstance(client_id, int) else None
        return meta is not None and meta.state is not None
