"""The presence table: users grouped across connections and instances, with counts."""

from __future__ import annotations

from server.events.presence import PresenceTable, Record


def rec(key: str, user: str, *, doc: str = "d", instance: str = "i1", since: float = 1.0) -> Record:
    return Record(key, instance, doc, user, user.title(), "#123456", since)


def test_a_user_joins_once_and_leaves_with_the_last_connection() -> None:
    table = PresenceTable()
    assert [(c.event, c.record.user, c.count) for c in table.add(rec("a1", "ana"))] == [
        ("joined", "ana", 1)
    ]
    assert table.add(rec("a2", "ana", since=2.0)) == []  # a second tab
    assert [(c.event, c.count) for c in table.add(rec("b1", "ben"))] == [("joined", 2)]
    assert [(p.user, p.connections) for p in table.people("d")] == [("ana", 2), ("ben", 1)]
    assert table.remove("d", "a1") == []
    assert [(c.event, c.record.user, c.count) for c in table.remove("d", "a2")] == [
        ("left", "ana", 1)
    ]
    assert table.remove("d", "a2") == []  # twice is harmless
    assert [(c.event, c.count) for c in table.remove("d", "b1")] == [("left", 0)]
    assert table.docs() == []


def test_a_name_change_replaces_the_record_quietly() -> None:
    table = PresenceTable()
    table.add(rec("a1", "ana"))
    renamed = Record("a1", "i1", "d", "ana", "Ana L.", "#123456", 1.0)
    assert table.add(renamed) == []
    assert table.people("d")[0].name == "Ana L."


def test_a_heartbeat_snapshot_replaces_what_an_instance_had() -> None:
    table = PresenceTable()
    table.add(rec("a1", "ana", instance="i1"))
    table.add(rec("b1", "ben", instance="i2"))
    changes = table.replace_instance("i1", [rec("c1", "cy", instance="i1")])
    assert [(c.event, c.record.user) for c in changes] == [("left", "ana"), ("joined", "cy")]
    assert [(c.event, c.record.user, c.count) for c in table.drop_instance("i2")] == [
        ("left", "ben", 1)
    ]
    assert table.instances() == {"i1"}
    assert table.replace_instance("i1", [rec("c1", "cy", instance="i1")]) == []
