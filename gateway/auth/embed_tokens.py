"""Short-lived signed embed tokens: what a CRM page embedding Keylink carries instead of a key.

A CRM backend holding an API key mints a token (``POST /embed/tokens``,
:mod:`gateway.embed.routes`) for one entity (a customer or a project, by one of its keys)
and one role, for at most ``embed.max_ttl_seconds``. The embed page sends it back on its
GraphQL calls as ``Authorization: Embed <token>``; :func:`embed_principal` turns it into a
:class:`~gateway.auth.principal.Principal` whose row scope admits that one entity only.

The token is ``kle1.<payload>.<signature>``: ``payload`` the base64url (unpadded) of a
compact JSON object, ``signature`` the base64url HMAC-SHA256 of ``kle1.<payload>`` under the
secret from the environment (``embed.secret_env``, by default ``KEYLINK_EMBED_SECRET``; at
least 32 bytes). HMAC rather than a JWT: the gateway is both the only issuer and the only
verifier, so a shared secret suffices, and a format with one fixed algorithm has no
algorithm to confuse.

Promises of :meth:`EmbedTokens.verify`:

* It returns claims only for a token of this format whose signature verifies under the
  secret (compared in constant time) and whose ``exp`` is after ``now`` and ``iat`` not
  more than :data:`CLOCK_SKEW_SECONDS` ahead of it; the lifetime it claims never exceeds
  the configured maximum.
* Otherwise it raises :class:`~gateway.auth.principal.AuthError` with a message safe to
  show: it never contains the token or the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from gateway.auth.principal import PRINCIPAL_MAX, AuthError, Principal
from linkmap.errors import InvalidInput
from linkmap.scope import Scope, parse_scope

log = logging.getLogger("keylink.auth")

PREFIX: Final = "kle1"
SCHEME: Final = "embed"
"""The ``Authorization`` scheme an embed token travels under (case-insensitive)."""
MIN_SECRET_BYTES: Final = 32
CLOCK_SKEW_SECONDS: Final = 30
MAX_TOKEN_LENGTH: Final = 4096
EMBED_PRINCIPAL_PREFIX: Final = "embed:"

EntityKind = Literal["customer", "project"]
ENTITY_KINDS: Final[tuple[EntityKind, ...]] = ("customer", "project")


@dataclass(frozen=True)
class EmbedClaims:
    """What a verified token grants: one entity (``kind``, by ``key`` in ``system``) seen
    with one ``role``, until ``expires_at`` (Unix seconds); ``issuer`` is the principal
    that minted it, ``user`` the CRM user it was minted for (if the CRM said)."""

    kind: EntityKind
    system: str
    key: str
    role: str
    issued_at: int
    expires_at: int
    issuer: str
    user: str | None = None
    token_id: str = ""

    def scope(self) -> Scope:
        """The row scope admitting exactly this entity (by its key in ``system``)."""
        return parse_scope([f"{self.kind}:{self.system}:{self.key}"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_entity(kind: str, system: str, key: str) -> None:
    """Refuse (``InvalidInput``) an entity a token cannot be bound to: an unknown kind, an
    empty or over-long system or key, or a key with ``*`` or a system with ``:`` (which a
    row-scope entry would read as a pattern or a separator)."""
    if kind not in ENTITY_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ENTITY_KINDS)}")
    if not system or len(system) > 64 or ":" in system or system != system.strip():
        raise InvalidInput("system must be a configured system's name")
    if not key or len(key) > 255 or "*" in key or key != key.strip():
        raise InvalidInput("key must be 1-255 characters, without '*' or surrounding spaces")
    parse_scope([f"{kind}:{system}:{key}"])  # the scope the token will carry parses


class EmbedTokens:
    """Mints and verifies embed tokens under one secret (see the module docstring)."""

    def __init__(self, secret: bytes, *, max_ttl_seconds: int) -> None:
        """Sign with ``secret`` (at least :data:`MIN_SECRET_BYTES`); tokens live at most
        ``max_ttl_seconds``. ``ValueError`` for a short secret."""
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the embed secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.max_ttl_seconds = max_ttl_seconds

    @classmethod
    def from_environment(cls, variable: str, *, max_ttl_seconds: int) -> EmbedTokens | None:
        """Tokens signed with the secret in environment ``variable``; None when it is unset
        (embedding is then off). ``ValueError`` when it is set but too short."""
        value = os.environ.get(variable)
        if not value:
            return None
        return cls(value.encode("utf-8"), max_ttl_seconds=max_ttl_seconds)

    def _sign(self, signed: str) -> str:
        return _b64(hmac.new(self._secret, signed.encode("ascii"), hashlib.sha256).digest())

    def mint(
        self,
        *,
        kind: str,
        system: str,
        key: str,
        role: str,
        ttl_seconds: int,
        issuer: str,
        user: str | None = None,
        now: float | None = None,
    ) -> tuple[str, EmbedClaims]:
        """A token for ``kind`` ``key`` in ``system`` seen as ``role`` for ``ttl_seconds``
        (1 to the maximum), and its claims. ``InvalidInput`` for anything out of bounds."""
        check_entity(kind, system, key)
        if not 1 <= ttl_seconds <= self.max_ttl_seconds:
            raise InvalidInput(f"ttl_seconds must be between 1 and {self.max_ttl_seconds}")
        if user is not None and (not user.strip() or len(user) > PRINCIPAL_MAX):
            raise InvalidInput(f"user must be 1-{PRINCIPAL_MAX} characters")
        issued = int(time.time() if now is None else now)
        claims = EmbedClaims(
            kind=kind,  # type: ignore[arg-type]  # checked by check_entity
            system=system,
            key=key,
            role=role,
            issued_at=issued,
            expires_at=issued + ttl_seconds,
            issuer=issuer,
            user=user,
            token_id=secrets.token_urlsafe(9),
        )
        payload = {
            "k": claims.kind,
            "s": claims.system,
            "key": claims.key,
            "r": claims.role,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "iss": claims.issuer,
            "jti": claims.token_id,
        }
        if user is not None:
            payload["u"] = user
        signed = f"{PREFIX}.{_b64(orjson.dumps(payload))}"
        return f"{signed}.{self._sign(signed)}", claims

    def verify(self, token: str, *, now: float | None = None) -> EmbedClaims:
        """The claims of a valid ``token``; :class:`AuthError` (safe message) otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("embed token too long")
        prefix, _, rest = token.partition(".")
        payload_text, _, signature = rest.partition(".")
        if prefix != PREFIX or not payload_text or not signature or "." in signature:
            raise AuthError("embed token is malformed")
        expected = self._sign(f"{PREFIX}.{payload_text}")
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
            raise AuthError("embed token signature is invalid")
        try:
            payload = orjson.loads(_unb64(payload_text))
        except (ValueError, binascii.Error, orjson.JSONDecodeError):
            raise AuthError("embed token is malformed") from None
        claims = _claims(payload)
        moment = time.time() if now is None else now
        if claims.expires_at <= moment:
            raise AuthError("embed token has expired")
        if claims.issued_at > moment + CLOCK_SKEW_SECONDS:
            raise AuthError("embed token is not valid yet")
        if claims.expires_at - claims.issued_at > self.max_ttl_seconds:
            raise AuthError("embed token lives longer than allowed")
        return claims


def _claims(payload: Any) -> EmbedClaims:
    """The claims of a signed payload (signed by us, so a bad shape is a bug or an old
    format: refused all the same)."""
    if not isinstance(payload, dict):
        raise AuthError("embed token is malformed")
    text = {name: payload.get(name) for name in ("k", "s", "key", "r", "iss", "jti")}
    numbers = {name: payload.get(name) for name in ("iat", "exp")}
    user = payload.get("u")
    if (
        not all(isinstance(v, str) and v for v in text.values())
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers.values())
        or (user is not None and not isinstance(user, str))
        or text["k"] not in ENTITY_KINDS
    ):
        raise AuthError("embed token is malformed")
    kind: EntityKind = "project" if text["k"] == "project" else "customer"
    return EmbedClaims(
        kind=kind,
        system=str(text["s"]),
        key=str(text["key"]),
        role=str(text["r"]),
        issued_at=int(str(numbers["iat"])),
        expires_at=int(str(numbers["exp"])),
        issuer=str(text["iss"]),
        user=user,
        token_id=str(text["jti"]),
    )


def embed_principal(claims: EmbedClaims) -> Principal:
    """The principal a verified token acts as: ``embed:<issuer>`` (rate limits and the
    audit trail count it against the key that minted it, acting for the CRM ``user``),
    holding the token's one role and a row scope of its one entity."""
    return Principal(
        (EMBED_PRINCIPAL_PREFIX + claims.issuer)[:PRINCIPAL_MAX],
        frozenset({claims.role}),
        "embed",
        claims.scope(),
        acting_user=claims.user,
    )


def embed_credential(authorization: str) -> str | None:
    """The token of an ``Authorization: Embed <token>`` value; None for any other scheme."""
    scheme, _, credential = authorization.strip().partition(" ")
    return credential.strip() if scheme.lower() == SCHEME else None


def principal_from_embed_header(
    headers: Any, tokens: EmbedTokens | None, path: str
) -> Principal | None:
    """The principal of a request carrying ``Authorization: Embed <token>`` (``headers``
    a Starlette ``Headers``); None when it carries no embed token. :class:`AuthError` when
    the token is invalid, when embedding is off (``tokens`` None), when another credential
    comes with it, or when the request is not for ``/graphql`` (a token reads; it mints,
    exports and administers nothing)."""
    values = [str(v) for v in headers.getlist("authorization")]
    credentials = [c for c in map(embed_credential, values) if c is not None]
    if not credentials:
        return None
    if len(values) > 1 or "x-api-key" in headers:
        raise AuthError("give one credential, not an embed token and another")
    if tokens is None:
        raise AuthError("embed tokens are not accepted here (embedding is not configured)")
    if path.rstrip("/") != "/graphql":
        raise AuthError("embed tokens are accepted only by /graphql")
    try:
        claims = tokens.verify(credentials[0])
    except AuthError as exc:
        log.info("embed token refused: %s", exc)
        raise
    return embed_principal(claims)


EMBED_OPEN_PATHS: Final = ("/embed/customer", "/embed/project")
"""The embed pages: HTML and code only; their data comes from /graphql with the token."""
STATIC_PREFIX: Final = "/static/"


def is_open_embed_path(method: str, path: str) -> bool:
    """Whether ``method path`` is an embed page or a shipped static asset (no data, no
    credential needed: the token travels in the page's fragment, never to these)."""
    return method in ("GET", "HEAD") and (
        path in EMBED_OPEN_PATHS or path.startswith(STATIC_PREFIX)
    )
