"""What tests of rooms and connections share: the messages a connection will write next, and a
text edit as a Yjs update."""

from __future__ import annotations

from pycrdt import Doc, Text

from crdt.protocol import parse_message
from server.core.connection import Connection


def queued(conn: Connection) -> list[object]:
    """What the connection will write next: its queue, then an initial sync under way
    (its frames wait for `flush()`, which tests call to start from an empty queue)."""
    frames = list(conn.queued)
    if conn.sync is not None:
        frames += [*conn.sync.frames, conn.sync.final()]
    return [parse_message(frame) for frame in frames]


def edit(client_id: int, text: str, base: Doc | None = None) -> tuple[Doc, bytes]:
    """Append `text` to the shared text "t" of `base` (or a new Doc): the doc and the update."""
    doc = base or Doc(client_id=client_id)
    before = doc.get_state()
    t = doc.get("t", type=Text)
    t += text
    return doc, doc.get_update(before)
