"""Who is on the other end of a connection, as the server accepted it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase


class Role(StrEnum):
    READ = "read"
    COMMENT = "comment"  # as read, and writes comments (never the body)
    WRITE = "write"
    ADMIN = "admin"

    @property
    def can_write(self) -> bool:
        """Whether it may change the document's body."""
        return self.allows(Role.WRITE)

    def allows(self, need: Role) -> bool:
        """Whether this role includes everything `need` may do (read < comment < write <
        admin)."""
        return _RANK[self] >= _RANK[need]


_RANK = {Role.READ: 0, Role.COMMENT: 1, Role.WRITE: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    name: str
    role: Role = Role.WRITE
    anonymous: bool = True
    # Unix time at which the credential stops being valid (None: never).
    expires_at: float | None = None
    # Unix time at which it was issued (None: unknown); a revocation refuses earlier ones.
    issued_at: float | None = None
    # Glob patterns (fnmatch, case-sensitive) of the document ids this identity may open.
    docs: tuple[str, ...] = ("*",)

    def can_access(self, doc: str) -> bool:
        return any(fnmatchcase(doc, pattern) for pattern in self.docs)


ANONYMOUS = Identity(user="anonymous", name="Anonymous")
