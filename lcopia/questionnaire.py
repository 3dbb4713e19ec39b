"""Vendor questionnaires out and back: the questions only a vendor can answer.

``build_questionnaires`` writes one workbook per vendor listing the controls that apply to
its systems (and to flows held in them) and are not yet answered ``implemented``, each put
as a plain question (``policy/vendor_questions.yaml``) with the policy clause or statute
behind it, a drop-down answer, and room for evidence. Nothing in it names another vendor or
holds patron data.

``import_questionnaires`` reads returned workbooks, including carelessly edited ones (extra
or moved columns, merged cells, free text in the answer column), maps answers to control
statuses, and writes them into ``inventory/answers.csv`` only when every workbook is
readable, no newer answer would be overwritten (unless forced) and the result validates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from lcopia.errors import LcopiaError, Problem
from lcopia.fsio import FileProblem, read_yaml, write_atomic
from lcopia.load import load, parse_date
from lcopia.models import Answer, Bundle, Control
from lcopia.project import DataDir
from lcopia.scoring import assess
from lcopia.workbook import (
    _csv_rows,
    _set_text,
    _sheet_rows,
    _validate_staged,
    open_workbook,
)

QUESTIONS_FILE = "vendor_questions.yaml"
ANSWERS = {"yes": "implemented", "partly": "partial", "no": "not_implemented",
           "don't know": "unknown", "not applicable": "not_applicable"}
CHOICES = ("yes", "partly", "no", "don't know", "not applicable")
# Free text a vendor types instead of choosing: its first words decide, or it is a problem.
_WORDS = (
    (re.compile(r"^(n/a|na|not applicable|does not apply)\b"), "not applicable"),
    (re.compile(r"^(don'?t know|do not know|unknown|unsure|not sure|\?|tbd)"), "don't know"),
    (re.compile(r"^(yes|y|yep|correct|true|implemented|in place)\b"), "yes"),
    (re.compile(r"^(partly|partially|partial|in part|some)\b"), "partly"),
    (re.compile(r"^(no|n|not implemented|false|none)\b"), "no"),
)
SHEET = "Questions"
COVER = "Cover"
KEYS = "Keys"
_HEADERS = ("No.", "System", "Question", "Why we ask", "Answer", "Evidence", "Comment")
_WRAP = Alignment(wrap_text=True, vertical="top")


class QuestionnaireError(LcopiaError):
    """A questionnaire could not be built or read; nothing was written."""


@dataclass(frozen=True)
class Question:
    number: int
    control_id: str
    scope: str
    target_id: str
    system: str
    text: str
    why: str


@dataclass
class Sent:
    vendor: str
    path: Path
    questions: int


@dataclass
class AnswerChange:
    key: tuple[str, str, str]
    old_status: str | None
    new_status: str
    workbook: str


@dataclass
class ImportReport:
    changes: list[AnswerChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    written: bool = False
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- questions


def vendor_questions(project: DataDir, bundle: Bundle) -> dict[str, str]:
    """Control id → the question put to a vendor; validated against the controls."""
    rel = f"policy/{QUESTIONS_FILE}"
    try:
        raw = read_yaml(project.policy / QUESTIONS_FILE, rel,
                        missing="file is missing; copy it from lcopia's starter policy pack "
                        "(lcopia init) to say which controls a vendor answers")
    except FileProblem as exc:
        raise QuestionnaireError(str(exc)) from None
    questions = raw.get("questions")
    controls = {c.id: c for c in bundle.policy.controls}
    if not isinstance(questions, dict):
        raise QuestionnaireError(f"{rel}; needs a 'questions:' mapping of control id to text")
    for cid, text in questions.items():
        control = controls.get(cid)
        if control is None or control.derived_from or control.applies_to == "library"\
                or not isinstance(text, str) or not text.strip():
            why = ("names no control in policy/controls.yaml" if control is None else
                   "is computed from the inventory, not answered" if control.derived_from else
                   "is about the library, not a vendor" if control.applies_to == "library"
                   else "needs the question as text")
            raise QuestionnaireError(f"{rel}, field 'questions.{cid}'; {why}")
    return {str(k): " ".join(str(v).split()) for k, v in questions.items()}


def _why(control: Control, bundle: Bundle) -> str:
    statutes = {s.id: s for s in bundle.policy.statutes}
    clauses = {c.id: c for c in bundle.policy.clauses}
    parts = [f"Our policy, {clauses[c].heading}" for c in control.clauses if c in clauses]
    parts += [statutes[s].citation for s in control.statutes if s in statutes]
    return "; ".join(parts)


def questions_by_vendor(project: DataDir, bundle: Bundle, as_of: dt.date,
                        systems: list[str] | None = None) -> dict[str, list[Question]]:
    """Vendor → the questions still open for its systems, numbered in a stable order."""
    asked = vendor_questions(project, bundle)
    controls = {c.id: c for c in bundle.policy.controls}
    inv = bundle.inventory
    by_id = {s.system_id: s for s in inv.systems}
    unknown = sorted(set(systems or []) - set(by_id))
    if unknown:
        raise QuestionnaireError(f"no system {', '.join(repr(u) for u in unknown)} in "
                                 f"inventory/systems.csv; choose from {', '.join(sorted(by_id))}")
    flow_system = {f.flow_id: f.system_id for f in inv.flows}
    answers = {(a.control_id, a.scope, a.target_id): a.status for a in inv.answers}
    order = {c.id: i for i, c in enumerate(bundle.policy.controls)}
    found: dict[str, list[tuple[Any, ...]]] = {}
    for r in assess(bundle, as_of).controls:
        if r.control_id not in asked or answers.get(
                (r.control_id, r.scope, r.target_id)) in ("implemented", "not_applicable"):
            continue
        sid = r.target_id if r.scope == "system" else flow_system.get(r.target_id)
        system = by_id.get(sid or "")
        if system is None or not system.external or (systems and sid not in systems):
            continue
        if not system.contract_ref:
            # no contract on file: a questionnaire binds nobody; the register asks the
            # library to contract the vendor or stop using it (rubric W1, G6)
            continue
        found.setdefault(system.vendor, []).append(
            (order[r.control_id], sid, r.scope, r.target_id, r.control_id, system.name))
    out: dict[str, list[Question]] = {}
    for vendor, rows in sorted(found.items()):
        qs = []
        for n, (_, _, scope, target, cid, name) in enumerate(sorted(rows), start=1):
            about = name
            if scope == "flow":
                flow = next(f for f in inv.flows if f.flow_id == target)
                about = f"{name}: {flow.purpose}"
            qs.append(Question(n, cid, scope, target, about, asked[cid],
                               _why(controls[cid], bundle)))
        out[vendor] = qs
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "vendor"


def build_questionnaires(data_dir: Path | str | DataDir, out: Path, *, as_of: dt.date,
                         due: dt.date, systems: list[str] | None = None) -> list[Sent]:
    """One workbook per vendor in ``out``; returns what was written."""
    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    bundle = load(project, as_of=as_of)
    sent = []
    for vendor, questions in questions_by_vendor(project, bundle, as_of, systems).items():
        path = out / f"questionnaire-{_slug(vendor)}.xlsx"
        buf = io.BytesIO()
        _workbook(bundle, vendor, questions, as_of, due).save(buf)
        write_atomic(path, buf.getvalue())
        sent.append(Sent(vendor, path, len(questions)))
    return sent


def _workbook(bundle: Bundle, vendor: str, questions: list[Question], as_of: dt.date,
              due: dt.date) -> Workbook:
    lib, policy = bundle.inventory.library, bundle.policy
    approved = f"{policy.approved:%B} {policy.approved.day}, {policy.approved.year}"
    wb = Workbook()
    cover = wb.active
    cover.title = COVER
    cover.column_dimensions["A"].width = 26
    cover.column_dimensions["B"].width = 90
    rows = [
        ("Privacy questionnaire", ""),
        ("For", vendor),
        ("From", f"{lib.name}, {lib.privacy_officer}"),
        ("Sent", as_of.isoformat()),
        ("Please return by", due.isoformat()),
        ("Why we ask", f"Our policy, {policy.title} (approved {approved}), "
                       "binds every vendor that holds our patrons' records to keep them "
                       "confidential, and Missouri law (RSMo 182.817) forbids releasing them "
                       "except on the patron's written request or a court order with the "
                       "findings the statute requires. Your answers tell us how our patrons' "
                       "records are protected in your service."),
        ("How to answer", f"On the '{SHEET}' sheet, choose an answer for each question (yes, "
                          "partly, no, don't know, not applicable) and name the document, web "
                          "address or date that shows it under Evidence. Please do not "
                          "delete rows or the No. column."),
        ("Your name", ""), ("Your role", ""), ("Your e-mail", ""), ("Date completed", ""),
    ]
    for i, (k, v) in enumerate(rows, start=1):
        cover.cell(row=i, column=1, value=k).font = Font(bold=True)
        cell = cover.cell(row=i, column=2)
        _set_text(cell, v)
        cell.alignment = _WRAP
    cover["A1"].font = Font(bold=True, size=14)
    ws = wb.create_sheet(SHEET)
    widths = (6, 30, 70, 40, 16, 40, 40)
    for j, (name, width) in enumerate(zip(_HEADERS, widths, strict=True), start=1):
        cell = ws.cell(row=1, column=j, value=name)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
        ws.column_dimensions[get_column_letter(j)].width = width
    for i, q in enumerate(questions, start=2):
        for j, value in enumerate((str(q.number), q.system, q.text, q.why, "", "", ""),
                                  start=1):
            cell = ws.cell(row=i, column=j)
            _set_text(cell, value)
            cell.alignment = _WRAP
    dv = DataValidation(type="list", formula1='"' + ",".join(CHOICES) + '"', allow_blank=True,
                        errorStyle="warning", errorTitle="Please choose from the list",
                        error="Choose yes, partly, no, don't know or not applicable.")
    dv.add(f"E2:E{len(questions) + 1}")
    ws.add_data_validation(dv)
    ws.freeze_panes = "C2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    keys = wb.create_sheet(KEYS)
    keys.append(["No.", "control_id", "scope", "target_id"])
    for q in questions:
        keys.append([str(q.number), q.control_id, q.scope, q.target_id])
    keys.sheet_state = "hidden"
    return wb


# ----------------------------------------------------------------------------- import


def parse_answer(text: str) -> str | None:
    """A returned answer as one of ``CHOICES``; None when blank; raises ValueError when it is
    words that say none of them."""
    low = " ".join(text.strip().lower().replace("’", "'").split())
    if not low:
        return None
    if low in CHOICES:
        return low
    for pattern, choice in _WORDS:
        if pattern.match(low):
            return choice
    raise ValueError(low)


def _find(header: list[str], *words: str) -> int | None:
    for j, h in enumerate(header):
        if any(w in h.lower() for w in words):
            return j
    return None


def _returned(path: Path) -> tuple[list[dict[str, Any]], dt.date | None, list[Problem]]:
    shown = path.name
    wb = open_workbook(path, "a questionnaire")
    if SHEET not in wb.sheetnames or KEYS not in wb.sheetnames:
        raise QuestionnaireError(f"{shown}: is not a questionnaire made by lcopia (no "
                                 f"'{SHEET}' or '{KEYS}' sheet)")
    keys = {r[0]: tuple(r[1:4]) for r in _sheet_rows(wb[KEYS])[1:] if len(r) >= 4}
    done = None
    for row in _sheet_rows(wb[COVER]):
        if row and row[0].lower().startswith("date completed") and len(row) > 1 and row[1]:
            done = parse_date(row[1])
    rows = _sheet_rows(wb[SHEET])
    problems: list[Problem] = []
    where = f"{shown}, sheet {SHEET}"
    if not rows:
        return [], done, [Problem(where, None, "is empty; the questions are missing")]
    header = rows[0]
    col_no, col_answer = _find(header, "no."), _find(header, "answer")
    col_ev, col_comment = _find(header, "evidence"), _find(header, "comment")
    if col_no is None or col_answer is None:
        missing = "No." if col_no is None else "Answer"
        return [], done, [Problem(where, missing, "column is missing; put back the column "
                                  "headed " + repr(missing) + " (a fresh questionnaire shows it)",
                                  row=1)]
    out = []
    for i, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        number = cells[col_no]
        if not number and not cells[col_answer]:
            continue
        key = keys.get(number)
        if key is None:
            problems.append(Problem(where, "No.", "names no question of this questionnaire; "
                                    "keep the numbers as they were sent", row=i, value=number))
            continue
        try:
            choice = parse_answer(cells[col_answer])
        except ValueError:
            problems.append(Problem(where, "Answer", "is not one of: " + ", ".join(CHOICES) +
                                    "; choose one from the list (put any explanation under "
                                    "Comment)", row=i, value=cells[col_answer][:80]))
            continue
        if choice is None:
            continue
        out.append({"key": key, "status": ANSWERS[choice],
                    "evidence": cells[col_ev] if col_ev is not None else "",
                    "comment": cells[col_comment] if col_comment is not None else ""})
    return out, done, problems


def import_questionnaires(paths: list[Path], data_dir: Path | str | DataDir, *,
                          as_of: dt.date, force: bool = False) -> ImportReport:
    """Record returned answers in answers.csv; all workbooks or nothing."""
    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    bundle = load(project, as_of=as_of)
    existing = {(a.control_id, a.scope, a.target_id): a for a in bundle.inventory.answers}
    report = ImportReport()
    problems: list[Problem] = []
    updates: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in paths:
        answers, done, found = _returned(path)
        problems += found
        when = done or as_of
        if when > as_of:
            problems.append(Problem(f"{path.name}, sheet {COVER}", "Date completed",
                                    f"is after today ({as_of.isoformat()}); check the year",
                                    value=when.isoformat()))
            continue
        for a in answers:
            key = a["key"]
            old = existing.get(key)
            if newer_answer(old, when) and not force:
                report.skipped.append(
                    f"{path.name}: {key[0]} for {key[2]} was answered on "
                    f"{old.review_date.isoformat()}, after this questionnaire "
                    f"({when.isoformat()}); kept the newer answer (--force replaces it)")
                continue
            label = f"Vendor questionnaire {when.isoformat()}"
            evidence = f"{label}: {a['evidence']}" if a["evidence"] else label
            updates[key] = {"status": a["status"], "evidence": evidence,
                            "review_date": when.isoformat(), "comment": a["comment"],
                            "owner": old.owner if old and old.owner else "Privacy Officer"}
            report.changes.append(AnswerChange(key, old.status if old else None, a["status"],
                                               path.name))
    if problems:
        raise QuestionnaireError("\n".join(
            [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the returned "
             "questionnaires; nothing was recorded:"] + [f"  - {p}" for p in problems]))
    if not updates:
        return report
    text, report.warnings = stage_answers(project, updates, as_of)
    write_atomic(project.inventory / "answers.csv", text)
    report.written = True
    return report


def newer_answer(old: Answer | None, when: dt.date) -> bool:
    """Whether the recorded answer is dated after ``when``: an import keeps it unless forced."""
    return old is not None and old.review_date is not None and old.review_date > when


def stage_answers(project: DataDir, updates: dict[tuple[str, str, str], dict[str, Any]],
                  as_of: dt.date) -> tuple[str, list[str]]:
    """answers.csv as it would be written with ``updates``, and the loader's warnings; raises
    the loader's InventoryError (nothing written) when the result would not validate. Shared
    by every import that records answers (questionnaires, the action plan)."""
    text = _answers_text(project, updates)
    staged = {t: (project.inventory / t).read_text(encoding="utf-8")
              for t in ("systems.csv", "flows.csv", "disclosures.csv")}
    staged["answers.csv"] = text
    return text, _validate_staged(project, staged, "answers.csv as it would be written", as_of)


def _answers_text(project: DataDir, updates: dict[tuple[str, str, str], dict[str, Any]]
                  ) -> str:
    """answers.csv with the updated rows changed in place and new ones appended; every other
    row byte for byte as it was."""
    header, rows, _ = _csv_rows(project.inventory / "answers.csv", "inventory/answers.csv")
    col = {n: i for i, n in enumerate(header)}
    seen = set()
    out = []
    for r in rows:
        cells = r + [""] * (len(header) - len(r))
        key = tuple(cells[col[k]] for k in ("control_id", "scope", "target_id"))
        if key in updates:
            for name, value in updates[key].items():
                if name in col:
                    cells[col[name]] = value
            seen.add(key)
        out.append(cells)
    for key, values in sorted(updates.items()):
        if key in seen:
            continue
        cells = [""] * len(header)
        for name, value in zip(("control_id", "scope", "target_id"), key, strict=True):
            cells[col[name]] = value
        for name, value in values.items():
            if name in col:
                cells[col[name]] = value
        out.append(cells)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(out)
    return buf.getvalue()
