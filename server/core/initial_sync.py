"""What a joining client is sent: its initial sync, shared by joiners and streamed when large.

A client's sync step 1 is answered with a `SyncStream` (server/core/connection.py):
- For a document of less than `chunk_bytes`, or a client that lacks less than that, the stream
  is one sync step 2: the diff for the client's state vector.
- Otherwise it streams the room's *base*: the document as it was at a recent moment, split
  into sync-update frames of about `chunk_bytes` in causal order (crdt/split.py), then the
  update frames the room applied since, then a sync step 2 of what came during the stream
  (and the delete set). Stock y-websocket clients apply the updates as they come and count as
  synced at the step 2.

Joiners share the work: the frames are the same bytes objects for every joiner, and the
closing step 2 is computed once per document version and state vector. So a storm of joiners
costs the document once plus, per joiner, the socket's window of one frame in flight.

The base is rebuilt in the worker process (server/core/offload.py) once what came since is an
eighth of it (at least `chunk_bytes`) or MAX_SINCE_FRAMES updates, so the total work stays
linear in the document's growth and nothing large is encoded on the event loop. The same
parts (base and frames since) feed every whole-document job of a large open document
(rendering, versions). The room asks for a rebuild; the hub runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from crdt.document import Document
from crdt.protocol import (
    SyncUpdate,
    encode_sync_step2,
    parse_message,
    parse_state_vector,
)
from server.core.connection import SyncStream

# A base is also rebuilt after this many updates since it, so a joiner is sent few small frames.
MAX_SINCE_FRAMES = 2000


@dataclass(frozen=True, slots=True)
class Base:
    """The document at one moment, as sync-update frames every joiner shares."""

    frames: tuple[bytes, ...]
    state_vector: bytes

    @property
    def nbytes(self) -> int:
        return sum(len(frame) for frame in self.frames)


class InitialSync:
    __slots__ = (
        "_rebuild_from",
        "_state",
        "_step2_cache",
        "_streamed_cache",
        "base",
        "chunk_bytes",
        "document",
        "since",
        "since_bytes",
        "version",
    )

    def __init__(self, document: Document, chunk_bytes: int, base: Base | None = None) -> None:
        self.document = document
        self.chunk_bytes = chunk_bytes
        self.base = base
        self._state = parse_state_vector(base.state_vector) if base else {}
        # The sync-update frames applied since the base (or since the first one started to
        # be built), in order: joiners are sent them after the base.
        self.since: list[bytes] = []
        self.since_bytes = 0
        self.version = 0  # counts applied changes: the key of the cached answer
        self._streamed_cache: tuple[int, tuple[tuple[bytes, ...], bytes]] | None = None
        self._step2_cache: tuple[tuple[int, bytes], bytes] | None = None
        self._rebuild_from: int | None = None  # len(since) when a rebuild started

    @property
    def rebuilding(self) -> bool:
        return self._rebuild_from is not None

    def answer(self, state_vector: bytes) -> SyncStream:
        """The initial sync for a client that holds `state_vector`."""
        if self.base is not None and self._lacks(state_vector) >= self.chunk_bytes:
            frames, now = self._streamed()
            return SyncStream(frames, partial(self._step2, now))
        return SyncStream((), partial(self._step2, state_vector))

    def _streamed(self) -> tuple[tuple[bytes, ...], bytes]:
        """The base and the frames since it, and the state vector they reach (one per
        version, shared by every joiner of that version)."""
        cache = self._streamed_cache
        if cache is not None and cache[0] == self.version:
            return cache[1]
        assert self.base is not None
        streamed = ((*self.base.frames, *self.since), self.document.state_vector())
        self._streamed_cache = (self.version, streamed)
        return streamed

    def _lacks(self, state_vector: bytes) -> int:
        """How many clock ticks of the base a client with this state vector does not have."""
        have = parse_state_vector(state_vector)
        return sum(max(0, clock - have.get(client, 0)) for client, clock in self._state.items())

    def _step2(self, state_vector: bytes) -> bytes:
        """Sync step 2 for a state vector, computed when the writer gets there (so it holds
        whatever was applied meanwhile), once per version and state vector.

        Clients that have everything the document has (our own client confirming its edits
        with a sync step 1, each time with a new state vector of its own) all get the same
        answer, the delete set alone: computed once per version for all of them."""
        cache = self._step2_cache
        if cache is not None and cache[0] == (self.version, state_vector):
            return cache[1]
        ours = self.document.state_vector()
        if _covers(state_vector, ours):
            state_vector = ours
            if cache is not None and cache[0] == (self.version, ours):
                return cache[1]
        key = (self.version, state_vector)
        frame = encode_sync_step2(self.document.diff(state_vector))
        self._step2_cache = (key, frame)
        return frame

    def applied(self, frame: bytes, size: int) -> bool:
        """The document applied this sync-update frame and its size count is now `size`:
        True when a new base is due (the caller takes `start_rebuild`, builds it in the
        worker and installs it with `rebased`)."""
        self.version += 1
        base = self.base
        if base is not None or self._rebuild_from is not None:
            self.since.append(frame)
            self.since_bytes += len(frame)
        return self.rebuild_due(size)

    def rebuild_due(self, size: int) -> bool:
        """Whether a new base should be built, the document's size count being `size`."""
        base = self.base
        if self._rebuild_from is not None:
            return False
        if base is None:
            return size >= self.chunk_bytes
        return (
            self.since_bytes >= max(self.chunk_bytes, base.nbytes // 8)
            or len(self.since) >= MAX_SINCE_FRAMES
        )

    def size(self) -> int:
        """The document's encoded size (an upper bound: the base, measured when it was built,
        and the updates since it; exact, by encoding, while the document is small)."""
        if self.base is None:
            return len(self.document.encode())
        return self.base.nbytes + self.since_bytes

    def start_rebuild(self) -> list[bytes]:
        """The parts to build the next base from; `rebased` installs it."""
        self._rebuild_from = len(self.since)
        return self.parts()

    def parts(self) -> list[bytes]:
        """Updates that make up the document now, cheap to take on the event loop (copies
        of the base and of what came since, or the encoded document while it is small)."""
        if self.base is None:
            return [self.document.encode()]
        return [_update_of(frame) for frame in (*self.base.frames, *self.since)]

    def rebased(self, base: Base | None) -> None:
        """Install the base built from `start_rebuild` (None: it failed; asked again on a
        later change). The frames applied while it was built stay, to be sent after it."""
        taken, self._rebuild_from = self._rebuild_from or 0, None
        if base is not None:
            self.base = base
            self._state = parse_state_vector(base.state_vector)
            self._streamed_cache = None
            self.since = self.since[taken:]
        elif self.base is None:
            self.since = []  # nothing to be relative to
        self.since_bytes = sum(len(frame) for frame in self.since)


def _update_of(frame: bytes) -> bytes:
    message = parse_message(frame, len(frame))
    assert isinstance(message, SyncUpdate)
    return message.update


def _covers(state_vector: bytes, ours: bytes) -> bool:
    """Whether a client with `state_vector` has every change of a document at `ours`."""
    if state_vector == ours:
        return True
    have = parse_state_vector(state_vector)
    return all(have.get(client, 0) >= clock for client, clock in parse_state_vector(ours).items())
