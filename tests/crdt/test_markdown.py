"""Markdown both ways (crdt/markdown.py): canonical documents round-trip exactly, what the body
cannot hold stays text, and the CommonMark spec's examples of the supported constructs parse to
the spec's HTML and write back to Markdown that parses the same."""

from __future__ import annotations

import html.parser
import re
from pathlib import Path
from typing import Any

import pytest

from crdt.html import prosemirror_to_html
from crdt.markdown import from_markdown, to_markdown

SPEC = Path(__file__).parents[1] / "js" / "node_modules" / "commonmark-spec" / "spec.txt"

CANONICAL = [
    "",
    "Hello, world.\n",
    "# Title\n\nA paragraph.\n",
    "## Second *level*\n\n###### Sixth\n",
    "Some **bold**, *italic*, ~~struck~~ and `code` text.\n",
    "A [link](https://example.org/page?q=1) and [a *marked* one](mailto:a@example.org).\n",
    "**Bold with *italic inside* it** and ***both***.\n",
    "A line\\\nbroken\\\nthree times.\n",
    "- one\n- two\n- three\n",
    "1. first\n2. second\n\n7) seventh\n8) eighth\n",
    "- outer\n  - inner\n    - innermost\n  - inner two\n- outer two\n",
    "1. step\n   - detail\n   - detail two\n2. step two\n",
    "> A quote.\n>\n> Two paragraphs.\n",
    "> - a list\n> - in a quote\n>\n> > nested quote\n",
    "```python\ndef f(x):\n    return x * 2\n```\n",
    "```\nno language\n\n  blank line above\n```\n",
    "````\ncode with ``` inside\n````\n",
    "Before\n\n---\n\nAfter\n",
    "- item\n\n  second paragraph of the item\n- next\n",
    "- a\n\n* b\n",
    "Escapes: \\*not bold\\*, \\_not em\\_, \\`not code\\`, \\[not a link\\].\n",
    "More: \\<b\\>, \\~\\~, \\\\.\n",
    "\\# not a heading\n\n\\- not a list\n\n1\\. not a list\n\n\\+ nor this\n",
    "An \\&amp; entity written out, and & alone.\n",
    "Unicode: café, 日本語, emoji 🎉.\n",
    "``code with ` tick``\n",
    "`` `ticks` ``\n",
    "Link with parens: [x](<https://example.org/a_(b)>).\n",
    "- \n- second after an empty item\n".replace("- \n", "-\n"),
]


@pytest.mark.parametrize("markdown", CANONICAL)
def test_canonical_markdown_round_trips_exactly(markdown: str) -> None:
    document = from_markdown(markdown)
    assert to_markdown(document) == markdown
    assert from_markdown(to_markdown(document)) == document


def _texts(node: dict[str, Any]) -> list[str]:
    if node.get("type") == "text":
        assert not node.get("marks"), node
        return [node["text"]]
    return [t for child in node.get("content", []) for t in _texts(child)]


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("<b>raw</b> <script>alert(1)</script>", "<b>raw</b> <script>alert(1)</script>"),
        ("<div>\nblock html\n</div>", "<div> block html </div>"),
        ("![alt text](https://example.org/i.png)", "![alt text](https://example.org/i.png)"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "| a | b | |---|---|"),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
        ("[x](data:text/html,hi)", "[x](data:text/html,hi)"),
    ],
)
def test_unknown_constructs_become_text(markdown: str, text: str) -> None:
    document = from_markdown(markdown)
    assert "".join(_texts(document)).startswith(text)
    html = prosemirror_to_html(document)
    assert "<script" not in html and "<b>" not in html and "<img" not in html and "<div" not in html
    assert "href" not in html
    # and written back, it reads as the same text
    assert from_markdown(to_markdown(document)) == document


@pytest.mark.parametrize(
    "text",
    [
        *["*a*", "**b**", "_c_", "`d`", "[e](f)", "<g>", "~~h~~", "\\i", "# j", "- k", "1. l"],
        *["+ n", "= o", "&amp; p", "&#42; q", "> r", "    s", "t  ", "---", "***", "___", "```"],
        *["\xa0u\xa0", "v\nw", "x\r\ny", "![z]", " ", "\t", "2) m"],
    ],
)
def test_any_text_written_reads_back_as_that_text(text: str) -> None:
    document = {"type": "doc", "content": [{"type": "paragraph", "content": []}]}
    document["content"][0]["content"] = [{"type": "text", "text": text}]
    back = from_markdown(to_markdown(document))
    assert "".join(_texts(back)) == text


@pytest.mark.parametrize(
    ("markdown", "words"),
    [
        (">" * 20_000 + " the last words", "the last words"),
        (">" * 30 + " one\n" + ">" * 30 + " two\n\nafter", "one two after"),
        ("".join("  " * depth + f"- item{depth}\n" for depth in range(40)), None),
        ("1. " * 40 + "deep", "deep"),
    ],
)
def test_text_nested_past_the_parsers_bound_is_kept(markdown: str, words: str | None) -> None:
    # markdown-it stops at 20 nested containers and skips what is inside; its words stay.
    expected = words.split() if words else [f"item{depth}" for depth in range(40)]
    assert " ".join(_texts(from_markdown(markdown))).split() == expected


def test_marks_keep_the_whitespace_at_their_edges() -> None:
    document = {
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "text", "text": " bold ", "marks": [{"type": "strong"}]},
                    {"type": "text", "text": "b"},
                ],
            }
        ],
    }
    back = from_markdown(to_markdown(document))
    assert back == document


# -- the CommonMark spec ---------------------------------------------------------------------

# Sections whose constructs the body holds (with the inline ones they use).
SECTIONS = {
    "Thematic breaks",
    "ATX headings",
    "Setext headings",
    "Indented code blocks",
    "Fenced code blocks",
    "Paragraphs",
    "Blank lines",
    "Block quotes",
    "List items",
    "Lists",
    "Backslash escapes",
    "Entity and numeric character references",
    "Code spans",
    "Emphasis and strong emphasis",
    "Links",
    "Hard line breaks",
    "Soft line breaks",
    "Textual content",
}
# Output the body cannot hold: raw HTML, images, link titles' and unsafe schemes' effects.
_UNSUPPORTED = re.compile(r"<(?!/?(p|h[1-6]|ul|ol|li|blockquote|pre|code|hr|br|strong|em|a)\b)")


def _spec_examples() -> list[dict[str, Any]]:
    if not SPEC.exists():
        raise RuntimeError(f"{SPEC} is missing: run `npm install --prefix tests/js`")
    text = SPEC.read_text().replace("\r\n", "\n")
    text = re.sub(r"^<!-- END TESTS -->(.|\n)*", "", text, flags=re.M)
    examples = []
    section = ""
    pattern = r"^`{32} example\n([\s\S]*?)^\.\n([\s\S]*?)^`{32}$|^#{1,6} *(.*)$"
    for match in re.finditer(pattern, text, flags=re.M):
        if match.group(3) is not None:
            section = match.group(3)
            continue
        examples.append(
            {
                "markdown": match.group(1).replace("→", "\t"),
                "html": match.group(2).replace("→", "\t"),
                "section": section,
                "number": len(examples) + 1,
            }
        )
    return examples


_INLINE = {"em", "strong", "s", "code", "a"}


class _Normalizer(html.parser.HTMLParser):
    """HTML as its blocks (`<p>` dropped: tight and loose lists are the same document) and
    runs of text, each with the set of marks on it (ProseMirror's marks are a set: nesting,
    and where a renderer splits tags, mean nothing), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple[str, str]] = []  # ("tag", "<ol start=2>") or (marks, text)
        self.marks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INLINE:
            href = dict(attrs).get("href") or ""
            self.marks.append(f"a={href}" if tag == "a" else tag)
        elif tag == "p":
            self.out.append(("tag", "¶"))
        else:
            start = dict(attrs).get("start")
            self.out.append(("tag", f"<{tag}{' start=' + start if start else ''}>"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INLINE:
            for index in range(len(self.marks) - 1, -1, -1):
                if self.marks[index].split("=")[0] == tag:
                    del self.marks[index]
                    break
        elif tag == "p":
            self.out.append(("tag", "¶"))
        elif tag not in {"br", "hr"}:
            self.out.append(("tag", f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        marks = ",".join(sorted(set(self.marks)))
        if self.out and self.out[-1][0] == marks:
            self.out[-1] = (marks, self.out[-1][1] + data)
        else:
            self.out.append((marks, data))

    def result(self) -> str:
        parts = []
        for kind, value in self.out:
            if kind == "tag":
                parts.append(value)
            elif " ".join(value.split()):
                parts.append(f"[{kind}]{' '.join(value.split())}")
        # paragraph breaks matter between texts only (tight lists have no <p>)
        joined = re.sub(r"(¶ )+", "¶ ", " ".join(parts) + " ")
        joined = re.sub(r"(^|> )¶ ", r"\1", joined)
        joined = re.sub(r"¶ (<|$)", r"\1", joined)
        return re.sub(r"¶ (?=<)", "", joined).strip()


def _normal(markup: str) -> str:
    normalizer = _Normalizer()
    normalizer.feed(markup.replace("<del>", "<s>").replace("</del>", "</s>"))
    normalizer.close()
    return normalizer.result()


def _supported(example: dict[str, Any]) -> bool:
    if example["section"] not in SECTIONS:
        return False
    expected = example["html"]
    if _UNSUPPORTED.search(expected) or ("<" in example["markdown"] and "&lt;" not in expected):
        return False
    hrefs = re.findall(r'href="([^"]*)"', expected)
    # a link to nothing (href="") is its text here; other schemes than ours too
    return all(re.match(r"(https?:|mailto:|[^:]+$)", href) for href in hrefs)


EXAMPLES = _spec_examples()
SUPPORTED = [example for example in EXAMPLES if _supported(example)]
# Examples whose HTML the body renders differently by design, each for its reason.
DIFFERENT = {
    # An empty list item's or block's text; headings and paragraphs the spec leaves empty
    # render as an empty block here too, but code blocks keep no trailing blank lines.
}


def test_the_spec_is_read_and_many_examples_are_supported() -> None:
    assert len(EXAMPLES) > 600
    assert len(SUPPORTED) > 350


@pytest.mark.parametrize("example", SUPPORTED, ids=lambda e: f"{e['number']}")
def test_spec_example_renders_as_the_spec_says(example: dict[str, Any]) -> None:
    if example["number"] in DIFFERENT:
        pytest.skip(DIFFERENT[example["number"]])
    document = from_markdown(example["markdown"])
    assert _normal(prosemirror_to_html(document)) == _normal(example["html"])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e['number']}")
def test_spec_example_parse_write_parse_is_stable(example: dict[str, Any]) -> None:
    document = from_markdown(example["markdown"])
    markdown = to_markdown(document)
    assert from_markdown(markdown) == _without_empty_paragraphs(document)
    assert to_markdown(from_markdown(markdown)) == markdown


def _without_empty_paragraphs(node: dict[str, Any]) -> dict[str, Any]:
    """What Markdown can say of a document: empty paragraphs have no Markdown (but the one a
    list item starts with, which its schema requires)."""
    if "content" not in node:
        return node
    content = [_without_empty_paragraphs(child) for child in node["content"]]
    if node["type"] == "list_item":
        rest = [c for c in content[1:] if c["type"] != "paragraph" or "content" in c]
        content = content[:1] + rest
    elif node["type"] != "code_block":
        content = [c for c in content if c["type"] != "paragraph" or "content" in c]
    out = dict(node)
    out["content"] = content
    return out
