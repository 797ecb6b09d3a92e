"""The browse parts of REST and SQL specs, as the README shows them, load; a browse SELECT
that could take anything but its position, size and search is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from demo import specs
from sources.rest.spec import RestSpec
from sources.sql.spec import SqlSpec

README_REST = """\
browse_customers:
  path: /customers
  fields: {key: number, name: name, vat: vat_id, country: country}
"""
"""The README's REST snippet: an operation added to the demo ERP's spec."""

README_SQL = """\
operations:
  customers:
    select: SELECT no AS number, name, cur FROM customer WHERE no IN :keys
    fields: {key: number, name: name, currency: cur}
browse:
  customer:
    select: |
      SELECT c.no AS number, c.name AS name, c.vat AS vat, c.zip AS zip, c.city AS city,
             substr(c.email, instr(c.email, '@') + 1) AS domain
      FROM customer c
      WHERE (:after IS NULL OR c.no > :after)
        AND (:search IS NULL OR lower(c.name) LIKE :search OR c.no LIKE :search)
      ORDER BY c.no LIMIT :limit
    fields: {key: number, name: name, vat: vat, postcode: zip, city: city,
             email_domain: domain}
"""
"""The README's SQL snippet: a whole spec with a browse SELECT."""


def test_the_readme_rest_snippet_extends_the_demo_spec() -> None:
    erp = Path(specs.__file__).parent / "erp.yaml"
    raw = yaml.safe_load(erp.read_text(encoding="utf-8"))
    raw["operations"].update(yaml.safe_load(README_REST))
    loaded = RestSpec.model_validate(raw)
    assert "browse_customers" in loaded.operations


def test_the_readme_sql_snippet_loads() -> None:
    loaded = SqlSpec.model_validate(yaml.safe_load(README_SQL))
    assert loaded.browse["customer"].takes_search()


@pytest.mark.parametrize(
    ("select", "problem"),
    [
        ("SELECT no, name FROM c WHERE no > :after", ":after and :limit"),
        ("SELECT no, name FROM c WHERE no > :after AND x = :other LIMIT :limit", ":after"),
        ("DELETE FROM c WHERE no > :after AND :limit", "SELECT"),
    ],
)
def test_a_browse_select_takes_only_its_own_parameters(select: str, problem: str) -> None:
    raw = yaml.safe_load(README_SQL)
    raw["browse"]["customer"]["select"] = select
    with pytest.raises(ValidationError, match=problem):
        SqlSpec.model_validate(raw)


def test_a_browse_for_an_unknown_kind_lists_the_valid_ones() -> None:
    raw = yaml.safe_load(README_SQL)
    raw["browse"]["invoice"] = raw["browse"].pop("customer")
    with pytest.raises(ValidationError, match="valid kinds"):
        SqlSpec.model_validate(raw)
