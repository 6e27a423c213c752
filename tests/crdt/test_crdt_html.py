"""HTML rendering: exactly crdt.schema's nodes and marks, and nothing a browser would run."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import XmlElement, XmlText

from crdt.document import Document
from crdt.html import ALLOWED_TAGS, prosemirror_to_html, safe_href
from crdt.render import to_html


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of some HTML."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(markup: str) -> None:
    """Only our tags; attributes only href/rel on links; hrefs only http(s)/mailto/relative."""
    for tag, attrs in _Tags(markup).tags:
        assert tag in ALLOWED_TAGS, (tag, markup)
        if tag == "a":
            assert set(attrs) <= {"href", "rel"}, markup
            href = (attrs.get("href") or "").strip().lower()
            scheme = href.split(":", 1)[0] if ":" in href.split("/", 1)[0] else ""
            assert scheme in {"", "http", "https", "mailto"}, markup
        else:
            assert attrs == {}, markup


def _doc(*blocks: XmlElement) -> Document:
    doc = Document()
    for block in blocks:
        doc.content.children.append(block)
    return doc


def _paragraph_with(text: str, attrs: dict[str, Any] | None) -> Document:
    doc = Document()
    paragraph = doc.content.children.append(XmlElement("paragraph", {}, []))
    paragraph.children.append(XmlText()).insert(0, text, attrs)
    return doc


def test_every_node_and_mark_of_the_contract() -> None:
    doc = Document()
    body = doc.content
    body.children.append(XmlElement("heading", {"level": 2}, [XmlText("Title")]))
    p = body.children.append(XmlElement("paragraph", {}, []))
    text = p.children.append(XmlText())
    text.insert(0, "plain ")
    text.insert(6, "bold", {"strong": {}})
    text.insert(10, " it", {"em": {}})
    text.insert(13, " mono", {"code": {}})
    text.insert(18, " gone", {"strike": {}})
    text.insert(23, " site", {"link": {"href": "https://example.com/?a=1&b=2"}})
    p.children.append(XmlElement("hard_break", {}, []))
    p.children.append(XmlText("next line"))
    body.children.append(
        XmlElement(
            "bullet_list",
            {},
            [XmlElement("list_item", {}, [XmlElement("paragraph", {}, [XmlText("item")])])],
        )
    )
    body.children.append(
        XmlElement(
            "ordered_list",
            {},
            [XmlElement("list_item", {}, [XmlElement("paragraph", {}, [XmlText("first")])])],
        )
    )
    body.children.append(
        XmlElement("blockquote", {}, [XmlElement("paragraph", {}, [XmlText("quoted")])])
    )
    body.children.append(XmlElement("code_block", {}, [XmlText("x < y && z")]))
    body.children.append(XmlElement("horizontal_rule", {}, []))
    assert to_html(doc.content) == (
        "<h2>Title</h2>"
        "<p>plain <strong>bold</strong><em> it</em><code> mono</code><s> gone</s>"
        '<a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer nofollow"> site</a>'
        "<br>next line</p>"
        "<ul><li><p>item</p></li></ul>"
        "<ol><li><p>first</p></li></ol>"
        "<blockquote><p>quoted</p></blockquote>"
        "<pre><code>x &lt; y &amp;&amp; z</code></pre>"
        "<hr>"
    )


def test_script_in_text_is_text() -> None:
    html = to_html(
        _paragraph_with("<script>alert(1)</script><img src=x onerror=alert(1)>", None).content
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html)


def test_unsafe_link_targets_are_dropped_and_the_text_kept() -> None:
    for href in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "&#106;avascript:alert(1)",
        "javascript&colon;alert(1)",
    ):
        html = to_html(_paragraph_with("click", {"link": {"href": href}}).content)
        assert html == "<p>click</p>", (href, html)
        assert safe_href(href) is None


def test_link_attributes_cannot_break_out_of_their_quotes() -> None:
    href = 'https://x.test/" onmouseover="alert(1)'
    html = to_html(_paragraph_with("hover", {"link": {"href": href}}).content)
    assert_inert(html)
    tags = _Tags(html).tags
    assert tags[1][0] == "a" and tags[1][1]["href"] == href


def test_unknown_elements_degrade_to_their_text() -> None:
    doc = _doc(
        XmlElement("script", {}, [XmlText("alert(1)")]),
        XmlElement("img", {"src": "x", "onerror": "alert(1)"}, [XmlText("pic")]),
        XmlElement("paragraph", {"onclick": "alert(1)", "style": "x"}, [XmlText("safe")]),
        XmlElement("heading", {"level": "1 onclick=alert(1)"}, [XmlText("h")]),
        XmlElement("iframe", {"src": "javascript:alert(1)"}, []),
    )
    html = to_html(doc.content)
    assert html == "alert(1)pic<p>safe</p><h1>h</h1>"
    assert_inert(html)


def test_unknown_marks_are_dropped() -> None:
    html = to_html(_paragraph_with("x", {"onclick": {"x": "alert(1)"}, "em": {}}).content)
    assert html == "<p><em>x</em></p>"


def test_prosemirror_json_with_hostile_shapes_still_renders_inert() -> None:
    hostile = {
        "type": "doc",
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "<b>", "marks": "bad"}]},
            {"type": "heading", "attrs": None, "content": None},
            "not a node",
            {"type": "text", "text": "<svg onload=alert(1)>", "marks": [{"type": "link"}]},
        ],
    }
    html = prosemirror_to_html(hostile)
    assert_inert(html)
    assert "&lt;svg onload=alert(1)&gt;" in html


_anything = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["<script>", "javascript:alert(1)", '"><img src=x onerror=alert(1)>', "data:,x", "&lt;"]
)


@settings(max_examples=200, deadline=None)
@given(text=_anything, href=_anything, tag=_anything, attr=_anything)
def test_nothing_hostile_survives_anywhere(text: str, href: str, tag: str, attr: str) -> None:
    doc = _doc(
        XmlElement(tag or "x", {attr or "a": text}, [XmlText(text)]),
        XmlElement("paragraph", {attr or "a": href}, []),
    )
    paragraph = doc.content.children[1]
    assert isinstance(paragraph, XmlElement)
    paragraph.children.append(XmlText()).insert(0, text or "t", {"link": {"href": href}})
    assert_inert(to_html(doc.content))
