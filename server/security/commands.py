"""`tandem token` and `tandem revoke`: mint an access token, take a user's access back."""

from __future__ import annotations

import argparse
import os
from urllib.parse import quote

from server.config import build_config
from server.errors import ConfigError
from server.ops import remote
from server.security.auth import mint_token


def token(args: argparse.Namespace) -> int:
    config = build_config({"auth_secret": args.auth_secret})
    if config.auth_secret is None:
        raise ConfigError("no secret: pass --auth-secret or set TANDEM_AUTH_SECRET")
    if args.ttl <= 0:
        raise ConfigError("--ttl must be positive")
    if args.ttl > config.max_token_ttl:
        raise ConfigError(
            f"--ttl {args.ttl:g} is over the hubs' longest token lifetime "
            f"({config.max_token_ttl:g} s, TANDEM_MAX_TOKEN_TTL)"
        )
    print(
        mint_token(
            config.auth_secret,
            user=args.user,
            name=args.name,
            docs=args.docs,
            role=args.role,
            ttl=args.ttl,
        )
    )
    return 0


def revoke(args: argparse.Namespace) -> int:
    """POST /api/users/{user}/revoke on a running hub; it reaches the others through the bus."""
    token = args.token or os.environ.get("TANDEM_TOKEN")
    if not token:
        raise ConfigError("no token: pass --token or set TANDEM_TOKEN (an admin token)")
    url = f"{args.server.rstrip('/')}/api/users/{quote(args.user, safe='')}/revoke"
    body = remote.call("POST", url, what="revoke", headers={"Authorization": f"Bearer {token}"})
    if body is None:
        return 1
    print(f"revoked {body['user']}: tokens issued before {body['revoked_before']} are refused")
    return 0
