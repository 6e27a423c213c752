"""Who is on the other end of a connection, as the server accepted it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def can_write(self) -> bool:
        return self is not Role.READ


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    name: str
    role: Role = Role.WRITE
    anonymous: bool = True
    # Unix time at which the credential stops being valid (None: never).
    expires_at: float | None = None


ANONYMOUS = Identity(user="anonymous", name="Anonymous")
