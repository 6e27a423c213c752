"""Pub/sub between hub instances: bytes on named channels, in memory or over Redis.

- `base`: the `Broker` protocol and its sink; `memory`, `redis`: the two backends;
- `urls`: which backend a URL names (`open_broker`), and the store-following default;
- `outbox`, `publisher`: the bounded in-order queue and the loop that publishes it with backoff;
- `channel`: one channel to speak on and hear (events, revocations); fan-out
  (`server.cluster`) uses a broker directly, with one channel per document.
"""
