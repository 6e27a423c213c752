"""Whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed, and what they then say.

Behind a proxy every socket comes from the proxy's address, so the per-address limit and the
logs would see one client, and the scheme would be the proxy's plain `http`. The proxies listed
in `--forwarded-allow-ips` (addresses or CIDR ranges) tell us the real ones:

- the client is the right-most hop of `X-Forwarded-For` that is not a trusted proxy: each proxy
  appends the address it saw, so everything left of that hop was written by the client itself
  and proves nothing (a hop that is not an IP address ends the walk: its reporter is the client);
- the scheme is `X-Forwarded-Proto` (http, https, ws or wss), as the nearest proxy states it.

From any other peer both headers are ignored, so nobody picks their own address to slip past a
limit. This is the only place that rewrites `scope["client"]` and `scope["scheme"]`: uvicorn's
own proxy-header handling is switched off (server/cli.py), so there is one rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

from server.config import parse_networks

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_SECURE = {"http": False, "ws": False, "https": True, "wss": True}


def parse_hop(hop: str) -> Address | None:
    """One X-Forwarded-For entry (`1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:80`), or None."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1 : hop.find("]")] if "]" in hop else ""
    elif hop.count(":") == 1:
        hop = hop.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(hop)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address


class TrustedProxies:
    def __init__(self, allowed: Iterable[str]) -> None:
        self.networks = parse_networks(allowed)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address, given the peer's and the X-Forwarded-For it sent (if trusted)."""
        nearest = parse_hop(peer)
        if not self.trusts(nearest):
            return peer
        for hop in reversed(forwarded_for.split(",")):
            address = parse_hop(hop)
            if address is None:
                break  # garbage: the hop that reported it is as far as we can believe
            nearest = address
            if not self.trusts(address):
                break
        return str(nearest)

    def apply(self, scope: Scope) -> None:
        """Rewrite the scope's client address and scheme from a trusted proxy's headers."""
        client = scope.get("client")
        if not self.networks or not client or not self.trusts(parse_hop(client[0])):
            return
        forwarded_for: list[str] = []
        proto = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1")
        if forwarded_for:
            host = self.client(client[0], ",".join(forwarded_for))
            if host != client[0]:
                scope["client"] = (host, 0)  # the client's port is not forwarded
        if proto is not None:
            secure = _SECURE.get(proto.rsplit(",", 1)[-1].strip().lower())
            if secure is not None:
                plain = "ws" if scope["type"] == "websocket" else "http"
                scope["scheme"] = plain + "s" if secure else plain
