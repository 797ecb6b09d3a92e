"""Onboarding parties made in Tryton through its own rules (proteus, in-process).

Run by ``tests/tryton/test_onboarding.py`` with the Tryton venv's python on a private copy
of the seeded database while trytond is stopped. It does not import Keylink. It reads the
companies to create from ``onboarding-parties.json`` beside the trytond config (code,
name, VAT or organisation number, postcode, city, e-mail), creates each as a party with
its identifier, address and e-mail, then one duplicate of the first party that Tryton's
Replace wizard merges into it (the duplicate is left inactive with ``replaced_by``), and
prints a JSON summary.

    python tryton_parties.py --config trytond.conf --database keylink
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from proteus import Model, Wizard

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demo" / "tryton"))
import proteus_kit as kit


def make(company: dict[str, Any]) -> Any:
    """One party with an identifier, an address and an e-mail address, saved."""
    party = Model.get("party.party")(name=company["name"], code=company["code"])
    if company.get("vat"):
        identifier = party.identifiers.new()
        identifier.code = company["vat"]
    address = party.addresses[0] if party.addresses else party.addresses.new()
    address.postal_code = company.get("postcode")
    address.city = company.get("city")
    if company.get("email"):
        mechanism = party.contact_mechanisms.new()
        mechanism.type = "email"
        mechanism.value = company["email"]
    party.save()
    return party


def main() -> None:
    """Create the parties and the merged duplicate; print what was made."""
    args = kit.parse_args(__doc__)
    kit.connect(args.config, args.database)
    wanted = json.loads((Path(args.config).parent / "onboarding-parties.json").read_text())
    made = [make(company) for company in wanted]
    first = wanted[0]
    duplicate = make({**first, "code": f"DUP-{first['code']}"})
    replace = Wizard("party.replace")
    replace.form.source = duplicate
    replace.form.destination = made[0]
    replace.execute("replace")
    kit.print_json(
        {"parties": len(made), "merged": {"source": duplicate.code, "into": made[0].code}}
    )


if __name__ == "__main__":
    main()
