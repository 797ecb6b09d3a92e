"""GraphQL types of onboarding: browsed records, link suggestions, dangling links."""

from __future__ import annotations

import enum

import strawberry

from resolvers.onboarding.browse import BrowsedRecord
from resolvers.onboarding.dangling import DanglingKey, DanglingReport
from resolvers.onboarding.suggestions import Accepted, Suggestion
from sources.base import Candidate


@strawberry.type(description="A record of a system that can be linked, read live.")
class UpstreamRecord:
    """A browsed record: its key, name and identifiers, and whether it is linked."""

    system: str
    key: str
    name: str
    vat: str | None = strawberry.field(description="VAT or organisation number.")
    email_domain: str | None
    postcode: str | None
    city: str | None
    country: str | None
    closed: bool
    linked: bool = strawberry.field(description="Whether the link map holds this key.")
    entity_id: int | None = strawberry.field(
        description="The link-map entity holding this key; null when not linked."
    )

    @classmethod
    def of(cls, system: str, candidate: Candidate, entity_id: int | None) -> UpstreamRecord:
        """The GraphQL view of ``candidate`` of ``system``."""
        return cls(
            system=system,
            key=candidate.key,
            name=candidate.name,
            vat=candidate.vat,
            email_domain=candidate.email_domain,
            postcode=candidate.postcode,
            city=candidate.city,
            country=candidate.country,
            closed=candidate.closed,
            linked=entity_id is not None,
            entity_id=entity_id,
        )

    @classmethod
    def browsed(cls, system: str, record: BrowsedRecord) -> UpstreamRecord:
        """The GraphQL view of a browsed record."""
        return cls.of(system, record.candidate, record.entity_id)


@strawberry.type(description="One page of a system's records.")
class UpstreamRecordPage:
    """The records of one page and the cursor of the next."""

    nodes: list[UpstreamRecord]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on the last page."
    )
    has_next_page: bool


@strawberry.type(description="A proposed link between records of two systems.")
class LinkSuggestion:
    """The two records, the score (0..1) and why."""

    kind: str
    from_record: UpstreamRecord = strawberry.field(name="from")
    to_record: UpstreamRecord = strawberry.field(name="to")
    score: float
    reasons: list[str]

    @classmethod
    def of(cls, suggestion: Suggestion) -> LinkSuggestion:
        """The GraphQL view of ``suggestion`` (both records unlinked to each other)."""
        return cls(
            kind=suggestion.kind,
            from_record=UpstreamRecord.of(suggestion.from_system, suggestion.from_record, None),
            to_record=UpstreamRecord.of(suggestion.to_system, suggestion.to_record, None),
            score=suggestion.score,
            reasons=list(suggestion.reasons),
        )


@strawberry.input(description="A key in a system.")
class SystemKeyInput:
    """A system's name and a key in it."""

    system: str
    key: str


@strawberry.type(description="What accepting a suggestion did.")
class AcceptedSuggestion:
    """The entity now holding both keys, and whether it was created."""

    entity_id: int
    created: bool

    @classmethod
    def of(cls, accepted: Accepted) -> AcceptedSuggestion:
        """The GraphQL view of ``accepted``."""
        return cls(entity_id=accepted.entity.id, created=accepted.created)


@strawberry.type(description="What rejecting a suggestion did.")
class RejectedSuggestion:
    """Whether the rejection is newly remembered (false: it already was)."""

    remembered: bool


@strawberry.enum(description="How a linked key no longer fits its system.")
class DanglingProblem(enum.Enum):
    """Vanished (not found), closed, or merged into another record."""

    VANISHED = "vanished"
    CLOSED = "closed"
    MERGED = "merged"


@strawberry.type(description="A linked key its system no longer holds as it was.")
class DanglingLink:
    """The entity, the key and what is wrong with it."""

    entity_id: int
    kind: str
    system: str
    key: str
    problem: DanglingProblem
    replaced_by: str | None = strawberry.field(
        description="For a merged record: the key it was merged into."
    )

    @classmethod
    def of(cls, found: DanglingKey) -> DanglingLink:
        """The GraphQL view of ``found``."""
        return cls(
            entity_id=found.entity_id,
            kind=found.kind,
            system=found.system,
            key=found.key,
            problem=DanglingProblem(found.problem),
            replaced_by=found.replaced_by,
        )


@strawberry.type(description="A system and kind whose keys could not be checked.")
class UncheckedKeys:
    """The system, the kind and why."""

    system: str
    kind: str
    reason: str


@strawberry.type(description="The result of a dangling-link check; nothing was changed.")
class DanglingLinkReport:
    """How many keys were checked, the dangling ones, and what could not be checked."""

    checked: int
    dangling: list[DanglingLink]
    unchecked: list[UncheckedKeys]

    @classmethod
    def of(cls, report: DanglingReport) -> DanglingLinkReport:
        """The GraphQL view of ``report``."""
        return cls(
            checked=report.checked,
            dangling=[DanglingLink.of(d) for d in report.dangling],
            unchecked=[
                UncheckedKeys(system=system, kind=kind, reason=reason)
                for (system, kind), reason in report.unchecked.items()
            ],
        )


__all__ = [
    "AcceptedSuggestion",
    "DanglingLink",
    "DanglingLinkReport",
    "DanglingProblem",
    "LinkSuggestion",
    "RejectedSuggestion",
    "SystemKeyInput",
    "UncheckedKeys",
    "UpstreamRecord",
    "UpstreamRecordPage",
]
