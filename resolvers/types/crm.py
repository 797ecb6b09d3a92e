"""CRM types: the account and its contacts, as the CRM has them now."""

from __future__ import annotations

import strawberry

from resolvers.context import context_of
from sources.records import Account, Contact


@strawberry.type(name="Contact", description="A person at a CRM account.")
class ContactType:
    """A CRM contact."""

    key: str
    name: str
    email: str | None
    phone: str | None
    role: str | None

    @staticmethod
    def of(record: Contact) -> ContactType:
        """The GraphQL form of a contact record."""
        return ContactType(
            key=record.key,
            name=record.name,
            email=record.email,
            phone=record.phone,
            role=record.role,
        )


@strawberry.type(name="CrmAccount", description="The customer's account in a CRM.")
class CrmAccount:
    """A CRM account with its owner, team and segment."""

    system: str
    key: str
    name: str
    owner: str | None
    team: str | None
    segment: str | None
    country: str | None

    @strawberry.field(description="The account's contacts, read live from the CRM.")
    async def contacts(self, info: strawberry.Info) -> list[ContactType] | None:
        """Contacts of this account."""
        loader = context_of(info).loaders.source(self.system, "contacts", many=True)
        return [ContactType.of(c) for c in await loader.load(self.key)]

    @staticmethod
    def of(system: str, record: Account) -> CrmAccount:
        """The GraphQL form of an account record from ``system``."""
        return CrmAccount(
            system=system,
            key=record.key,
            name=record.name,
            owner=record.owner,
            team=record.team,
            segment=record.segment,
            country=record.country,
        )
