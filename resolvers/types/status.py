"""``sourceStatus``: how each system read by a request fared, as a field of the answer.

``extensions.sources`` and ``extensions.stale`` say the same, but a federation router
(Apollo Router, Apollo Gateway, Cosmo) keeps only ``data`` and ``errors`` of a subgraph's
answer; a field is what reaches a client behind one. ``sourceStatus`` is resolved after
every other root field of its request has been completed (:class:`SourceStatusLast`), so it
covers every system those fields read, ``_entities`` excepted (a router sends an entity
fetch as a request of its own, without ``sourceStatus``).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import GraphQLObjectType

from resolvers.context import context_of
from resolvers.execution import LeanExecutionContext
from resolvers.source_states import SourceStates

FIELD = "sourceStatus"
"""The root field's GraphQL name."""


@strawberry.enum(name="SourceState", description="How a system fared in this request.")
class SourceStateValue(enum.Enum):
    """The states of ``extensions.sources``, as a GraphQL enum."""

    OK = "ok"
    ERROR = "error"
    STALE = "stale"


@strawberry.type(description="How one system read by this request fared.")
class SystemStatus:
    """One entry of ``extensions.sources``."""

    system: str = strawberry.field(description="The configured system's name.")
    state: SourceStateValue = strawberry.field(
        description="OK: answered; ERROR: failed, its fields are null with an error; STALE: "
        "failed, and cached data read at `readAt` stands in for it."
    )
    read_at: datetime = strawberry.field(
        description="When the oldest data of this system in the answer was read (of a "
        "failed system: when it failed)."
    )
    code: str | None = strawberry.field(
        description="The failure's stable code (SOURCE_UNAVAILABLE, SOURCE_TIMEOUT, ...)."
    )
    age_seconds: float | None = strawberry.field(
        description="Of a stale system: how old the data shown is, in seconds."
    )
    notes: list[str] = strawberry.field(
        description="How this system's figures are to be read (e.g. that it keeps no "
        "billing flags, or does not offer an operation)."
    )


@strawberry.type(
    description="The systems the other fields of this request read, and how each fared: "
    "`extensions.sources` and `extensions.stale` as a field, for clients behind a federation "
    "router (routers drop a subgraph's top-level extensions)."
)
class SourceStatus:
    """The per-request source states, as data."""

    stale: bool = strawberry.field(
        description="Whether any system's data in this answer is served stale."
    )
    systems: list[SystemStatus] = strawberry.field(
        description="Each system read, by name; a system no field read is not listed."
    )

    @staticmethod
    def of(states: SourceStates, now: datetime | None = None) -> SourceStatus:
        """The states recorded so far, as ``extensions.sources`` reports them."""
        now = now or datetime.now(UTC)
        systems = [
            SystemStatus(
                system=name,
                state=SourceStateValue(s.state),
                read_at=s.read_at,
                code=s.code,
                age_seconds=(
                    round((now - s.read_at).total_seconds(), 1) if s.state == "stale" else None
                ),
                notes=list(states.notes.get(name, ())),
            )
            for name, s in sorted(states.by_system.items())
        ]
        return SourceStatus(stale=states.any_stale, systems=systems)


def with_source_status(query: type) -> type:
    """A root query type: ``query`` plus ``sourceStatus``."""
    definition = query.__strawberry_definition__  # type: ignore[attr-defined]

    class StatusQuery(query):  # type: ignore[misc]
        @strawberry.field(
            name=FIELD,
            description="How each system read by the other fields of this request fared "
            "(resolved after them): what `extensions.sources` says, for clients behind a "
            "federation router. Any role.",
        )
        def source_status(self, info: strawberry.Info) -> SourceStatus:
            """The request's source states once every other root field is complete."""
            return SourceStatus.of(context_of(info).states)

    return strawberry.type(StatusQuery, name=definition.name, description=definition.description)


class SourceStatusLast(LeanExecutionContext):
    """Keylink's execution, with ``sourceStatus`` resolved last: the other root fields of a
    query, nested fields included, are completed first (concurrently, as always), then
    ``sourceStatus``; the answer keeps the order of the query."""

    def execute_root_grouped_field_set(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: Any,
        serially: bool,
        position_context: Any,
    ) -> Any:
        """The root fields' values, ``sourceStatus`` after all the others."""
        last = {
            name: details
            for name, details in grouped_field_set.items()
            if details[0].node.name.value == FIELD
        }
        if not last or len(last) == len(grouped_field_set):
            return super().execute_root_grouped_field_set(
                root_type, root_value, grouped_field_set, serially, position_context
            )
        first = {name: d for name, d in grouped_field_set.items() if name not in last}
        order = list(grouped_field_set)
        run = super().execute_root_grouped_field_set
        is_awaitable = self.is_awaitable

        def in_order(done: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
            both = {**done, **status}
            return {name: both[name] for name in order if name in both}

        def then(done: dict[str, Any]) -> Any:
            status: Any = run(root_type, root_value, last, serially, position_context)
            if is_awaitable(status):

                async def finish() -> dict[str, Any]:
                    return in_order(done, await status)

                return finish()
            return in_order(done, status)

        done: Any = run(root_type, root_value, first, serially, position_context)
        if is_awaitable(done):

            async def after() -> Any:
                result = then(await done)
                return (await result) if is_awaitable(result) else result

            return after()
        return then(done)
