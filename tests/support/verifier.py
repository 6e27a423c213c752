"""An embedding application's own token check, for `--auth-verifier tests.support.verifier:verify`.

Tokens look like `ROLE:USER`, or `ROLE:USER@ISSUED` with the Unix time the application issued
them (so that a revocation refuses only the older ones); the document `vault` is closed to
everyone.
"""

from __future__ import annotations

import asyncio

from server.core.identity import Identity, Role
from server.security.auth import Forbidden


async def verify(token: str, doc: str | None) -> Identity:
    await asyncio.sleep(0)  # verifiers may be async (ask another service)
    role, _, rest = token.partition(":")
    user, _, issued = rest.partition("@")
    if role not in {"read", "write", "admin"} or not user:
        raise ValueError("not one of our tokens")
    if doc == "vault":
        raise Forbidden("the vault is closed")
    return Identity(
        user=user,
        name=user.title(),
        role=Role(role),
        anonymous=False,
        issued_at=float(issued) if issued else None,
    )
