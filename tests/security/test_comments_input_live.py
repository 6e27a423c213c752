"""Hostile comment requests against a live server (hypothesis): every one is answered 201/200 or
a 4xx with a JSON error, never a 5xx; the hub stays up, and afterwards every stored thread's
mark is in the body and no refused request left one."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security.conftest import SECRET, serving, token

TEXT = "Alpha beta gamma.\n\nDelta «epsilon» 😀 zeta."

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_b64 = st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode())
_anchor = st.one_of(
    st.fixed_dictionaries(
        {"quote": st.sampled_from(["beta", "«epsilon»", "😀 z", "nope", ""]) | st.text(max_size=6)},
        optional={"occurrence": st.integers(-2, 3) | _json},
    ),
    st.fixed_dictionaries({"from": _b64 | _json, "to": _b64 | _json}),
    _json,
)
_body = st.one_of(st.text(max_size=40), st.just("x" * 10_001), _json)
_request = st.fixed_dictionaries(
    {"body": _body, "anchor": _anchor},
    optional={"author": _json, "name": _json, "resolved": _json, "reply": _json},
)


def _fuzz(url: str, examples: int) -> list[str]:
    made: list[str] = []
    headers = {"Authorization": f"Bearer {token('ana', role='comment')}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(_request, st.sampled_from(["POST", "PATCH", "REPLY", "DELETE"]), st.booleans())
        def case(body: dict[str, Any], method: str, known: bool) -> None:
            thread = made[-1] if known and made else "x" * 12
            if method == "POST":
                answer = http.post("/api/docs/doc/comments", json=body)
            elif method == "REPLY":
                answer = http.post(f"/api/docs/doc/comments/{thread}/replies", json=body)
            elif method == "PATCH":
                answer = http.patch(f"/api/docs/doc/comments/{thread}", json=body)
            else:
                answer = http.delete(f"/api/docs/doc/comments/{thread}")
                if answer.status_code == 204 and thread in made:
                    made.remove(thread)
            assert answer.status_code < 500, (method, body, answer.text)
            if answer.status_code >= 400:
                assert "error" in answer.json()
            elif method == "POST":
                assert answer.status_code == 201
                made.append(answer.json()["id"])

        case()
    return made


async def test_hostile_comment_requests_are_answered_and_leave_nothing_behind(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, "--auth-secret", SECRET) as server:
        writer = {"Authorization": f"Bearer {token()}"}
        async with httpx.AsyncClient(base_url=server.url, headers=writer) as http:
            put = await http.put(
                "/api/docs/doc", content=TEXT, headers={"Content-Type": "text/plain"}
            )
            assert put.status_code == 200
            made = await asyncio.to_thread(_fuzz, server.url, 150)
            assert server.proc is not None and server.proc.returncode is None
            assert "Traceback" not in server.output(), server.output()[-3000:]
            listed = (await http.get("/api/docs/doc/comments")).json()
            assert sorted(t["id"] for t in listed) == sorted(made)
            assert all(t["quote"] and t["quote"] in TEXT for t in listed)
            html = (await http.get("/api/docs/doc", params={"format": "html"})).text
            for thread in listed:
                assert f'data-comment="{thread["id"]}"' in html
            assert html.count("data-comment=") >= len(listed)
            text = (await http.get("/api/docs/doc", params={"format": "text"})).text
            assert text == TEXT.replace("\n\n", "\n")
