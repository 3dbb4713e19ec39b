"""Files for people who work in spreadsheets: findings CSV/JSON, the action plan, vendor list.

Formula injection is neutralized in every text cell, and the xlsx is written with fixed
timestamps so the same assessment gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lcopia.models import Bundle, Finding
from lcopia.progress import KEYS_SHEET, plan_keys, staff_actions
from lcopia.progress import STATUSES as PROGRESS_STATUSES
from lcopia.report.changes import _snapshot
from lcopia.report.common import _findings_sorted, fmt_date, read_template, render_template
from lcopia.report.language import plain
from lcopia.report.patron import PATRON_TEXT, fecha
from lcopia.report.plan import action_groups

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- exports

FINDING_COLUMNS = [
    "id", "kind", "band", "risk", "hard_gate", "gate_rule", "control_id", "system_id",
    "flow_id", "title", "subject", "clauses", "statutes", "evidence", "recommendation",
    "ala_priority", "owner", "due", "risk_id"]
ACTION_COLUMNS = [
    ("Rank", 7), ("Finding ids", 24), ("Control", 11), ("Subject", 30), ("Action", 50),
    ("Owner", 20), ("Due date", 12), ("Residual risk", 10), ("Band", 11),
    ("Risk after action", 10), ("ALA priority", 9)]


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cells(model: Any, columns: list[str]) -> list[Any]:
    """One spreadsheet row of a result model: lists joined, yes/no words, formulas defused."""
    d = model.model_dump(mode="json")
    out = []
    for col in columns:
        v = d.get(col)
        if isinstance(v, list):
            v = "; ".join(str(x) for x in v)
        elif isinstance(v, bool):
            v = "yes" if v else "no"
        elif v is None:
            v = ""
        out.append(neutralise(v))
    return out


def _finding_row(f: Finding) -> list[Any]:
    return _cells(f, FINDING_COLUMNS)


def _write_rows_csv(models: list[Any], columns: list[str], path: Path) -> None:
    """CSV for Excel: a BOM and CRLF, so accents and line ends survive a double-click."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    w.writerows(_cells(m, columns) for m in models)
    path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")


def _write_csv(findings: list[Finding], path: Path) -> None:
    _write_rows_csv(findings, FINDING_COLUMNS, path)


STATUSES = list(PROGRESS_STATUSES)
PLAN_COLUMNS = [
    ("No.", 6), ("Action", 48), ("Applies to", 30), ("Owner", 18), ("Due", 12),
    ("Risk today", 8), ("Band today", 10), ("Risk after", 8), ("ALA priority", 9),
    ("Status", 13), ("Done date", 12), ("Notes", 30), ("Evidence", 30),
    ("Finding ids", 28)]


RISK_COLUMNS = [
    "rank", "id", "kind", "title", "harm", "residual_band", "residual_risk",
    "inherent_risk", "planned_risk", "planned_band", "gate_kind", "observed", "action",
    "owner", "due", "systems", "flows", "evidence", "control_results"]


def _write_risks_csv(results: Results, path: Path) -> None:
    """risk-register.csv: the Board's register, one row per risk, ids kept for staff."""
    _write_rows_csv(sorted(results.assessment.risks, key=lambda r: r.rank), RISK_COLUMNS, path)


def _write_xlsx(results: Results, path: Path) -> None:
    """action-plan.xlsx: the plan numbered as in the PDF, ready to be kept up to date.

    Sheet "Action plan" has one row per numbered action of the Board report, with Status
    (a drop-down), Done date, Notes and Evidence for staff to fill in, already holding what
    was recorded since the last run (``lcopia plan import``); actions staff added follow,
    unnumbered. It prints landscape, one page wide, header row on every page. "Action items"
    keeps every control-level action with the plan number it belongs to; "Findings" every
    finding; the hidden "Keys" sheet what each number stands for, so an import never relies
    on a number that changes between runs.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    a = results.assessment
    wb = Workbook()
    ws = wb.active
    ws.title = "Action plan"
    groups = action_groups(results, places=1000)
    plan_of = {rank: g["rank"] for g in groups for rank in g["item_ranks"]}
    rows: list[list[Any]] = []
    for g in groups:  # starting from the progress recorded since the last run
        p = g["progress"]
        rows.append([
            g["rank"], g["action"], g["where"], g["owner"], g["due_date"], g["now"],
            g["now_band"], g["after"], g["ala"], g["status"], p.done_date if p else None,
            p.notes if p else "", p.evidence if p else "", "; ".join(g["finding_ids"])])
    for p in staff_actions(results.progress):  # actions staff added: kept, unnumbered
        rows.append([None, p.action, "", "", None, None, "", None, "", p.status, p.done_date,
                     p.notes, p.evidence, ""])
    _fill_sheet(ws, [c for c, _ in PLAN_COLUMNS], [w for _, w in PLAN_COLUMNS], rows,
                Font, Alignment, get_column_letter)
    last = len(rows) + 201  # rows staff add later get the drop-down too
    status_col = get_column_letter(1 + [c for c, _ in PLAN_COLUMNS].index("Status"))
    done_col = get_column_letter(1 + [c for c, _ in PLAN_COLUMNS].index("Done date"))
    status = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"',
                            allow_blank=True, showDropDown=False)
    status.error, status.errorTitle = "Choose a status from the list.", "Status"
    status.add(f"{status_col}2:{status_col}{last}")
    done = DataValidation(type="date", operator="greaterThan", formula1="1",
                          allow_blank=True)
    done.error, done.errorTitle = "Enter the date the action was done.", "Done date"
    done.add(f"{done_col}2:{done_col}{last}")
    ws.add_data_validation(status)
    ws.add_data_validation(done)
    for n in range(2, len(rows) + 2):
        ws[f"{done_col}{n}"].number_format = "yyyy-mm-dd"
    _print_setup(ws, wb.properties, a.as_of)

    items = wb.create_sheet("Action items")
    irows: list[list[Any]] = [[
        plan_of.get(x.rank), x.rank, "; ".join(x.finding_ids), x.control_id or "", x.subject,
        x.action, x.owner, x.due, x.residual_risk, x.band, x.planned_risk,
        x.ala_priority or ""] for x in sorted(a.actions, key=lambda x: x.rank)]
    _fill_sheet(items, ["Plan no.", *[c for c, _ in ACTION_COLUMNS]],
                [7, *[w for _, w in ACTION_COLUMNS]], irows, Font, Alignment,
                get_column_letter)
    _print_setup(items, wb.properties, a.as_of)
    ws2 = wb.create_sheet("Findings")
    frows = [_finding_row(f) for f in _findings_sorted(a.findings)]
    risk_col, due_col = FINDING_COLUMNS.index("risk"), FINDING_COLUMNS.index("due")
    for r in frows:  # risk stays a number; due a date
        r[risk_col] = int(r[risk_col])
        r[due_col] = dt.date.fromisoformat(r[due_col]) if r[due_col] else None
    widths = [22, 14, 10, 7, 8, 16, 11, 14, 14, 40, 30, 16, 16, 50, 50, 8, 18, 12, 24]
    _fill_sheet(ws2, FINDING_COLUMNS, widths, frows, Font, Alignment, get_column_letter)
    _print_setup(ws2, wb.properties, a.as_of)
    # what each number stands for, for 'lcopia plan import' (hidden; prints like the rest)
    key_rows = plan_keys(results, groups)
    keys = wb.create_sheet(KEYS_SHEET)
    _fill_sheet(keys, key_rows[0], [7, 30, 50, 18, 40, 20, 12], key_rows[1:], Font,
                Alignment, get_column_letter)
    _print_setup(keys, wb.properties, a.as_of)
    keys.sheet_state = "hidden"
    stamp = dt.datetime.combine(a.as_of, dt.time())
    wb.properties.creator = "lcopia"
    wb.properties.title = f"Action plan {a.as_of.isoformat()}"
    wb.properties.created = stamp
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    _normalise_zip(tmp, path, a.as_of)
    tmp.unlink()


def _print_setup(ws: Any, props: Any, as_of: dt.date) -> None:
    """Landscape, one page wide, header row repeated, Letter paper, sheet name in footer."""
    del props
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True
    ws.oddFooter.left.text = f"&A · {fmt_date(as_of)}"
    ws.oddFooter.right.text = "Page &P of &N"


def _fill_sheet(ws: Any, header: list[str], widths: list[int], rows: list[list[Any]],
                font: Any, align: Any, letter: Any) -> None:
    ws.append(header)
    for cell in ws[1]:
        cell.font = font(bold=True)
        cell.alignment = align(vertical="top", wrap_text=True)
    for row in rows:
        ws.append([neutralise(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            elif isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cell.alignment = align(vertical="top", wrap_text=True)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[letter(i)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _normalise_zip(src: Path, dst: Path, when: dt.date) -> None:
    """Rewrite an xlsx with fixed timestamps so the same assessment gives the same bytes."""
    stamp = f"{when.isoformat()}T00:00:00Z".encode()
    with zipfile.ZipFile(src) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp,
                              data)
            zi = zipfile.ZipInfo(info.filename, date_time=(when.year, when.month, when.day,
                                                           0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            out.writestr(zi, data)


def vendor_rows(results: Results) -> list[dict[str, Any]]:
    """Contracted vendors that hold library records: what each receives, why, for how long.

    Only systems in the library's own inventory appear (vendors the library chose); third
    parties found on the website are listed apart, as what they are.
    """
    b = results.bundle
    names = {c.id: c.name for c in b.taxonomy.categories}
    order = {c.id: i for i, c in enumerate(b.taxonomy.categories)}
    flows: dict[str, list[Any]] = {}
    for f in b.inventory.flows:
        flows.setdefault(f.system_id, []).append(f)
    as_of = results.assessment.as_of
    rows = []
    for s in sorted(b.inventory.systems, key=lambda s: (s.vendor.lower(), s.service.lower())):
        if not (s.external and s.holds_library_records):
            continue
        url = s.privacy_policy_url.strip()
        scheme = urlsplit(url).scheme.lower() if url else ""
        reviewed = s.privacy_policy_reviewed
        mine = sorted(flows.get(s.system_id, []), key=lambda f: order.get(f.category, 99))
        kept = sorted({f.retention_days for f in mine if f.retention_days is not None})
        rows.append({
            "vendor": s.vendor, "service": s.service or s.name,
            "categories": list(dict.fromkeys(names.get(f.category, f.category) for f in mine)),
            "purposes": list(dict.fromkeys(f.purpose for f in mine if f.purpose)),
            "kept_days": kept, "kept_forever": any(f.retention_days is None for f in mine),
            "url": url, "linkable": scheme in {"http", "https"},
            "reviewed": fmt_date(reviewed, ""), "reviewed_date": reviewed,
            "overdue": reviewed is None or (as_of - reviewed).days > 365,
        })
    return rows


def _promise_clause(bundle: Bundle) -> str | None:
    for c in bundle.policy.clauses:
        if "list of the privacy policies" in c.text.lower():
            return c.text
    return None


def website_parties(results: Results) -> list[dict[str, Any]]:
    """Organizations the library's web pages send patrons' data to, from the register."""
    return [{"name": r.title.split(" receives ")[0], "title": plain(r.title),
             "band": r.residual_band}
            for r in sorted(results.assessment.risks, key=lambda r: r.rank)
            if r.kind == "web_tracker"]


def vendor_page(results: Results, lang: str = "en") -> str:
    """The patron page the policy promises: each contracted vendor, what it receives and why,
    how long it is kept, and what a patron can do; in English ("en") or Spanish ("es")."""
    a, b = results.assessment, results.bundle
    words = PATRON_TEXT[lang]
    rows = vendor_rows(results)
    if lang != "en":  # dates in the reader's language
        for row in rows:
            row["reviewed"] = fecha(row["reviewed_date"]) if row["reviewed_date"] else ""
    return render_template(
        "vendor-privacy-policies.html.j2", t=words, lang=lang,
        library=b.inventory.library.name, as_of=fmt_date(a.as_of) if lang == "en" else
        fecha(a.as_of), clause=_promise_clause(b), policy_title=b.policy.title,
        approved=fmt_date(b.policy.approved) if lang == "en" else fecha(b.policy.approved),
        contact=b.policy.contact, rows=rows, illustrative=a.illustrative,
        parties=website_parties(results), other="es" if lang == "en" else "en",
        css=read_template("vendor.css"))


def write_exports(results: Results, out_dir: str | Path) -> list[Path]:
    """findings.csv, findings.json, action-plan.xlsx and the vendor privacy-policy list."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    findings = _findings_sorted(results.assessment.findings)
    paths = [out / "findings.csv", out / "findings.json", out / "action-plan.xlsx",
             out / "vendor-privacy-policies.html", out / "risk-register.csv",
             out / "vendor-privacy-policies.es.html"]
    _write_csv(findings, paths[0])
    paths[1].write_text(json.dumps(_snapshot(results), indent=2, sort_keys=True,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    _write_xlsx(results, paths[2])
    paths[3].write_text(vendor_page(results), encoding="utf-8")
    _write_risks_csv(results, paths[4])
    paths[5].write_text(vendor_page(results, "es"), encoding="utf-8")
    return paths


