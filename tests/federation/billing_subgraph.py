"""A third subgraph for the supergraph tests: a billing service with value types of its
own that Keylink has too, as most supergraphs do: the Relay ``PageInfo`` and a ``Money``
(``@shareable``, as Federation 2 asks of a type defined by more than one subgraph). It also
adds a made-up last payment to Keylink's customers (joined by link-map ``id``) and has a
mutation of its own. It knows nothing but what the router hands it."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter


@strawberry.federation.type(shareable=True, description="Relay page info.")
class PageInfo:
    """The four fields of the Relay specification."""

    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.federation.type(shareable=True, description="An amount in one currency.")
class Money:
    """The same shape as Keylink's ``Money``."""

    amount: Decimal
    currency: str


@strawberry.type
class Payment:
    """A payment received."""

    reference: str
    amount: Money


@strawberry.type
class PaymentConnection:
    """A page of payments."""

    nodes: list[Payment]
    page_info: PageInfo


def last_payment_of(customer_id: str) -> Money:
    """The made-up last payment of the customer with link-map id ``customer_id``."""
    return Money(amount=Decimal(f"{int(customer_id) % 1000}.50"), currency="EUR")


@strawberry.federation.type(keys=["id"])
class Customer:
    """A Keylink customer, known here by its link-map id."""

    id: strawberry.ID

    @strawberry.field
    def last_payment(self) -> Money:
        """The customer's last payment (made up from the id)."""
        return last_payment_of(str(self.id))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Customer:
        """Any id is a customer here."""
        return cls(id=id)


PAYMENTS = [
    Payment(reference=f"PAY-{n}", amount=Money(amount=Decimal(f"{n}00.00"), currency="EUR"))
    for n in range(1, 6)
]


@strawberry.type
class Query:
    """The billing service's own entry point."""

    @strawberry.field
    def payments(self, first: int = 2) -> PaymentConnection:
        """The first ``first`` payments."""
        page = PAYMENTS[:first]
        return PaymentConnection(
            nodes=page,
            page_info=PageInfo(
                has_next_page=first < len(PAYMENTS),
                has_previous_page=False,
                start_cursor=page[0].reference if page else None,
                end_cursor=page[-1].reference if page else None,
            ),
        )


@strawberry.type
class Mutation:
    """The billing service's own mutation (beside Keylink's order-line edits)."""

    @strawberry.mutation
    def record_payment(self, reference: str) -> Payment:
        """Echo a payment of 1 EUR."""
        return Payment(reference=reference, amount=Money(amount=Decimal("1.00"), currency="EUR"))


SCHEMA = strawberry.federation.Schema(
    query=Query, mutation=Mutation, types=[Customer], federation_version="2.3"
)


def billing_app() -> FastAPI:
    """The subgraph over HTTP (``/graphql``, ``/healthz``)."""
    app = FastAPI()
    app.include_router(GraphQLRouter(SCHEMA), prefix="/graphql")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
