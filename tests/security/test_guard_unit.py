"""Token buckets, connection counting and the security middleware, in-process."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.cli import check_exposure
from server.config import Config
from server.core.limits import ConnectionLimiter, LimitExceeded, MessageRates, TokenBucket
from server.errors import ConfigError
from server.ops.metrics import Metrics
from server.security.guard import SecurityMiddleware, is_loopback_host
from tests.security.conftest import SECRET, metric


def test_a_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3)
    now = bucket.stamp
    assert [bucket.take(now) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(now + 0.11)  # one more after 1/rate seconds
    assert not bucket.take(now + 0.11)
    assert [bucket.take(now + 10) for _ in range(4)] == [True, True, True, False]  # capped


def test_message_rates_count_sync_and_awareness_apart() -> None:
    rates = MessageRates(Config(update_burst=2, update_rate=0.001, awareness_burst=1))
    rates.check(b"\x00\x02\x02\x00\x00")
    rates.check(b"\x01\x00")
    rates.check(b"\x00\x00\x01\x00")
    with pytest.raises(LimitExceeded) as sync:
        rates.check(b"\x03")  # awareness queries cost like sync messages
    assert (sync.value.limit, sync.value.close_code) == ("update_rate", 1008)
    with pytest.raises(LimitExceeded) as awareness:
        rates.check(b"\x01\x00")
    assert awareness.value.limit == "awareness_rate"
    rates.check(b"\x02\x00\x00")  # auth messages are not counted


def test_the_connection_limiter_counts_and_releases() -> None:
    limiter = ConnectionLimiter(
        Config(max_connections=3, max_connections_per_doc=2, max_connections_per_address=2)
    )

    def refused(doc: str, address: str) -> str:
        with pytest.raises(LimitExceeded) as exc, limiter.admit(doc, address):
            pass
        return exc.value.limit

    with limiter.admit("a", "1.1.1.1"), limiter.admit("a", "2.2.2.2"):
        assert refused("a", "3.3.3.3") == "connections_per_doc"
        with limiter.admit("b", "1.1.1.1"):
            assert refused("c", "1.1.1.1") == "connections"
        with limiter.admit("b", "1.1.1.1"):
            assert limiter.per_address["1.1.1.1"] == 2
        assert limiter.total == 2
    assert limiter.total == 0 and not limiter.per_doc and not limiter.per_address
    small = ConnectionLimiter(Config(max_connections_per_address=1))
    with (
        small.admit("a", "1.1.1.1"),
        pytest.raises(LimitExceeded, match="from your address"),
        small.admit("b", "1.1.1.1"),
    ):
        pass


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("app.localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.2", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_exposure_check() -> None:
    check_exposure(Config(host="127.0.0.1"))
    check_exposure(Config(host="0.0.0.0", auth_secret=SECRET))
    check_exposure(Config(host="0.0.0.0", auth_verifier="m:f"))
    check_exposure(Config(host="0.0.0.0", insecure_no_auth=True))
    with pytest.raises(ConfigError, match=r"refusing to serve 0\.0\.0\.0 without authentication"):
        check_exposure(Config(host="0.0.0.0"))


def _app(config: Config, metrics: Metrics) -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse("<p>hi</p>")

    async def echo(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    return Starlette(
        routes=[
            Route("/d/{doc}", page),
            Route("/embed/{doc}", page),
            Route("/echo", echo, methods=["POST"]),
        ],
        middleware=[Middleware(SecurityMiddleware, config=config, metrics=metrics)],
    )


async def test_embed_pages_may_be_framed_by_anyone_other_pages_by_no_one() -> None:
    app = _app(Config(), Metrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        page = await http.get("/d/notes")
        embed = await http.get("/embed/notes")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors *" in embed.headers["content-security-policy"]
    assert "x-frame-options" not in embed.headers
    for response in (page, embed):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000" in csp


async def test_a_chunked_body_is_stopped_when_it_passes_the_limit() -> None:
    metrics = Metrics()
    app = _app(Config(max_body=1000), metrics)
    transport = httpx.ASGITransport(app=app)

    async def chunks(n: int):  # type: ignore[no-untyped-def]
        for _ in range(n):
            yield b"x" * 400

    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        small = await http.post("/echo", content=chunks(2))  # no Content-Length: streamed
        large = await http.post("/echo", content=chunks(10))
    assert (small.status_code, small.text) == (200, "800")
    assert large.status_code == 413
    assert metric(metrics.render().decode(), 'tandem_limit_exceeded_total{limit="body"}') == 1
