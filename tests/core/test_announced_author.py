"""Who an edit is by: an anonymous connection's announced name (sanitized) under its presence
id; an identity from a token whatever the connection announces."""

from __future__ import annotations

import json

from crdt.awareness import AwarenessEntry
from server.core.connection import Connection
from server.core.identity import ANONYMOUS, Identity
from server.core.names import announced_author, stamp_awareness
from tests.support.channels import RecordingChannel


def entry(client_id: int, state: object) -> AwarenessEntry:
    return AwarenessEntry(client_id, 1, None if state is None else json.dumps(state))


def test_an_anonymous_connection_is_the_name_it_announced() -> None:
    entries = stamp_awareness(ANONYMOUS, [entry(1, {"user": {"name": "<b>Ana</b>  Lima"}})])
    author = announced_author(ANONYMOUS, "anon-1234", entries)
    assert author is not None
    assert (author.user, author.name, author.anonymous) == ("anon-1234", "Ana Lima", True)
    assert author.role is ANONYMOUS.role


def test_no_name_no_author_and_a_token_stays_authoritative() -> None:
    assert announced_author(ANONYMOUS, "anon-1", [entry(1, {"cursor": 3})]) is None
    assert announced_author(ANONYMOUS, "anon-1", [entry(1, None)]) is None
    ana = Identity(user="ana", name="Ana", anonymous=False)
    assert announced_author(ana, "ana", [entry(1, {"user": {"name": "Mallory"}})]) is None


def test_a_connection_starts_as_its_identity_with_a_presence_id() -> None:
    guest = Connection(RecordingChannel())
    assert guest.author is guest.identity and guest.guest.startswith("anon-")
    ana = Identity(user="ana", name="Ana", anonymous=False)
    signed = Connection(RecordingChannel(), identity=ana)
    assert signed.author is ana and signed.guest == "ana"
