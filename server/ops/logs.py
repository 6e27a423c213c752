"""Structured logs: one line per event, with the document and connection ids as fields.

Log calls write `event=NAME doc=... conn=... key=value ...`. The text format prints logfmt
(`ts=... level=info logger=tandem.hub event=joined doc=notes conn=c3`); the json format prints
the same fields as one JSON object per line. Lines from libraries (uvicorn) become `msg=...`.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# key=value pairs; a value runs to the next " key=" (so an unquoted error message with spaces
# stays whole), or is a quoted %r / JSON string.
_PAIR = re.compile(
    r"""(\w+)=('(?:[^'\\]|\\.)*'(?=\s|$)|"(?:[^"\\]|\\.)*"(?=\s|$)|.*?(?=\s+\w+=|\s*$))""",
    re.DOTALL,
)
_INT = re.compile(r"-?\d{1,18}")
_FLOAT = re.compile(r"-?\d+\.\d+")
_NEEDS_QUOTES = re.compile(r"""[\s"'=]""")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record as ordered fields: ts, level, logger, then the event's own key=value pairs."""
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6]
        + "Z",
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    message = record.getMessage()
    pairs = _PAIR.findall(message) if message.startswith("event=") else []
    if pairs:
        for key, raw in pairs:
            out[key] = _value(raw)
    else:
        out["msg"] = message
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


def _value(raw: str) -> Any:
    if raw[:1] in {"'", '"'}:
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
    if _INT.fullmatch(raw):
        return int(raw)
    if _FLOAT.fullmatch(raw):
        return float(raw)
    return raw


def _logfmt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if text == "" or _NEEDS_QUOTES.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt(value)}" for key, value in fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(fields(record), ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str) -> None:
    """Send every logger (ours and uvicorn's) through one handler on stderr, in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
