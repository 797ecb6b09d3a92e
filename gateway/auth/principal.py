"""Who is calling: the principal and roles of a request.

Two modes (``auth.mode``, see :mod:`gateway.auth.settings`):

* ``dev``: the caller names itself and its roles with the trusted headers
  ``X-Keylink-Principal`` and ``X-Keylink-Roles`` (comma separated), defaulting to
  principal ``dev`` with every role (:func:`principal_from_headers`); ``X-Keylink-Scope``
  (entries separated by spaces or commas) gives it a row scope. Only for development;
  the application refuses it with ``env: production``.
* ``enforce``: :class:`Authenticator` requires one credential per request and ignores the
  ``X-Keylink-*`` headers:

  - ``Authorization: Bearer <jwt>`` (a token with exactly two dots): a user's JWT,
    verified with PyJWT against the configured JWKS (see :class:`JwtVerifier`);
  - ``X-API-Key: kl_...``, ``Authorization: ApiKey kl_...`` or ``Authorization: Bearer
    kl_...`` (no dots): a machine client's API key, checked by
    :class:`linkmap.api_keys.ApiKeyStore`. Its principal id is ``apikey:<key id>``.

Promises of :meth:`Authenticator.authenticate` in ``enforce`` mode:

* It returns a :class:`Principal` only for a valid, unrevoked, unexpired credential; the
  principal's roles are a non-empty subset of :data:`ALL_ROLES`.
* Otherwise it raises :class:`AuthError` (the HTTP layer answers 401) whose message is
  safe to show to the client: it never contains the token, the key, its secret or a
  stack trace. Several credentials in one request (two headers, or one header twice) are
  refused rather than guessed between.
* :class:`AuthUnavailable` (a subclass; the HTTP layer should answer 503) means the
  credential could not be checked now: the JWKS endpoint or the link map is unreachable.
* The principal carries a row scope (``linkmap.scope``) when its API key has one, or when
  ``auth.jwt.scope_claim`` is configured (a token without that claim then sees nothing).
* Credentials are never logged; refusals are logged at INFO with their safe reason and,
  for API keys, the public key id at most.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import jwt
from fastapi import Request
from jwt import PyJWK, PyJWKClient, PyJWKSet
from sqlalchemy.exc import SQLAlchemyError

from gateway.auth.settings import AuthSettings, JwtSettings
from gateway.errors import ConfigError
from linkmap.api_keys import ApiKeyStore, parse_key
from linkmap.errors import InvalidInput
from linkmap.scope import Scope, parse_scope

log = logging.getLogger("keylink.auth")

ALL_ROLES: Final = frozenset({"viewer", "sales", "analyst", "admin", "operator", "metrics"})
"""Every role a principal may hold: ``viewer`` reads, ``sales`` also edits order lines,
``analyst`` also reads aggregates and explain, ``admin`` everything; ``operator`` asks
for explain and scrapes /metrics, ``metrics`` only scrapes /metrics (see ``telemetry:``)."""
PRINCIPAL_HEADER: Final = "x-keylink-principal"
ROLES_HEADER: Final = "x-keylink-roles"
SCOPE_HEADER: Final = "x-keylink-scope"
API_KEY_HEADER: Final = "x-api-key"
AUTHORIZATION_HEADER: Final = "authorization"
API_KEY_PRINCIPAL_PREFIX: Final = "apikey:"
"""Principal ids of API keys start with this; JWT subjects that do are refused, so a user
can never share a principal (rate limit, idempotency scope, audit actor) with a key."""

MAX_CREDENTIAL_LENGTH: Final = 16_384
"""Longer credentials are refused unparsed."""

PRINCIPAL_MAX: Final = 255
REQUIRED_CLAIMS: Final = ("exp", "iss", "aud", "sub")
JWKS_REFRESH_COOLDOWN: Final = 30.0
"""Seconds between forced JWKS refetches caused by tokens naming an unknown key id."""
JWKS_RETRY_AFTER_FAILURE: Final = 5.0
"""After a failed JWKS fetch, seconds before the next fetch is tried (requests meanwhile
use the stale set or fail fast, instead of queueing behind timeouts)."""
JWKS_MAX_STALE: Final = 3600.0
"""While the JWKS endpoint fails, keys of the last good set are used for up to this many
seconds after it was last known fresh."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a stable id, its roles, and how it authenticated
    (``dev`` headers, a ``jwt``, an ``api_key`` or an ``embed`` token,
    :mod:`gateway.auth.embed_tokens`)."""

    id: str
    roles: frozenset[str]
    via: Literal["dev", "jwt", "api_key", "embed"] = "dev"
    scope: Scope | None = None
    """Row scope (``linkmap.scope``): None sees every entity the roles allow."""
    acting_user: str | None = None
    """The CRM user a key acts for (``X-Keylink-Acting-User``, see
    :func:`gateway.http.ratelimit.with_acting_user`): only rate limits count it."""


class AuthError(Exception):
    """The request's credentials are missing or invalid; the message is safe to show."""


class AuthUnavailable(AuthError):
    """The credentials could not be checked right now (JWKS endpoint or link map
    unreachable); the message is safe to show. Answer 503, not 401."""


def principal_from_headers(headers: Mapping[str, str]) -> Principal:
    """The principal named by the trusted dev-mode headers (see the module docstring).
    Raises :class:`AuthError` for unknown roles."""
    name = (_header(headers, PRINCIPAL_HEADER) or "dev").strip() or "dev"
    raw_scope = _header(headers, SCOPE_HEADER)
    scope = None if raw_scope is None else _scope_of(raw_scope.replace(",", " ").split())
    raw = _header(headers, ROLES_HEADER)
    if raw is None:
        return Principal(name[:PRINCIPAL_MAX], ALL_ROLES, scope=scope)
    roles = frozenset(r.strip() for r in raw.split(",") if r.strip())
    unknown = roles - ALL_ROLES
    if unknown:
        raise AuthError(f"unknown roles {sorted(unknown)}")
    return Principal(name[:PRINCIPAL_MAX], roles, scope=scope)


def _scope_of(entries: Any) -> Scope:
    """A row scope from a list (or space-separated string) of entries, else AuthError."""
    if isinstance(entries, str):
        entries = entries.split()
    if not isinstance(entries, list):
        raise AuthError("scope must be a list of 'kind:system:pattern' entries")
    try:
        return parse_scope(entries)
    except InvalidInput as exc:
        raise AuthError(f"invalid scope: {exc}") from exc


def principal_from_request(request: Request) -> Principal:
    """The principal a request acts as (dev mode: trusted headers)."""
    return principal_from_headers(request.headers)


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header ``name`` (lower case): all of them from a Starlette
    ``Headers``, else from any mapping whatever the case of its keys."""
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        return [str(v) for v in getlist(name)]
    return [v for k, v in headers.items() if k.lower() == name]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    values = _header_values(headers, name)
    return values[0] if values else None


def _find(keys: PyJWKSet, kid: str) -> PyJWK | None:
    return next((key for key in keys.keys if key.key_id == kid), None)


def _claim(payload: Mapping[str, Any], path: str) -> Any:
    """The claim named ``path``: a top-level claim of that exact name (namespaced claims
    like ``https://example.com/roles`` contain dots), else the dotted path through nested
    objects; None when absent."""
    if path in payload:
        return payload[path]
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _roles_of(value: Any) -> frozenset[str]:
    """The known roles in a roles claim: a list of strings, or one string of names
    separated by spaces or commas (the OAuth ``scope`` style). Unknown names are dropped."""
    if isinstance(value, str):
        names: Sequence[Any] = value.replace(",", " ").split()
    elif isinstance(value, list):
        names = value
    else:
        return frozenset()
    return frozenset(n for n in names if isinstance(n, str) and n in ALL_ROLES)


class JwtVerifier:
    """Verifies user JWTs for :class:`Authenticator`.

    Promises:

    * Only the configured asymmetric algorithms (``RS256``/``ES256``) are accepted, decided
      from the token header before any key is touched: ``alg: none``, ``HS256`` (also the
      classic confusion of an HMAC signed with the RSA public key) and every other
      algorithm are refused.
    * The token must name (``kid``) a signing key of the JWKS whose type fits the
      algorithm (RSA for RS256, EC P-256 for ES256; keys with ``use`` other than ``sig``
      and symmetric keys are ignored); PyJWT verifies with the key's own algorithm.
    * ``iss`` must equal ``issuer``, ``aud`` must be or contain ``audience``;
      ``exp``/``iss``/``aud``/``sub`` are required; ``exp``, ``nbf`` and ``iat`` are checked
      with ``leeway_seconds`` of skew.
    * ``jwks_file`` is read once, here (a problem raises :class:`ConfigError`);
      ``jwks_url`` is fetched with :class:`jwt.PyJWKClient` on first use, on a worker
      thread, one fetch at a time, and reused for ``jwks_cache_seconds``; a token with an
      unknown ``kid`` triggers at most one refetch per :data:`JWKS_REFRESH_COOLDOWN`
      seconds. When the endpoint fails (unreachable, an error status, no usable keys) the
      next fetch waits :data:`JWKS_RETRY_AFTER_FAILURE` seconds; meanwhile keys of the last
      good set (at most :data:`JWKS_MAX_STALE` seconds old) still verify, and any other
      token gets :class:`AuthUnavailable`.
    """

    def __init__(self, settings: JwtSettings) -> None:
        """Prepare verification with ``settings``; reads ``jwks_file`` now."""
        self._settings = settings
        self._algorithms = frozenset(settings.algorithms)
        self._file_keys: dict[str, PyJWK] | None = None
        self._client: PyJWKClient | None = None
        self._fetch_lock = asyncio.Lock()
        self._failed_at: float | None = None
        self._last_good: tuple[float, PyJWKSet] | None = None
        if settings.jwks_file is not None:
            self._file_keys = self._load_file(settings.jwks_file)
        elif settings.jwks_url is not None:
            self._client = PyJWKClient(
                settings.jwks_url,
                cache_jwk_set=True,
                lifespan=settings.jwks_cache_seconds,
                timeout=settings.jwks_timeout_seconds,
                cooldown_duration=JWKS_REFRESH_COOLDOWN,
            )

    def _usable(self, key: PyJWK) -> bool:
        if key.public_key_use not in (None, "sig") or not key.key_id:
            return False
        if key.algorithm_name not in self._algorithms:
            return False
        return (key.key_type, key.algorithm_name) in {("RSA", "RS256"), ("EC", "ES256")}

    def _load_file(self, path: Path) -> dict[str, PyJWK]:
        where = "auth.jwt.jwks_file"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = PyJWKSet.from_dict(data).keys if isinstance(data, dict) else []
        except OSError as exc:
            raise ConfigError([f"{where}: cannot read {path} ({exc.strerror})"]) from exc
        except (ValueError, jwt.PyJWTError) as exc:
            raise ConfigError([f"{where}: {path} is not a JWK set ({exc})"]) from exc
        usable = {str(k.key_id): k for k in keys if self._usable(k)}
        if not usable:
            raise ConfigError(
                [
                    f"{where}: {path} has no signing key with a 'kid' for "
                    f"{', '.join(self._settings.algorithms)}"
                ]
            )
        return usable

    async def _key(self, kid: str) -> PyJWK:
        if self._file_keys is not None:
            key = self._file_keys.get(kid)
        else:
            assert self._client is not None
            key = await self._fetch_key(self._client, kid)
        if key is None or not self._usable(key):
            raise AuthError("token signed by an unknown key")
        return key

    def _fresh_set(self, client: PyJWKClient) -> PyJWKSet | None:
        """The client's cached JWKS while it is fresh (remembered as the last good set)."""
        cache = client.jwk_set_cache
        current = cache.get() if cache is not None else None
        if not isinstance(current, PyJWKSet):
            return None
        if self._last_good is None or self._last_good[1] is not current:
            self._last_good = (time.monotonic(), current)
        return current

    async def _fetch_key(self, client: PyJWKClient, kid: str) -> PyJWK | None:
        fresh = self._fresh_set(client)
        if fresh is not None and (key := _find(fresh, kid)) is not None:
            return key  # fast path: no thread, no lock while the cached set is fresh
        async with self._fetch_lock:  # one fetch at a time; waiters reuse its result
            fresh = self._fresh_set(client)
            if fresh is not None and (key := _find(fresh, kid)) is not None:
                return key
            now = time.monotonic()
            if self._failed_at is not None and now - self._failed_at < JWKS_RETRY_AFTER_FAILURE:
                return self._stale_key(kid, now)
            try:
                key = await asyncio.to_thread(client.get_signing_key, kid)
            except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:
                self._failed_at = time.monotonic()
                log.warning("JWKS endpoint unusable: %s", type(exc.__cause__ or exc).__name__)
                return self._stale_key(kid, self._failed_at)
            except jwt.PyJWKClientError:
                key = None  # no such kid, even after the refetch the cooldown allowed
            self._failed_at = None
            self._fresh_set(client)
            return key

    def _stale_key(self, kid: str, now: float) -> PyJWK:
        """While the endpoint fails: the key from the last good set if that is at most
        :data:`JWKS_MAX_STALE` seconds old, else :class:`AuthUnavailable`."""
        if self._last_good is not None and now - self._last_good[0] <= JWKS_MAX_STALE:
            key = _find(self._last_good[1], kid)
            if key is not None:
                return key
        raise AuthUnavailable("the identity provider's keys cannot be fetched now")

    async def verify(self, token: str) -> Principal:
        """The principal of a valid ``token``; :class:`AuthError` with a safe reason
        otherwise (:class:`AuthUnavailable` when the JWKS cannot be fetched)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("token is malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthError("token algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token names no signing key (kid)")
        key = await self._key(kid)
        if key.algorithm_name != alg:  # PyJWT checks this too; never verify with another alg
            raise AuthError("token algorithm does not match its key")
        s = self._settings
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("token is not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("token is not meant for this service (aud)") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("token issuer not accepted") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim!r} claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("token signature is invalid") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise AuthError("token algorithm not accepted") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("token is invalid") from exc
        subject = _claim(payload, s.principal_claim)
        if not isinstance(subject, str) or not subject.strip():
            raise AuthError(f"token's {s.principal_claim!r} claim names no principal")
        if len(subject) > PRINCIPAL_MAX or subject.startswith(API_KEY_PRINCIPAL_PREFIX):
            raise AuthError(f"token's {s.principal_claim!r} claim is not an acceptable principal")
        roles = _roles_of(_claim(payload, s.roles_claim))
        if not roles:
            raise AuthError("token grants no role")
        scope = None
        if s.scope_claim is not None:
            claimed = _claim(payload, s.scope_claim)
            scope = _scope_of([] if claimed is None else claimed)  # absent: sees nothing
        return Principal(subject, roles, "jwt", scope)


class Authenticator:
    """Turns a request's headers into a :class:`Principal`; see the module docstring.

    Build one per process (it caches the JWKS) after the link map is migrated.
    """

    def __init__(self, settings: AuthSettings, api_keys: ApiKeyStore | None) -> None:
        """Authenticate by ``settings``; ``api_keys`` checks API keys (None: API keys are
        refused). Raises :class:`ConfigError` when ``jwks_file`` cannot be used, or in
        ``enforce`` mode when neither JWTs nor API keys could ever be accepted."""
        self.settings = settings
        self._api_keys = api_keys
        self._jwt = JwtVerifier(settings.jwt) if settings.jwt is not None else None
        if settings.mode == "enforce" and self._jwt is None and api_keys is None:
            raise ConfigError(["auth: mode 'enforce' needs auth.jwt or an API key store"])

    @property
    def mode(self) -> Literal["dev", "enforce"]:
        """``dev`` or ``enforce``."""
        return self.settings.mode

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The principal the request with ``headers`` acts as, or :class:`AuthError`
        (:class:`AuthUnavailable`: cannot check now). ``headers`` may be a Starlette
        ``Headers`` or any mapping (header names in any case)."""
        if self.settings.mode == "dev":
            return principal_from_headers(headers)
        try:
            return await self._enforce(headers)
        except AuthError as exc:
            log.info("authentication refused: %s", exc)
            raise

    async def _enforce(self, headers: Mapping[str, str]) -> Principal:
        authorization = _header_values(headers, AUTHORIZATION_HEADER)
        api_key = _header_values(headers, API_KEY_HEADER)
        if len(authorization) > 1 or len(api_key) > 1:
            raise AuthError("credentials given more than once")
        if authorization and api_key:
            raise AuthError("give one credential, not both Authorization and X-API-Key")
        if api_key:
            return await self._api_key(api_key[0].strip())
        if not authorization:
            raise AuthError("authentication required")
        scheme, _, credential = authorization[0].strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise AuthError("authentication required")
        if len(credential) > MAX_CREDENTIAL_LENGTH:
            raise AuthError("credential too long")
        scheme = scheme.lower()
        if scheme == "bearer" and credential.count(".") == 2:
            if self._jwt is None:
                raise AuthError("JWTs are not accepted here")
            return await self._jwt.verify(credential)
        if scheme in ("bearer", "apikey"):
            return await self._api_key(credential)
        raise AuthError("unsupported authorization scheme (use Bearer or ApiKey)")

    async def _api_key(self, presented: str) -> Principal:
        if self._api_keys is None:
            raise AuthError("API keys are not accepted here")
        parsed = parse_key(presented)
        if parsed is None:
            raise AuthError("malformed API key")
        try:
            record = await self._api_keys.verify(presented)
        except (SQLAlchemyError, OSError) as exc:
            log.error("API key %s not checked: link map error %s", parsed[0], type(exc).__name__)
            raise AuthUnavailable("credentials cannot be checked now") from exc
        if record is None:
            raise AuthError(f"API key {parsed[0]} is unknown, revoked, expired or wrong")
        roles = record.roles & ALL_ROLES
        if not roles:
            raise AuthError("API key grants no role")
        return Principal(API_KEY_PRINCIPAL_PREFIX + record.id, roles, "api_key", record.scope)
