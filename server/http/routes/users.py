"""POST /api/users/{user}/revoke: take a user's access back now (server/revocations.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.core.identity import Role
from server.errors import StoreError
from server.http.routes.api import error, iso
from server.security.auth import authenticate_request
from server.security.revocations import MAX_USER, Revocations


async def revoke(request: Request) -> Response:
    """Admins only: every socket of the user on every hub closes with 4401, and the user's
    tokens issued before now are refused until they expire."""
    await authenticate_request(request, None, Role.ADMIN)
    user = request.path_params["user"]
    if not 0 < len(user) <= MAX_USER:
        return error(400, f"a user id has 1 to {MAX_USER} characters")
    revocations: Revocations = request.app.state.revocations
    try:
        revocation = await revocations.revoke(user)
    except StoreError:
        return error(503, "the store cannot keep the revocation now; nothing was revoked")
    return JSONResponse(
        {"user": user, "revoked_before": iso(revocation.before), "until": iso(revocation.until)}
    )
