"""Three-way merge of a body by top-level blocks, for a write that names the content its writer
read (the content API's If-Match): see `merge_blocks`."""

from __future__ import annotations

import difflib
import json
from typing import Any

from crdt import schema

Node = dict[str, Any]


def _key(node: Node) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


def merge_blocks(base: Node, mine: Node, current: Node, *, saw_empty: bool = True) -> Node:
    """Three-way, by top-level blocks: what `mine` changed of `base` (the content its writer
    read), applied to `current` (the live body, which others may have edited since). A block
    the writer left as it was stays as it is now, edits included; a block the writer changed
    or removed becomes the writer's; blocks either side added are kept where they were added.
    `saw_empty=False`: the writer read a format with no empty paragraphs (Markdown, text), so
    those of the base are not theirs to remove.
    """
    old, new, now = (d.get("content", []) for d in (base, mine, current))
    if not saw_empty:
        old = [n for n in old if n.get("type") != schema.PARAGRAPH or n.get("content")]
    now_of: dict[int, Node] = {}  # base block -> what it is now (absent: someone removed it)
    after: dict[int, list[Node]] = {}  # base block (-1: the start) -> blocks added after it
    last = -1
    ops = difflib.SequenceMatcher(None, [_key(n) for n in old], [_key(n) for n in now], False)
    for op, i1, i2, j1, j2 in ops.get_opcodes():
        pairs = min(i2 - i1, j2 - j1) if op in {"equal", "replace"} else 0
        for offset in range(pairs):  # the same block, maybe edited since
            now_of[i1 + offset] = now[j1 + offset]
        if i2 > i1:
            last = i1 + pairs - 1 if pairs else i1 - 1
        after.setdefault(last, []).extend(now[j1 + pairs : j2])
        if i2 > i1:
            last = i2 - 1
    merged: list[Node] = list(after.get(-1, []))
    ops = difflib.SequenceMatcher(None, [_key(n) for n in old], [_key(n) for n in new], False)
    for op, i1, i2, j1, j2 in ops.get_opcodes():
        if op != "equal":
            merged.extend(new[j1:j2])
        for index in range(i1, i2):
            if op == "equal" and index in now_of:
                merged.append(now_of[index])
            merged.extend(after.get(index, []))
    return {"type": schema.DOC, "content": merged}
