"""The HTTP/WebSocket guard in front of every route: Host, Origin, body size, security headers.

- Forwarded: from a trusted proxy the client address and scheme are the ones it forwards
  (transport/forwarded.py), before anything else looks at them: limits, logs, the checks below.

- Host: an open hub (no auth) answers only to loopback names, so that a web page cannot reach it
  through DNS rebinding (`evil.example` resolving to 127.0.0.1). `--insecure-no-auth` lifts it.
- Origin: WebSocket handshakes and unsafe HTTP methods coming from a browser page of another
  origin are refused (cross-site WebSocket hijacking, CSRF). Our own origin (the request's
  scheme and Host: an `http://` page does not get to open our `wss://` socket) is always allowed,
  `--allow-origin` adds others (`*`: any). With no list, an authenticated hub accepts any origin
  (tokens are not ambient credentials a foreign page could borrow) and an open hub only its own.
- Body: a request body over `max_body` bytes is refused with 413 before or while it is read.
- Headers: every response gets nosniff and a referrer policy; HTML pages get a strict
  Content-Security-Policy (scripts, styles, images only from this origin, no inline code,
  WebSockets only to this origin) and may not be framed, except `/embed/…`, which any site may
  put in an `<iframe>`. HTTPS responses (TLS here, or at a trusted proxy) carry HSTS.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import unquote_plus, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Config
from server.core.closecodes import CloseCode
from server.ops.metrics import Metrics
from server.security import cors
from server.transport.forwarded import TrustedProxies

log = logging.getLogger("tandem.security")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EMBED_PREFIX = "/embed/"
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


def is_loopback_host(host: str) -> bool:
    """Whether a bind address or a Host header names this machine only."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The host part of a Host header (`[::1]:8000` → `::1`)."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def content_security_policy(host: str, *, frameable: bool) -> str:
    sockets = f" ws://{host} wss://{host}" if _PLAIN_HOST.fullmatch(host) else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self'{sockets}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors *" if frameable else "frame-ancestors 'none'",
        ]
    )


# A query parameter (its name as sent, percent-encoded or not), and anything shaped like a JWT.
_QUERY_PARAM = re.compile(r"(?<=[?&;])([^=&;\s\"'#]+)=([^&;\s\"'#]*)")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")


def redact_tokens(text: str) -> str:
    """`text` without credentials: the value of every query parameter whose name decodes to
    `token` (Starlette decodes `?%74oken=` to `token`, so it is one), and any JWT."""

    def parameter(match: re.Match[str]) -> str:
        if unquote_plus(match.group(1)).lower() != "token":
            return match.group(0)
        return f"{match.group(1)}=[redacted]"

    return _JWT.sub("[redacted]", _QUERY_PARAM.sub(parameter, text))


class RedactTokens(logging.Filter):
    """Keep tokens out of the logs (uvicorn logs every WebSocket path with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def redact_tokens_in_logs() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactTokens())


def _web_scheme(scope: Scope) -> str:
    """`http` or `https`: the scheme a page of this request's own origin has."""
    return "https" if scope.get("scheme") in ("https", "wss") else "http"


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, config: Config, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = config.max_body
        open_hub = config.auth_secret is None and config.auth_verifier is None
        self.check_host = open_hub and not config.insecure_no_auth
        self.origins = frozenset(o.rstrip("/").lower() for o in config.allow_origin)
        self.any_origin = "*" in self.origins or (not self.origins and not open_hub)
        self.proxies = TrustedProxies(config.forwarded_allow_ips)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self.proxies.apply(scope)
        refusal = self._refusal(scope)
        if refusal is not None:
            await self._refuse(scope, receive, send, *refusal)
            return
        if kind == "websocket":  # this frame lives as long as the socket: it keeps nothing
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        origin = headers.get("origin")
        # Past _refusal, an API request's origin is one the guard lets in: it may read the answer.
        cross = origin if origin is not None and cors.is_api(scope) else None
        if cross is not None and cors.is_preflight(scope, headers):
            response = Response(status_code=204)
            if self._origin_allowed(cross, host, _web_scheme(scope)):
                cors.allow(response.headers, cross, preflight=True)
            await response(scope, receive, self._with_headers(scope, host, send))
            return
        if cross is not None and not self._origin_allowed(cross, host, _web_scheme(scope)):
            cross = None  # a safe method from elsewhere: answered, but not readable there
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            self.metrics.limits.labels(limit="body").inc()
            response = JSONResponse(
                {"error": f"request body over {self.max_body} bytes"}, status_code=413
            )
            await response(scope, receive, self._with_headers(scope, host, send, cross))
            return
        await self.app(scope, self._bounded(receive), self._with_headers(scope, host, send, cross))

    def _refusal(self, scope: Scope) -> tuple[str, str] | None:
        """(limit, reason) when the Host or Origin header is refused, else None."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.check_host and not is_loopback_host(_host_name(host)):
            return "host", f"host {host[:80]!r} is not served"
        origin = headers.get("origin")
        if (
            origin is not None
            and (scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS)
            and not self._origin_allowed(origin, host, _web_scheme(scope))
        ):
            return "origin", f"origin {origin[:80]!r} refused"
        return None

    def _origin_allowed(self, origin: str, host: str, scheme: str) -> bool:
        if self.any_origin:
            return True
        normalized = origin.rstrip("/").lower()
        if normalized in self.origins:
            return True
        page = urlsplit(normalized)  # same origin as the page we served
        return page.scheme == scheme and page.netloc == host.lower()

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, what: str, reason: str
    ) -> None:
        self.metrics.limits.labels(limit=what).inc()
        client = scope.get("client")
        log.warning(
            "event=refused reason=%r path=%s client=%s",
            reason,
            scope.get("path", ""),
            client[0] if client else "-",
        )
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] != "websocket.connect":
                return
            # Accept, then close: a browser sees the code and reason, never a bare 1006.
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CloseCode.FORBIDDEN, "reason": reason})
            self.metrics.closes.labels(code=str(int(CloseCode.FORBIDDEN))).inc()
            return
        response = JSONResponse({"error": reason}, status_code=403)
        await response(scope, receive, send)

    def _bounded(self, receive: Receive) -> Receive:
        """Count body bytes as the app reads them: a chunked body cannot slip past the limit."""
        seen = 0
        limit = self.max_body
        metrics = self.metrics

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    metrics.limits.labels(limit="body").inc()
                    raise HTTPException(413, f"request body over {limit} bytes")
            return message

        return bounded_receive

    def _with_headers(
        self, scope: Scope, host: str, send: Send, cross_origin: str | None = None
    ) -> Send:
        frameable = scope["path"].startswith(EMBED_PREFIX)
        hsts = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if cross_origin is not None:
                    cors.allow(headers, cross_origin)
                if hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault(
                        "Content-Security-Policy",
                        content_security_policy(host, frameable=frameable),
                    )
                    if not frameable:
                        headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        return send_with_headers
