"""The demo CRM's own order and keyset paging on ``/accounts`` (demo/API.md, CRM): a
``sort`` field (``-`` descends, ties by id in the same direction), ``limit`` and ``after``
position tokens that never repeat or skip an account, and today's parameters unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from demo.data import DemoDataset


def keyset_walk(crm: httpx.Client, limit: int, **params: str) -> list[list[dict[str, Any]]]:
    """Every keyset page of ``/accounts`` with ``params``, following ``next``."""
    pages: list[list[dict[str, Any]]] = []
    after: str | None = None
    while True:
        query: dict[str, Any] = {**params, "limit": limit}
        if after is not None:
            query["after"] = after
        response = crm.get("/accounts", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "total" not in body
        pages.append(body["items"])
        after = body["next"]
        if after is None:
            return pages
        assert len(pages) < 1000


def expected(
    dataset: DemoDataset, field: str, descending: bool, team: str | None = None
) -> list[str]:
    rows = [a for a in dataset.accounts.values() if team is None or a.team == team]
    rows.sort(key=lambda a: (getattr(a, field), a.id), reverse=descending)
    return [a.id for a in rows]


@pytest.mark.parametrize("sort", ["name", "-name", "team", "-team", "owner", "-country"])
def test_keyset_pages_cover_every_account_once_in_order(
    crm: httpx.Client, dataset: DemoDataset, sort: str
) -> None:
    field, descending = sort.lstrip("-"), sort.startswith("-")
    pages = keyset_walk(crm, 17, sort=sort)
    ids = [item["id"] for page in pages for item in page]
    assert ids == expected(dataset, field, descending)
    assert all(len(page) == 17 for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= 17


def test_ties_are_broken_by_id_in_the_sort_direction(crm: httpx.Client) -> None:
    up = [i["id"] for p in keyset_walk(crm, 500, sort="team") for i in p]
    down = [i["id"] for p in keyset_walk(crm, 500, sort="-team") for i in p]
    assert down == list(reversed(up))
    oslo_up = [i for i in up if i in set(expected_team(crm, "Oslo"))]
    assert oslo_up == sorted(oslo_up)
    assert len(oslo_up) > 1


def expected_team(crm: httpx.Client, team: str) -> list[str]:
    body = crm.get("/accounts", params={"team": team, "per_page": 500}).json()
    return [item["id"] for item in body["items"]]


def test_filters_combine_with_order_and_keyset(crm: httpx.Client, dataset: DemoDataset) -> None:
    pages = keyset_walk(crm, 5, sort="-name", team="Oslo")
    ids = [item["id"] for page in pages for item in page]
    assert ids == expected(dataset, "name", True, team="Oslo")
    assert len(pages) > 2


def test_next_is_also_a_link_header_that_fetches_the_next_page(crm: httpx.Client) -> None:
    first = crm.get("/accounts", params={"sort": "name", "limit": 10})
    token = first.json()["next"]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    url = httpx.URL(link[1 : link.index(">")])
    assert url.params["after"] == token and url.params["sort"] == "name"
    via_link = crm.get(url.path, params=dict(url.params)).json()
    via_token = crm.get("/accounts", params={"sort": "name", "limit": 10, "after": token}).json()
    assert via_link == via_token
    seen = {i["id"] for i in first.json()["items"]}
    assert not seen & {i["id"] for i in via_link["items"]}


def test_the_last_page_has_no_next_and_no_link(crm: httpx.Client) -> None:
    last = crm.get("/accounts", params={"limit": 500})
    assert last.json()["next"] is None
    assert "link" not in last.headers


def test_a_position_holds_when_accounts_before_it_are_filtered_out(crm: httpx.Client) -> None:
    """Keyset, not offset: the token is a place in the order, so a narrower filter on the
    next request starts right after that place, not after N rows of the new list."""
    first = crm.get("/accounts", params={"sort": "name", "limit": 50}).json()
    last_name = first["items"][-1]["name"]
    team = first["items"][-1]["team"]
    after = crm.get(
        "/accounts", params={"sort": "name", "limit": 500, "after": first["next"], "team": team}
    ).json()
    assert after["items"]
    assert all(item["name"] >= last_name for item in after["items"])


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"sort": "vat"}, "sort: unknown field"),
        ({"sort": "name", "after": "not-a-token!"}, "not a position token"),
        ({"limit": 10, "page": 2}, "do not mix"),
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_order_or_position_is_a_400(
    crm: httpx.Client, params: dict[str, Any], detail: str
) -> None:
    response = crm.get("/accounts", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert detail in response.json()["detail"]


def test_a_token_of_another_order_is_refused(crm: httpx.Client) -> None:
    token = crm.get("/accounts", params={"sort": "name", "limit": 3}).json()["next"]
    response = crm.get("/accounts", params={"sort": "-name", "limit": 3, "after": token})
    assert response.status_code == 400
    assert "sort" in response.json()["detail"]


def test_page_numbers_still_work_in_id_order_or_in_sort_order(
    crm: httpx.Client, dataset: DemoDataset
) -> None:
    default = crm.get("/accounts", params={"page": 2, "per_page": 5}).json()
    assert [i["id"] for i in default["items"]] == sorted(dataset.accounts)[5:10]
    assert default["total"] == len(dataset.accounts) and default["next_page"] == 3
    by_name = crm.get("/accounts", params={"sort": "-name", "page": 1, "per_page": 5}).json()
    assert [i["id"] for i in by_name["items"]] == expected(dataset, "name", True)[:5]
