"""Structured log lines: `event=... key=value` calls become logfmt or JSON, whole values kept."""

from __future__ import annotations

import json
import logging

from server.ops.logs import JsonFormatter, TextFormatter


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("tandem.test", logging.WARNING, __file__, 1, message, args, None)


def test_an_unquoted_error_with_spaces_stays_one_field() -> None:
    error = "redis append (redis://127.0.0.1:1/0): Error 111 connecting. Connection refused."
    line = record("event=flush_failed docs=%d error=%s", 2, error)
    fields = json.loads(JsonFormatter().format(line))
    assert fields["event"] == "flush_failed" and fields["docs"] == 2 and fields["error"] == error
    text = TextFormatter().format(line)
    assert text.endswith(f"event=flush_failed docs=2 error={json.dumps(error)}")


def test_repr_values_and_ids_that_look_like_numbers() -> None:
    line = record("event=closed doc=%s conn=%s peer=%s reason=%r", "d1", "c7", "12e45678", "it's x")
    fields = json.loads(JsonFormatter().format(line))
    assert fields["reason"] == "it's x" and fields["peer"] == "12e45678"
    assert {"ts", "level", "logger"} <= set(fields) and fields["level"] == "warning"


def test_library_messages_become_msg() -> None:
    line = record("Started server process [%d]", 42)
    assert json.loads(JsonFormatter().format(line))["msg"] == "Started server process [42]"
    assert TextFormatter().format(line).endswith('msg="Started server process [42]"')
