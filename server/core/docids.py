"""Document ids: one rule, checked at every entrance (HTTP, WebSocket, CLI, store keys)."""

from __future__ import annotations

import re

from server.errors import BadRequest

DOC_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_DOC_ID = re.compile(DOC_ID_PATTERN)


class InvalidDocId(BadRequest, ValueError):
    def __init__(self, doc: str) -> None:
        self.doc = doc
        shown = doc if len(doc) <= 40 else doc[:40] + "…"
        super().__init__(f"invalid document id {shown!r}: must match {DOC_ID_PATTERN}")


def is_valid_doc_id(doc: str) -> bool:
    return _DOC_ID.fullmatch(doc) is not None


def check_doc_id(doc: str) -> str:
    if not is_valid_doc_id(doc):
        raise InvalidDocId(doc)
    return doc
