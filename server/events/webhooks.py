"""Webhooks: signed JSON POSTs of `changed`, `version` and `comment` notifications.

Each configured URL has its own bounded queue and worker, so a slow or failing receiver delays
only itself, in order, and never a room. A delivery is retried with exponential backoff on a
network error, a timeout, 408, 429 or a 5xx answer; other answers end it. The body is the
notification as `/events` sends it, signed with HMAC-SHA256 of the exact bytes:

    X-Tandem-Signature: sha256=<hex digest>    (key: --webhook-secret)
    X-Tandem-Event: changed | version | comment
    X-Tandem-Delivery: <id, the same on every retry of one delivery>

Sent with httpx (one AsyncClient, connection reuse, timeouts). Failures are logged and counted in
`tandem_webhook_deliveries_total{outcome="retried"|"failed"|"dropped"}`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from server.ops.metrics import Metrics

log = logging.getLogger("tandem.webhooks")

QUEUE_LIMIT = 1000
TIMEOUT = 10.0
MAX_BACKOFF = 60.0
_RETRY_STATUS = frozenset({408, 429})


def sign(secret: str, body: bytes) -> str:
    """The value of X-Tandem-Signature for a body (receivers compare with hmac.compare_digest)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class _Target:
    url: str
    queue: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Webhooks:
    def __init__(
        self,
        urls: Sequence[str],
        secret: str,
        metrics: Metrics,
        *,
        retries: int = 5,
        backoff: float = 1.0,
        queue_limit: int = QUEUE_LIMIT,
        timeout: float = TIMEOUT,
    ) -> None:
        self.secret = secret
        self.metrics = metrics
        self.retries = retries
        self.backoff = backoff
        self.queue_limit = queue_limit
        self.timeout = timeout
        self.targets = [_Target(url) for url in urls]

    def offer(self, event: dict[str, Any]) -> None:
        """Queue a notification for every URL; a full queue drops its oldest delivery."""
        for target in self.targets:
            if len(target.queue) >= self.queue_limit:
                _, dropped = target.queue.popleft()
                self.metrics.webhook_deliveries.labels(outcome="dropped").inc()
                log.error(
                    "event=webhook_dropped url=%s type=%s doc=%s reason=queue_full",
                    target.url,
                    dropped.get("type"),
                    dropped.get("doc"),
                )
            target.queue.append((secrets.token_hex(8), event))
            target.ready.set()

    async def run(self) -> None:
        async with (
            httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client,
            asyncio.TaskGroup() as tasks,
        ):
            for target in self.targets:
                tasks.create_task(self._work(client, target))

    async def _work(self, client: httpx.AsyncClient, target: _Target) -> None:
        while True:
            while not target.queue:
                target.ready.clear()
                await target.ready.wait()
            delivery, event = target.queue.popleft()
            await self._deliver(client, target.url, delivery, event)

    async def _deliver(
        self, client: httpx.AsyncClient, url: str, delivery: str, event: dict[str, Any]
    ) -> bool:
        try:
            body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        except ValueError as exc:  # e.g. a lone surrogate: this delivery fails, not the worker
            self._failed(url, delivery, event, 0, f"not JSON text: {exc}")
            return False
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "tandem-webhooks",
            "X-Tandem-Signature": sign(self.secret, body),
            "X-Tandem-Event": str(event.get("type")),
            "X-Tandem-Delivery": delivery,
        }
        for attempt in range(self.retries + 1):
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                retryable = True
            else:
                if response.is_success:
                    self.metrics.webhook_deliveries.labels(outcome="delivered").inc()
                    log.debug("event=webhook_delivered url=%s delivery=%s", url, delivery)
                    return True
                problem = f"HTTP {response.status_code}"
                retryable = response.status_code >= 500 or response.status_code in _RETRY_STATUS
            if not retryable or attempt == self.retries:
                self._failed(url, delivery, event, attempt + 1, problem)
                return False
            delay = min(self.backoff * 2**attempt, MAX_BACKOFF) * random.uniform(0.9, 1.1)
            self.metrics.webhook_deliveries.labels(outcome="retried").inc()
            log.warning(
                "event=webhook_retry url=%s delivery=%s attempt=%d error=%s retry_in=%.1fs",
                url,
                delivery,
                attempt + 1,
                problem,
                delay,
            )
            await asyncio.sleep(delay)
        return False

    def _failed(
        self, url: str, delivery: str, event: dict[str, Any], attempts: int, problem: str
    ) -> None:
        self.metrics.webhook_deliveries.labels(outcome="failed").inc()
        log.error(
            "event=webhook_failed url=%s delivery=%s type=%s doc=%s attempts=%d error=%s",
            url,
            delivery,
            event.get("type"),
            event.get("doc"),
            attempts,
            problem,
        )
