"""The `tandem` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from server.config import Config, build_config
from server.errors import ConfigError, TandemError
from server.ops.logs import configure_logging

_DEFAULTS = Config()


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return str(n)


def _duration(seconds: float) -> str:
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds:g} s"


def _plain(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _option(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    text: str,
    show: Callable[[Any], str] = _plain,
    **kwargs: Any,
) -> None:
    """A flag that sets the Config field of its name: its type and the default in its help
    come from that field (the default stays None, so TANDEM_* variables still count)."""
    dest = flag.removeprefix("--").replace("-", "_")
    default = getattr(_DEFAULTS, dest)
    if isinstance(default, int | float) and not isinstance(default, bool):
        kwargs.setdefault("type", type(default))
    if default not in (None, "", (), False):
        text = f"{text} (default {show(default)})"
    p.add_argument(flag, dest=dest, help=text, **kwargs)


def _store_option(p: argparse.ArgumentParser) -> None:
    _option(p, "--store", "store URL: sqlite:///PATH, memory:// or redis://HOST:PORT/DB")


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve", help="run the collaboration hub", description="Every flag has a TANDEM_* mirror."
    )
    _option(p, "--host", "address to bind")
    _option(p, "--port", "port, 0 picks a free one")
    _store_option(p)
    _option(p, "--flush-interval", "seconds between batched store writes")
    _option(p, "--unload-delay", "seconds an empty room stays loaded")
    _option(p, "--log-level", "debug, info, warning, error")
    _add_events_flags(p)
    _add_security_flags(p)
    _add_operations_flags(p)
    p.set_defaults(run=_serve)


def _add_history(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("history", help="list a document's versions (reads the store directly)")
    p.add_argument("doc", metavar="DOC")
    _store_option(p)
    p.add_argument("--json", action="store_true", help="the API's JSON instead of a table")

    def run(args: argparse.Namespace) -> int:
        from server.history.commands import history

        return history(args)

    p.set_defaults(run=run)


def _add_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="a document's content, now or at a version")
    p.add_argument("doc", metavar="DOC")
    p.add_argument("--version", type=int, help="version number (default: the current content)")
    p.add_argument("--format", choices=("text", "html", "json", "markdown", "yjs"), default="text")
    _store_option(p)
    p.add_argument("--output", "-o", help="write to this file instead of standard output")

    def run(args: argparse.Namespace) -> int:
        from server.history.commands import export

        return export(args)

    p.set_defaults(run=run)


def _add_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="make a document the content of a file")
    p.add_argument("doc", metavar="DOC")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--format",
        choices=("markdown", "html", "json", "text"),
        help="what FILE holds (default: from its suffix; Markdown otherwise)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", metavar="URL", help="a running hub: its editors see it live")
    where.add_argument("--store", help="the store itself, when no server has DOC open")
    p.add_argument("--token", help="a write token for --server (default: TANDEM_TOKEN)")

    def run(args: argparse.Namespace) -> int:
        from server.history.commands import import_content

        return import_content(args)

    p.set_defaults(run=run)


def _add_events_flags(p: argparse.ArgumentParser) -> None:
    """Presence, /events and webhooks (server/events/)."""
    _option(
        p,
        "--webhook",
        "POST signed `changed` and `version` notifications here (repeatable)",
        action="append",
        metavar="URL",
    )
    _option(p, "--webhook-secret", "HMAC-SHA256 key for X-Tandem-Signature")
    _option(
        p,
        "--events-bus",
        "how instances share presence and notifications: memory:// or redis://HOST:PORT/DB "
        "(default: the store when it is Redis, else this process only)",
        metavar="URL",
    )


# -- security: flags of `serve`, `tandem token`, and the checks before binding -----------------

# (flag, help, how its default is shown)
_LIMIT_FLAGS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("--max-frame", "bytes per WebSocket frame (1009 beyond)", _size),
    ("--max-doc-bytes", "bytes per document (4413 beyond)", _size),
    ("--update-rate", "sync messages/s per connection", _plain),
    ("--update-burst", "burst of sync messages", _plain),
    ("--awareness-rate", "awareness messages/s", _plain),
    ("--awareness-burst", "burst of awareness messages", _plain),
    ("--max-connections", "sockets in total", _plain),
    ("--max-connections-per-doc", "per document", _plain),
    ("--max-connections-per-address", "per client address", _plain),
    ("--max-rooms", "documents open in memory", _plain),
    ("--max-body", "HTTP request body bytes (413 beyond)", _size),
    ("--max-awareness-clients", "per connection", _plain),
    ("--max-awareness-bytes", "per connection", _size),
    ("--max-awareness-clients-per-doc", "awareness clients of one document (1013 beyond)", _plain),
    ("--max-awareness-bytes-per-doc", "awareness state of one document (1013 beyond)", _size),
    ("--max-head-bytes", "HTTP request head bytes (431 beyond)", _size),
    ("--head-timeout", "seconds to send a request head (408 beyond)", _plain),
)


def _add_security_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("security (see SECURITY.md)")
    _option(g, "--auth-secret", "HS256 secret: tokens required")
    _option(
        g,
        "--auth-verifier",
        "your own token check: called with (token, doc), returns an Identity or raises",
        metavar="MODULE:FUNCTION",
    )
    _option(
        g,
        "--allow-origin",
        "an origin (https://app.example) whose pages may connect; repeat; * for any",
        action="append",
        metavar="ORIGIN",
    )
    _option(g, "--tls-cert", "serve https/wss", metavar="PEM")
    _option(g, "--tls-key", "private key of --tls-cert", metavar="PEM")
    _option(
        g,
        "--insecure-no-auth",
        "allow no auth on a non-loopback address or behind a proxy",
        action="store_true",
        default=None,
    )
    _option(
        g,
        "--forwarded-allow-ips",
        "proxies (addresses or CIDR ranges) whose X-Forwarded-For/-Proto are believed",
        action="extend",
        nargs="+",
        metavar="ADDR",
    )
    _option(
        g,
        "--max-token-ttl",
        "longest token lifetime accepted (exp - iat), and how long revocations are kept",
        _duration,
        metavar="SECONDS",
    )
    for flag, text, show in _LIMIT_FLAGS:
        _option(g, flag, text, show)


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
    p.add_argument("--role", choices=["read", "comment", "write", "admin"], default="write")
    p.add_argument("--ttl", type=float, default=3600.0, help="seconds of validity (%(default)g)")
    p.add_argument("--auth-secret", dest="auth_secret", help="(default: $TANDEM_AUTH_SECRET)")

    def run(args: argparse.Namespace) -> int:
        from server.security.commands import token

        return token(args)

    p.set_defaults(run=run)


def _add_revoke(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("revoke", help="take a user's access back now, on every hub")
    p.add_argument("user", metavar="USER", help="the user id (the sub claim of their tokens)")
    p.add_argument("--server", required=True, metavar="URL", help="a hub: https://host:port")
    p.add_argument("--token", help="an admin token (default: TANDEM_TOKEN)")

    def run(args: argparse.Namespace) -> int:
        from server.security.commands import revoke

        return revoke(args)

    p.set_defaults(run=run)


def _add_operations_flags(p: argparse.ArgumentParser) -> None:
    """Several instances, storage bounds and logs."""
    _option(
        p,
        "--broker",
        "fan-out to other instances: redis://HOST:PORT/DB, or none "
        "(default: the store's Redis when the store is Redis)",
    )
    _option(
        p,
        "--compact-max-updates",
        "fold a document's update log into its snapshot past this many updates",
    )
    _option(p, "--compact-max-bytes", "... or past this many bytes", _size)
    _option(
        p, "--log-format", "one line per event: text (key=value) or json", choices=["text", "json"]
    )


def _serve(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.security.guard import redact_tokens_in_logs
    from server.transport.serving import bind, serve

    config = build_config(vars(args))
    # Built before anything is bound (nothing is opened yet), so a bad store or bus URL or a
    # verifier that cannot be imported fails here, as does an open hub beyond loopback.
    app = create_app(config)
    check_exposure(config)
    configure_logging(config.log_level, config.log_format)
    sock = bind(config)
    limits = app.state.hub.metrics.limits
    redact_tokens_in_logs()
    return 0 if serve(app, config, sock, lambda limit: limits.labels(limit=limit).inc()) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem collaboration hub")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_history(sub)
    _add_export(sub)
    _add_import(sub)
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
