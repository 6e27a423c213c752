"""Deleting a document: admins only; its editors are closed for good and its data is gone."""

from __future__ import annotations

import httpx

from tests.security.conftest import token
from tests.support.waiting import eventually


async def test_only_an_admin_deletes_and_editors_are_closed_with_4404(secured, yjs_clients) -> None:
    editor = await yjs_clients(secured.ws_url, "doomed", params={"token": token("ed")})
    await editor.call("append", text="soon gone")
    writer = {"Authorization": f"Bearer {token('w')}"}
    admin = {"Authorization": f"Bearer {token('boss', role='admin')}"}
    async with httpx.AsyncClient(base_url=secured.url) as http:
        await eventually(
            lambda: http.post("/api/docs/doomed/versions", json={"label": "v"}, headers=writer),
            lambda r: r.status_code == 201,
            what="a version to delete with the document",
        )
        assert (await http.delete("/api/docs/doomed", headers=writer)).status_code == 403
        assert (await http.delete("/api/docs/doomed")).status_code == 401
        assert (await http.delete("/api/docs/doomed", headers=admin)).status_code == 204

        status = await eventually(
            lambda: editor.call("status"), lambda s: s["closes"], what="the editor is closed"
        )
        assert status["closes"][0]["code"] == 4404
        assert (await http.get("/api/docs/doomed", headers=admin)).status_code == 404
        versions = await http.get("/api/docs/doomed/versions", headers=admin)
        assert versions.status_code == 404 or versions.json() == []
        listed = (await http.get("/api/docs", headers=admin)).json()["docs"]
        assert "doomed" not in [d["id"] for d in listed]
        assert (await http.delete("/api/docs/doomed", headers=admin)).status_code == 404
    # y-websocket does not reconnect after 44xx: the deleted document stays deleted.
    assert not (await editor.call("status"))["connected"]
