"""Action-plan progress between assessments: what staff record in ``action-plan.xlsx``.

Between Board meetings staff keep the action plan up to date: a status, the date an action
was done, notes and evidence. ``lcopia plan import`` (:mod:`lcopia.plan_import`) keeps each
action's progress in ``inventory/plan_progress.csv``, keyed by the risks the action treats
and its wording (never its number, which changes from run to run); this module reads and
writes that file and matches it to a new plan, so the next run's plan starts from what was
recorded. It stays light: the pipeline reads progress on every run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from lcopia.errors import LcopiaError, Problem
from lcopia.fsio import FileProblem, decode_text, read_bytes_limited
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
