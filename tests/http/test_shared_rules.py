"""One rule for document ids, colours and name length: the server's, handed to the browser."""

from __future__ import annotations

import html
import json
import re

import httpx

from server.core.docids import DOC_ID_PATTERN
from server.core.names import MAX_NAME, PALETTE
from tests.support.tandem import ROOT, TandemProcess

CLIENT_RULES = ROOT / "client_js" / "src" / "lib" / "rules.json"


def _attribute(page: str, name: str) -> str:
    match = re.search(rf'\s{name}="([^"]*)"', page)
    assert match, f"no {name} on the page"
    return html.unescape(match.group(1))


async def test_every_page_carries_the_servers_rules(tandem: TandemProcess) -> None:
    async with httpx.AsyncClient(base_url=tandem.url) as http:
        for path in ["/", "/d/notes", "/embed/notes", "/d/notes/history"]:
            page = (await http.get(path)).text
            assert _attribute(page, "data-doc-id-pattern") == DOC_ID_PATTERN, path
            assert _attribute(page, "data-colours").split(" ") == list(PALETTE), path
            assert _attribute(page, "data-max-name") == str(MAX_NAME), path


def test_the_widgets_copy_of_the_rules_is_the_servers() -> None:
    """The widget on another site's page has no data- attributes to read: it uses this file."""
    rules = json.loads(CLIENT_RULES.read_text(encoding="utf-8"))
    assert rules == {"docIdPattern": DOC_ID_PATTERN, "colours": list(PALETTE), "maxName": MAX_NAME}
