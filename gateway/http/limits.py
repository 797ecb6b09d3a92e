"""Request limits: what a single request may cost before any resolver runs (S1-S3).

Defaults follow RELIABILITY.md: body ≤ 2 MB, ≤ 15 000 tokens, depth ≤ 10, aliases ≤ 30,
root fields ≤ 20, cost ≤ 50 000 (``gateway.http.cost``), batched operation arrays off.
Introspection, GraphiQL and "did you mean" suggestions are off outside ``env: dev``.

Depth, aliases and the document's size are measured by one guard
(:func:`document_errors`) in time linear in the document: each fragment is measured once
and its measures reused wherever it is spread, never by walking the fragment again per
spread. The guard runs before every other validation rule and alone
(``resolvers.validation_cache.DocumentGuard``), so a document it refuses is walked by
nothing else:

* a fragment that spreads itself, directly or through others (a cycle; the spec's
  "Cannot spread fragment … within itself"), ``GRAPHQL_VALIDATION_FAILED``;
* selection sets and spreads nested deeper than graphql-core's own nesting bound (200),
  ``LIMIT_EXCEEDED``: a long chain of fragments would exhaust the interpreter's stack;
* more than ``max_expanded_fields`` fields once every fragment is spread in place (a
  "fragment bomb": each of 19 fragments spreading the previous one twice is 2^18 copies of
  the first), ``LIMIT_EXCEEDED``. The default equals the token limit: fragments never let a
  document ask for more fields than it could list without them;
* depth and aliases over their limits, ``LIMIT_EXCEEDED``, counted as if every fragment
  were written out where it is spread (the alias amplification of a repeated spread counts);
* a single selection set wider than ``max_selection_fields`` fields, with more than
  ``max_selection_work`` (its fields × all fields below it) or more than
  ``max_selection_spreads`` fragment spreads, fragments spread in place,
  ``LIMIT_EXCEEDED``: graphql-core's check that fields of one set can be merged compares
  them pairwise down their selections (3,500 copies of one field took 2.8 s; 100 copies
  of a 13-field selection 0.4 s), so what it may compare is bounded before it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.validation import ASTValidationRule
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)

from gateway.http.cost import cost_limiter
from gateway.http.responses import send_error
from resolvers.validation_cache import DocumentGuard


class LimitSettings(BaseModel):
    """Per-request limits (``limits:`` in keylink.yaml)."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=2_000_000, ge=1_000)
    max_tokens: int = Field(default=15_000, ge=100)
    max_depth: int = Field(default=10, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_root_fields: int = Field(default=20, ge=1)
    max_expanded_fields: int = Field(
        default=15_000,
        ge=100,
        description="fields of a document once every fragment is spread in place",
    )
    max_selection_fields: int = Field(
        default=500,
        ge=10,
        description="fields of one selection set, fragments spread into it included",
    )
    max_selection_work: int = Field(
        default=50_000,
        ge=1_000,
        description=(
            "fields of one selection set (fragments spread in place) times all the fields "
            "below it: what checking that its fields can be merged costs"
        ),
    )
    max_selection_spreads: int = Field(
        default=100,
        ge=1,
        description="fragment spreads in one selection set, nested spreads included",
    )
    max_cost: int = Field(default=50_000, ge=1)
    max_entity_cost: int = Field(
        default=5_000,
        ge=1,
        description="cost of one representation's selection in an _entities fetch",
    )
    default_list_size: int = Field(default=10, ge=1)


SATURATED = 1 << 62
"""Counts stop growing here: a fragment bomb's 2^n copies are "too many", not a big number
to carry along."""


@dataclass(frozen=True, slots=True)
class Shape:
    """Measures of a selection set with every fragment spread in place."""

    fields: int
    """Field selections (up to ``SATURATED``)."""
    aliases: int
    """Aliased field selections among them (up to ``SATURATED``)."""
    depth: int
    """Level of the deepest field, the set's own fields at level 0 (-1: no field).
    Introspection fields count at their level; what they select does not (as strawberry's
    ``QueryDepthLimiter`` counts)."""
    nesting: int
    """Selection sets along the deepest path, a spread adding its fragment's (graphql-core's
    measure for ``MAX_NESTING_DEPTH``)."""
    flat_fields: int = 0
    """Fields at this set's own level, the fields of fragments spread into it included."""
    flat_spreads: int = 0
    """Fragment spreads at this set's own level (inline fragments' included), the ones
    graphql-core compares pairwise."""
    widest_fields: int = 0
    """The largest ``flat_fields`` of this set and of every set within it."""
    widest_spreads: int = 0
    """The largest ``flat_spreads`` of this set and of every set within it."""
    heaviest_merge: int = 0
    """The largest ``flat_fields`` × ``fields`` of this set and of every set within it:
    graphql-core compares a set's same-named fields pairwise, down their selections."""


def _shape(selection_set: SelectionSetNode, fragments: Mapping[str, Shape]) -> Shape:
    """The shape of ``selection_set``; spreads of fragments not in ``fragments`` (unknown,
    or closing a cycle) add nothing. Recursion follows the nesting within one definition,
    which the parser bounds by ``MAX_NESTING_DEPTH``; fragments are looked up, not walked."""
    fields = aliases = nesting = flat_fields = flat_spreads = widest_fields = widest_spreads = 0
    heaviest = 0
    depth = -1
    for selection in selection_set.selections:
        inner: Shape | None = None
        same_level = False
        if isinstance(selection, FieldNode):
            fields += 1
            flat_fields += 1
            aliases += selection.alias is not None
            depth = max(depth, 0)
            if selection.selection_set is not None:
                inner = _shape(selection.selection_set, fragments)
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
        elif isinstance(selection, InlineFragmentNode):
            inner = _shape(selection.selection_set, fragments)
            depth = max(depth, inner.depth)
            same_level = True
        elif isinstance(selection, FragmentSpreadNode):
            inner = fragments.get(selection.name.value)
            depth = max(depth, inner.depth if inner else -1)
            flat_spreads += 1
            same_level = True
        if inner is not None:
            fields = min(fields + inner.fields, SATURATED)
            aliases = min(aliases + inner.aliases, SATURATED)
            nesting = max(nesting, inner.nesting)
            widest_fields = max(widest_fields, inner.widest_fields)
            widest_spreads = max(widest_spreads, inner.widest_spreads)
            heaviest = max(heaviest, inner.heaviest_merge)
            if same_level:
                flat_fields = min(flat_fields + inner.flat_fields, SATURATED)
            if isinstance(selection, InlineFragmentNode):
                # graphql-core compares the fragments spread in one set pairwise, those of
                # an inline fragment with them; a fragment's own spreads it compares once
                flat_spreads = min(flat_spreads + inner.flat_spreads, SATURATED)
    return Shape(
        fields,
        aliases,
        depth,
        nesting + 1,
        flat_fields,
        flat_spreads,
        max(widest_fields, flat_fields),
        max(widest_spreads, flat_spreads),
        max(heaviest, min(flat_fields * fields, SATURATED)),
    )


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The fragments spread directly in ``selection_set`` (at any nesting), in order."""
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, (FieldNode, InlineFragmentNode)) and (
                selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return names


def fragment_shapes(
    fragments: Mapping[str, FragmentDefinitionNode],
) -> tuple[dict[str, Shape], list[GraphQLError]]:
    """The shape of every fragment, each measured once after the fragments it spreads, and
    an error per cycle found. Walks the spreads with an explicit stack, so a long chain of
    fragments cannot exhaust the interpreter's."""
    spreads = {name: _spread_names(f.selection_set) for name, f in fragments.items()}
    shapes: dict[str, Shape] = {}
    cycles: list[GraphQLError] = []
    for root in fragments:
        if root in shapes:
            continue
        path: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            for spread in pending:
                if spread not in fragments or spread in shapes:
                    continue
                if spread in on_path:
                    names = [n for n, _ in path]
                    via = names[names.index(spread) + 1 :]
                    cycles.append(_cycle_error(fragments[spread], via))
                    continue
                path.append((spread, iter(spreads[spread])))
                on_path.add(spread)
                break
            else:
                path.pop()
                on_path.discard(name)
                shapes[name] = _shape(fragments[name].selection_set, shapes)
    return shapes, cycles


def _cycle_error(fragment: FragmentDefinitionNode, via: list[str]) -> GraphQLError:
    name = fragment.name.value
    through = f" via {', '.join(repr(v) for v in via)}" if via else ""
    return GraphQLError(f"Cannot spread fragment '{name}' within itself{through}.", fragment)


def document_errors(document: DocumentNode, limits: LimitSettings) -> list[GraphQLError]:
    """Why ``document`` is refused before anything else walks it (see the module
    docstring), or nothing. Linear in the document's size."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    shapes, cycles = fragment_shapes(fragments)
    if cycles:
        return cycles
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    measured = [(op, _shape(op.selection_set, shapes)) for op in operations]
    nesting = max([s.nesting for s in shapes.values()] + [s.nesting for _, s in measured] + [0])
    if nesting > MAX_NESTING_DEPTH:
        return [
            _limit_error(
                f"Selections and fragment spreads nested {nesting} deep; at most "
                f"{MAX_NESTING_DEPTH} are allowed."
            )
        ]
    fields = min(sum(s.fields for _, s in measured), SATURATED)
    fields = max([fields] + [s.fields for s in shapes.values()])
    if fields > limits.max_expanded_fields:
        many = "too many" if fields >= SATURATED else str(fields)
        return [
            _limit_error(
                f"The document selects {many} fields once its fragments are spread in place; "
                f"at most {limits.max_expanded_fields} are allowed."
            )
        ]
    errors: list[GraphQLError] = []
    for operation, shape in measured:
        if shape.depth > limits.max_depth:
            name = operation.name.value if operation.name else "anonymous"
            errors.append(
                _limit_error(
                    f"'{name}' exceeds maximum operation depth of {limits.max_depth}", operation
                )
            )
    aliases = sum(s.aliases for _, s in measured)
    if aliases > limits.max_aliases:
        errors.append(_limit_error(f"{aliases} aliases found. Allowed: {limits.max_aliases}"))
    if errors:
        return errors
    every = [s for _, s in measured] + list(shapes.values())
    widths = (
        (
            max([s.widest_fields for s in every] + [0]),
            limits.max_selection_fields,
            "A selection set holds {found} fields once fragments are spread in place; "
            "at most {allowed} are allowed.",
        ),
        (
            max([s.widest_spreads for s in every] + [0]),
            limits.max_selection_spreads,
            "A selection set spreads {found} fragments; at most {allowed} are allowed.",
        ),
        (
            max([s.heaviest_merge for s in every] + [0]),
            limits.max_selection_work,
            "A selection set repeats fields too heavily to check that they merge ({found} "
            "field comparisons); at most {allowed} are allowed.",
        ),
    )
    for found, allowed, message in widths:  # the first width over its limit is reported
        if found > allowed:
            return [_limit_error(message.format(found=found, allowed=allowed))]
    return []


def _limit_error(message: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "LIMIT_EXCEEDED"})


def document_rule(limits: LimitSettings) -> type[ValidationRule]:
    """The guard rule reporting :func:`document_errors` (run first and alone)."""

    class DocumentLimits(DocumentGuard):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for error in document_errors(context.document, limits):
                context.report_error(error)

    return DocumentLimits


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
    rules: list[type[ASTValidationRule]] = [
        document_rule(limits),
        root_field_rule(limits.max_root_fields),
    ]
    if not dev:
        rules.extend(DisableIntrospection().validation_rules)
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(rules),
        cost_limiter(limits.max_cost, limits.default_list_size, limits.max_entity_cost),
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
