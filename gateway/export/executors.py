"""The two ways an export runs a page: over HTTP against a running gateway (the CLI), or
through the schema in-process with a per-page context (the gateway's export endpoint)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
import strawberry

from gateway.export.errors import ExportTransportError

API_KEY_HEADER = "X-API-Key"
MAX_RATE_WAITS = 20
MAX_RATE_WAIT_SECONDS = 60.0


class HttpExecutor:
    """POSTs each page to ``{base_url}/graphql`` with the API key (if any) in
    ``X-API-Key``. A 429 is waited out (its ``Retry-After``, at most 60 s, 20 times per
    page): the export slows down to the principal's rate instead of failing. Any other
    HTTP error, or no answer, is :class:`ExportTransportError` naming the gateway's host,
    never the key."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._client = client
        url = httpx.URL(base_url.rstrip("/") + "/graphql")
        self._url = url
        self._where = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
        self._headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._sleep = sleep

    async def __call__(
        self, document: str, variables: Mapping[str, Any], operation_name: str | None
    ) -> Mapping[str, Any]:
        """The gateway's JSON response for one page."""
        body: dict[str, Any] = {"query": document, "variables": dict(variables)}
        if operation_name:
            body["operationName"] = operation_name
        content = orjson.dumps(body)
        headers = {**self._headers, "Content-Type": "application/json"}
        for _ in range(MAX_RATE_WAITS + 1):
            try:
                response = await self._client.post(self._url, content=content, headers=headers)
            except httpx.HTTPError as exc:
                raise ExportTransportError(
                    f"no answer from the gateway at {self._where} ({type(exc).__name__})"
                ) from exc
            if response.status_code != 429:
                break
            await self._sleep(_retry_after(response))
        else:
            raise ExportTransportError("still rate limited after waiting; try later", 429)
        if response.status_code != 200:
            raise ExportTransportError(
                f"the gateway at {self._where} answered {response.status_code}{_reason(response)}",
                response.status_code,
            )
        try:
            decoded = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise ExportTransportError(f"the gateway at {self._where} sent no JSON") from exc
        if not isinstance(decoded, dict):
            raise ExportTransportError(f"the gateway at {self._where} sent no JSON object")
        return decoded


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RATE_WAIT_SECONDS)


def _reason(response: httpx.Response) -> str:
    """``: <first error message>`` from a Keylink error body, if there is one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return f": {errors[0].get('message', '')}"
        if isinstance(body.get("error"), str):
            return f": {body['error']}"
    return ""


class SchemaExecutor:
    """Runs each page through ``schema`` in-process, with a fresh context from
    ``context`` per page (fresh loaders, so nothing accumulates across pages). The
    schema's own extensions (limits, error codes and masking) apply as on ``/graphql``."""

    def __init__(self, schema: strawberry.Schema, context: Callable[[], Any]) -> None:
        self._schema = schema
        self._context = context

    async def __call__(
        self, document: str, variables: Mapping[str, Any], operation_name: str | None
    ) -> Mapping[str, Any]:
        """The response object for one page: ``data`` and the formatted ``errors``."""
        result = await self._schema.execute(
            document,
            variable_values=dict(variables),
            context_value=self._context(),
            operation_name=operation_name,
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [error.formatted for error in result.errors]
        return response
