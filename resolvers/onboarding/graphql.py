"""The onboarding fields (admin role): ``browse``, ``linkSuggestions`` and
``danglingLinks`` queries; ``acceptSuggestion`` and ``rejectSuggestion`` mutations.

``OnboardingQuery`` and ``OnboardingMutation`` are bases of the schema's ``Query`` and
``Mutation``, so their fields are part of both.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.context import context_of
from resolvers.error_codes import BadInput
from resolvers.onboarding.browse import browse_page
from resolvers.onboarding.dangling import check_dangling
from resolvers.onboarding.scoring import DEFAULT_THRESHOLD
from resolvers.onboarding.suggestions import (
    accept_suggestion,
    link_suggestions,
    reject_suggestion,
)
from resolvers.onboarding.systems import checked_key, kind_named, system_named
from resolvers.onboarding.types import (
    AcceptedSuggestion,
    DanglingLinkReport,
    LinkSuggestion,
    RejectedSuggestion,
    SystemKeyInput,
    UpstreamRecord,
    UpstreamRecordPage,
)
from resolvers.permissions import IsAdmin
from sources.browse import MAX_BROWSE_PAGE

MAX_SUGGESTIONS = 1000


def _first(first: int, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise BadInput(f"first must be between 1 and {maximum}")
    return first


@strawberry.type
class OnboardingQuery:
    """Browsing systems, match suggestions and the dangling-link check (admin)."""

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="A page of the records a system holds that can be linked (customers, "
        "suppliers, projects or orders), searched by name, key or identifier, each marked "
        "linked or not. Read live; NOT_SUPPORTED for a system that cannot list them.",
    )
    async def browse(
        self,
        info: strawberry.Info,
        system: str,
        kind: str,
        search: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> UpstreamRecordPage:
        """One page of ``kind`` records of ``system``."""
        ctx = context_of(info)
        source = system_named(ctx.systems.sources, system)
        page = await browse_page(
            source,
            ctx.links,
            kind_named(kind),
            search,
            after,
            _first(first, MAX_BROWSE_PAGE),
        )
        return UpstreamRecordPage(
            nodes=[UpstreamRecord.browsed(system, r) for r in page.records],
            end_cursor=page.next,
            has_next_page=page.next is not None,
        )

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Proposed links between the unlinked records of two systems, best first, "
        "with a score (0..1) and the reasons; rejected pairs are never proposed again. The "
        "fields compared are read live and not stored.",
    )
    async def link_suggestions(
        self,
        info: strawberry.Info,
        kind: str,
        from_system: Annotated[str, strawberry.argument(name="from")],
        to_system: Annotated[str, strawberry.argument(name="to")],
        first: int = 100,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> list[LinkSuggestion]:
        """Suggestions of ``kind`` links from ``from`` to ``to``."""
        ctx = context_of(info)
        system_named(ctx.systems.sources, from_system)
        system_named(ctx.systems.sources, to_system)
        found = await link_suggestions(
            ctx.systems.sources,
            ctx.links,
            kind_named(kind),
            from_system,
            to_system,
            first=_first(first, MAX_SUGGESTIONS),
            threshold=threshold,
        )
        return [LinkSuggestion.of(s) for s in found]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Check that every linked key still exists in its system: the keys that "
        "vanished, were merged or were closed. Reads only; nothing is changed or deleted.",
    )
    async def dangling_links(
        self,
        info: strawberry.Info,
        kinds: list[str] | None = None,
        systems: list[str] | None = None,
    ) -> DanglingLinkReport:
        """The dangling-link report for ``kinds`` (default all) in ``systems`` (default
        all configured)."""
        ctx = context_of(info)
        for name in systems or ():
            system_named(ctx.systems.sources, name)
        wanted = [kind_named(k) for k in kinds] if kinds else None
        report = await check_dangling(
            ctx.systems.sources,
            ctx.links,
            kinds=wanted or ("customer", "supplier", "project", "order"),
            systems=systems,
        )
        return DanglingLinkReport.of(report)


@strawberry.type
class OnboardingMutation:
    """Accepting and rejecting match suggestions (admin)."""

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Link two keys a suggestion paired (provenance `suggestion`): a new "
        "entity, or the unlinked key joins the other's. CONFLICT when both are linked to "
        "different entities.",
    )
    async def accept_suggestion(
        self,
        info: strawberry.Info,
        kind: str,
        from_key: Annotated[SystemKeyInput, strawberry.argument(name="from")],
        to_key: Annotated[SystemKeyInput, strawberry.argument(name="to")],
    ) -> AcceptedSuggestion:
        """Accept the pairing of ``from`` and ``to``."""
        ctx = context_of(info)
        system_named(ctx.systems.sources, from_key.system)
        system_named(ctx.systems.sources, to_key.system)
        accepted = await accept_suggestion(
            ctx.links,
            kind_named(kind),
            checked_key(from_key.system, from_key.key),
            checked_key(to_key.system, to_key.key),
            actor=ctx.principal,
        )
        return AcceptedSuggestion.of(accepted)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Remember that two keys are not the same entity: that pair is never "
        "proposed again.",
    )
    async def reject_suggestion(
        self,
        info: strawberry.Info,
        kind: str,
        from_key: Annotated[SystemKeyInput, strawberry.argument(name="from")],
        to_key: Annotated[SystemKeyInput, strawberry.argument(name="to")],
    ) -> RejectedSuggestion:
        """Reject the pairing of ``from`` and ``to``."""
        ctx = context_of(info)
        system_named(ctx.systems.sources, from_key.system)
        system_named(ctx.systems.sources, to_key.system)
        remembered = await reject_suggestion(
            ctx.links,
            kind_named(kind),
            checked_key(from_key.system, from_key.key),
            checked_key(to_key.system, to_key.key),
            actor=ctx.principal,
        )
        return RejectedSuggestion(remembered=remembered)


__all__ = ["OnboardingMutation", "OnboardingQuery"]
