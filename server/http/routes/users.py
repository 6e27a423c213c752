"""POST /api/users/{user}/revoke: take a user's access back now (server/security/revocations.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.core.identity import Role
from server.core.timestamps import iso
from server.errors import BadRequest, StoreError, Unavailable
from server.security.auth import authenticate_request
from server.security.revocations import MAX_USER, Revocations


async def revoke(request: Request) -> Response:
    """Admins only: every socket of the user on every hub closes with 4401, and the user's
    tokens issued before now are refused until they expire."""
    await authenticate_request(request, None, Role.ADMIN)
    user = request.path_params["user"]
    if not 0 < len(user) <= MAX_USER:
        raise BadRequest(f"a user id has 1 to {MAX_USER} characters")
    revocations: Revocations = request.app.state.revocations
    try:
        revocation = await revocations.revoke(user)
    except StoreError:
        raise Unavailable("the store cannot keep the revocation now; nothing was revoked") from None
    return JSONResponse(
        {"user": user, "revoked_before": iso(revocation.before), "until": iso(revocation.until)}
    )
