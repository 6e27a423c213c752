"""Every pitfall the code cites (`docs/pycrdt-pitfalls.md#…`) is a heading of that document."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "pycrdt-pitfalls.md"
CITATION = re.compile(r"pycrdt-pitfalls\.md#([a-z0-9-]+)")


def _anchors() -> set[str]:
    """GitHub's anchors: headings lowercased, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_cited_pitfall_exists() -> None:
    cited = {
        anchor: str(path.relative_to(ROOT))
        for folder in ("crdt", "server", "tests")
        for path in (ROOT / folder).rglob("*.py")
        for anchor in CITATION.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "nothing cites the pitfalls"
    missing = {anchor: where for anchor, where in cited.items() if anchor not in _anchors()}
    assert not missing, missing
