"""The customer page a CRM embeds, in Debian's chromium against the demo: the figures it
shows are the GraphQL answer's, an order line edited in the page is saved by the ERP, a
conflict shows the line as the ERP has it, a system down leaves the others shown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from demo.links import demo_links
from tests.embed import figures
from tests.embed.browsing import embed_url, visit
from tests.embed.conftest import EmbedRig, customers_with_draft_orders


@pytest.fixture(scope="module")
def customer(embed_rig: EmbedRig) -> tuple[str, str]:
    """(CRM key, ERP key) of a fully linked customer with a draft order."""
    return customers_with_draft_orders(embed_rig.upstreams)[0]


def answer(rig: EmbedRig, token: str, crm_key: str) -> dict[str, Any]:
    """The GraphQL answer for the customer, asked with the page's token."""
    response = rig.graphql(token, figures.ANSWER, {"system": "crm", "key": crm_key})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def shown_money(page: Any, selector: str) -> list[tuple[str, str, str]]:
    """(amount, currency, visible text) of every amount under ``selector``."""
    found = page.eval_on_selector_all(
        selector,
        "els => els.map(e => [e.dataset.amount, e.dataset.currency, e.textContent])",
    )
    return [tuple(x) for x in found]


def test_figures_are_the_graphql_answer(browser: Any, rig: EmbedRig, customer: Any) -> None:
    crm_key, _ = customer
    token = rig.mint(crm_key)
    expected = answer(rig, token, crm_key)["data"]["customer"]
    overview = expected["financialOverview"]
    today = date.fromisoformat(overview["asOf"])
    with visit(browser, rig, embed_url(rig, "customer", "crm", crm_key, "en", token)) as seen:
        page = seen.page
        assert page.inner_text("h1") == expected["account"]["name"]
        for name in (
            "openBalance",
            "overdueAmount",
            "revenueYearToDate",
            "revenueSamePeriodLastYear",
            "openOrdersValue",
        ):
            shown = shown_money(page, f"dd[data-figure='{name}'] .kl-money")
            assert [(a, c) for a, c, _ in shown] == [
                (m["amount"], m["currency"]) for m in overview[name]
            ], name
            for amount, _, text in shown:  # the visible text is that amount, formatted
                assert figures.digits(text) == figures.amount_digits(amount), (name, text)
        for name in ("creditLimit", "creditAvailable"):  # null: no limit, or currencies mixed
            shown = shown_money(page, f"dd[data-figure='{name}'] .kl-money")
            money = overview[name]
            assert [(a, c) for a, c, _ in shown] == (
                [(money["amount"], money["currency"])] if money else []
            ), name
        for name in ("overdueCount", "hoursThisMonth", "unbilledHours"):
            value = page.get_attribute(f"dd[data-figure='{name}']", "data-value")
            assert Decimal(value) == Decimal(str(overview[name])), name

        # aging of open invoices: the buckets FIGURES.md's overdue rule gives
        aging = figures.aging(expected["invoices"], today)
        assert aging, "the demo customer has open invoices"
        for currency, buckets in aging.items():
            table = f"table[data-aging-currency='{currency}']"
            for bucket, amount in buckets.items():
                cell = page.get_attribute(f"{table} tr[data-bucket='{bucket}'] td", "data-amount")
                assert Decimal(cell) == amount, (currency, bucket)
            balance = {m["currency"]: Decimal(m["amount"]) for m in overview["openBalance"]}
            overdue = {m["currency"]: Decimal(m["amount"]) for m in overview["overdueAmount"]}
            assert sum(buckets.values()) == balance[currency]
            assert sum(v for b, v in buckets.items() if b != "current") == overdue.get(
                currency, Decimal(0)
            )

        # revenue by month, this year and last year
        revenue = figures.revenue_by_month(expected["invoices"], today)
        ytd = {m["currency"]: Decimal(m["amount"]) for m in overview["revenueYearToDate"]}
        for currency in {c for c, _, _ in revenue}:
            table = f"table[data-revenue-currency='{currency}']"
            this_year = Decimal(0)
            for month in range(1, 13):
                for year in (today.year - 1, today.year):
                    cell = page.get_attribute(
                        f"{table} tr[data-month='{month}'] td[data-year='{year}']", "data-amount"
                    )
                    want = revenue.get((currency, year, month), Decimal(0))
                    assert Decimal(cell) == want, (currency, year, month)
                    this_year += want if year == today.year else 0
            assert this_year == ytd[currency]

        # open orders with their totals, hours by project
        for order in expected["orders"]:
            total = page.get_attribute(
                f".kl-order[data-order='{order['key']}'] td[data-figure='orderTotal']",
                "data-amount",
            )
            assert total == order["total"]["amount"]
        for project in expected["projects"]:
            marker = " ".join(f"{k['system']}:{k['key']}" for k in project["keys"])
            shown = page.inner_text(f"tr[data-project='{marker}'] td[data-hours='total']")
            assert Decimal(shown.replace(",", "")) == Decimal(project["hours"]["total"])  # en-GB

        badges = page.eval_on_selector_all(
            ".kl-badge", "els => els.map(e => [e.dataset.system, e.dataset.state])"
        )
        assert sorted(badges) == [["crm", "live"], ["erp", "live"], ["timesheet", "live"]]
        assert seen.foreign_requests() == []
        assert not [m for m in seen.console if m.startswith("error")], seen.console
        seen.screenshot("customer-en")


def draft_line(rig: EmbedRig, erp_key: str) -> tuple[str, dict[str, Any]]:
    """A draft order of the customer and its first line, as the ERP's own API has them."""
    with rig.erp() as erp:
        orders = erp.get("/orders", params={"customer": erp_key, "status": "draft"}).json()
        for order in orders["items"]:
            lines = erp.get("/order-lines", params={"order": order["number"]}).json()["items"]
            if lines:
                return order["number"], lines[0]
    raise AssertionError("no draft order with lines")


def erp_order_total(rig: EmbedRig, number: str) -> str:
    """The order's total as the ERP's own API has it."""
    with rig.erp() as erp:
        total: str = erp.get("/orders", params={"ids": number}).json()["items"][0]["total"]
    return total


def open_editor(page: Any, number: str, line_key: str) -> Any:
    """Open the line's editor with the keyboard (focus its Edit button, press Enter)."""
    button = page.locator(f"table[data-order='{number}'] tr[data-line='{line_key}'] button")
    button.focus()
    page.keyboard.press("Enter")
    form = page.locator(f"form.kl-editor[data-line='{line_key}']")
    form.wait_for()
    return form


def test_an_edited_line_shows_the_erps_new_total(
    browser: Any, rig: EmbedRig, customer: Any
) -> None:
    crm_key, erp_key = customer
    number, line = draft_line(rig, erp_key)
    before = erp_order_total(rig, number)
    new_quantity = str(Decimal(line["quantity"]) + 3)
    token = rig.mint(crm_key)
    with visit(browser, rig, embed_url(rig, "customer", "crm", crm_key, "en", token)) as seen:
        page = seen.page
        form = open_editor(page, number, str(line["id"]))
        quantity = form.get_by_label("Quantity")  # labelled for screen readers
        assert quantity.evaluate("e => e === document.activeElement")
        quantity.fill(new_quantity)
        quantity.press("Enter")  # the keyboard submits
        answer = form.locator(".kl-answer")
        page.wait_for_selector(
            f"form[data-line='{line['id']}'] .kl-answer:not([data-outcome='saving'])[data-outcome]"
        )
        assert answer.get_attribute("data-outcome") == "OrderLineSaved", answer.inner_text()
        assert answer.get_attribute("aria-live") == "polite"
        after = erp_order_total(rig, number)
        assert Decimal(after) > Decimal(before)
        assert answer.get_attribute("data-total") == after
        shown = page.get_attribute(
            f".kl-order[data-order='{number}'] td[data-figure='orderTotal']", "data-amount"
        )
        assert shown == after
        with rig.erp() as erp:
            saved = erp.get("/order-lines", params={"ids": line["id"]}).json()["items"][0]
        assert Decimal(saved["quantity"]) == Decimal(new_quantity)
        row = f"table[data-order='{number}'] tr[data-line='{line['id']}']"
        assert Decimal(page.get_attribute(f"{row} td[data-field='quantity']", "data-value")) == (
            Decimal(new_quantity)
        )
        assert seen.foreign_requests() == []
        seen.screenshot("customer-edit-saved")


def test_a_conflict_shows_the_line_as_the_erp_has_it(
    browser: Any, rig: EmbedRig, customer: Any
) -> None:
    crm_key, erp_key = customer
    number, line = draft_line(rig, erp_key)
    token = rig.mint(crm_key)
    with visit(browser, rig, embed_url(rig, "customer", "crm", crm_key, "en", token)) as seen:
        page = seen.page
        # someone changes the line in the ERP itself after the page loaded it
        theirs = str(Decimal(line["quantity"]) + 7)
        with rig.erp() as erp:
            changed = erp.patch(
                f"/order-lines/{line['id']}",
                json={"expected_version": line["version"], "quantity": theirs},
            )
        assert changed.status_code == 200, changed.text
        form = open_editor(page, number, str(line["id"]))
        form.get_by_label("Discount %").fill("11")
        form.get_by_role("button", name="Save").click()
        page.wait_for_selector(
            f"form[data-line='{line['id']}'] .kl-answer:not([data-outcome='saving'])[data-outcome]"
        )
        message = form.locator(".kl-answer").inner_text()
        assert form.locator(".kl-answer").get_attribute("data-outcome") == "VersionConflict", (
            message
        )
        assert "changed this line" in message
        assert figures.digits(theirs) in figures.digits(message)  # the current quantity
        row = f"table[data-order='{number}'] tr[data-line='{line['id']}']"
        assert Decimal(page.get_attribute(f"{row} td[data-field='quantity']", "data-value")) == (
            Decimal(theirs)
        )
        assert page.get_attribute(row, "data-version") == str(line["version"] + 1)
        with rig.erp() as erp:
            now = erp.get("/order-lines", params={"ids": line["id"]}).json()["items"][0]
        assert Decimal(now["quantity"]) == Decimal(theirs)  # nothing of ours was written
        assert Decimal(now["discount_percent"]) == Decimal(line["discount_percent"])
        seen.screenshot("customer-edit-conflict")


def test_with_the_timesheet_down_erp_and_crm_parts_still_show(
    browser: Any, rig: EmbedRig, customer: Any
) -> None:
    crm_key, _ = customer
    token = rig.mint(crm_key)
    rig.upstreams.stop("timesheet")
    with visit(browser, rig, embed_url(rig, "customer", "crm", crm_key, "en", token)) as seen:
        page = seen.page
        badges = dict(
            page.eval_on_selector_all(
                ".kl-badge", "els => els.map(e => [e.dataset.system, e.dataset.state])"
            )
        )
        assert badges == {"crm": "live", "erp": "live", "timesheet": "unavailable"}
        assert page.inner_text("h1")  # the CRM account's name
        assert page.locator("dd[data-figure='openBalance'] .kl-money").count() >= 1
        assert page.get_attribute("dd[data-figure='hoursThisMonth']", "data-missing") == "true"
        assert page.locator("#kl-hours [data-unavailable='timesheet']").is_visible()
        assert page.locator("table.kl-lines").count() >= 1  # the ERP's orders
        seen.screenshot("customer-timesheet-down")


def test_the_project_page_shows_its_hours(browser: Any, rig: EmbedRig, customer: Any) -> None:
    erp_key = next(
        link.keys["erp"][0]
        for link in demo_links(rig.upstreams.dataset)
        if link.kind == "project" and {"erp", "timesheet"} <= set(link.keys)
    )
    project_token = rig.mint(erp_key, kind="project", system="erp")
    hours = rig.graphql(
        project_token,
        'query($k: String!) { project(system: "erp", key: $k) { hours { total } } }',
        {"k": erp_key},
    ).json()["data"]["project"]["hours"]
    url = embed_url(rig, "project", "erp", erp_key, "de", project_token)
    with visit(browser, rig, url) as seen:
        page = seen.page
        text = page.inner_text("#kl-hours [data-hours='total']")
        total = Decimal(hours["total"])
        assert figures.digits(text).startswith(figures.digits(f"{total.normalize():f}"))
        assert page.locator(".kl-badge[data-system='erp'][data-state='live']").count() == 1
        assert seen.foreign_requests() == []
        seen.screenshot("project-de")
