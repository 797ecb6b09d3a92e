"""The SAP-style OData test ERP (demo/sap, SAP CAP) for tests: the contract's business
facts as its seed, a ``cds serve`` on a free loopback port, and OData sources over it.

``CapServer`` runs ``demo/sap/setup.sh`` (the pinned CAP runtime into ``.cache/sap``, once
per lock file), copies the CDS project into a temp folder, writes the seed there as CSV
(CAP deploys ``db/data/*.csv`` into its in-memory SQLite at start) and serves it. The seed
holds the facts of ``tests.support.contract.BUSINESS_FACTS`` exactly as the demo ERP's
loader makes them (tests/support/contract_demo.py: tax 25 %, amount due = total - paid, a
processing order's invoice a draft), written as the SAP model keeps them: orders with
``OverallSDProcessStatus`` codes, billing documents typed F2/G2 with a posting status.
Without node or npm the tests skip (and fail under CI=true).
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from demo.records import DemoDataset
from sources.odata import OdataConfig, OdataSource
from tests.conftest import repo_root
from tests.support.contract import Seeded, TransportWrapper
from tests.support.contract_demo import business_facts
from tests.support.npm import unavailable

SAP = repo_root() / "demo" / "sap"
SPEC = SAP / "keylink-spec.yaml"
SERVICE = "/sap/opu/odata4/API_SALES_ORDER_SRV"
USER = "keylink"
PASSWORD = "keylink-sap"  # the test ERP's own mocked user (demo/sap/package.json)
PASSWORD_ENV = "KEYLINK_SAP_PASSWORD"
ORDER_CODES = {
    "draft": "D",
    "quoted": "Q",
    "confirmed": "A",
    "processing": "B",
    "invoiced": "C",
    "cancelled": "X",
}
"""The SAP model's OverallSDProcessStatus for the demo ERP's order states."""
TRANSLATIONS: dict[str, dict[str, str]] = {
    "order_status": {
        "A": "CONFIRMED",
        "B": "CONFIRMED",
        "C": "INVOICED",
        "D": "DRAFT",
        "Q": "QUOTED",
        "X": "CANCELLED",
    },
    "invoice_status": {
        "F2/A": "DRAFT",
        "F2/B": "OPEN",
        "F2/C": "PAID",
        "F2/X": "CANCELLED",
        "G2/A": "DRAFT",
        "G2/B": "OPEN",
        "G2/C": "PAID",
        "G2/X": "CANCELLED",
        "S1/B": "CANCELLED",
        "S1/C": "CANCELLED",
    },
}
"""The system's code tables (config, as in examples/odata-sap.yaml)."""
STAMP = "2025-01-01T00:00:00.000Z"


def _posting(status: str, amount_paid: Decimal, amount_due: Decimal) -> str:
    if status == "draft":
        return "A"
    if status == "cancelled":
        return "X"
    return "C" if amount_due == 0 and amount_paid else "B"


def sap_rows(dataset: DemoDataset) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """The facts as rows of the SAP model's tables (by CSV file stem), and each order
    line's key in it (by the demo line id)."""
    partners = [
        {
            "BusinessPartner": c.number,
            "BusinessPartnerFullName": c.name,
            "Currency": c.currency,
            "CreditLimitAmount": c.credit_limit,
            "Country": c.country,
            "TaxNumber1": c.vat_id,
            "CashDiscount1Percent": c.discount_percent,
            "PaymentTermsDays": c.payment_terms_days,
        }
        for c in dataset.customers.values()
    ]
    products = [
        {
            "Product": p.sku,
            "ProductDescription": p.name,
            "BaseUnit": p.unit,
            "NetPriceAmount": next(iter(p.prices.values())),
            "Currency": next(iter(p.prices)),
            "StockQuantity": p.on_hand,
        }
        for p in dataset.products.values()
    ]
    orders = [
        {
            "SalesOrder": o.number,
            "SoldToParty": o.customer,
            "SalesOrderDate": o.order_date,
            "OverallSDProcessStatus": ORDER_CODES[o.status],
            "TotalNetAmount": o.total_untaxed,
            "TotalTaxAmount": o.tax,
            "TotalGrossAmount": o.total,
            "TaxRatePercent": Decimal(25),  # the demo ERP's rule
            "TransactionCurrency": o.currency,
            "modifiedAt": STAMP,
        }
        for o in dataset.orders.values()
    ]
    keys: dict[str, str] = {}
    per_order: dict[str, int] = {}
    items = []
    for line in dataset.order_lines.values():
        per_order[line.order] = per_order.get(line.order, 0) + 10
        keys[line.id] = f"{line.order}-{per_order[line.order]:06d}"
        items.append(
            {
                "SalesOrderItem": keys[line.id],
                "SalesOrder": line.order,
                "Material": line.product,
                "SalesOrderItemText": line.description,
                "RequestedQuantity": line.quantity,
                "NetPriceAmount": line.unit_price,
                "DiscountPercent": line.discount_percent,
                "NetAmount": line.amount,
                "TransactionCurrency": line.currency,
                "RequestedDeliveryDate": line.delivery_date,
                "modifiedAt": STAMP,
            }
        )
    billing = [
        {
            "BillingDocument": i.number,
            "BillingDocumentType": "G2" if i.kind == "credit_note" else "F2",
            "AccountingPostingStatus": _posting(i.status, i.amount_paid, i.amount_due),
            "SoldToParty": i.customer,
            "SalesOrder": i.order,
            "BillingDocumentDate": i.issue_date,
            "NetDueDate": i.due_date,
            "TotalNetAmount": i.total_untaxed,
            "TotalTaxAmount": i.tax,
            "TotalGrossAmount": i.total,
            "OpenAmount": i.amount_due,
            "TransactionCurrency": i.currency,
        }
        for i in dataset.invoices.values()
    ]
    tables = {
        "sap.sd-BusinessPartners": partners,
        "sap.sd-Products": products,
        "sap.sd-SalesOrders": orders,
        "sap.sd-SalesOrderItems": items,
        "sap.sd-BillingDocuments": billing,
    }
    return tables, keys


def contract_seed(today: date) -> tuple[dict[str, list[dict[str, Any]]], Seeded]:
    """The contract's facts as SAP rows, and what was made (the lines by their SAP keys;
    no supplier, purchases or project: the model has none)."""
    dataset, made = business_facts(today)
    tables, keys = sap_rows(dataset)
    made = {
        **made,
        "draft_line": keys[made["draft_line"]],
        "locked_line": keys[made["locked_line"]],
        "discounted_line": {
            **made["discounted_line"],
            "key": keys[made["discounted_line"]["key"]],
        },
        # the SAP model keeps no suppliers, purchases or projects
        "supplier": None,
        "purchases": {},
        "project": None,
    }
    return tables, Seeded.from_json(made)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class CapServer:
    """The CDS project of demo/sap served from a private copy in ``workdir`` (its seed
    replaced by ``tables`` when given), on a free loopback port."""

    def __init__(self, workdir: Path, tables: dict[str, list[dict[str, Any]]] | None = None):
        self.workdir = workdir
        self.tables = tables
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The SAP-style service's root URL."""
        return self.root + SERVICE

    def start(self) -> None:
        """Install (once) and serve; returns when the service answers."""
        node = shutil.which("node")
        if node is None or shutil.which("npm") is None:
            unavailable("node and npm are needed to run SAP CAP", "the OData tests")
            raise AssertionError("unreachable")
        done = subprocess.run(
            ["bash", str(SAP / "setup.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"demo/sap/setup.sh failed:\n{done.stderr}"
        home = Path(os.environ.get("KEYLINK_SAP_HOME", repo_root() / ".cache" / "sap"))
        project = self.workdir / "sap"
        shutil.copytree(SAP, project, ignore=shutil.ignore_patterns("node_modules"))
        (project / "node_modules").symlink_to(home / "node_modules", target_is_directory=True)
        if self.tables is not None:
            for old in (project / "db" / "data").glob("*.csv"):
                old.unlink()
            for stem, rows in self.tables.items():
                if rows:
                    self._write_csv(project / "db" / "data" / f"{stem}.csv", rows)
        self.port = _free_port()
        log = (self.workdir / "cds.log").open("wb")
        self.process = subprocess.Popen(
            [
                node,
                str(home / "node_modules/@sap/cds/bin/serve.js"),
                "all",
                "--port",
                str(self.port),
            ],
            cwd=project,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NODE_ENV": "development", "CDS_HOST": "127.0.0.1"},
        )
        self._wait()

    @staticmethod
    def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(list(rows[0]))
            writer.writerows([[_cell(v) for v in row.values()] for row in rows])

    def _wait(self) -> None:
        deadline = time.monotonic() + 120  # a bound on start-up, not an assertion on speed
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"cds serve exited:\n{self.log()}")
            try:
                if httpx.get(self.url + "/", auth=(USER, PASSWORD), timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"cds serve did not answer:\n{self.log()}")

    def log(self) -> str:
        """What the server printed."""
        path = self.workdir / "cds.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the server (the one this object started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def odata_config(url: str, spec: Path = SPEC, **extra: Any) -> OdataConfig:
    """The ``systems:`` entry of an OData ERP at ``url`` (the password from the
    environment, as in production)."""
    os.environ.setdefault(PASSWORD_ENV, PASSWORD)
    return OdataConfig.model_validate(gateway_system(url, spec) | extra)


def odata_adapter(
    url: str, wrap: TransportWrapper | None = None, spec: Path = SPEC, name: str = "sap"
) -> OdataSource:
    """An OData source over the service at ``url``; ``wrap`` wraps its HTTP transport."""
    transport: httpx.AsyncBaseTransport | None = None
    if wrap is not None:
        transport = wrap(httpx.AsyncHTTPTransport())
    return OdataSource(name, odata_config(url, spec), transport)


def gateway_system(url: str, spec: Path = SPEC) -> dict[str, Any]:
    """The ``systems:`` entry of a Keylink reading the SAP-style service at ``url``."""
    os.environ.setdefault(PASSWORD_ENV, PASSWORD)
    return {
        "kind": "erp",
        "adapter": "odata",
        "url": url,
        "spec": str(spec),
        "auth": {"type": "basic", "username": USER, "password_env": PASSWORD_ENV},
        "translations": TRANSLATIONS,
    }


def is_write(request: httpx.Request) -> bool:
    """A write to the service: any PATCH, DELETE or POST but a preview action's."""
    if request.method not in ("PATCH", "DELETE", "POST"):
        return False
    return ".Preview" not in request.url.path
