"""Small inventory rows for unit tests: a system and a flow with sensible defaults, and the
CSV helpers the tests and benchmarks use to read, edit and grow an inventory copy."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lcopia.models import Flow, System, YesNo


def rows(path: Path) -> list[list[str]]:
    """Every row of a UTF-8 CSV file, header first."""
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, table: list[list[str]], delimiter: str = ",",
               quoting: int = csv.QUOTE_MINIMAL) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n", quoting=quoting).writerows(table)
    path.write_text(buf.getvalue(), encoding="utf-8")


def grow(data: Path, systems: int) -> int:
    """Copy the sample's systems (each with its first flow) until there are ``systems``;
    return the number of flows."""
    inv = data / "inventory"
    s_rows, f_rows = rows(inv / "systems.csv"), rows(inv / "flows.csv")
    sid, fid = s_rows[0].index("system_id"), f_rows[0].index("flow_id")
    fsys = f_rows[0].index("system_id")
    first_flow: dict[str, list[str]] = {}
    for r in f_rows[1:]:
        first_flow.setdefault(r[fsys], r)
    templates = s_rows[1:]
    for i in range(systems - len(templates)):
        row = list(templates[i % len(templates)])
        flow = list(first_flow[row[sid]])
        row[sid] = flow[fsys] = f"branch-kiosk-{i:05d}"
        flow[fid] = f"FL-KIOSK-{i:05d}"
        s_rows.append(row)
        f_rows.append(flow)
    write_rows(inv / "systems.csv", s_rows)
    write_rows(inv / "flows.csv", f_rows)
    return len(f_rows) - 1


def system(sid: str = "stacks", **kw: object) -> System:
    fields = dict(system_id=sid, name=f"System {sid}", vendor=f"Vendor {sid}", service="Stacks",
                  kind="ils", external=False, holds_library_records=True,
                  contract_binds_policy=YesNo.yes, contract_binds_missouri_law=YesNo.yes,
                  uses=["service_delivery"], shares_with_third_parties=YesNo.no,
                  patron_accounts=False, owner="Circulation Manager")
    fields.update(kw)
    return System(**fields)


def flow(fid: str = "F1", system_id: str = "stacks", elements: tuple[str, ...] = ("zip",),
         **kw: object) -> Flow:
    fields = dict(flow_id=fid, system_id=system_id, category="circulation",
                  elements=list(elements), purpose="Lending", direction="store",
                  recipient="Library", transfer="local", storage="library server",
                  retention_days=30, retention_need_days=30, encrypted=YesNo.yes,
                  broad_access=YesNo.no, minors=False, patrons_affected=100,
                  is_library_record=True, rationale="Identifies borrowers.")
    fields.update(kw)
    return Flow(**fields)
