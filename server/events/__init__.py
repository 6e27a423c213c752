"""Presence and server-pushed notifications (wired by server/app.py: `add_events`).

- `service`: `Events`, the hub listener that turns joins, leaves, edits and versions into
  notifications for `/events` subscribers and webhooks (`Events.publish(doc, payload)`).
- `announcer`: this instance's connections, announced on the bus.
- `changes`: `changed` notifications, at most one per document per interval.
- `inbox`: what the bus delivers, into the presence table and out to subscribers.
- `presence`: the presence list of every document, across instances (pure, no I/O).
- `subscribers`: who listens on `/events`, and sending them what they may read.
- `bus`: how notifications travel between instances (JSON on a `server.pubsub` channel).
- `webhooks`: signed HTTP POSTs with retries, in a background service.
"""
