"""The body's schema as the server reads it: the node and mark names the editor writes
(client_js's ProseMirror schema, stored by y-prosemirror as XML element tags and text
attributes), and how the renderers group them. One place, read by crdt.render, crdt.html and
crdt.history; a name not listed here is an unknown node (rendered as its text) or mark (dropped).
"""

from __future__ import annotations

# -- nodes ---------------------------------------------------------------------------------------
DOC = "doc"
TEXT = "text"
PARAGRAPH = "paragraph"
HEADING = "heading"
BLOCKQUOTE = "blockquote"
CODE_BLOCK = "code_block"
BULLET_LIST = "bullet_list"
ORDERED_LIST = "ordered_list"
LIST_ITEM = "list_item"
HORIZONTAL_RULE = "horizontal_rule"
HARD_BREAK = "hard_break"

# -- marks ---------------------------------------------------------------------------------------
STRONG = "strong"
EM = "em"
CODE = "code"
STRIKE = "strike"
LINK = "link"
# A comment thread's anchor (attrs: id), placed only by the server (crdt.comments). It does not
# exclude itself, so y-prosemirror stores it as the text attribute `comment--<hash>`.
COMMENT = "comment"

# Block nodes: each ends a line of the plain text.
BLOCKS = frozenset(
    {
        PARAGRAPH,
        HEADING,
        BLOCKQUOTE,
        CODE_BLOCK,
        LIST_ITEM,
        BULLET_LIST,
        ORDERED_LIST,
        HORIZONTAL_RULE,
    }
)
# Blocks that hold text directly: a line even when empty, one block of the history diff.
TEXT_BLOCKS = frozenset({PARAGRAPH, HEADING, CODE_BLOCK})
# Blocks that hold other blocks: the history diff walks into them.
CONTAINERS = frozenset({BULLET_LIST, ORDERED_LIST, LIST_ITEM, BLOCKQUOTE})
LISTS = frozenset({BULLET_LIST, ORDERED_LIST})

# Marks nest in this order (outermost first), so the same marks always give the same HTML.
MARK_ORDER = (LINK, STRONG, EM, STRIKE, CODE)


def heading_level(attrs: object) -> int:
    """A heading's level, 1 to 6, whatever its attributes hold (1 when it is not a number)."""
    level = attrs.get("level", 1) if isinstance(attrs, dict) else 1
    try:
        number = int(level)
    except (TypeError, ValueError, OverflowError):  # "x", None, a list; infinity
        return 1
    return min(max(number, 1), 6)
