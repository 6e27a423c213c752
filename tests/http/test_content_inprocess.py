"""The content API in process (`hub.documents`, server/core/documents.py), as server code and
`--auth-verifier` apps use it: a write reaches a connected editor as one update, versions name
the writer, reads give Markdown and an ETag that a later replace can merge against."""

from __future__ import annotations

import pytest

from crdt.protocol import SyncUpdate, parse_message
from server.app import add_events, add_history
from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.core.identity import Identity
from server.errors import BadRequest, NotFound
from server.stores.memory import MemoryStore
from tests.support.channels import RecordingChannel

AGENT = Identity(user="agent", name="Agent", anonymous=False)


async def test_replace_append_read_in_process() -> None:
    hub = Hub(Config(version_idle_seconds=60, flush_interval=0.01), MemoryStore())
    recorder = add_history(hub, add_events(hub).publish)
    async with hub.running():
        with pytest.raises(NotFound):
            await hub.documents.read("notes")
        change = await hub.documents.replace("notes", markdown="# Plan\n\nShip it.", by=AGENT)
        assert change.changed and change.update_bytes > 0
        editor = Connection(RecordingChannel(), identity=Identity(user="ana", name="Ana"))
        await hub.join("notes", editor)
        editor.flush()
        await hub.documents.append("notes", text="One more line.", by=AGENT)
        frames = [parse_message(frame) for frame in editor.queued]
        assert [type(frame) for frame in frames] == [SyncUpdate]  # one change, relayed
        content = await hub.documents.read("notes", "markdown")
        assert content.text == "# Plan\n\nShip it.\n\nOne more line.\n"
        assert content.media_type.startswith("text/markdown")

        edited = content.text.replace("Ship it.", "Ship it today.")
        json_doc = {"type": "doc", "content": [{"type": "paragraph"}]}
        await hub.documents.append("notes", json=json_doc, by=AGENT)  # someone else's block
        await hub.documents.replace("notes", markdown=edited, base=content.etag, by=AGENT)
        assert (await hub.documents.read("notes", "text")).text == (
            "Plan\nShip it today.\nOne more line.\n"
        )
        with pytest.raises(BadRequest):
            await hub.documents.replace("notes", json={"type": "doc", "content": [1]}, by=AGENT)
        with pytest.raises(TypeError):
            await hub.documents.replace("notes", by=AGENT)

        info = await recorder.close_version("notes", force=True)
        assert info is not None and info.authors == ("agent",)
