"""Authentication and authorization: signed tokens, or the embedding application's own check.

AuthError (a Refused of server/errors.py, answered by server/http/errors.py)
├── Unauthenticated  no token, a malformed, badly signed, expired or revoked one: 401 / 4401
└── Forbidden        a valid token that does not cover this document or this action: 403 / 4403

Tokens are HS256 JWTs with the claims `sub` (user id), `name` (display name), `docs` (glob
patterns of document ids), `role` (read | comment | write | admin), `iat` and `exp`. They come as
`?token=` or `Authorization: Bearer`. A token may live at most `max_token_ttl` (from `iat`, or
from now without one), which is how long revocations are kept, and one issued before its user's
revocation is refused (revocations.py; `iat` has millisecond precision, so a token minted
just after a revocation is not taken for an earlier one). An application with its own tokens
names a verifier instead (`--auth-verifier module:function`): it is called with `(token, doc)`
(doc is None for requests about several documents), may be async, and returns an `Identity` or
raises (an `AuthError` to choose the answer; any other exception is a 401 and is logged).
Revocations apply to its identities too, by `user` and `issued_at`.

Every route calls `authenticate_request(request_or_websocket, doc, need)`. Without a secret and
a verifier the service is open: everyone is the anonymous writer.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import jwt
from starlette.requests import HTTPConnection

from crdt.sanitize import clean_name, is_utf8_text
from server.config import Config
from server.core.closecodes import CloseCode
from server.core.identity import ANONYMOUS, Identity, Role
from server.errors import ConfigError, Refused

log = logging.getLogger("tandem.auth")

ALGORITHM = "HS256"
MAX_TOKEN_LENGTH = 8192

Verifier = Callable[[str, str | None], Identity | Awaitable[Identity]]


class RevocationCheck(Protocol):
    def refuses(self, identity: Identity) -> bool:
        """Whether the identity's credential was issued before its user's revocation."""
        ...


class AuthError(Refused):
    status = 401
    close_code = CloseCode.UNAUTHENTICATED

    @property
    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Bearer realm="tandem"'} if self.status == 401 else None


class Unauthenticated(AuthError):
    pass


class Forbidden(AuthError):
    status = 403
    close_code = CloseCode.FORBIDDEN


def mint_token(
    secret: str,
    *,
    user: str,
    docs: Sequence[str],
    role: Role | str = Role.WRITE,
    name: str | None = None,
    ttl: float = 3600,
    now: float | None = None,
) -> str:
    """A signed token for `user`, valid for `ttl` seconds on the documents matching `docs`."""
    if not docs:
        raise ValueError("a token needs at least one document pattern")
    now = time.time() if now is None else now
    claims: dict[str, Any] = {
        "sub": user,
        "name": name or user,
        "docs": list(docs),
        "role": Role(role).value,
        "iat": math.floor(now * 1000) / 1000,  # milliseconds: see the module's docstring
        "exp": int(now) + max(int(ttl), 1),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str, *, max_ttl: float | None = None) -> Identity:
    """Check the signature, expiry and claims of a token; Unauthenticated if any is wrong."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("invalid token: too long")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "docs", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    sub, docs, role, name = claims["sub"], claims["docs"], claims["role"], claims.get("name")
    if not isinstance(sub, str) or not sub or not is_utf8_text(sub):
        raise Unauthenticated("invalid token: sub must be a non-empty string")
    if not isinstance(docs, list) or not docs or not all(_is_text(d) for d in docs):
        raise Unauthenticated("invalid token: docs must be a non-empty list of patterns")
    if not isinstance(role, str) or role not in {r.value for r in Role}:
        raise Unauthenticated(f"invalid token: unknown role {str(role)[:20]!r}")
    issued_at = _issue_time(claims, max_ttl)
    return Identity(
        user=sub[:128],
        name=clean_name(name if isinstance(name, str) else sub),
        role=Role(role),
        anonymous=False,
        expires_at=_expiry(claims["exp"]),
        issued_at=issued_at,
        docs=tuple(docs),
    )


def _issue_time(claims: dict[str, Any], max_ttl: float | None) -> float | None:
    """The token's `iat` (None without one); Unauthenticated if it lives longer than allowed:
    a revocation is kept `max_ttl`, so no token issued before it may outlive that."""
    iat = claims.get("iat")
    if iat is not None and (isinstance(iat, bool) or not isinstance(iat, int | float)):
        raise Unauthenticated("invalid token: iat must be a number")
    if max_ttl is not None:
        start = float(iat) if iat is not None else time.time()
        if _expiry(claims["exp"]) - start > max_ttl:
            raise Unauthenticated(f"token lives longer than the {max_ttl:g} s allowed")
    return None if iat is None else float(iat)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and is_utf8_text(value)


def _expiry(exp: object) -> float:
    """The `exp` claim as a timestamp (PyJWT has checked it is an integer in the future)."""
    try:
        expires_at = float(exp)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise Unauthenticated("invalid token: exp must be a timestamp") from None
    if not math.isfinite(expires_at):
        raise Unauthenticated("invalid token: exp must be a timestamp")
    return expires_at


def load_verifier(spec: str) -> Verifier:
    """Import `module:function`; a ConfigError names what is wrong."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"auth verifier {spec!r} must look like module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import auth verifier module {module_name!r}: {exc}") from exc
    verifier = getattr(module, attr, None)
    if not callable(verifier):
        raise ConfigError(f"auth verifier {spec!r} is not a callable")
    return verifier  # type: ignore[no-any-return]


class Authenticator:
    """Turns the credential of a request into an Identity, and checks it covers the request."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        verifier: Verifier | None = None,
        max_token_ttl: float | None = None,
        revocations: RevocationCheck | None = None,
    ) -> None:
        self.secret = secret
        self.verifier = verifier
        self.max_token_ttl = max_token_ttl
        self.revocations = revocations

    @classmethod
    def from_config(
        cls, config: Config, *, revocations: RevocationCheck | None = None
    ) -> Authenticator:
        verifier = load_verifier(config.auth_verifier) if config.auth_verifier else None
        return cls(
            secret=config.auth_secret,
            verifier=verifier,
            max_token_ttl=config.max_token_ttl,
            revocations=revocations,
        )

    @property
    def enabled(self) -> bool:
        return self.secret is not None or self.verifier is not None

    async def identify(self, token: str | None, doc: str | None) -> Identity:
        if not self.enabled:
            return ANONYMOUS
        if not token:
            raise Unauthenticated("a token is required")
        if self.verifier is not None:
            identity = await self._verify(token, doc)
        else:
            assert self.secret is not None
            identity = decode_token(self.secret, token, max_ttl=self.max_token_ttl)
        if identity.expires_at is not None and identity.expires_at <= time.time():
            raise Unauthenticated("token expired")
        if self.revocations is not None and self.revocations.refuses(identity):
            raise Unauthenticated("token revoked")
        return identity

    async def _verify(self, token: str, doc: str | None) -> Identity:
        assert self.verifier is not None
        try:
            result = self.verifier(token, doc)
            if inspect.isawaitable(result):
                result = await result
        except AuthError:
            raise
        except Exception as exc:
            log.warning("event=verifier_refused doc=%s error=%r", doc, exc)
            raise Unauthenticated("token refused") from exc
        if not isinstance(result, Identity):
            log.error("event=verifier_bad_result type=%s", type(result).__name__)
            raise Unauthenticated("token refused")
        return result

    @staticmethod
    def authorize(identity: Identity, doc: str | None, need: Role) -> None:
        if doc is not None and not identity.can_access(doc):
            raise Forbidden(f"the token does not cover document {doc!r}")
        if not identity.role.allows(need):
            article = "an" if need.value[0] in "aeiou" else "a"
            raise Forbidden(
                f"{need.value} access needs {article} {need.value} token, not {identity.role}"
            )


def request_token(conn: HTTPConnection) -> str | None:
    """The token of a request: `Authorization: Bearer …` first, else `?token=`."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.query_params.get("token") or None


async def authenticate_request(
    conn: HTTPConnection, doc: str | None, need: Role = Role.READ
) -> Identity:
    """Who is asking (HTTP request or WebSocket), checked against `doc` and role `need`.

    Raises Unauthenticated (401 / 4401) or Forbidden (403 / 4403). HTTP routes just let it
    propagate (the app turns it into a JSON error); WebSocket routes accept, then close with
    `exc.close_code` so that browsers see the code.
    """
    auth: Authenticator = conn.app.state.auth
    identity = await auth.identify(request_token(conn), doc)
    auth.authorize(identity, doc, need)
    return identity
