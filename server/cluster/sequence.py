"""Message numbering per document: what we send is numbered 1, 2, 3… per document, and a jump
in what another instance sends means pub/sub (at most once) lost something in between."""

from __future__ import annotations

Sender = tuple[bytes, str]  # (instance, doc)


class Sequences:
    def __init__(self) -> None:
        self._sent: dict[str, int] = {}
        self._seen: dict[Sender, int] = {}

    def next(self, doc: str) -> int:
        """The number of the next message we publish about `doc`."""
        seq = self._sent[doc] = self._sent.get(doc, 0) + 1
        return seq

    def arrived(self, sender: Sender, seq: int) -> int | None:
        """Note a message from `sender`: None if it is a repeat (a publish retried after it
        had partly gone through), else how many of its messages were missed before it."""
        last = self._seen.get(sender)
        if last is not None and seq <= last:
            return None
        self._seen[sender] = seq
        return 0 if last is None else seq - last - 1

    def forget(self, doc: str) -> None:
        """What others said of `doc` (we stopped listening: a fresh start if we listen again)."""
        for sender in [sender for sender in self._seen if sender[1] == doc]:
            del self._seen[sender]
