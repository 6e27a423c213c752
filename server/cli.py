"""The `tandem` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence

import uvicorn

from server.config import DEFAULT_STORE, Config, build_config
from server.errors import ConfigError, TandemError
from server.ops.logs import configure_logging


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the collaboration hub")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; env TANDEM_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000, 0 picks a free one; TANDEM_PORT)")
    p.add_argument("--store", help=f"store URL (default {DEFAULT_STORE}; env TANDEM_STORE)")
    p.add_argument(
        "--flush-interval",
        type=float,
        dest="flush_interval",
        help="seconds between batched store writes (default 0.1)",
    )
    p.add_argument(
        "--unload-delay",
        type=float,
        dest="unload_delay",
        help="seconds an empty room stays loaded (default 5)",
    )
    p.add_argument("--log-level", dest="log_level", help="debug, info, warning, error")
    _add_events_flags(p)
    _add_security_flags(p)
    _add_operations_flags(p)
    p.set_defaults(run=_serve)


def _add_history(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("history", help="list a document's versions (reads the store directly)")
    p.add_argument("doc", metavar="DOC")
    p.add_argument("--store", help=f"store URL (default {DEFAULT_STORE}; env TANDEM_STORE)")
    p.add_argument("--json", action="store_true", help="the API's JSON instead of a table")

    def run(args: argparse.Namespace) -> int:
        from server.history.commands import history

        return history(args)

    p.set_defaults(run=run)


def _add_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="a document's content, now or at a version")
    p.add_argument("doc", metavar="DOC")
    p.add_argument("--version", type=int, help="version number (default: the current content)")
    p.add_argument("--format", choices=("text", "html", "json", "yjs"), default="text")
    p.add_argument("--store", help=f"store URL (default {DEFAULT_STORE}; env TANDEM_STORE)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")

    def run(args: argparse.Namespace) -> int:
        from server.history.commands import export

        return export(args)

    p.set_defaults(run=run)


def _add_events_flags(p: argparse.ArgumentParser) -> None:
    """Presence, /events and webhooks (server/events/)."""
    p.add_argument(
        "--webhook",
        action="append",
        metavar="URL",
        help="POST signed `changed` and `version` notifications here (repeatable; TANDEM_WEBHOOK)",
    )
    p.add_argument(
        "--webhook-secret",
        dest="webhook_secret",
        help="HMAC-SHA256 key for X-Tandem-Signature (TANDEM_WEBHOOK_SECRET)",
    )
    p.add_argument(
        "--events-bus",
        dest="events_bus",
        metavar="URL",
        help="how instances share presence and notifications: memory:// or redis://HOST:PORT/DB "
        "(default: the store when it is Redis, else this process only)",
    )


# -- security: flags of `serve`, `tandem token`, and the checks before binding -----------------

_LIMIT_FLAGS = (
    ("--max-frame", "max_frame", int, "bytes per WebSocket frame (1009 beyond; default 8 MiB)"),
    ("--max-doc-bytes", "max_doc_bytes", int, "bytes per document (4413 beyond; default 64 MiB)"),
    ("--update-rate", "update_rate", float, "sync messages/s per connection (default 100)"),
    ("--update-burst", "update_burst", int, "burst of sync messages (default 500)"),
    ("--awareness-rate", "awareness_rate", float, "awareness messages/s (default 30)"),
    ("--awareness-burst", "awareness_burst", int, "burst of awareness messages (default 100)"),
    ("--max-connections", "max_connections", int, "sockets in total (default 10000)"),
    ("--max-connections-per-doc", "max_connections_per_doc", int, "per document (default 500)"),
    (
        "--max-connections-per-address",
        "max_connections_per_address",
        int,
        "per client address (default 200)",
    ),
    ("--max-rooms", "max_rooms", int, "documents open in memory (default 10000)"),
    ("--max-body", "max_body", int, "HTTP request body bytes (413 beyond; default 1 MiB)"),
    ("--max-awareness-clients", "max_awareness_clients", int, "per connection (default 8)"),
    ("--max-awareness-bytes", "max_awareness_bytes", int, "per connection (default 16 KiB)"),
    (
        "--max-awareness-clients-per-doc",
        "max_awareness_clients_per_doc",
        int,
        "awareness clients of one document (1013 beyond; default 4096)",
    ),
    (
        "--max-awareness-bytes-per-doc",
        "max_awareness_bytes_per_doc",
        int,
        "awareness state of one document (1013 beyond; default 4 MiB)",
    ),
    ("--max-head-bytes", "max_head_bytes", int, "HTTP request head bytes (431; default 64 KiB)"),
    ("--head-timeout", "head_timeout", float, "seconds to send a request head (408; default 10)"),
)


def _add_security_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("security (see SECURITY.md; every flag has a TANDEM_* mirror)")
    g.add_argument("--auth-secret", dest="auth_secret", help="HS256 secret: tokens required")
    g.add_argument(
        "--auth-verifier",
        dest="auth_verifier",
        metavar="MODULE:FUNCTION",
        help="your own token check: called with (token, doc), returns an Identity or raises",
    )
    g.add_argument(
        "--allow-origin",
        dest="allow_origin",
        action="append",
        metavar="ORIGIN",
        help="an origin (https://app.example) whose pages may connect; repeat; * for any",
    )
    g.add_argument("--tls-cert", dest="tls_cert", metavar="PEM", help="serve https/wss")
    g.add_argument("--tls-key", dest="tls_key", metavar="PEM", help="private key of --tls-cert")
    g.add_argument(
        "--insecure-no-auth",
        dest="insecure_no_auth",
        action="store_true",
        default=None,
        help="allow no auth on a non-loopback address or behind a proxy",
    )
    g.add_argument(
        "--forwarded-allow-ips",
        dest="forwarded_allow_ips",
        action="extend",
        nargs="+",
        metavar="ADDR",
        help="proxies (addresses or CIDR ranges) whose X-Forwarded-For/-Proto are believed "
        "(default 127.0.0.1; TANDEM_FORWARDED_ALLOW_IPS)",
    )
    g.add_argument(
        "--max-token-ttl",
        dest="max_token_ttl",
        type=float,
        metavar="SECONDS",
        help="longest token lifetime accepted (exp - iat), and how long revocations are kept "
        "(default 30 days)",
    )
    for flag, dest, kind, text in _LIMIT_FLAGS:
        g.add_argument(flag, dest=dest, type=kind, help=text)


def check_exposure(config: Config) -> None:
    """Refuse to serve an open hub beyond this machine unless told to, loudly."""
    from server.security.guard import is_loopback_host

    open_hub = config.auth_secret is None and config.auth_verifier is None
    if open_hub and not is_loopback_host(config.host) and not config.insecure_no_auth:
        raise ConfigError(
            f"refusing to serve {config.host} without authentication: pass --auth-secret "
            "(or TANDEM_AUTH_SECRET), or --insecure-no-auth if you really mean it"
        )


def _add_token(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("token", help="print a signed access token")
    p.add_argument("--user", required=True, help="user id (the sub claim)")
    p.add_argument("--name", help="display name (default: the user id)")
    p.add_argument(
        "--doc",
        dest="docs",
        action="append",
        required=True,
        metavar="PATTERN",
        help="document id or glob pattern (team-*, *); repeat for several",
    )
    p.add_argument("--role", choices=["read", "write", "admin"], default="write")
    p.add_argument("--ttl", type=float, default=3600.0, help="seconds of validity (default 3600)")
    p.add_argument("--auth-secret", dest="auth_secret", help="(default: TANDEM_AUTH_SECRET)")
    p.set_defaults(run=_token)


def _token(args: argparse.Namespace) -> int:
    from server.security.auth import mint_token

    config = build_config({"auth_secret": args.auth_secret})
    if config.auth_secret is None:
        raise ConfigError("no secret: pass --auth-secret or set TANDEM_AUTH_SECRET")
    if args.ttl <= 0:
        raise ConfigError("--ttl must be positive")
    if args.ttl > config.max_token_ttl:
        raise ConfigError(
            f"--ttl {args.ttl:g} is over the hubs' longest token lifetime "
            f"({config.max_token_ttl:g} s, TANDEM_MAX_TOKEN_TTL)"
        )
    print(
        mint_token(
            config.auth_secret,
            user=args.user,
            name=args.name,
            docs=args.docs,
            role=args.role,
            ttl=args.ttl,
        )
    )
    return 0


def _add_revoke(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("revoke", help="take a user's access back now, on every hub")
    p.add_argument("user", metavar="USER", help="the user id (the sub claim of their tokens)")
    p.add_argument("--server", required=True, metavar="URL", help="a hub: https://host:port")
    p.add_argument("--token", help="an admin token (default: TANDEM_TOKEN)")
    p.set_defaults(run=_revoke)


def _revoke(args: argparse.Namespace) -> int:
    """POST /api/users/{user}/revoke on a running hub; it reaches the others through the bus."""
    import os
    from urllib.parse import quote

    import httpx

    token = args.token or os.environ.get("TANDEM_TOKEN")
    if not token:
        raise ConfigError("no token: pass --token or set TANDEM_TOKEN (an admin token)")
    url = f"{args.server.rstrip('/')}/api/users/{quote(args.user, safe='')}/revoke"
    try:
        response = httpx.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach {args.server}: {exc}") from exc
    if response.status_code != 200:
        try:
            why = response.json().get("error", response.text)
        except ValueError:
            why = response.text
        print(f"tandem: revoke refused ({response.status_code}): {why}", file=sys.stderr)
        return 1
    body = response.json()
    print(f"revoked {body['user']}: tokens issued before {body['revoked_before']} are refused")
    return 0


def _add_operations_flags(p: argparse.ArgumentParser) -> None:
    """Several instances, storage bounds and logs (each flag has a TANDEM_* mirror)."""
    p.add_argument(
        "--broker",
        help="fan-out to other instances: redis://HOST:PORT/DB, or none "
        "(default: the store's Redis when the store is Redis; env TANDEM_BROKER)",
    )
    p.add_argument(
        "--compact-max-updates",
        type=int,
        dest="compact_max_updates",
        help="fold a document's update log into its snapshot past this many updates (500)",
    )
    p.add_argument(
        "--compact-max-bytes",
        type=int,
        dest="compact_max_bytes",
        help="... or past this many bytes (1048576)",
    )
    p.add_argument(
        "--log-format",
        dest="log_format",
        choices=["text", "json"],
        help="text (key=value) or json, one line per event (default text)",
    )


def _bind(config: Config) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this on Linux: small CRDT frames must not wait for delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {config.port} on {config.host} is already in use: "
                "stop the other process or pass --port (0 picks a free port)"
            ) from exc
        raise ConfigError(f"cannot bind {config.host}:{config.port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # signals are ours (see _serve): uvicorn would re-raise them after shutdown


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (it is with uvicorn[standard]): a faster loop for many sockets."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _request_exit(server: uvicorn.Server) -> None:
    if server.should_exit:
        server.force_exit = True  # a second Ctrl-C stops without waiting for connections
    server.should_exit = True


def _serve(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.events.bus import open_bus
    from server.security.auth import Authenticator
    from server.security.guard import redact_tokens_in_logs
    from server.stores import open_store
    from server.transport.httpprotocol import head_bounded_protocol
    from server.transport.wsprotocol import DirectWebSocketProtocol

    config = build_config(vars(args))
    open_store(config.store)  # a bad store URL fails here, before anything is bound
    open_bus(config.events_bus, config.store)  # … and so does a bad events bus URL
    check_exposure(config)
    Authenticator.from_config(config)  # so does a verifier that cannot be imported
    configure_logging(config.log_level, config.log_format)
    sock = _bind(config)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    app = create_app(config)
    limits = app.state.hub.metrics.limits
    http = head_bounded_protocol(
        max_head_bytes=config.max_head_bytes,
        head_timeout=config.head_timeout,
        on_refused=lambda limit: limits.labels(limit=limit).inc(),
    )
    redact_tokens_in_logs()
    scheme = "https" if config.tls_cert else "http"
    server = _Server(
        uvicorn.Config(
            app,
            ws_max_size=config.max_frame,
            ws_ping_interval=config.ws_ping_interval,
            ws_ping_timeout=config.ws_ping_timeout,
            ws_per_message_deflate=config.ws_compression,
            http=http,  # uvicorn's, with bounds on the request head (server/httpprotocol.py)
            ws=DirectWebSocketProtocol,  # uvicorn's, with a direct path for /ws/{doc}
            lifespan="on",
            log_level=config.log_level,
            log_config=None,  # uvicorn's loggers go through ours (server/logs.py)
            access_log=False,
            proxy_headers=False,  # forwarded addresses are ours to judge (server/forwarded.py)
            timeout_graceful_shutdown=10,
            ssl_certfile=config.tls_cert,
            ssl_keyfile=config.tls_key,
        )
    )

    async def run() -> None:
        # A graceful stop on SIGINT/SIGTERM: uvicorn closes sockets (1012), then the lifespan
        # flushes the store; we exit 0 rather than re-raising the signal as uvicorn would.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _request_exit, server)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            print(
                f"Tandem is running at {scheme}://{shown}:{port}/  (store: {config.store})",
                flush=True,
            )
        await serving

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run())
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem collaboration hub")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_history(sub)
    _add_export(sub)
    _add_token(sub)
    _add_revoke(sub)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except TandemError as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
