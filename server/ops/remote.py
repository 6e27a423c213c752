"""The command line's calls to a running server's HTTP API (`tandem import --server`, `tandem
revoke`): one way to reach it, and one way to say why it refused."""

from __future__ import annotations

import sys
from typing import Any

import httpx

from server.errors import ConfigError


def call(
    method: str,
    url: str,
    *,
    what: str,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = 30,
) -> dict[str, Any] | None:
    """The server's JSON answer; None once a refusal is printed (`tandem: WHAT refused …`).
    ConfigError when the server cannot be reached."""
    try:
        response = httpx.request(method, url, headers=headers, content=content, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach {url}: {exc}") from exc
    if response.status_code != 200:
        try:
            why = response.json().get("error", response.text)
        except ValueError:
            why = response.text
        print(f"tandem: {what} refused ({response.status_code}): {why}", file=sys.stderr)
        return None
    answer: dict[str, Any] = response.json()
    return answer
