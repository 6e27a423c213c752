"""Presence and server-pushed notifications.

- `names`: sanitized display names and colours, and the awareness rewrite the room applies so
  names shown to others come from the identity the server accepted.
- `presence`: the presence list of every document, across instances (pure, no I/O).
- `bus`: how notifications travel between instances (JSON on a `server.pubsub` channel).
- `service`: `Events`, the hub listener that turns joins, leaves, edits and versions into
  notifications for `/events` subscribers and webhooks (`hub.events.publish(doc, payload)`).
- `webhooks`: signed HTTP POSTs with retries, in a background service.

This package imports nothing at load time so that `server.core.room` can use `names` freely.
"""
