"""Tokens, roles and the authenticator, without a network."""

from __future__ import annotations

import time

import jwt
import pytest

from server.cli import main
from server.config import Config, build_config
from server.core.identity import ANONYMOUS, Identity, Role
from server.errors import ConfigError
from server.security.auth import (
    Authenticator,
    Forbidden,
    Unauthenticated,
    decode_token,
    load_verifier,
    mint_token,
)
from tests.security.conftest import SECRET


def test_a_minted_token_decodes_to_its_identity() -> None:
    tok = mint_token(SECRET, user="ana", name="<b>Ana</b>", docs=["team-*"], role="read", ttl=60)
    identity = decode_token(SECRET, tok)
    assert identity.user == "ana" and identity.name == "Ana"  # names are cleaned
    assert identity.role is Role.READ and not identity.anonymous
    assert identity.docs == ("team-*",)
    assert identity.expires_at == pytest.approx(time.time() + 60, abs=2)
    claims = jwt.decode(tok, SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "name", "docs", "role", "iat", "exp"}


@pytest.mark.parametrize(
    "claims, message",
    [
        ({"sub": "a", "docs": ["*"], "role": "write"}, 'missing the "exp" claim'),
        ({"sub": "a", "docs": [], "role": "write", "exp": 2**40}, "docs must be a non-empty"),
        ({"sub": "a", "docs": "*", "role": "write", "exp": 2**40}, "docs must be a non-empty"),
        ({"sub": "a", "docs": ["*"], "role": "root", "exp": 2**40}, "unknown role"),
        ({"sub": "", "docs": ["*"], "role": "read", "exp": 2**40}, "sub must be"),
        ({"sub": "a", "docs": ["*"], "role": "read", "exp": 1}, "token expired"),
    ],
)
def test_bad_claims_are_unauthenticated(claims: dict[str, object], message: str) -> None:
    with pytest.raises(Unauthenticated, match=message):
        decode_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


def test_other_algorithms_and_secrets_are_refused() -> None:
    claims = {"sub": "a", "docs": ["*"], "role": "admin", "exp": 2**40}
    with pytest.raises(Unauthenticated):  # alg=none: the classic JWT forgery
        decode_token(SECRET, jwt.encode(claims, None, algorithm="none"))
    with pytest.raises(Unauthenticated):
        decode_token(SECRET, jwt.encode(claims, SECRET + "x", algorithm="HS256"))
    with pytest.raises(Unauthenticated, match="too long"):
        decode_token(SECRET, "a" * 10_000)


def test_roles_include_the_ones_below() -> None:
    assert Role.ADMIN.allows(Role.WRITE) and Role.ADMIN.allows(Role.READ)
    assert Role.WRITE.allows(Role.READ) and not Role.WRITE.allows(Role.ADMIN)
    assert not Role.READ.allows(Role.WRITE)
    # comment: between read and write; it may comment, never edit the body
    assert Role.COMMENT.allows(Role.READ) and not Role.COMMENT.allows(Role.WRITE)
    assert Role.WRITE.allows(Role.COMMENT) and not Role.READ.allows(Role.COMMENT)
    assert [r.can_write for r in Role] == [False, False, True, True]


def test_doc_patterns_are_globs() -> None:
    identity = Identity("a", "A", docs=("team-*", "notes"))
    assert identity.can_access("team-x") and identity.can_access("notes")
    assert not identity.can_access("notes2") and not identity.can_access("Team-x")


async def test_authorize_checks_document_and_role() -> None:
    auth = Authenticator(secret=SECRET)
    tok = mint_token(SECRET, user="a", docs=["team-*"], role="write")
    identity = await auth.identify(tok, "team-a")
    auth.authorize(identity, "team-a", Role.WRITE)
    with pytest.raises(Forbidden, match="does not cover document 'other'"):
        auth.authorize(identity, "other", Role.READ)
    with pytest.raises(Forbidden, match=r"admin access needs an admin token"):
        auth.authorize(identity, "team-a", Role.ADMIN)
    with pytest.raises(Unauthenticated, match="a token is required"):
        await auth.identify(None, "team-a")


async def test_an_open_hub_is_the_anonymous_writer() -> None:
    auth = Authenticator()
    assert not auth.enabled
    assert await auth.identify(None, "x") is ANONYMOUS
    Authenticator.authorize(ANONYMOUS, "x", Role.WRITE)


async def test_a_verifier_decides_and_its_errors_become_401() -> None:
    auth = Authenticator(verifier=load_verifier("tests.support.verifier:verify"))
    identity = await auth.identify("read:bob", "notes")
    assert identity == Identity("bob", "Bob", Role.READ, anonymous=False)
    with pytest.raises(Unauthenticated, match="token refused"):
        await auth.identify("bogus", "notes")
    with pytest.raises(Forbidden, match="vault"):
        await auth.identify("admin:root", "vault")

    def expired(token: str, doc: str | None) -> Identity:
        return Identity("x", "X", expires_at=time.time() - 1)

    with pytest.raises(Unauthenticated, match="expired"):
        await Authenticator(verifier=expired).identify("t", None)


@pytest.mark.parametrize("spec", ["nocolon", "tests.support.verifier:missing", "no_such_mod:f"])
def test_a_bad_verifier_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError):
        load_verifier(spec)


def test_security_settings_come_from_the_environment() -> None:
    config = build_config(
        {},
        {
            "TANDEM_AUTH_SECRET": SECRET,
            "TANDEM_ALLOW_ORIGIN": "https://a.example, https://b.example",
            "TANDEM_UPDATE_RATE": "12.5",
            "TANDEM_INSECURE_NO_AUTH": "yes",
        },
    )
    assert config.auth_secret == SECRET
    assert config.allow_origin == ("https://a.example", "https://b.example")
    assert config.update_rate == 12.5 and config.insecure_no_auth
    flags = build_config({"allow_origin": ["https://c.example"]}, {})
    assert flags.allow_origin == ("https://c.example",)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"auth_secret": "short"}, "at least 32 bytes"),
        ({"tls_cert": "c.pem"}, "go together"),
        ({"max_rooms": 0}, "max_rooms must be positive"),
    ],
)
def test_unsafe_settings_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(changes, {})
    assert Config().auth_secret is None  # open by default, loopback only (see cli)


def test_tandem_token_prints_a_token_the_server_accepts(capsys, monkeypatch) -> None:
    monkeypatch.setenv("TANDEM_AUTH_SECRET", SECRET)
    code = main(["token", "--user", "ana", "--doc", "team-*", "--doc", "x", "--role", "read"])
    assert code == 0
    identity = decode_token(SECRET, capsys.readouterr().out.strip())
    assert identity.docs == ("team-*", "x") and identity.role is Role.READ
    assert main(["token", "--user", "cy", "--doc", "x", "--role", "comment"]) == 0
    assert decode_token(SECRET, capsys.readouterr().out.strip()).role is Role.COMMENT
    monkeypatch.delenv("TANDEM_AUTH_SECRET")
    assert main(["token", "--user", "ana", "--doc", "x"]) == 2
    assert "no secret" in capsys.readouterr().err
