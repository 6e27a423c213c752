"""Configuration: one frozen dataclass, built once from flags and environment, then passed in."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from server.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_STORE = "sqlite:///./tandem.db"


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8000
    store: str = DEFAULT_STORE
    # Persistence: updates are written in batches; a long tail is folded into the snapshot.
    flush_interval: float = 0.1
    compact_max_updates: int = 500
    compact_max_bytes: int = 1024 * 1024
    # A room whose last client left stays loaded this long (a quick reconnect needs no reload).
    unload_delay: float = 5.0
    # Transport.
    max_frame: int = 8 * 1024 * 1024
    ws_compression: bool = False
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    # A connection whose outgoing queue passes either bound is closed; it re-syncs on reconnect.
    send_queue_frames: int = 2048
    send_queue_bytes: int = 16 * 1024 * 1024
    # Large documents: an initial sync over this is streamed in pieces of about this size, and
    # documents over it are loaded, split and compacted in a worker process (core/offload.py).
    sync_chunk_bytes: int = 1024 * 1024
    log_level: str = "info"
    # -- History (versions) --------------------------------------------------------------
    # A version closes after this many seconds without an update, or after this many seconds
    # of continuous editing; every Nth version also stores the full state (rebuild cost bound).
    version_idle_seconds: float = 30.0
    version_max_seconds: float = 600.0
    version_checkpoint_every: int = 50

    # -- Presence, /events and webhooks (server/events/) --------------------------------------
    # At most one awareness relay per client per this many seconds (latest wins); 0: no limit.
    presence_interval: float = 0.08
    # A client that promised a heartbeat (?heartbeat=S, S <= half of this) and is silent this
    # many seconds loses its presence (server/core/liveness.py); its socket stays.
    presence_timeout: float = 10.0
    # Instances announce their presence records this often; silent for 3x, they are dropped.
    presence_heartbeat: float = 5.0
    # At most one `changed` notification per document per this many seconds.
    changed_interval: float = 1.0
    # Where notifications travel between instances: memory:// or redis://…; default: the store
    # when it is Redis, else this process only.
    events_bus: str = ""
    # URLs that receive signed POSTs of `changed` and `version` (env: space or comma separated).
    webhook: tuple[str, ...] = ()
    webhook_secret: str = ""
    webhook_retries: int = 5
    webhook_backoff: float = 1.0
    # -- security (SECURITY.md): authentication, transport, limits
    # HS256 secret for tokens; with neither a secret nor a verifier the service runs open.
    auth_secret: str | None = None
    # `module:function` called with (token, doc) that returns an Identity or raises.
    auth_verifier: str | None = None
    # Origins whose pages may open WebSockets and send unsafe requests, besides our own ("*": any).
    allow_origin: tuple[str, ...] = ()
    tls_cert: str | None = None
    tls_key: str | None = None
    # Serve without auth on a non-loopback address (or behind a proxy that sets another Host).
    insecure_no_auth: bool = False
    # Proxies (addresses or CIDR ranges) whose X-Forwarded-For/-Proto are believed (forwarded.py).
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    # Tokens may live at most this long (exp - iat); revocations are kept as long (revocations.py).
    max_token_ttl: float = 30 * 24 * 3600.0
    max_doc_bytes: int = 64 * 1024 * 1024
    update_rate: float = 100.0  # update messages per second per connection, sustained
    update_burst: int = 500
    awareness_rate: float = 30.0  # awareness messages per second per connection, sustained
    awareness_burst: int = 100
    max_connections: int = 10000
    max_connections_per_doc: int = 500
    max_connections_per_address: int = 200
    max_rooms: int = 10000  # documents open in memory at once
    # Presence (server.core.limits.PresenceLimits): awareness client ids and state bytes.
    max_awareness_clients: int = 8  # per connection (a browser tab announces one)
    max_awareness_bytes: int = 16 * 1024  # per connection
    max_awareness_clients_per_doc: int = 4096
    max_awareness_bytes_per_doc: int = 4 * 1024 * 1024
    max_body: int = 1024 * 1024  # HTTP request body bytes
    # A request head (request line and headers) must arrive within this many bytes and seconds.
    max_head_bytes: int = 64 * 1024
    head_timeout: float = 10.0
    # Several instances (issue 4): the broker that fans updates out to the other instances
    # ("" = the store's Redis when the store is Redis, else none; "none" = off), and logs.
    broker: str = ""
    log_format: str = "text"  # text (key=value) or json, one line per event

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def _env_name(field: str) -> str:
    return "TANDEM_" + field.upper()


def _convert(field: dataclasses.Field[Any], raw: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            return tuple(part for part in raw.replace(",", " ").split() if part)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
    except ValueError as exc:
        raise ConfigError(f"{_env_name(field.name)}={raw!r} is not a valid {kind}") from exc
    return raw


def build_config(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Flags win over TANDEM_* environment variables, which win over defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Config):
        flag = flags.get(field.name)
        if isinstance(flag, list):  # a repeatable flag (argparse "append")
            flag = tuple(flag)
        if flag is not None:
            values[field.name] = flag
        elif _env_name(field.name) in environ:
            values[field.name] = _convert(field, environ[_env_name(field.name)])
    config = Config(**values)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port {config.port} is out of range")
    for name in ("flush_interval", "unload_delay"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must not be negative")
    if config.log_format not in {"text", "json"}:
        raise ConfigError(f"log format {config.log_format!r}: use text or json")
    for name in (
        "compact_max_updates",
        "compact_max_bytes",
        "max_frame",
        "send_queue_frames",
        "sync_chunk_bytes",
    ):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    for name in ("version_idle_seconds", "version_max_seconds", "version_checkpoint_every"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    _validate_events(config)


def _validate_events(config: Config) -> None:
    for name in ("presence_interval", "changed_interval", "webhook_retries", "webhook_backoff"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must not be negative")
    if config.presence_heartbeat <= 0:
        raise ConfigError("presence_heartbeat must be positive")
    if config.presence_timeout <= 0:
        raise ConfigError("presence_timeout must be positive")
    for url in config.webhook:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook URL {url!r} must start with http:// or https://")
    if config.webhook and not config.webhook_secret:
        raise ConfigError("--webhook needs --webhook-secret (the key that signs every POST)")
    _validate_security(config)


def _validate_security(config: Config) -> None:
    for name in (
        "max_doc_bytes",
        "update_rate",
        "update_burst",
        "awareness_rate",
        "awareness_burst",
        "max_connections",
        "max_connections_per_doc",
        "max_connections_per_address",
        "max_rooms",
        "max_body",
        "max_awareness_clients",
        "max_awareness_bytes",
        "max_awareness_clients_per_doc",
        "max_awareness_bytes_per_doc",
        "max_head_bytes",
        "head_timeout",
    ):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    # A joiner gets the document's whole presence in one message: it must leave room in its
    # send queue for what follows (each client costs its state and about 24 bytes of framing).
    presence = config.max_awareness_bytes_per_doc + 24 * config.max_awareness_clients_per_doc
    if presence > config.send_queue_bytes // 2:
        raise ConfigError(
            f"presence of a document ({presence} bytes at most) must fit in half the send queue "
            f"({config.send_queue_bytes} bytes): lower max_awareness_*_per_doc"
        )
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    if config.max_token_ttl <= 0:
        raise ConfigError("max_token_ttl must be positive")
    try:
        parse_networks(config.forwarded_allow_ips)
    except ValueError as exc:
        raise ConfigError(f"--forwarded-allow-ips: {exc}") from None
    if config.auth_secret is not None and len(config.auth_secret.encode()) < 32:
        raise ConfigError("the auth secret must be at least 32 bytes (e.g. `openssl rand -hex 32`)")


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8` → networks; ValueError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is neither an IP address nor a CIDR range") from None
    return tuple(networks)
