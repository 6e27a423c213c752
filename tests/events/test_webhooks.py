"""Webhooks: signed POSTs to a real local HTTP receiver, retried with backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path

import httpx

from server.app import add_events
from server.config import Config
from server.core.hub import Hub
from server.events.webhooks import sign
from server.stores.memory import MemoryStore
from tests.support.http_receiver import HttpReceiver, Received
from tests.support.tandem import ROOT, TandemProcess
from tests.support.waiting import eventually

SECRET = "s3cret-for-tests"


def verify(received: Received, secret: str = SECRET) -> bool:
    """What a receiver does: recompute the HMAC of the exact body, compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers.get("x-tandem-signature", ""))


async def test_changes_are_posted_signed_and_retried_until_delivered(
    tmp_path: Path, yjs_clients
) -> None:
    async with HttpReceiver(statuses=[500, 503]) as flaky, HttpReceiver() as steady:
        server = TandemProcess(
            "--port", "0",
            "--store", f"sqlite:///{tmp_path / 'hooks.db'}",
            "--webhook", flaky.url + "/flaky",
            "--webhook", steady.url + "/hook",
            "--webhook-secret", SECRET,
            env={"TANDEM_WEBHOOK_BACKOFF": "0.2"},
        )  # fmt: skip
        await server.start()
        try:
            ana = await yjs_clients(server.ws_url, "hooked", awareness={"user": {"name": "Ana"}})
            await ana.call("append", text="hello")
            await eventually(
                lambda: _count(flaky), lambda n: n >= 3, what="two failures then a delivery"
            )
            await eventually(lambda: _count(steady), lambda n: n >= 1, what="steady delivery")
            async with httpx.AsyncClient(base_url=server.url) as http:
                metrics = (await http.get("/metrics")).text
        finally:
            await server.stop()
    first, second, third = flaky.received[:3]
    assert [r.status for r in (first, second, third)] == [500, 503, 200]
    assert first.body == second.body == third.body
    # One delivery id across its retries, so a receiver can de-duplicate.
    assert len({r.headers["x-tandem-delivery"] for r in (first, second, third)}) == 1
    for received in (third, steady.received[0]):
        assert verify(received)
        assert not verify(received, "wrong secret")
        assert received.headers["content-type"] == "application/json"
        assert received.headers["x-tandem-event"] == "changed"
        event = json.loads(received.body)
        assert event["type"] == "changed" and event["doc"] == "hooked"
        assert event["by"][0].startswith("anon-") and event["at"].endswith("Z")
    assert steady.received[0].path == "/hook" and third.path == "/flaky"
    assert 'tandem_webhook_deliveries_total{outcome="retried"} 2.0' in metrics
    assert 'tandem_webhook_deliveries_total{outcome="delivered"} 2.0' in metrics
    assert "event=webhook_retry" in server.output()


async def test_versions_are_posted_and_a_dead_receiver_is_given_up_on() -> None:
    async with HttpReceiver() as receiver, HttpReceiver(statuses=[500] * 10) as broken:
        config = Config(
            store="memory://",
            webhook=(receiver.url, broken.url),
            webhook_secret=SECRET,
            webhook_retries=2,
            webhook_backoff=0.05,
        )
        hub = Hub(config, MemoryStore())
        events = add_events(hub)
        async with hub.running():
            version = {"version": 3, "at": "2025-01-01T00:00:00Z", "authors": ["ana"]}
            events.publish("plan", {"type": "version", "version": version})
            events.publish("plan", {"type": "restored", "version": 2, "by": "ana"})
            await eventually(lambda: _count(receiver), lambda n: n == 1, what="version posted")
            await eventually(lambda: _count(broken), lambda n: n == 3, what="three attempts")
            await eventually(
                lambda: _metric(hub, "failed"), lambda v: v == 1.0, what="failure counted"
            )
        (received,) = receiver.received
        assert json.loads(received.body) == {"type": "version", "doc": "plan", "version": version}
        assert received.headers["x-tandem-signature"] == sign(SECRET, received.body)
        assert received.headers["x-tandem-event"] == "version"  # `restored` is not posted


async def test_an_event_that_cannot_be_sent_fails_alone(caplog) -> None:
    async with HttpReceiver() as receiver:
        config = Config(store="memory://", webhook=(receiver.url,), webhook_secret=SECRET)
        hub = Hub(config, MemoryStore())
        events = add_events(hub)
        async with hub.running():
            events.publish("plan", {"type": "version", "version": {"label": "\ud800"}})
            events.publish("plan", {"type": "version", "version": {"label": "fine"}})
            await eventually(lambda: _count(receiver), lambda n: n == 1, what="the good one")
            assert await _metric(hub, "failed") == 1.0
        (received,) = receiver.received
        assert json.loads(received.body)["version"] == {"label": "fine"}
        assert "event=service_crashed" not in caplog.text


async def test_webhook_flags_are_checked_before_starting() -> None:
    async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve", "--port", "0", "--store", "memory://",
            *args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        return proc.returncode or 0, out.decode()

    code, out = await run("--webhook", "http://127.0.0.1:9/")
    assert code == 2 and "--webhook needs --webhook-secret" in out
    code, out = await run("--webhook", "ftp://x", "--webhook-secret", "k")
    assert code == 2 and "must start with http://" in out
    code, out = await run(
        env={"TANDEM_WEBHOOK": "http://a/, ftp://b", "TANDEM_WEBHOOK_SECRET": "k"}
    )
    assert code == 2 and "'ftp://b'" in out  # the environment mirror is a list too
    code, out = await run("--events-bus", "kafka://x")
    assert code == 2 and "unsupported events bus URL" in out


async def _count(receiver: HttpReceiver) -> int:
    await asyncio.sleep(0)
    return len(receiver.received)


async def _metric(hub: Hub, outcome: str) -> float:
    value = hub.metrics.registry.get_sample_value(
        "tandem_webhook_deliveries_total", {"outcome": outcome}
    )
    return value or 0.0
