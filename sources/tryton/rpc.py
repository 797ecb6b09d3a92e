"""A JSON-RPC client for Tryton (``POST /<db>/rpc/``) with a renewed session.

It logs in with ``common.db.login`` as a Tryton client does, sends
``Authorization: Session base64(login:user_id:token)`` on every call, and logs in again
(once, then repeats the call) when Tryton answers 401 because the session expired. Tryton's
tagged values (Decimal, date, datetime, timedelta) are decoded to Python values and encoded
back. Every call goes through ``sources.http.send_raw``, the one HTTP layer: its timeouts,
its answer limit (R8: streamed, refused past ``max_bytes`` without reading the rest) and its
mapping of transport failures to ``sources.errors``; Tryton's own error answers (HTTP 200
with an ``error`` member) become ``TrytonFault``. Nothing here knows GraphQL; the password
is never logged.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from sources.errors import SourceError, SourceUnavailable
from sources.http import MAX_RESPONSE_BYTES, send_raw

log = logging.getLogger("keylink.sources.tryton")


class TrytonFault(SourceUnavailable):
    """Tryton answered a call with an error member (HTTP 200): ``fault`` is its kind
    (``UserError``, ``ConcurrencyException``, ``UserWarning``, or another exception's text)
    and ``tryton_message`` the message Tryton wrote for a user."""

    def __init__(self, system: str, fault: str, tryton_message: str, detail: str) -> None:
        super().__init__(system, detail)
        self.fault = fault
        self.tryton_message = tryton_message


def _tagged(value: Mapping[str, Any]) -> Any:
    kind = value.get("__class__")
    if kind == "Decimal":
        return Decimal(str(value["decimal"]))
    if kind == "date":
        return dt.date(value["year"], value["month"], value["day"])
    if kind == "datetime":
        return dt.datetime(
            value["year"],
            value["month"],
            value["day"],
            value.get("hour", 0),
            value.get("minute", 0),
            value.get("second", 0),
            value.get("microsecond", 0),
        )
    if kind == "timedelta":
        return dt.timedelta(seconds=value["seconds"])
    if kind == "time":
        return dt.time(
            value.get("hour", 0),
            value.get("minute", 0),
            value.get("second", 0),
            value.get("microsecond", 0),
        )
    if kind == "bytes":
        return base64.b64decode(value["base64"])
    return dict(value)


def decode(body: bytes) -> Any:
    """A Tryton JSON-RPC body with its tagged values turned into Python values."""
    return json.loads(body, object_hook=_tagged)


def encode(value: Any) -> Any:
    """``value`` with Decimals, dates and timedeltas in Tryton's tagged JSON form."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    return value


class TrytonRpc:
    """One Tryton database's JSON-RPC endpoint, called as one user with a renewed session.

    ``call`` appends the user's context (read once after login, merged with ``context``) as
    Tryton requires. Reads may be repeated after a re-login; so may writes, because Tryton
    answers 401 before it runs anything.
    """

    def __init__(
        self,
        system: str,
        client: httpx.AsyncClient,
        database: str,
        login: str,
        password: str,
        language: str = "en",
        *,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.system = system
        self.max_bytes = max_bytes
        self.client = client
        self.path = f"/{database}/rpc/"
        self.login = login
        self._password = password
        self.language = language
        self._session: str | None = None
        self._context: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._ids = 0
        self.logins = 0
        """How many times this client logged in (a renewal adds one)."""

    @property
    def session_header(self) -> str | None:
        """The current ``Authorization`` value, or None before the first login."""
        return self._session

    async def call(
        self,
        method: str,
        params: Sequence[Any],
        *,
        context: Mapping[str, Any] | None = None,
        write: bool = False,
    ) -> Any:
        """The result of ``model.*`` method ``method`` called with ``params`` + context."""
        for attempt in range(2):
            session = self._session or await self._login(None)
            full_context = {**self._context, **(context or {})}
            status, body = await self._post(
                method, [*encode(list(params)), encode(full_context)], session, write=write
            )
            if status == 401 and attempt == 0:
                log.info("%s: Tryton session expired; logging in again", self.system)
                await self._login(session)
                continue
            return self._result(method, status, body)
        raise SourceUnavailable(self.system, f"{method}: 401 after a fresh login")

    async def _login(self, stale: str | None) -> str:
        async with self._lock:
            if self._session is not None and self._session != stale:
                return self._session  # someone else renewed it meanwhile
            status, body = await self._post(
                "common.db.login",
                [self.login, {"password": self._password}, self.language],
                None,
                write=False,
            )
            result = self._result("common.db.login", status, body)
            if not isinstance(result, list) or len(result) < 2:
                raise SourceUnavailable(self.system, "common.db.login: unexpected answer")
            user_id, token = result[0], result[1]
            raw = f"{self.login}:{user_id}:{token}".encode()
            session = "Session " + base64.b64encode(raw).decode()
            status, body = await self._post(
                "model.res.user.get_preferences", [True, {}], session, write=False
            )
            preferences = self._result("get_preferences", status, body)
            if not isinstance(preferences, dict):
                raise SourceUnavailable(self.system, "get_preferences: unexpected answer")
            self._context = {
                key: value
                for key, value in preferences.items()
                if key in ("company", "companies", "employee", "employees", "language")
            }
            self._session = session
            self.logins += 1
            return session

    async def _post(
        self, method: str, params: list[Any], session: str | None, *, write: bool
    ) -> tuple[int, Any]:
        self._ids += 1
        payload = {"id": self._ids, "method": method, "params": params}
        headers = {"Authorization": session} if session else {}
        what = f"POST {self.path} {method}"
        status, raw = await send_raw(
            self.client,
            self.system,
            "POST",
            self.path,
            body=payload,
            headers=headers,
            write=write,
            label=what,
            max_bytes=self.max_bytes,
        )
        if status == 401:
            return 401, None
        if status != 200:
            raise SourceUnavailable(self.system, f"{what}: HTTP {status}")
        try:
            return 200, decode(raw)
        except ValueError as exc:
            raise SourceUnavailable(
                self.system, f"{what}: invalid JSON", maybe_applied=write
            ) from exc

    def _result(self, method: str, status: int, body: Any) -> Any:
        if status == 401:
            raise SourceUnavailable(self.system, f"{method}: Tryton refused the login (401)")
        if not isinstance(body, dict):
            raise SourceUnavailable(self.system, f"{method}: answer is not a JSON-RPC object")
        if body.get("error") is not None:
            raise _fault(self.system, method, body["error"])
        return body.get("result")


def _fault(system: str, method: str, error: Any) -> SourceError:
    """Tryton's error member as a ``TrytonFault``: ``[kind, [message, description, …]]``
    for user errors, ``[kind, message]`` for concurrency, ``[text, traceback]`` otherwise."""
    kind, message = "Error", ""
    if isinstance(error, list) and error:
        kind = str(error[0])
        args = error[1] if len(error) > 1 else None
        if isinstance(args, list) and args:
            index = 1 if kind == "UserWarning" and len(args) > 1 else 0
            message = str(args[index])
        elif isinstance(args, str) and kind in ("ConcurrencyException", "UserError"):
            message = args
    return TrytonFault(system, kind, message, f"{method}: {kind}: {message[:300]}")


__all__ = ["TrytonFault", "TrytonRpc", "decode", "encode"]
