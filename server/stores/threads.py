"""Comment threads as the stores keep them: small frozen records, JSON one thread per entry.

A thread's anchor is not here: it lives in the document's body as a `comment` mark with the
thread's id (crdt/comments.py), so it moves with the text. `quote` is the text the anchor
covered when the thread was made (the body says what it covers now).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Author:
    user: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"user": self.user, "name": self.name}


@dataclass(frozen=True, slots=True)
class Reply:
    id: str
    author: Author
    body: str
    created: float  # Unix time
    edited: float | None = None


@dataclass(frozen=True, slots=True)
class Thread:
    id: str
    author: Author
    body: str
    created: float  # Unix time
    quote: str = ""  # the text its anchor covered when it was made
    resolved: bool = False
    edited: float | None = None
    replies: tuple[Reply, ...] = field(default_factory=tuple)

    def dumps(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "author": self.author.as_json(),
                "body": self.body,
                "created": self.created,
                "quote": self.quote,
                "resolved": self.resolved,
                "edited": self.edited,
                "replies": [
                    {
                        "id": r.id,
                        "author": r.author.as_json(),
                        "body": r.body,
                        "created": r.created,
                        "edited": r.edited,
                    }
                    for r in self.replies
                ],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> Thread:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            id=str(data["id"]),
            author=_author(data["author"]),
            body=str(data["body"]),
            created=float(data["created"]),
            quote=str(data.get("quote", "")),
            resolved=bool(data.get("resolved", False)),
            edited=_time(data.get("edited")),
            replies=tuple(
                Reply(
                    id=str(r["id"]),
                    author=_author(r["author"]),
                    body=str(r["body"]),
                    created=float(r["created"]),
                    edited=_time(r.get("edited")),
                )
                for r in data.get("replies", [])
            ),
        )


def _author(data: dict[str, Any]) -> Author:
    return Author(str(data["user"]), str(data["name"]))


def _time(value: Any) -> float | None:
    return None if value is None else float(value)
