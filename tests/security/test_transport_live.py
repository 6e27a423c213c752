"""TLS, Origin and Host checks, security headers, and the refusal to serve open beyond loopback."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys

import httpx
import pytest
import trustme
import websockets

from tests.security.conftest import SECRET, closed_with, serving, token
from tests.support.rawws import RawWebSocket
from tests.support.tandem import ROOT
from tests.support.waiting import eventually


async def test_tls_serves_https_and_wss_to_stock_clients(tmp_path, yjs_clients) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    async with serving(
        tmp_path, "--tls-cert", str(cert_file), "--tls-key", str(key_file)
    ) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.ws_url.startswith("wss://")
        context = ssl.create_default_context(cafile=str(ca_file))
        async with httpx.AsyncClient(verify=context) as http:
            health = await http.get(f"{server.url}/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"] == "max-age=31536000"

        env = {"NODE_EXTRA_CA_CERTS": str(ca_file)}
        ana = await yjs_clients(server.ws_url, "secret-notes", env=env)
        ben = await yjs_clients(server.ws_url, "secret-notes", env=env)
        await ana.call("append", text="over wss")
        await eventually(ben.xml, lambda x: "over wss" in x, what="ben sees it over wss")

        # Without trusting the CA the handshake fails; plain ws:// gets nowhere either.
        with pytest.raises(ssl.SSLCertVerificationError):
            async with websockets.connect(f"{server.ws_url}/doc"):
                pass
        plain = server.ws_url.replace("wss://", "ws://")
        with pytest.raises((websockets.exceptions.InvalidMessage, OSError, EOFError)):
            async with websockets.connect(f"{plain}/doc", open_timeout=5):
                pass


async def test_allow_origin_refuses_pages_of_other_origins(tmp_path) -> None:
    async with serving(tmp_path, "--allow-origin", "https://app.example") as server:
        url = f"{server.ws_url}/doc"
        assert await closed_with(url, origin="https://evil.example") == (
            4403,
            "origin 'https://evil.example' refused",
        )
        own = server.url  # the hub's own pages are always allowed
        for origin in ("https://app.example", own, None):
            async with websockets.connect(url, origin=origin) as ws:  # type: ignore[arg-type]
                assert (await ws.recv())[:2] == b"\x00\x00"
        async with httpx.AsyncClient() as http:
            post = await http.post(
                f"{server.url}/api/docs", headers={"Origin": "https://evil.example"}
            )
            assert post.status_code == 403
            get = await http.get(f"{server.url}/api/docs", headers={"Origin": "https://e.example"})
            assert get.status_code == 200  # reads are not cross-site writes (and CORS hides them)


async def test_allowed_origins_may_read_and_call_the_api_and_others_may_not(tmp_path) -> None:
    """CORS for the pages the guard lets in (a widget on another site reads comments with its
    token); a refused origin gets no CORS headers, so its page cannot read the answers."""
    async with serving(tmp_path, "--allow-origin", "https://app.example") as server:
        comments = f"{server.url}/api/docs/cors/comments"
        ask = {"Access-Control-Request-Method": "POST"}
        ask["Access-Control-Request-Headers"] = "authorization, content-type"
        async with httpx.AsyncClient() as http:
            preflight = await http.options(
                comments, headers={"Origin": "https://app.example", **ask}
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == "https://app.example"
            assert "POST" in preflight.headers["access-control-allow-methods"]
            assert "Authorization" in preflight.headers["access-control-allow-headers"]
            read = await http.get(comments, headers={"Origin": "https://app.example"})
            assert read.headers["access-control-allow-origin"] == "https://app.example"
            assert (
                "Origin" in read.headers["vary"]
                and "ETag" in read.headers["access-control-expose-headers"]
            )
            refused = await http.options(
                comments, headers={"Origin": "https://evil.example", **ask}
            )
            assert "access-control-allow-origin" not in refused.headers
            elsewhere = await http.get(comments, headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in elsewhere.headers
            page = await http.get(f"{server.url}/d/cors", headers={"Origin": "https://app.example"})
            assert "access-control-allow-origin" not in page.headers  # the API only


async def test_open_hub_takes_only_its_own_origin_and_loopback_hosts(tmp_path) -> None:
    async with serving(tmp_path) as server:
        url = f"{server.ws_url}/doc"
        assert (await closed_with(url, origin="https://evil.example"))[0] == 4403
        async with websockets.connect(url, origin=server.url) as ws:  # type: ignore[arg-type]
            assert (await ws.recv())[:2] == b"\x00\x00"
        port = server.url.rsplit(":", 1)[1]
        async with httpx.AsyncClient() as http:
            # DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
            rebound = await http.get(
                f"{server.url}/api/docs", headers={"Host": f"evil.example:{port}"}
            )
            assert rebound.status_code == 403
            for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
                assert (await http.get(f"{server.url}/", headers={"Host": host})).status_code == 200
        raw = await RawWebSocket.connect(url, host=f"evil.example:{port}")
        try:
            async with asyncio.timeout(10):
                assert await raw.read_close() == (4403, f"host 'evil.example:{port}' is not served")
        finally:
            await raw.close()


async def test_authenticated_hub_accepts_any_origin_with_a_token(tmp_path) -> None:
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        url = f"{server.ws_url}/doc?token={token()}"
        async with websockets.connect(url, origin="https://embedder.example") as ws:  # type: ignore[arg-type]
            assert (await ws.recv())[:2] == b"\x00\x00"
        async with httpx.AsyncClient() as http:  # and any Host: the token is the credential
            response = await http.get(f"{server.url}/healthz", headers={"Host": "hub.example"})
            assert response.status_code == 200


async def test_pages_carry_a_strict_csp_and_security_headers(tandem) -> None:
    async with httpx.AsyncClient() as http:
        page = await http.get(f"{tandem.url}/")
        api = await http.get(f"{tandem.url}/api/docs")
    csp = page.headers["content-security-policy"]
    host = tandem.url.removeprefix("http://")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert f"connect-src 'self' ws://{host} wss://{host}" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    for response in (page, api):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in page.headers  # plain http: HSTS would be a lie


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
async def test_an_open_hub_refuses_to_bind_beyond_loopback(host: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", "--host", host, "--port", "0",
        "--store", "memory://", cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"refusing to serve" in err and b"--insecure-no-auth" in err
    assert b"running at" not in out
