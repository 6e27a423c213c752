"""Trusted proxies: the right-most untrusted X-Forwarded-For hop, only from a trusted peer."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import build_config
from server.errors import ConfigError
from server.transport.forwarded import TrustedProxies, parse_hop

PROXIES = TrustedProxies(["127.0.0.2", "10.0.0.0/8", "fd00::/8"])


def scope(peer: str, *headers: tuple[str, str], kind: str = "websocket") -> dict[str, Any]:
    return {
        "type": kind,
        "scheme": "ws" if kind == "websocket" else "http",
        "client": (peer, 40000),
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # What the client wrote itself (left) proves nothing; the proxy appended the truth.
        ("6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # Several trusted proxies in a row: skip each, stop at the first untrusted hop.
        ("6.6.6.6, 203.0.113.7, 10.1.2.3, 10.9.9.9", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        # Every hop trusted: the left-most is as close to the client as we get.
        ("10.0.0.1, 10.0.0.2", "10.0.0.1"),
        # A hop that is not an address ends the walk at the proxy that reported it.
        ("203.0.113.7, unknown", "127.0.0.2"),
        ("203.0.113.7, garbage, 10.0.0.5", "10.0.0.5"),
        ("", "127.0.0.2"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(forwarded_for: str, client: str) -> None:
    assert PROXIES.client("127.0.0.2", forwarded_for) == client


def test_an_untrusted_peer_is_its_own_client_whatever_it_claims() -> None:
    assert PROXIES.client("127.0.0.1", "203.0.113.7") == "127.0.0.1"
    assert TrustedProxies([]).client("127.0.0.2", "203.0.113.7") == "127.0.0.2"
    untouched = scope(
        "192.0.2.1", ("x-forwarded-for", "203.0.113.7"), ("x-forwarded-proto", "https")
    )
    PROXIES.apply(untouched)
    assert untouched["client"] == ("192.0.2.1", 40000) and untouched["scheme"] == "ws"


def test_a_trusted_proxy_sets_client_and_scheme() -> None:
    ws = scope(
        "127.0.0.2",
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "203.0.113.7"),  # a second header line continues the list
        ("x-forwarded-proto", "https"),
    )
    PROXIES.apply(ws)
    assert ws["client"] == ("203.0.113.7", 0) and ws["scheme"] == "wss"
    http = scope("10.3.3.3", ("x-forwarded-proto", "HTTPS"), kind="http")
    PROXIES.apply(http)
    assert http["client"] == ("10.3.3.3", 40000) and http["scheme"] == "https"
    # An unknown scheme is ignored; a list gives the nearest proxy's word (the last one).
    odd = scope("127.0.0.2", ("x-forwarded-proto", "gopher"), kind="http")
    PROXIES.apply(odd)
    assert odd["scheme"] == "http"
    listed = scope("127.0.0.2", ("x-forwarded-proto", "https, http"), kind="http")
    PROXIES.apply(listed)
    assert listed["scheme"] == "http"


def test_the_setting_takes_addresses_and_ranges_and_refuses_anything_else() -> None:
    assert build_config({}, {}).forwarded_allow_ips == ("127.0.0.1",)
    config = build_config({}, {"TANDEM_FORWARDED_ALLOW_IPS": "10.0.0.0/8, 192.0.2.5 fd00::/8"})
    assert config.forwarded_allow_ips == ("10.0.0.0/8", "192.0.2.5", "fd00::/8")
    assert build_config({}, {"TANDEM_FORWARDED_ALLOW_IPS": ""}).forwarded_allow_ips == ()
    with pytest.raises(ConfigError, match=r"nginx\.internal"):
        build_config({"forwarded_allow_ips": ["nginx.internal"]}, {})


addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
junk = st.text(alphabet=st.characters(codec="latin-1", exclude_characters=","), max_size=40)


@given(spoofed=st.lists(st.one_of(addresses, junk), max_size=6), real=addresses)
def test_what_a_client_writes_never_beats_the_address_its_proxy_saw(
    spoofed: list[str], real: str
) -> None:
    # The client sends any X-Forwarded-For it likes; the proxy appends the address it saw.
    chain = ", ".join([*spoofed, real])
    seen = PROXIES.client("127.0.0.2", chain)
    if not PROXIES.trusts(parse_hop(real)):
        assert seen == str(parse_hop(real))


@given(peer=addresses, header=st.text(alphabet=st.characters(codec="latin-1"), max_size=200))
def test_the_answer_is_the_peer_or_an_address_from_the_header(peer: str, header: str) -> None:
    seen = PROXIES.client(peer, header)
    if not PROXIES.trusts(parse_hop(peer)):
        assert seen == peer
    else:
        hops = {str(a) for a in map(parse_hop, header.split(",")) if a is not None}
        assert seen in hops | {str(parse_hop(peer))}
        ipaddress.ip_address(seen)
