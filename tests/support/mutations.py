"""Byte-level mutations of valid wire data, for property tests of decoders: hypothesis draws a
few edits (flip a bit, set, insert or delete a byte, truncate) and `mutate` applies them."""

from __future__ import annotations

from hypothesis import strategies as st

Edit = tuple[str, int, int]

byte_edits = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=255),
    ),
    min_size=1,
    max_size=4,
)


def mutate(data: bytes, changes: list[Edit]) -> bytes:
    buf = bytearray(data)
    for op, pos, value in changes:
        if op == "insert":
            buf.insert(pos % (len(buf) + 1), value)
        elif not buf:
            continue
        elif op == "truncate":
            del buf[pos % len(buf) :]
        elif op == "delete":
            del buf[pos % len(buf)]
        elif op == "flip":
            buf[pos % len(buf)] ^= 1 << (value % 8)
        else:
            buf[pos % len(buf)] = value
    return bytes(buf)
