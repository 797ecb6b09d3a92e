"""Validation of each distinct operation text once per process.

strawberry's ``ValidationCache`` keys its LRU on the parsed document, whose hash walks the
whole syntax tree on every request. Keylink keys on the query text and the (stable) rule
classes instead: a hit costs one dictionary lookup.

Validation runs in two stages. Rules deriving from :class:`DocumentGuard` run first and
alone; when they report anything, those errors are the answer and no other rule walks the
document. So a guard that measures a document in linear time (``gateway.http.limits``) keeps a
fragment bomb or a fragment cycle away from rules that expand fragments.

Outside ``env: dev`` errors suggest no names ("Did you mean …"): ``hide_suggestions``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from graphql import DocumentNode, GraphQLError, GraphQLSchema, ValidationRule, validate
from graphql.validation import ASTValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

ValidationKey = tuple[int, str, tuple[type, ...]]

STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)
"""The rules strawberry's own ``validate_document`` adds to every validation."""


class DocumentGuard(ValidationRule):
    """A validation rule run before every other rule, alone (see the module docstring)."""


class ValidationMemo:
    """A bounded map from (schema, query text, rules) to that document's validation errors."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[ValidationKey, list[GraphQLError]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: ValidationKey) -> list[GraphQLError] | None:
        """The errors recorded for ``key`` (an empty list: valid), or None if unknown."""
        with self._lock:
            errors = self._entries.get(key)
            if errors is not None:
                self._entries.move_to_end(key)
            return errors

    def put(self, key: ValidationKey, errors: list[GraphQLError]) -> None:
        """Record ``errors`` for ``key``, forgetting the least recently used beyond maxsize."""
        with self._lock:
            self._entries[key] = errors
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)


def validate_in_stages(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: Sequence[type[ASTValidationRule]],
    *,
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """The document's validation errors: those of the :class:`DocumentGuard` rules if they
    report any, else those of every other rule (and strawberry's own)."""
    guards = tuple(r for r in rules if issubclass(r, DocumentGuard))
    if guards:
        errors = validate(schema, document, guards, hide_suggestions=hide_suggestions)
        if errors:
            # graphql-core aborting its own walk of a document a guard refused adds nothing
            return [e for e in errors if not isinstance(e, ValidationAbortedError)] or errors
    others = tuple(r for r in rules if r not in guards)
    return validate(
        schema, document, (*others, *STRAWBERRY_RULES), hide_suggestions=hide_suggestions
    )


class QueryValidationCache(SchemaExtension):
    """Runs validation only for an operation text (and rule set) not validated before."""

    def __init__(self, memo: ValidationMemo, *, hide_suggestions: bool = False) -> None:
        self.memo = memo
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        """Set the operation's validation errors, from the memo when it has them."""
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            rules = tuple(context.validation_rules)
            key = (id(context.schema), context.query, rules) if context.query else None
            errors = self.memo.get(key) if key else None
            if errors is None:
                errors = validate_in_stages(
                    context.schema._schema,
                    document,
                    rules,
                    hide_suggestions=self.hide_suggestions,
                )
                if key:
                    self.memo.put(key, errors)
            context.pre_execution_errors = errors
        yield
