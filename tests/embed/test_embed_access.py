"""Who sees what through an embed page: a bad token shows an error page and no data, a
token for one customer reads no other, the page and GraphiQL ask no other host, and each
language draws the page in its own words and number formats."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest

from gateway.auth.embed_tokens import EmbedTokens
from gateway.embed.i18n import LOCALES, strings
from tests.embed.browsing import embed_url, visit
from tests.embed.conftest import SECRET, EmbedRig, customers_with_draft_orders
from tests.support.secret_scan import remember


@pytest.fixture(scope="module")
def two_customers(embed_rig: EmbedRig) -> tuple[str, str]:
    """CRM keys of two different fully linked customers."""
    found = customers_with_draft_orders(embed_rig.upstreams)
    return found[0][0], found[1][0]


def expired_token(key: str) -> str:
    """A token signed with the gateway's secret whose time ran out an hour ago."""
    signer = EmbedTokens(SECRET.encode(), max_ttl_seconds=900)
    token, _ = signer.mint(
        kind="customer",
        system="crm",
        key=key,
        role="sales",
        ttl_seconds=300,
        issuer="apikey:test",
        now=1_000_000_000,
    )
    remember(token)
    return token


def tampered(token: str, key: str) -> str:
    """``token`` with its payload rewritten to name ``key`` (the signature left as it was)."""
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["key"] = key
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{signature}"


@pytest.mark.parametrize("case", ["expired", "tampered", "other customer"])
def test_a_bad_token_shows_an_error_page_and_no_data(
    browser: Any, rig: EmbedRig, two_customers: tuple[str, str], case: str
) -> None:
    mine, theirs = two_customers
    token = {
        "expired": lambda: expired_token(theirs),
        "tampered": lambda: tampered(rig.mint(mine), theirs),
        "other customer": lambda: rig.mint(mine),
    }[case]()
    name = rig.graphql(
        rig.mint(theirs),
        'query($k: String!) { customer(system: "crm", key: $k) { account { name } } }',
        {"k": theirs},
    ).json()
    their_name = name["data"]["customer"]["account"]["name"]
    with visit(browser, rig, embed_url(rig, "customer", "crm", theirs, "en", token)) as seen:
        page = seen.page
        assert page.locator(".kl-error[role='alert']").is_visible()
        assert page.locator("[data-figure]").count() == 0
        assert their_name not in page.content()
        for _, status, body in seen.responses:  # what reached the browser holds no data
            answer = json.loads(body) if body else {}
            assert status == 401 or answer.get("data", {}).get("customer") is None
        assert seen.foreign_requests() == []
        seen.screenshot(f"error-{case.replace(' ', '-')}")


def test_a_token_reads_and_edits_only_its_own_customer(
    rig: EmbedRig, two_customers: tuple[str, str]
) -> None:
    mine, theirs = two_customers
    token = rig.mint(mine)
    query = 'query($k: String!) { customer(system: "crm", key: $k) { keys { key } } }'
    assert rig.graphql(token, query, {"k": mine}).json()["data"]["customer"] is not None
    assert rig.graphql(token, query, {"k": theirs}).json()["data"]["customer"] is None
    listing = rig.graphql(token, "{ customers { edges { node { id } } } }", {}).json()
    assert listing["data"]["customers"] is None  # lists need analyst or admin
    with rig.erp() as erp:
        their_erp = next(k for k in customers_with_draft_orders(rig.upstreams) if k[0] == theirs)[1]
        order = erp.get("/orders", params={"customer": their_erp, "status": "draft"}).json()
        number = order["items"][0]["number"]
        line = erp.get("/order-lines", params={"order": number}).json()["items"][0]
    edit = rig.graphql(
        token,
        "mutation($i: UpdateOrderLineInput!) { updateOrderLine(input: $i, idempotencyKey: "
        '"embed-bola-1") { __typename ... on OrderLineRejected { code } } }',
        {
            "i": {
                "order": {"system": "erp", "key": number},
                "line": str(line["id"]),
                "expectedVersion": str(line["version"]),
                "quantity": "99",
            }
        },
    ).json()
    assert edit["data"]["updateOrderLine"] == {
        "__typename": "OrderLineRejected",
        "code": "NOT_FOUND",
    }
    # a token reads /graphql only: it mints nothing and exports nothing
    for path in ("/embed/tokens", "/export"):
        refused = httpx.post(
            f"{rig.url}{path}", json={}, headers={"Authorization": f"Embed {token}"}
        )
        assert refused.status_code == 401


def test_minting_needs_a_key_allowed_to_grant_the_role(rig: EmbedRig, two_customers: Any) -> None:
    mine, _ = two_customers

    def mint(body: dict[str, Any], key: str | None) -> httpx.Response:
        headers = {"X-API-Key": key} if key else {}
        return httpx.post(f"{rig.url}/embed/tokens", json=body, headers=headers)

    body = {"kind": "customer", "system": "crm", "key": mine, "role": "sales"}
    assert mint(body, None).status_code == 401
    assert mint(body, rig.viewer_key).status_code == 403  # viewer is no minter role
    assert mint({**body, "role": "admin"}, rig.sales_key).status_code == 403
    assert mint({**body, "ttlSeconds": 86_400}, rig.sales_key).status_code == 400
    assert mint({**body, "key": "NO-SUCH-KEY"}, rig.sales_key).status_code == 404
    assert mint({**body, "key": "A-*"}, rig.sales_key).status_code == 404
    minted = mint(body, rig.sales_key)
    assert minted.status_code == 200
    remember(minted.json()["token"])
    assert minted.json()["url"].startswith(f"/embed/customer?system=crm&key={mine}#token=")


def test_the_page_is_framed_only_by_configured_sites_under_a_strict_csp(
    rig: EmbedRig, two_customers: Any
) -> None:
    response = httpx.get(f"{rig.url}/embed/customer", params={"system": "crm", "key": "x"})
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors https://crm.example.test 'self'" in csp
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp and "<script>" not in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers
    in_query = httpx.get(
        f"{rig.url}/embed/customer", params={"system": "crm", "key": "x", "token": "kle1.a.b"}
    )
    assert in_query.status_code == 400 and "kl-error" in in_query.text


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_each_language_has_its_words_and_number_format(
    browser: Any, rig: EmbedRig, two_customers: Any, lang: str
) -> None:
    mine, _ = two_customers
    token = rig.mint(mine)
    words = strings(lang)
    with visit(browser, rig, embed_url(rig, "customer", "crm", mine, lang, token)) as seen:
        page = seen.page
        assert page.get_attribute("html", "lang") == lang
        assert page.inner_text("#kl-figures-title") == words["keyFigures"]
        assert page.inner_text("#kl-aging-title") == words["aging"]
        shown = page.inner_text("dd[data-figure='openBalance'] .kl-money")
        # the decimal comma of nb, da, de and pl; the point of en
        separator = re.search(r"([.,])[0-9]{2}(?![0-9])", shown)
        assert separator is not None and separator.group(1) == ("." if lang == "en" else ","), shown
        assert seen.foreign_requests() == []
        seen.screenshot(f"customer-{lang}")


def test_graphiql_loads_from_the_gateway_only(browser: Any, rig: EmbedRig) -> None:
    page_html = httpx.get(f"{rig.url}/graphql", headers={"Accept": "text/html"})
    assert page_html.status_code == 200
    assert "unpkg" not in page_html.text and "cdn" not in page_html.text.lower()
    assert "'self'" in page_html.headers["content-security-policy"]
    with visit(browser, rig, f"{rig.url}/graphql", wait=False) as seen:
        seen.page.wait_for_selector(".graphiql-editors, .graphiql-session", timeout=30_000)
        seen.page.wait_for_load_state("networkidle")
        assert seen.foreign_requests() == []
        assert any("/static/graphiql/graphiql.min.js" in url for url in seen.requests)
        violations = [m for m in seen.console if "Content Security Policy" in m]
        assert violations == [], violations
        seen.screenshot("graphiql")
