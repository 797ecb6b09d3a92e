"""A second subgraph for the supergraph tests: CRM notes on customers (joined by Keylink's
link-map ``id``) and tags on projects (joined by ``keys { system key }``). It knows
nothing but what the router hands it, and makes its answers up from the keys."""

from __future__ import annotations

from typing import Any

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter


@strawberry.type
class SystemKey:
    """A key in one system (the same type as Keylink's)."""

    system: str
    key: str


@strawberry.federation.type(keys=["id"])
class Customer:
    """A Keylink customer, known here only by its link-map id."""

    id: strawberry.ID

    @strawberry.field
    def notes(self) -> list[str]:
        """One note naming the customer's id."""
        return [f"note on customer {self.id}"]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Customer:
        """Any id is a customer here."""
        return cls(id=id)


@strawberry.federation.type(keys=["keys { system key }"])
class Project:
    """A Keylink project, known here only by some of its systems' keys."""

    keys: list[SystemKey]

    @strawberry.field
    def tags(self) -> list[str]:
        """One tag per key the router sent."""
        return [f"{k.system}:{k.key}" for k in self.keys]

    @classmethod
    def resolve_reference(cls, keys: list[dict[str, Any]]) -> Project:
        """The project with the keys of the representation."""
        return cls(keys=[SystemKey(system=k["system"], key=k["key"]) for k in keys])


@strawberry.type
class Query:
    """Entry points into the supergraph from this subgraph."""

    @strawberry.field
    def noted_customers(self, ids: list[strawberry.ID]) -> list[Customer]:
        """Customers with notes, by link-map id."""
        return [Customer(id=i) for i in ids]

    @strawberry.field
    def timesheet_projects(self, keys: list[str]) -> list[Project]:
        """Projects by their timesheet key only."""
        return [Project(keys=[SystemKey(system="timesheet", key=k)]) for k in keys]


SCHEMA = strawberry.federation.Schema(query=Query, federation_version="2.3")


def notes_app() -> FastAPI:
    """The subgraph over HTTP (``/graphql``, ``/healthz``)."""
    app = FastAPI()
    app.include_router(GraphQLRouter(SCHEMA), prefix="/graphql")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
