"""Validation of each distinct operation text once per process.

strawberry's ``ValidationCache`` keys its LRU on the parsed document, whose hash walks the
whole syntax tree on every request. Keylink keys on the query text and the (stable) rule
classes instead: a hit costs one dictionary lookup.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

ValidationKey = tuple[int, str, tuple[type, ...]]


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


class QueryValidationCache(SchemaExtension):
    """Runs validation only for an operation text (and rule set) not validated before."""

    def __init__(self, memo: ValidationMemo) -> None:
        self.memo = memo

    def on_validate(self) -> Iterator[None]:
        """Set the operation's validation errors, from the memo when it has them."""
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            rules = tuple(context.validation_rules)
            key = (id(context.schema), context.query, rules) if context.query else None
            errors = self.memo.get(key) if key else None
            if errors is None:
                errors = validate_document(context.schema._schema, document, rules)
                if key:
                    self.memo.put(key, errors)
            context.pre_execution_errors = errors
        yield
