"""Run the app under uvicorn, with our WebSocket and HTTP protocols, on a socket bound first."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import ASGIApp

from server.config import Config
from server.errors import ConfigError
from server.transport.httpprotocol import head_bounded_protocol
from server.transport.wsprotocol import DirectWebSocketProtocol


def bind(config: Config) -> socket.socket:
    """The listening socket, bound before the app starts (a clear error when it cannot be)."""
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
        yield  # signals are ours (see serve): uvicorn would re-raise them after shutdown


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


def serve(
    app: ASGIApp, config: Config, sock: socket.socket, on_refused: Callable[[str], None]
) -> bool:
    """Serve until SIGINT/SIGTERM; False when the server did not start. `on_refused` counts
    request heads refused by their bounds (httpprotocol.py)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    http = head_bounded_protocol(
        max_head_bytes=config.max_head_bytes,
        head_timeout=config.head_timeout,
        on_refused=on_refused,
    )
    scheme = "https" if config.tls_cert else "http"
    server = _Server(
        uvicorn.Config(
            app,
            ws_max_size=config.max_frame,
            ws_ping_interval=config.ws_ping_interval,
            ws_ping_timeout=config.ws_ping_timeout,
            ws_per_message_deflate=config.ws_compression,
            http=http,  # uvicorn's, with bounds on the request head (httpprotocol.py)
            ws=DirectWebSocketProtocol,  # uvicorn's, with a direct path for /ws/{doc}
            lifespan="on",
            log_level=config.log_level,
            log_config=None,  # uvicorn's loggers go through ours (server/ops/logs.py)
            access_log=False,
            proxy_headers=False,  # forwarded addresses are ours to judge (security/guard.py)
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
    return bool(server.started)
