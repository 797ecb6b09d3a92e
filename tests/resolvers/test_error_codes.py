"""One table of stable error codes (issue 17): what a client reads in ``extensions.code``
for each typed error, in a GraphQL error and in an edit outcome alike.

Errors are raised by resolvers of a small schema that carries Keylink's own error
extension (``StableErrorCodes``) and executed for real; the codes a client may see are read
from the printed schema (``EditCode``) and from ARCHITECTURE.md (the GraphQL codes).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
import strawberry

from linkmap.errors import (
    ConcurrentChange,
    EntityNotFound,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
)
from resolvers.error_codes import (
    ERROR_CODES,
    BadInput,
    EditCode,
    ErrorCode,
    edit_code_for,
    error_body,
    error_document,
)
from resolvers.errors import StableErrorCodes
from resolvers.mutations.outcome import Conflicted, Refused, failure, outcome_of_error
from resolvers.schema import build_schema
from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    Unsupported,
)

ROOT = Path(__file__).resolve().parents[2]

TYPED_ERRORS: list[Exception] = [
    SourceTimeout("erp", "read timed out after 1 s on http://erp.internal/x"),
    SourceUnavailable("erp", "HTTP 502 from http://erp.internal/x"),
    NotFound("erp", "GET /orders/7 -> 404"),
    Conflict("erp", "version 3 != 2"),
    Unsupported("crm", "no such operation"),
    Rejected("erp", "sale not in draft", code="ORDER_LOCKED", message="The order is confirmed."),
    Rejected("erp", "no manual price", code="MANUAL_PRICE_NOT_ALLOWED"),
    Rejected("erp", "refused"),
    SourceError("erp", "something upstream"),
    EntityNotFound(7),
    KeyNotLinked(7, "erp", "10001"),
    KeyAlreadyLinked("customer", "erp", "10001", 7),
    BadInput("first must be between 1 and 100"),
]
"""One of every kind of typed error the table knows."""

raised: dict[str, BaseException] = {}
"""The error the ``fail`` field raises, by name (set by each test)."""


@strawberry.type
class Query:
    @strawberry.field
    def fail(self, name: str) -> str | None:
        raise raised[name]


SCHEMA = strawberry.Schema(query=Query, extensions=[StableErrorCodes])


def run(error: BaseException) -> dict[str, Any]:
    """The one GraphQL error a client gets when a resolver raises ``error``."""
    raised["it"] = error
    result = SCHEMA.execute_sync('{ fail(name: "it") }')
    assert result.errors is not None and len(result.errors) == 1
    return dict(result.errors[0].formatted)


def schema_edit_codes() -> set[str]:
    """The values of the ``EditCode`` enum in the schema clients see."""
    sdl = build_schema().as_str()
    found = re.search(r"enum EditCode \{(.*?)\}", sdl, re.S)
    assert found is not None, "the schema has no EditCode enum"
    return {word for word in found.group(1).split() if re.fullmatch(r"[A-Z_]+", word)}


def documented_codes() -> set[str]:
    """The GraphQL error codes ARCHITECTURE.md lists under "Where an error is mapped"."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Where an error is mapped", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z][A-Z_]{2,})`", section))


def test_every_code_in_the_table_is_one_the_schema_or_the_documentation_knows() -> None:
    known = schema_edit_codes() | documented_codes()
    assert {code.value for code in ERROR_CODES.values()} <= known
    assert {code.value for code in ErrorCode} <= documented_codes()
    for error in TYPED_ERRORS:
        assert run(error)["extensions"]["code"] in known, error


def test_the_schema_edit_codes_are_the_edit_outcomes_codes() -> None:
    assert schema_edit_codes() == {code.value for code in EditCode}


@pytest.mark.parametrize("error", TYPED_ERRORS, ids=lambda e: type(e).__name__)
def test_an_edit_outcome_has_the_same_code_as_the_graphql_error_for_the_same_error(
    error: Exception,
) -> None:
    graphql_code = run(error)["extensions"]["code"]
    if graphql_code in {code.value for code in EditCode}:
        assert edit_code_for(error).value == graphql_code
    if isinstance(error, SourceError):
        outcome = outcome_of_error("erp", error) or failure(error)
        code = EditCode.CONFLICT if isinstance(outcome, Conflicted) else outcome.code
        assert code.value == graphql_code


def test_source_errors_keep_their_codes_and_extensions() -> None:
    error = SourceUnavailable("erp", "HTTP 429 from http://erp/x", retry_after=2.04)
    assert run(error)["extensions"] == {
        "code": "SOURCE_UNAVAILABLE",
        "system": "erp",
        "retryAfter": 2.0,
    }
    timed_out = run(SourceTimeout("erp", "http://erp.internal/secret-path"))
    assert timed_out["message"] == "erp: The system did not answer in time."
    assert timed_out["extensions"] == {"code": "SOURCE_TIMEOUT", "system": "erp"}
    assert "secret-path" not in str(timed_out)
    locked = run(Rejected("erp", "sale 7 state", code="ORDER_LOCKED", message="Confirmed."))
    assert locked["extensions"] == {"code": "ORDER_LOCKED", "system": "erp"}


def test_an_edit_refused_with_a_code_the_schema_does_not_know_is_rejected() -> None:
    error = Rejected("erp", "odd", code="SOMETHING_NEW", message="No.", field="quantity")
    assert run(error)["extensions"]["code"] == "SOMETHING_NEW"
    assert outcome_of_error("erp", error) == Refused(EditCode.REJECTED, "erp: No.", "quantity")


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom at /srv/keylink/secret.py line 12"),
        KeyError("password"),
        InvalidInput("poll must be positive, got -1"),
        ConcurrentChange("idempotency claim kept colliding"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_unknown_exception_is_internal_error_without_detail(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="keylink.errors"):
        got = run(error)
    assert got == {
        "message": "Unexpected error.",
        "locations": [{"line": 1, "column": 3}],
        "path": ["fail"],
        "extensions": {"code": "INTERNAL_ERROR"},
    }
    assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)


def test_a_keylink_error_keeps_its_own_message_and_code() -> None:
    assert run(BadInput("first must be between 1 and 100")) == {
        "message": "first must be between 1 and 100",
        "locations": [{"line": 1, "column": 3}],
        "path": ["fail"],
        "extensions": {"code": "BAD_INPUT"},
    }


def test_the_error_body_is_the_graphql_shape_with_the_optional_entries_in_order() -> None:
    assert error_body("BAD_INPUT", "no") == {"message": "no", "extensions": {"code": "BAD_INPUT"}}
    body = error_body("RATE_LIMITED", "slow down", retry_after=3, limit=100)
    assert list(body["extensions"].items()) == [
        ("code", "RATE_LIMITED"),
        ("retryAfter", 3),
        ("limit", 100),
    ]
    assert error_document("PAYLOAD_TOO_LARGE", "big") == {
        "errors": [{"message": "big", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]
    }
