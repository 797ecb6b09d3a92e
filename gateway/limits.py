"""Request limits: what a single request may cost before any resolver runs (S1-S3).

Defaults follow RELIABILITY.md: body ≤ 2 MB, ≤ 15 000 tokens, depth ≤ 10, aliases ≤ 30,
root fields ≤ 20, cost ≤ 50 000 (``gateway.cost``), batched operation arrays off.
Introspection, GraphiQL and "did you mean" suggestions are off outside ``env: dev``.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from gateway.cost import cost_limiter
from gateway.responses import send_error


class LimitSettings(BaseModel):
    """Per-request limits (``limits:`` in keylink.yaml)."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=2_000_000, ge=1_000)
    max_tokens: int = Field(default=15_000, ge=100)
    max_depth: int = Field(default=10, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_root_fields: int = Field(default=20, ge=1)
    max_cost: int = Field(default=50_000, ge=1)
    default_list_size: int = Field(default=10, ge=1)


def root_field_rule(limit: int) -> type[ValidationRule]:
    """A validation rule refusing operations with more than ``limit`` root fields."""

    class MaxRootFields(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            count = _count_root_fields(self.context, node.selection_set, set())
            if count > limit:
                self.report_error(
                    GraphQLError(
                        f"{count} root fields requested; at most {limit} are allowed.",
                        node,
                        extensions={"code": "LIMIT_EXCEEDED"},
                    )
                )

    return MaxRootFields


def _count_root_fields(
    context: ValidationContext, selection_set: SelectionSetNode, seen: set[str]
) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_root_fields(context, selection.selection_set, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                seen.add(selection.name.value)
                count += _count_root_fields(context, fragment.selection_set, seen)
    return count


def limit_extensions(limits: LimitSettings, *, dev: bool) -> list[type[SchemaExtension]]:
    """The strawberry extensions enforcing ``limits`` (and no introspection outside dev).

    The validation rules are built once, here, so every request validates with the same
    rule classes and a document's validation result can be reused (resolvers.
    validation_cache keys on them)."""
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        root_field_rule(limits.max_root_fields),
    ]
    if not dev:
        rules.extend(DisableIntrospection().validation_rules)
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(rules),
        cost_limiter(limits.max_cost, limits.default_list_size),
    ]
    return extensions


class BodySizeLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413 unread."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body; refuse it once it exceeds the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, "PAYLOAD_TOO_LARGE", f"Request body over {self.limit} bytes.")


class _TooLarge(Exception):
    pass
