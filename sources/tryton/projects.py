"""Projects, their timesheet lines and, where Tryton's ``project_invoice`` is active, their
invoices and which of their hours are billed.

Billing follows what Tryton records. With ``project_invoice``, a project invoiced on
timesheet (invoice method ``timesheet``) bills its timesheet lines: such a line is
billable, and invoiced once Tryton has put it on an invoice line (its ``invoice_line``);
the hours of a project invoiced otherwise (manually, on effort or on progress) are not
billed by the hour, so they are not billable. Without the module Tryton keeps no billing
flags: every hour counts as billable and unbilled, and answers say so
(``keeps_billing_flags``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sources.errors import Unsupported
from sources.records import EntryQuery, Invoice, Project, ProjectStatus, TimeEntry, TimesheetProject
from sources.translate import log_unknown_code
from sources.tryton.common import Row, hours, ids_of, nested
from sources.tryton.invoices import INVOICE_FIELDS, InvoiceReads
from sources.tryton.modules import PROJECT_INVOICE

WORK_FIELDS = ["name", "party.code", "status.progress", "status.name", "timesheet_start_date"]
BILLING_WORK_FIELDS = ["project_invoice_method"]
ENTRY_FIELDS = ["date", "duration", "employee.rec_name", "work", "description"]
BILLED_BY_TIMESHEET = "timesheet"
NO_PROJECT_INVOICE = "project invoices need Tryton's project_invoice module, which is not active"


class ProjectReads(InvoiceReads):
    """Projects (``project.work`` of type project) by id and by customer, their hours and
    their invoices."""

    @property
    def keeps_billing_flags(self) -> bool:
        """Whether timesheet lines say if they are billable and invoiced: only once
        ``project_invoice`` is known to be active."""
        return PROJECT_INVOICE in (self.modules.known or ())

    async def _works(self, domain: list[Any], keys: Sequence[Any]) -> list[Row]:
        billing = await self.modules.has(PROJECT_INVOICE)
        fields = [*WORK_FIELDS, *BILLING_WORK_FIELDS] if billing else WORK_FIELDS

        async def read(batch: list[Any]) -> list[Row]:
            return await self.search_read(
                "project.work",
                [["type", "=", "project"], [*domain, batch]],
                fields,
                [["id", "ASC"]],
            )

        return await self._batched(keys, read)

    def _project(self, row: Row) -> Project:
        """A project; its phase (Tryton's work status) is CLOSED when done (progress 1),
        else OPEN, unless the system's ``project_phase`` table names the status."""
        progress = nested(row, "status", "progress")
        phase = nested(row, "status", "name")
        status = ProjectStatus.CLOSED if progress == 1 else ProjectStatus.OPEN
        override = self._phase_overrides.get(str(phase))
        if override is not None:
            status = ProjectStatus(override.value)
            if status is ProjectStatus.UNKNOWN:
                log_unknown_code(self.name, "project_phase", str(phase))
        return Project(
            key=str(row["id"]),
            customer_key=nested(row, "party", "code"),
            name=row["name"],
            budget=None,
            status=status,
            start_date=row.get("timesheet_start_date"),
            status_raw=None if phase is None else str(phase),
        )

    async def projects(self, keys: Sequence[str]) -> Mapping[str, Project]:
        """Projects by id."""
        rows = await self._works(["id", "in"], ids_of(keys))
        return {str(row["id"]): self._project(row) for row in rows}

    async def customer_projects(
        self, customer_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Project]]:
        """Projects by the party code of their customer."""
        rows = await self._works(["party.code", "in"], customer_keys)
        grouped: dict[str, list[Project]] = {key: [] for key in customer_keys}
        for row in rows:
            project = self._project(row)
            grouped.setdefault(project.customer_key or "", []).append(project)
        return grouped

    async def timesheet_projects(self, keys: Sequence[str]) -> Mapping[str, TimesheetProject]:
        """Projects by id, as the timesheet side sees them."""
        rows = await self._works(["id", "in"], ids_of(keys))
        return {
            str(row["id"]): TimesheetProject(
                key=str(row["id"]),
                client_key=str(nested(row, "party", "code") or ""),
                name=row["name"],
            )
            for row in rows
        }

    # --- the work tree ---------------------------------------------------------------

    async def _tree(self, roots: list[Row]) -> tuple[list[Row], dict[int, Row], dict[int, Row]]:
        """Every work under ``roots`` (tasks included), the root of each work id and the
        root of each timesheet work id."""
        by_id = {row["id"]: row for row in roots}
        works = await self._batched(
            list(by_id),
            lambda batch: self.search_read(
                "project.work", [["parent", "child_of", batch]], ["path", "timesheet_works"]
            ),
        )
        root_of_work: dict[int, Row] = {}
        root_of_timesheet: dict[int, Row] = {}
        for work in works:
            path = str(work.get("path") or "")
            root_ids = [int(part) for part in path.split("/") if part.isdigit()]
            root = next((by_id[i] for i in root_ids if i in by_id), None)
            if root is not None:
                root_of_work[int(work["id"])] = root
                for timesheet_work in work.get("timesheet_works") or []:
                    root_of_timesheet[timesheet_work] = root
        return works, root_of_work, root_of_timesheet

    # --- time entries ----------------------------------------------------------------

    async def _entries(self, roots: list[Row], query: EntryQuery) -> list[tuple[Row, TimeEntry]]:
        """Timesheet lines on ``roots`` (projects) and all their tasks, each with its root,
        billable and invoiced as Tryton records it (see the module docstring)."""
        if not roots:
            return []
        billing = await self.modules.has(PROJECT_INVOICE)
        if not billing and (query.billable is False or query.invoiced is True):
            # without project_invoice no line is invoiced, and every hour is billable
            return []
        _works, _root_of_work, root_of = await self._tree(roots)
        domain: list[Any] = []
        if query.date_from is not None:
            domain.append(["date", ">=", query.date_from])
        if query.date_to is not None:
            domain.append(["date", "<=", query.date_to])
        if billing and query.invoiced is not None:
            domain.append(["invoice_line", "!=" if query.invoiced else "=", None])
        fields = [*ENTRY_FIELDS, "invoice_line"] if billing else ENTRY_FIELDS
        lines = await self._batched(
            list(root_of),
            lambda batch: self.search_read(
                "timesheet.line",
                [["work", "in", batch], *domain],
                fields,
                [["date", "DESC"], ["id", "DESC"]],
            ),
        )
        found: list[tuple[Row, TimeEntry]] = []
        for line in lines:
            root = root_of[line["work"]]
            billable = not billing or root.get("project_invoice_method") == BILLED_BY_TIMESHEET
            if query.billable is not None and billable is not query.billable:
                continue
            found.append(
                (
                    root,
                    TimeEntry(
                        key=str(line["id"]),
                        client_key=str(nested(root, "party", "code") or ""),
                        project_key=str(root["id"]),
                        employee=str(nested(line, "employee", "rec_name") or ""),
                        date=line["date"],
                        hours=hours(line.get("duration")),
                        billable=billable,
                        invoiced=bool(line.get("invoice_line")),
                        description=line.get("description"),
                    ),
                )
            )
        return found

    async def time_entries(
        self, client_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Timesheet lines on the projects of each party code (tasks included)."""
        roots = await self._works(["party.code", "in"], client_keys)
        grouped: dict[str, list[TimeEntry]] = {key: [] for key in client_keys}
        for _root, entry in await self._entries(roots, query):
            grouped.setdefault(entry.client_key, []).append(entry)
        return grouped

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Timesheet lines on each project id (tasks included)."""
        roots = await self._works(["id", "in"], ids_of(project_keys))
        grouped: dict[str, list[TimeEntry]] = {key: [] for key in project_keys}
        for root, entry in await self._entries(roots, query):
            grouped.setdefault(str(root["id"]), []).append(entry)
        return grouped

    # --- invoices ----------------------------------------------------------------------

    async def project_invoices(
        self, project_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Invoice]]:
        """The invoices of each project (by id), as Tryton's "Invoices" of a project finds
        them: those holding an invoice line of the project or of a task under it, of one of
        their timesheet lines, or of an invoiced progress. Without ``project_invoice``:
        ``Unsupported`` (null with NOT_SUPPORTED, never an empty list)."""
        if not await self.modules.has(PROJECT_INVOICE):
            raise Unsupported(self.name, NO_PROJECT_INVOICE)
        grouped: dict[str, list[Invoice]] = {key: [] for key in project_keys}
        roots = await self._works(["id", "in"], ids_of(project_keys))
        if not roots:
            return grouped
        root_of_work, root_of_timesheet = (await self._tree(roots))[1:]
        invoiced: dict[int, set[int]] = {}  # invoice id -> root ids

        def add(invoice_line: Any, root: Row) -> None:
            invoice = invoice_line.get("invoice") if isinstance(invoice_line, Mapping) else None
            if invoice is not None:
                invoiced.setdefault(int(invoice), set()).add(int(root["id"]))

        work_rows = await self._batched(
            list(root_of_work),
            lambda batch: self.search_read(
                "project.work", [["id", "in", batch]], ["invoice_line.invoice"]
            ),
        )
        for work in work_rows:
            add(work.get("invoice_line."), root_of_work[int(work["id"])])
        lines = await self._batched(
            list(root_of_timesheet),
            lambda batch: self.search_read(
                "timesheet.line",
                [["work", "in", batch], ["invoice_line", "!=", None]],
                ["work", "invoice_line.invoice"],
            ),
        )
        for line in lines:
            add(line.get("invoice_line."), root_of_timesheet[int(line["work"])])
        progresses = await self._batched(
            list(root_of_work),
            lambda batch: self.search_read(
                "project.work.invoiced_progress",
                [["work", "in", batch]],
                ["work", "invoice_line.invoice"],
            ),
        )
        for progress in progresses:
            add(progress.get("invoice_line."), root_of_work[int(progress["work"])])
        rows = await self._batched(
            sorted(invoiced),
            lambda batch: self.search_read(
                "account.invoice",
                [["id", "in", batch]],
                INVOICE_FIELDS,
                [["invoice_date", "DESC"], ["id", "DESC"]],
            ),
        )
        for row in rows:
            for root_id in sorted(invoiced[int(row["id"])]):
                grouped.setdefault(str(root_id), []).append(self._invoice(row, str(root_id)))
        return grouped


__all__ = ["NO_PROJECT_INVOICE", "ProjectReads"]
