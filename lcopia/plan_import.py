"""``lcopia plan import``: the action plan staff kept between Board meetings, recorded.

Reads ``action-plan.xlsx`` back, carelessly edited ones too (moved or extra columns, merged
cells, free text in the Status column, rows staff added). An action marked done, with its
date, records the controls it rests on as ``implemented`` through the questionnaire import's
own staging (a diff, newer answers kept unless forced, validated before anything is
written); every action's progress goes to ``inventory/plan_progress.csv``
(:mod:`lcopia.progress`). All of it or nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcopia.errors import Problem
from lcopia.fsio import write_atomic
from lcopia.load import load, parse_date
from lcopia.progress import (
    DONE,
    KEY_COLUMNS,
    KEYS_SHEET,
    MAX_TEXT,
    NOT_STARTED,
    PLAN_SHEET,
    REL,
    STATUSES,
    ActionProgress,
    ProgressError,
    parse_status,
    progress_text,
    read_progress,
)
from lcopia.project import DataDir
from lcopia.questionnaire import AnswerChange, newer_answer, stage_answers
from lcopia.workbook import WorkbookError, _sheet_rows, open_workbook


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
    shown = path.name
    try:
        wb = open_workbook(path, "an action plan",
                           missing="file is missing; give the path of the action-plan.xlsx "
                           "an assessment wrote (reports/<date>/action-plan.xlsx), as edited")
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
