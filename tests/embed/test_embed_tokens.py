"""Embed tokens and the embed: settings, without a browser: what a token grants, what is
refused, what configuration loads, and that every language has every UI string."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.auth.embed_tokens import EmbedTokens, embed_principal
from gateway.auth.principal import AuthError
from gateway.embed.i18n import LOCALES, language, strings
from gateway.errors import ConfigError
from gateway.settings import load_settings
from linkmap.errors import InvalidInput
from linkmap.records import Entity

SIGNER = EmbedTokens(b"s" * 32, max_ttl_seconds=900)


def mint(**changes: object) -> str:
    args: dict[str, object] = {
        "kind": "customer",
        "system": "crm",
        "key": "A-1",
        "role": "sales",
        "ttl_seconds": 300,
        "issuer": "apikey:k1",
        "now": 1_000_000,
    }
    args.update(changes)
    return SIGNER.mint(**args)[0]  # type: ignore[arg-type]


def test_a_token_grants_one_entity_and_one_role() -> None:
    claims = SIGNER.verify(mint(user="kari"), now=1_000_100)
    principal = embed_principal(claims)
    assert principal.roles == frozenset({"sales"}) and principal.via == "embed"
    assert principal.id == "embed:apikey:k1" and principal.acting_user == "kari"
    assert principal.scope is not None
    assert principal.scope.admits(Entity(1, "customer", {"crm": ("A-1",), "erp": ("10001",)}))
    assert not principal.scope.admits(Entity(2, "customer", {"crm": ("A-10",)}))
    assert not principal.scope.admits(Entity(3, "project", {"crm": ("A-1",)}))


@pytest.mark.parametrize(
    ("token", "now", "reason"),
    [
        (mint(), 1_000_300, "expired"),
        (mint(), 999_000, "not valid yet"),
        (mint()[:-2] + "AA", 1_000_100, "signature"),
        (mint().replace("kle1.", "kle2."), 1_000_100, "malformed"),
        (
            EmbedTokens(b"t" * 32, max_ttl_seconds=900).mint(
                kind="customer",
                system="crm",
                key="A-1",
                role="sales",
                ttl_seconds=300,
                issuer="x",
                now=1_000_000,
            )[0],
            1_000_100,
            "signature",
        ),
        (
            EmbedTokens(b"s" * 32, max_ttl_seconds=5000).mint(
                kind="customer",
                system="crm",
                key="A-1",
                role="sales",
                ttl_seconds=4000,
                issuer="x",
                now=1_000_000,
            )[0],
            1_000_100,
            "longer",
        ),
        ("x" * 5000, 1_000_100, "too long"),
    ],
)
def test_a_bad_token_is_refused_with_a_safe_reason(token: str, now: int, reason: str) -> None:
    with pytest.raises(AuthError, match=reason) as refused:
        SIGNER.verify(token, now=now)
    assert token not in str(refused.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"ttl_seconds": 901},
        {"ttl_seconds": 0},
        {"key": "A-*"},
        {"kind": "supplier"},
        {"system": "c:rm"},
        {"key": " A-1"},
    ],
)
def test_minting_refuses_what_a_scope_cannot_hold(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        mint(**changes)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        EmbedTokens(b"short", max_ttl_seconds=900)


README_SNIPPET = """\
embed:
  frame_ancestors: ["https://crm.example.com"]
  max_ttl_seconds: 900
  minter_roles: [sales, admin]
  grantable_roles: [viewer, sales]
"""


def test_the_readme_snippet_loads(tmp_path: Path) -> None:
    config = tmp_path / "keylink.yaml"
    config.write_text(README_SNIPPET, encoding="utf-8")
    embed = load_settings(config).embed
    assert embed.frame_ancestors_source() == "https://crm.example.com"
    assert embed.secret_env == "KEYLINK_EMBED_SECRET"


@pytest.mark.parametrize(
    "bad",
    [
        {"frame_ancestors": ["*"]},
        {"frame_ancestors": ["https://a.example; script-src *"]},
        {"secret": "inline"},
        {"grantable_roles": ["root"]},
        {"default_ttl_seconds": 1000, "max_ttl_seconds": 900},
    ],
)
def test_a_bad_embed_block_is_refused(tmp_path: Path, bad: dict[str, object]) -> None:
    config = tmp_path / "keylink.yaml"
    config.write_text(yaml.safe_dump({"embed": bad}), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(config)


def test_every_language_has_every_string() -> None:
    english = strings("en")
    for lang in LOCALES:
        assert set(strings(lang)) == set(english), lang
        assert all(strings(lang).values()), lang
    assert language("nb-NO") == "nb" and language("no") == "nb" and language("xx") == "en"
