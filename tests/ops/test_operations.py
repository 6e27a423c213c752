"""Operations: structured logs, metrics of the fan-out, readiness while Redis is away."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.support.redis import RedisServer
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient


def metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


async def test_json_logs_carry_event_doc_and_connection(
    tmp_path: Path, yjs_clients: Callable[..., Awaitable[YjsClient]]
) -> None:
    store = f"sqlite:///{tmp_path / 'logs.db'}"
    server = await TandemProcess("--port", "0", "--store", store, "--log-format", "json").start()
    try:
        client = await yjs_clients(server.ws_url, "logged")
        await client.close()
        await eventually(
            lambda: _async(server.output()), lambda out: "event=left" in out or '"left"' in out
        )
    finally:
        await server.stop()
    records = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    joined = [r for r in records if r.get("event") == "joined"]
    assert joined and joined[0]["doc"] == "logged" and joined[0]["conn"].startswith("c")
    assert all({"ts", "level", "logger"} <= set(r) for r in records)
    assert any(r["logger"].startswith("uvicorn") and "msg" in r for r in records)


async def _async(value: str) -> str:
    return value


async def test_text_logs_are_key_value_lines(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'logs.db'}"
    server = await TandemProcess("--port", "0", "--store", store).start()
    await server.stop()
    lines = [line for line in server.output().splitlines() if line.startswith("ts=")]
    assert lines and all(" level=" in line and " logger=" in line for line in lines)


async def test_two_hubs_report_fanout_metrics_and_redis_outages(
    tmp_path: Path, yjs_clients: Callable[..., Awaitable[YjsClient]]
) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    hubs = [await TandemProcess("--port", "0", "--store", redis.url).start() for _ in range(2)]
    try:
        a = await yjs_clients(hubs[0].ws_url, "measured")
        b = await yjs_clients(hubs[1].ws_url, "measured")
        await a.call("append", text="hello")
        await b.call("waitText", text="hello")
        async with httpx.AsyncClient() as http:
            text = (await http.get(hubs[1].url + "/metrics")).text
            assert metric(text, 'tandem_broker_messages_total{direction="in",kind="update"}') >= 1
            assert metric(text, "tandem_broker_delivery_seconds_count") >= 1
            assert metric(text, 'tandem_store_seconds_count{op="load"}') >= 1
            assert (await http.get(hubs[1].url + "/readyz")).status_code == 200

            redis.stop()
            response = await eventually(
                lambda: http.get(hubs[1].url + "/readyz"),
                lambda r: r.status_code == 503,
                what="not ready without Redis",
            )
            assert any("broker" in p for p in response.json()["problems"])
            redis.start()
            await eventually(
                lambda: http.get(hubs[1].url + "/readyz"),
                lambda r: r.status_code == 200,
                what="ready again",
            )
            text = (await http.get(hubs[1].url + "/metrics")).text
            assert metric(text, 'tandem_redis_reconnects_total{client="broker"}') >= 1
    finally:
        for hub in hubs:
            await hub.stop()
        redis.stop()
