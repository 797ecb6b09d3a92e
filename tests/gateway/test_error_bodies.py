"""Issue 17: every HTTP-level refusal is one GraphQL error built by the one error-body
builder, with the status, code and message clients have always had.

Sent over real HTTP to a gateway on loopback; each answer must be exactly
``{"errors": [{"message", "extensions": {"code"}}]}`` (no ``data``: nothing ran).
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from gateway.http.ratelimit import refusal_body
from resolvers.error_codes import error_document

JSON = {"content-type": "application/json"}

REFUSALS: list[tuple[str, str, dict[str, object], int, str, str]] = [
    (
        "POST",
        "text/plain",
        {"content": b'{"query":"{__typename}"}'},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "A GraphQL POST needs Content-Type: application/json; "
        "the request has Content-Type 'text/plain'.",
    ),
    (
        "POST",
        "application/json",
        {"content": b'[{"query":"{__typename}"}]'},
        400,
        "BATCHING_NOT_ENABLED",
        "Batching is not enabled.",
    ),
    (
        "POST",
        "application/json",
        {"content": b'\xef\xbb\xbf{"query":"{__typename}"}'},
        400,
        "BAD_INPUT",
        "the request body is not JSON in UTF-8 (UTF-8 byte order mark (BOM) is not supported)",
    ),
    (
        "POST",
        "application/json",
        {"content": b'{"query":"' + b"x" * 2_100_000 + b'"}'},
        413,
        "PAYLOAD_TOO_LARGE",
        "Request body over 2000000 bytes.",
    ),
    (
        "GET",
        "",
        {"params": {"query": "mutation { __typename }"}},
        405,
        "METHOD_NOT_ALLOWED",
        "A mutation cannot be sent with GET; use POST.",
    ),
    (
        "POST",
        "application/json",
        {"content": b'{"variables": {}}'},
        400,
        "BAD_INPUT",
        "No GraphQL query found in the request",
    ),
    (
        "POST",
        "application/json",
        {"content": b'{"query": "{__typename}", "variables": 3}'},
        400,
        "BAD_INPUT",
        "`variables` must be an object (or null).",
    ),
]


@pytest.mark.parametrize(
    ("method", "content_type", "request_args", "status", "code", "message"),
    REFUSALS,
    ids=[f"{r[3]}-{r[4]}" for r in REFUSALS],
)
async def test_an_http_refusal_is_one_graphql_error_with_its_status_code_and_message(
    gateway: httpx.AsyncClient,
    method: str,
    content_type: str,
    request_args: dict[str, object],
    status: int,
    code: str,
    message: str,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await gateway.request(method, "/graphql", headers=headers, **request_args)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    expected = {"errors": [{"message": message, "extensions": {"code": code}}]}
    assert response.json() == expected
    assert response.json() == error_document(code, message)
    if status == 405:
        assert response.headers["allow"] == "POST"


def test_a_rate_limit_refusal_carries_its_code_retry_after_and_limit_in_order() -> None:
    body = orjson.loads(refusal_body(2.3, "RATE_LIMITED", "Rate limit exceeded.", limit=5))
    assert body == {
        "errors": [
            {
                "message": "Rate limit exceeded.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": 3, "limit": 5},
            }
        ]
    }
    assert list(body["errors"][0]["extensions"]) == ["code", "retryAfter", "limit"]
