"""Revocation with an application's own tokens (`--auth-verifier`): the hub applies it to the
identity the verifier returns, by its user and `issued_at`."""

from __future__ import annotations

import time

import httpx

from tests.security.conftest import closed_with, serving
from tests.support.waiting import eventually


async def test_a_verifier_deployment_gets_the_same_revocation(tmp_path, yjs_clients) -> None:
    async with serving(tmp_path, "--auth-verifier", "tests.support.verifier:verify") as server:
        issued = f"write:ana@{time.time() - 60:.3f}"
        ana = await yjs_clients(server.ws_url, "plan", params={"token": issued})
        async with httpx.AsyncClient(base_url=server.url) as http:
            refused = await http.post(
                "/api/users/ana/revoke", headers={"Authorization": "Bearer write:ben"}
            )
            assert refused.status_code == 403
            revoked = await http.post(
                "/api/users/ana/revoke", headers={"Authorization": "Bearer admin:boss"}
            )
            assert revoked.status_code == 200
            status = await eventually(lambda: ana.call("status"), lambda s: s["closes"])
            assert status["closes"][0] == {"code": 4401, "reason": "token revoked"}
            fresh = f"write:ana@{time.time():.3f}"
            for credential, code in ((issued, 401), ("write:ana", 401), (fresh, 200)):
                response = await http.get(
                    "/api/docs", headers={"Authorization": f"Bearer {credential}"}
                )
                assert response.status_code == code, credential
        assert await closed_with(f"{server.ws_url}/plan?token=write:ana") == (4401, "token revoked")
        await yjs_clients(server.ws_url, "plan", params={"token": fresh})
