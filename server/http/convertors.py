"""The `{doc:docid}` path convertor: every route's document id is checked here, once.

A convertor that does not match answers 404, but an invalid id is a 400 (tests and clients rely
on it). So the convertor's pattern takes any path segment and `convert` raises InvalidDocId,
which server/http/errors.py answers. `docpath` does the same for the rest of a path, slashes
included: under /api/docs/ "../etc" is refused as an id, not routed nowhere.

Starlette keeps convertors in a global table read when a route is built; server/http/__init__.py
registers these before any route module is imported.
"""

from __future__ import annotations

from typing import ClassVar

from starlette.convertors import Convertor, register_url_convertor

from server.core.docids import check_doc_id


class DocIdConvertor(Convertor[str]):
    regex: ClassVar[str] = "[^/]+"

    def convert(self, value: str) -> str:
        return check_doc_id(value)

    def to_string(self, value: str) -> str:
        return check_doc_id(value)


class DocPathConvertor(DocIdConvertor):
    regex: ClassVar[str] = ".*"


def register() -> None:
    register_url_convertor("docid", DocIdConvertor())
    register_url_convertor("docpath", DocPathConvertor())
