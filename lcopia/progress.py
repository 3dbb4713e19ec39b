"""Action-plan progress between assessments: what staff record in ``action-plan.xlsx``.

Between Board meetings staff keep the action plan up to date: a status, the date an action
was done, notes and evidence. ``import_plan`` reads that workbook back (carelessly edited
ones too: moved or extra columns, merged cells, free text in the Status column). An action
marked done, with its date, records the controls it rests on as ``implemented`` in
``inventory/answers.csv`` (through the questionnaire import's own machinery: a diff, newer
answers kept unless forced, all or nothing). Every action's status, date, notes and evidence
are kept in ``inventory/plan_progress.csv``, keyed by the risks the action treats and its
wording (never its number, which changes from run to run), so the next run's plan starts
from what was recorded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from lcopia.errors import LcopiaError, Problem
from lcopia.fsio import FileProblem, decode_text, read_bytes_limited, write_atomic
from lcopia.load import canonical, parse_date
from lcopia.project import PLAN_PROGRESS_FILE, DataDir

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results

NOT_STARTED, IN_PROGRESS, DONE = "Not started", "In progress", "Done"
STATUSES = (NOT_STARTED, IN_PROGRESS, DONE, "Deferred", "Risk accepted")
# Free text typed instead of a choice: its first words decide, or it is a problem.
_STATUS_WORDS = (
    (re.compile(r"^(not started|not yet|not done|to ?do|open|new|pending|none)\b"),
     NOT_STARTED),
    (re.compile(r"^(done|complete|completed|finished|closed|fixed|resolved|implemented|"
                r"yes|x|✓|✔)(\W|$)"), DONE),
    (re.compile(r"^(in progress|in hand|started|under ?way|on-?going|ongoing|wip|working|"
                r"partly|partial)\b"), IN_PROGRESS),
    (re.compile(r"^(deferred|postponed|on hold|later|paused|delayed)\b"), "Deferred"),
    (re.compile(r"^(risk accepted|accepted|accept)\b"), "Risk accepted"),
)
PROGRESS_COLUMNS = ("risk_ids", "action", "status", "done_date", "notes", "evidence",
                    "plan_date", "recorded")
REL = f"inventory/{PLAN_PROGRESS_FILE}"
MAX_PROGRESS_BYTES = 5 * 1024 * 1024
MAX_TEXT = 2_000          # notes and evidence: a paragraph, not a document
PLAN_SHEET = "Action plan"
KEYS_SHEET = "Keys"
KEY_COLUMNS = ("No.", "risk_ids", "action", "owner", "answers", "facts", "plan_date")


class ProgressError(LcopiaError):
    """The action plan or the recorded progress could not be read; nothing was written."""


class ActionProgress(BaseModel):
    """What was recorded about one action, keyed by the risks it treats and its wording."""

    model_config = ConfigDict(extra="forbid")

    risk_ids: list[str]
    action: str
    status: str = NOT_STARTED
    done_date: dt.date | None = None
    notes: str = ""
    evidence: str = ""
    plan_date: dt.date | None = None   # the run whose workbook it was recorded in
    recorded: dt.date | None = None    # when it was imported

    @property
    def key(self) -> tuple[tuple[str, ...], str]:
        return action_key(self.risk_ids, self.action)

    @property
    def blank(self) -> bool:
        return (self.status == NOT_STARTED and self.done_date is None and not self.notes
                and not self.evidence)

    def same_as(self, other: ActionProgress | None) -> bool:
        """Equal in what staff record (status, date, notes, evidence)."""
        return other is not None and all(getattr(self, k) == getattr(other, k) for k in (
            "status", "done_date", "notes", "evidence"))


def action_key(risk_ids: list[str] | tuple[str, ...], action: str) -> tuple[tuple[str, ...], str]:
    """The stable key of an action: the risks it treats and its wording, spaces evened."""
    return tuple(sorted(set(risk_ids))), " ".join(action.split())


def parse_status(text: str) -> str:
    """A Status cell as one of ``STATUSES`` (blank is Not started); ValueError when it is
    words that say none of them."""
    low = " ".join(text.strip().lower().replace("’", "'").split())
    if not low:
        return NOT_STARTED
    found = canonical(low, [s.lower() for s in STATUSES])
    if found in [s.lower() for s in STATUSES]:
        return STATUSES[[s.lower() for s in STATUSES].index(found)]
    for pattern, status in _STATUS_WORDS:
        if pattern.match(low):
            return status
    raise ValueError(low)


# ----------------------------------------------------------------------------- the file


def read_progress(project: DataDir) -> list[ActionProgress]:
    """The recorded progress, or [] when none was recorded yet; ProgressError naming every
    problem (row, column, what to write) when the file cannot be used."""
    path = project.plan_progress
    if not path.exists() and not path.is_symlink():
        return []
    try:
        raw = read_bytes_limited(path, REL, MAX_PROGRESS_BYTES, what="progress file")
        text, _ = decode_text(raw, REL)
    except FileProblem as exc:
        raise ProgressError(str(exc)) from None
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    missing = [c for c in PROGRESS_COLUMNS[:3] if c not in header]
    if missing:
        raise ProgressError(str(Problem(REL, missing[0], "column is missing; the file is "
                                        "written by 'lcopia plan import' with the columns "
                                        + ", ".join(PROGRESS_COLUMNS), row=1)))
    col = {n: i for i, n in enumerate(header)}
    problems: list[Problem] = []
    out: dict[tuple[tuple[str, ...], str], ActionProgress] = {}
    for i, row in enumerate(rows[1:], start=2):
        cells = {n: (row[j].strip() if j < len(row) else "") for n, j in col.items()}
        if not any(cells.values()):
            continue
        record = _record(cells, i, problems)
        if record is not None:
            if record.key in out:
                problems.append(Problem(REL, "action", "repeats an action of an earlier row; "
                                        "keep one row per action", row=i))
            out[record.key] = record
    if problems:
        raise ProgressError("\n".join(
            [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the recorded "
             "action-plan progress:"] + [f"  - {p}" for p in problems]
            + ["Fix these (a spreadsheet is fine), or import the action plan again."]))
    return sorted(out.values(), key=lambda r: r.key)


def _record(cells: dict[str, str], row: int, problems: list[Problem]) -> ActionProgress | None:
    if not cells.get("action"):
        problems.append(Problem(REL, "action", "is empty; each row needs the action's "
                                "wording", row=row))
        return None
    try:
        status = parse_status(cells.get("status", ""))
    except ValueError:
        problems.append(Problem(REL, "status", "is not one of: " + ", ".join(STATUSES),
                                row=row, value=cells["status"][:80]))
        return None
    dates: dict[str, dt.date | None] = {}
    for name in ("done_date", "plan_date", "recorded"):
        text = cells.get(name, "")
        dates[name] = parse_date(text) if text else None
        if text and dates[name] is None:
            problems.append(Problem(REL, name, "is not a date written 2026-11-30 or "
                                    "11/30/2026", row=row, value=text[:80]))
            return None
    return ActionProgress(
        risk_ids=[r.strip() for r in cells.get("risk_ids", "").split(";") if r.strip()],
        action=" ".join(cells["action"].split()), status=status, notes=cells.get("notes", ""),
        evidence=cells.get("evidence", ""), **dates)


def progress_text(records: list[ActionProgress]) -> str:
    """plan_progress.csv: one row per action, sorted by key, so the same progress gives the
    same bytes."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PROGRESS_COLUMNS)
    for r in sorted(records, key=lambda r: r.key):
        writer.writerow(["; ".join(r.risk_ids), r.action, r.status,
                         r.done_date.isoformat() if r.done_date else "", r.notes, r.evidence,
                         r.plan_date.isoformat() if r.plan_date else "",
                         r.recorded.isoformat() if r.recorded else ""])
    return buf.getvalue()


def match(groups: list[dict[str, Any]], records: list[ActionProgress]
          ) -> dict[int, ActionProgress]:
    """Plan number → the progress recorded for that action.

    The same risks and wording match first. An action whose wording changed (the risk is
    still open but fewer places are left, say) keeps the progress recorded on the same risks
    unless that progress says done: a done action that reappears reworded is new work.
    """
    exact = {r.key: r for r in records}
    by_risks: dict[tuple[str, ...], ActionProgress] = {}
    for r in records:
        if r.risk_ids and r.status != DONE:
            by_risks.setdefault(r.key[0], r)
    out = {}
    used: set[tuple[tuple[str, ...], str]] = set()
    for g in groups:
        key = action_key(g["risk_ids"], g["action"])
        if key in exact:
            out[g["rank"]] = exact[key]
            used.add(key)
    for g in groups:
        key = action_key(g["risk_ids"], g["action"])
        found = by_risks.get(key[0])
        if g["rank"] not in out and found is not None and found.key not in used:
            out[g["rank"]] = found
            used.add(found.key)
    return out


def staff_actions(records: list[ActionProgress]) -> list[ActionProgress]:
    """Actions staff added to the plan themselves (no risk behind them): the next plan
    lists them again below lcopia's own, so none is lost."""
    return [r for r in records if not r.risk_ids]


# ----------------------------------------------------------------------------- plan keys


def answer_targets(results: Results, finding_ids: list[str]
                   ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The answers a done action records (control, scope, target), and the controls among
    its findings that are computed from inventory facts, which an answer cannot change."""
    b, a = results.bundle, results.assessment
    controls = {c.id: c for c in b.policy.controls}
    evaluated = {(c.control_id, c.scope, c.target_id) for c in a.controls}
    by_id = {f.id: f for f in a.findings}
    # only what the inventory names can be answered: systems and flows found on the web
    # pages are the audit's, not the inventory's
    known = ({("system", s.system_id) for s in b.inventory.systems}
             | {("flow", f.flow_id) for f in b.inventory.flows} | {("library", "library")})
    answers: set[tuple[str, str, str]] = set()
    facts: set[str] = set()
    for fid in finding_ids:
        f = by_id.get(fid)
        if f is None or f.control_id is None or f.control_id not in controls:
            continue
        if controls[f.control_id].derived_from:
            facts.add(f.control_id)
            continue
        scope, target = (("flow", f.flow_id) if f.flow_id else ("system", f.system_id)
                         if f.system_id else ("library", "library"))
        if (f.control_id, scope, target) in evaluated and (scope, target) in known:
            answers.add((f.control_id, scope, str(target)))
    return sorted(answers), sorted(facts)


def plan_keys(results: Results, groups: list[dict[str, Any]]) -> list[list[str]]:
    """Rows of the workbook's hidden Keys sheet: what each plan number stands for."""
    rows = [list(KEY_COLUMNS)]
    as_of = results.assessment.as_of.isoformat()
    for g in groups:
        answers, facts = answer_targets(results, g["finding_ids"])
        rows.append([str(g["rank"]), "; ".join(g["risk_ids"]), g["action"], g["owner"],
                     "; ".join("|".join(k) for k in answers), "; ".join(facts), as_of])
    return rows


# ----------------------------------------------------------------------------- import


@dataclass
class ActionChange:
    number: str
    action: str
    old_status: str | None
    new_status: str
    done_date: dt.date | None
    answers: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class PlanImport:
    actions: list[ActionChange] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)     # questionnaire.AnswerChange
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    number: str
    key: dict[str, str]
    status: str
    done: dt.date | None
    notes: str
    evidence: str
    action: str = ""


def _find(header: list[str], *starts: str, exact: tuple[str, ...] = ()) -> int | None:
    """The column whose heading starts with one of ``starts`` or is one of ``exact``:
    staff rename "Notes" to "Notes (staff)", never "No." to "Notes"."""
    for j, h in enumerate(header):
        low = " ".join(h.lower().split())
        if low in exact or any(low.startswith(w) for w in starts):
            return j
    return None


def _defused(text: str) -> str:
    """A cell as lcopia meant it: the apostrophe that keeps a formula-like text inert in a
    spreadsheet (``'=...``) is not part of the wording."""
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return text[1:]
    return text


def _read_plan(path: Path, as_of: dt.date) -> tuple[list[_Row], list[Problem]]:
    from lcopia.workbook import WorkbookError, _sheet_rows, open_workbook

    shown = path.name
    try:
        wb = open_workbook(path, "an action plan")
        if PLAN_SHEET not in wb.sheetnames or KEYS_SHEET not in wb.sheetnames:
            raise ProgressError(f"{shown}: is not an action plan written by lcopia assess (no "
                                f"'{PLAN_SHEET}' or '{KEYS_SHEET}' sheet); import the "
                                "action-plan.xlsx from a run folder")
        key_rows = _sheet_rows(wb[KEYS_SHEET])
        rows = _sheet_rows(wb[PLAN_SHEET])
    except WorkbookError as exc:
        raise ProgressError(str(exc)) from None
    if not key_rows or [h.strip() for h in key_rows[0][:len(KEY_COLUMNS)]] != list(KEY_COLUMNS):
        raise ProgressError(f"{shown}, sheet {KEYS_SHEET}: was changed; it is lcopia's own "
                            "record of what each number stands for. Copy your edits into a "
                            "fresh action-plan.xlsx from the run folder")
    keys = {r[0]: dict(zip(KEY_COLUMNS, [_defused(c) for c in r] + [""] * len(KEY_COLUMNS),
                           strict=False))
            for r in key_rows[1:] if r and r[0]}
    where = f"{shown}, sheet {PLAN_SHEET}"
    if not rows:
        return [], [Problem(where, None, "is empty; the actions are missing")]
    header = rows[0]
    cols = {"No.": _find(header, "no.", "number", exact=("no", "#", "nr", "nr.")),
            "Status": _find(header, "status"), "Done date": _find(header, "done"),
            "Notes": _find(header, "note"), "Evidence": _find(header, "evidence"),
            "Action": _find(header, "action")}
    for name in ("No.", "Status", "Done date"):
        if cols[name] is None:
            return [], [Problem(where, name, f"column is missing; put back the column headed "
                                f"{name!r} (a fresh action-plan.xlsx shows it)", row=1)]
    out: list[_Row] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}

    def cell(cells: list[str], name: str) -> str:
        j = cols[name]
        return cells[j].strip() if j is not None else ""

    for i, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        number = cell(cells, "No.")
        status_text = cell(cells, "Status")
        done_text = cell(cells, "Done date")
        notes, evidence = cell(cells, "Notes"), cell(cells, "Evidence")
        action = " ".join(_defused(cell(cells, "Action")).split())
        if not number and not any((status_text, done_text, notes, evidence, action)):
            continue
        found = len(problems)
        key = keys.get(number) if number else {}
        if number and key is None:
            problems.append(Problem(where, "No.", "names no action of this plan; keep the "
                                    "numbers as lcopia wrote them", row=i, value=number[:80]))
        elif number and number in seen:
            problems.append(Problem(where, "No.", f"repeats the action on row {seen[number]} "
                                    "(merged or copied cells?); keep one row per action",
                                    row=i, value=number))
        elif not number and not action:
            problems.append(Problem(where, "Action", "is empty on a row you added; write the "
                                    "action, or move the notes to the action's own row",
                                    row=i))
        try:
            status = parse_status(status_text)
        except ValueError:
            problems.append(Problem(where, "Status", "is not one of: " + ", ".join(STATUSES)
                                    + "; choose one from the list (put any explanation under "
                                    "Notes)", row=i, value=status_text[:80]))
            status = NOT_STARTED
        done = parse_date(done_text) if done_text else None
        if done_text and done is None:
            problems.append(Problem(where, "Done date", "is not a date; write it as "
                                    "2026-12-15 or 12/15/2026", row=i, value=done_text[:80]))
        elif done is not None and done > as_of:
            problems.append(Problem(where, "Done date", f"is after today ({as_of.isoformat()}"
                                    "); check the year", row=i, value=done.isoformat()))
        elif status == DONE and done is None:
            problems.append(Problem(where, "Done date", "is empty but Status says done; "
                                    "enter the date the action was done", row=i))
        elif done is not None and status != DONE:
            problems.append(Problem(where, "Status", f"is {status!r} but a Done date is "
                                    "given; set Status to Done, or clear the date", row=i))
        for name, text in (("Notes", notes), ("Evidence", evidence)):
            if len(text) > MAX_TEXT:
                problems.append(Problem(where, name, f"is longer than {MAX_TEXT:,} characters;"
                                        " name the document instead of pasting it", row=i))
        if number:
            seen.setdefault(number, i)
        if len(problems) == found:
            out.append(_Row(i, number, key or {}, status, done, notes, evidence, action))
    return out, problems


def import_plan(path: Path, data_dir: Path | str | DataDir, *, as_of: dt.date,
                force: bool = False) -> PlanImport:
    """Record an edited action plan: done actions as answers, every action's progress in
    plan_progress.csv. All of it or nothing."""
    from lcopia.load import load
    from lcopia.questionnaire import AnswerChange, newer_answer, stage_answers

    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    bundle = load(project, as_of=as_of)
    recorded = {r.key: r for r in read_progress(project)}
    rows, problems = _read_plan(path, as_of)
    if problems:
        raise ProgressError("\n".join(
            [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the action plan; "
             "nothing was recorded:"] + [f"  - {p}" for p in problems]))
    existing = {(a.control_id, a.scope, a.target_id): a for a in bundle.inventory.answers}
    report = PlanImport()
    updates: dict[tuple[str, str, str], dict[str, Any]] = {}
    changed: dict[tuple[tuple[str, ...], str], ActionProgress] = {}
    for row in rows:
        k = row.key
        risk_ids = [r.strip() for r in k.get("risk_ids", "").split(";") if r.strip()]
        action = " ".join((k.get("action") or row.action).split())
        plan_date = parse_date(k.get("plan_date", "")) if k.get("plan_date") else None
        new = ActionProgress(risk_ids=risk_ids, action=action, status=row.status,
                             done_date=row.done, notes=row.notes, evidence=row.evidence,
                             plan_date=plan_date, recorded=as_of)
        old = recorded.get(new.key)
        label = f"action {row.number}" if row.number else f"your action on row {row.line}"
        fresh = not (new.same_as(old) or (old is None and new.blank))
        if not fresh and new.status != DONE:
            continue
        if (fresh and old is not None and old.plan_date and plan_date
                and old.plan_date > plan_date and not force):
            report.skipped.append(
                f"{path.name}: {label} has progress recorded from the plan of "
                f"{old.plan_date.isoformat()}, newer than this one ({plan_date.isoformat()}); "
                "kept it (--force replaces it)")
            continue
        change = ActionChange(row.number, action, old.status if old else None, new.status,
                              new.done_date)
        if fresh:
            changed[new.key] = new
            report.actions.append(change)
        if new.status != DONE or new.done_date is None:
            continue
        facts = [f for f in k.get("facts", "").split(";") if f.strip()]
        if facts and fresh:
            report.notes.append(
                f"{label} also rests on checks lcopia makes from the inventory's facts "
                f"({', '.join(f.strip() for f in facts)}); record the change in the "
                "inventory itself (lcopia workbook export) or the action stays in the plan")
        for text in k.get("answers", "").split(";"):
            parts = tuple(p.strip() for p in text.split("|"))
            if len(parts) != 3 or not all(parts):
                continue
            key = (parts[0], parts[1], parts[2])
            prior = existing.get(key)
            if prior is not None and newer_answer(prior, new.done_date) and not force:
                report.skipped.append(
                    f"{path.name}: {key[0]} for {key[2]} was answered on "
                    f"{prior.review_date}, after {label} was done "
                    f"({new.done_date.isoformat()}); kept the newer answer (--force "
                    "replaces it)")
                continue
            stamp = f"Action plan, done {new.done_date.isoformat()}"
            evidence = f"{stamp}: {new.evidence}" if new.evidence else stamp
            values = {"status": "implemented", "evidence": evidence,
                      "review_date": new.done_date.isoformat(),
                      "comment": new.notes or (prior.comment if prior else ""),
                      "owner": prior.owner if prior and prior.owner else
                      (k.get("owner") or "Privacy Officer")}
            if (prior is not None and prior.status == "implemented"
                    and prior.review_date == new.done_date and prior.evidence == evidence):
                continue  # imported before: nothing new to record
            updates[key] = values
            change.answers.append(key)
            if change not in report.actions:  # recorded before; only its answers are new
                report.actions.append(change)
            report.answers.append(AnswerChange(key, prior.status if prior else None,
                                               "implemented", path.name))
    if not changed and not updates:
        return report
    answers_text = None
    if updates:
        answers_text, report.warnings = stage_answers(project, updates, as_of)
    merged = {**recorded, **changed}
    write_atomic(project.plan_progress, progress_text(list(merged.values())))
    report.written.append(REL)
    if answers_text is not None:
        write_atomic(project.inventory / "answers.csv", answers_text)
        report.written.append("inventory/answers.csv")
    return report
