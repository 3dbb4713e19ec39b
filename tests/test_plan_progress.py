"""Action-plan progress round trip: staff edit action-plan.xlsx, `lcopia plan import` records
it, and the next run's plan and scores start from what was recorded."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from conftest import AS_OF, run_cli
from openpyxl import load_workbook

from lcopia.pipeline import Results, compute
from lcopia.plan_import import import_plan
from lcopia.progress import (
    DONE,
    ActionProgress,
    ProgressError,
    match,
    parse_status,
    read_progress,
)
from lcopia.project import DataDir
from lcopia.report.exports import write_exports
from lcopia.report.plan import action_groups, still_open

EVIDENCE = "Receipt settings screenshot"
NOTES = "Waiting on the vendor's quote"


def _plan(data: Path, out: Path, as_of: dt.date = AS_OF) -> tuple[Results, Path]:
    results = compute(data, as_of)
    write_exports(results, out)
    return results, out / "action-plan.xlsx"


def _keys(path: Path) -> dict[str, dict[str, str]]:
    ws = load_workbook(path)["Keys"]
    rows = [[str(c) if c is not None else "" for c in r] for r in ws.iter_rows(values_only=True)]
    return {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0]}


def _answers(data: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with (data / "inventory" / "answers.csv").open(encoding="utf-8", newline="") as fh:
        return {(r["control_id"], r["scope"], r["target_id"]): r for r in csv.DictReader(fh)}


def _targets(key: dict[str, str]) -> set[tuple[str, str, str]]:
    return {tuple(t.strip().split("|")) for t in key["answers"].split(";") if t.strip()}


def _pick(keys: dict[str, dict[str, str]]) -> tuple[str, str]:
    """A small action resting on answers only (done: its answers change), and another."""
    answered = sorted((len(_targets(k)), n) for n, k in keys.items()
                      if k["answers"] and not k["facts"])
    done = answered[0][1]
    other = next(n for n in keys if n != done)
    return done, other


def _edit(path: Path, out: Path, changes: dict[str, dict[str, object]]) -> Path:
    wb = load_workbook(path)
    ws = wb["Action plan"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        number = str(row[0].value) if row[0].value is not None else ""
        for name, value in changes.get(number, {}).items():
            row[header.index(name)].value = value
    wb.save(out)
    return out


def _snapshot(data: Path) -> dict[str, bytes]:
    inv = data / "inventory"
    return {p.name: p.read_bytes() for p in sorted(inv.iterdir()) if p.is_file()}


@pytest.fixture
def plan(data_copy: Path, tmp_path: Path) -> tuple[Results, Path]:
    return _plan(data_copy, tmp_path / "run1")


def test_a_round_trip_through_the_action_plan_loses_nothing(
        data_copy: Path, tmp_path: Path, plan: tuple[Results, Path]) -> None:
    before, path = plan
    keys = _keys(path)
    done, other = _pick(keys)
    answers_before = _answers(data_copy)
    edited = _edit(path, tmp_path / "edited.xlsx", {
        done: {"Status": "Done", "Done date": AS_OF, "Evidence": EVIDENCE},
        other: {"Status": "In progress", "Notes": NOTES, "Evidence": "E-mail of November 2"}})
    wb = load_workbook(edited)  # a row staff added for their own task
    wb["Action plan"].append([None, "Train the new desk staff", *[None] * 7, "In progress"])
    wb.save(edited)

    report = import_plan(edited, data_copy, as_of=AS_OF)

    expected = _targets(keys[done])
    answers_after = _answers(data_copy)
    changed = {k for k in answers_after if answers_after[k] != answers_before.get(k)}
    assert changed == expected, "exactly the done action's answers change"
    for key in expected:
        row = answers_after[key]
        assert row["status"] == "implemented" and EVIDENCE in row["evidence"]
        assert row["review_date"] == AS_OF.isoformat()
    assert {c.new_status for c in report.actions} == {DONE, "In progress"}

    after = compute(data_copy, AS_OF)
    risk = keys[done]["risk_ids"]
    was = next(r for r in before.assessment.risks if r.id == risk)
    now = {r.id: r for r in after.assessment.risks}.get(risk)
    assert now is None or now.residual_risk < was.residual_risk, "the treated risk went down"
    untouched = {r.id: r.residual_risk for r in before.assessment.risks
                 if r.id not in risk.split("; ")}
    assert all(now_r.residual_risk == untouched[now_r.id] for now_r in after.assessment.risks
               if now_r.id in untouched and not set(now_r.control_results)
               & {f"{c}@{t}" for c, _, t in expected}), "other risks keep their score"

    groups = {g["action"]: g for g in action_groups(after)}
    kept = groups[keys[other]["action"]]
    assert kept["status"] == "In progress" and kept["progress"].notes == NOTES
    assert kept["still_open"] == ""
    if keys[done]["action"] in groups:  # done, yet its risk is still found: the plan says so
        assert groups[keys[done]["action"]]["still_open"]

    _, path2 = _plan(data_copy, tmp_path / "run2")
    wb2 = load_workbook(path2)["Action plan"]
    header = [c.value for c in wb2[1]]
    rows = {r[header.index("Action")]: r for r in wb2.iter_rows(min_row=2, values_only=True)}
    row = rows[keys[other]["action"]]
    assert (row[header.index("Status")], row[header.index("Notes")],
            row[header.index("Evidence")]) == ("In progress", NOTES, "E-mail of November 2")
    assert rows["Train the new desk staff"][header.index("Status")] == "In progress"

    again = import_plan(path2, data_copy, as_of=AS_OF)
    assert again.actions == [] and again.written == [], "re-importing the new plan: no news"


def test_careless_edits_are_read_as_meant(data_copy: Path, tmp_path: Path,
                                          plan: tuple[Results, Path]) -> None:
    _, path = plan
    done, other = _pick(_keys(path))
    wb = load_workbook(path)
    ws = wb["Action plan"]
    header = [c.value for c in ws[1]]
    ws.move_range(f"J1:J{ws.max_row}", cols=ws.max_column - 9 + 1)   # Status moved to the end
    ws.insert_cols(2)                                                # an extra column
    ws.cell(row=1, column=2, value="Staff comments")
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        number = str(row[0].value)
        if number == done:
            row[header.index("Status")].value = "completed - see the e-mail"
            row[header.index("Done date")].value = "11/30/2026"
        elif number == other:
            row[header.index("Status")].value = "started"
    notes = header.index("Notes") + 1
    rows = {str(r[0].value): r[0].row for r in ws.iter_rows(min_row=2) if r[0].value}
    ws.cell(row=rows[other], column=notes, value="Merged note")
    ws.merge_cells(start_row=rows[other], start_column=notes, end_row=rows[other],
                   end_column=notes + 1)
    wb.save(tmp_path / "careless.xlsx")

    report = import_plan(tmp_path / "careless.xlsx", data_copy, as_of=AS_OF)

    statuses = {c.number: c.new_status for c in report.actions}
    assert statuses == {done: DONE, other: "In progress"}
    recorded = {r.action: r for r in read_progress(_dir(data_copy))}
    assert recorded[_keys(path)[other]["action"]].notes == "Merged note"


def _dir(data: Path) -> DataDir:
    return DataDir(data)


def test_every_problem_is_reported_with_its_row_and_nothing_is_written(
        data_copy: Path, tmp_path: Path, plan: tuple[Results, Path]) -> None:
    _, path = plan
    numbers = sorted(_keys(path), key=int)
    edited = _edit(path, tmp_path / "bad.xlsx", {
        numbers[0]: {"Status": "maybe later??"},
        numbers[1]: {"Status": "Done"},
        numbers[2]: {"Status": "Done", "Done date": AS_OF + dt.timedelta(days=40)},
        numbers[3]: {"No.": 999},
        numbers[4]: {"Status": "Done", "Done date": AS_OF}})   # fine on its own
    before = _snapshot(data_copy)

    result = run_cli("plan", "import", str(edited), "--data", str(data_copy),
                     "--as-of", AS_OF.isoformat())

    assert result.returncode == 2 and "Traceback" not in result.stderr
    err = result.stderr
    assert "4 problems in the action plan; nothing was recorded" in err
    assert "bad.xlsx, sheet Action plan, row 2, field 'Status'" in err
    assert "row 3, field 'Done date'" in err and "enter the date" in err
    assert "row 4, field 'Done date'" in err and "after today" in err
    assert "row 5, field 'No.'" in err and "999" in err
    assert _snapshot(data_copy) == before


def test_a_workbook_that_is_not_an_action_plan_is_refused(data_copy: Path,
                                                          tmp_path: Path) -> None:
    from openpyxl import Workbook

    other = tmp_path / "budget.xlsx"
    Workbook().save(other)
    result = run_cli("plan", "import", str(other), "--data", str(data_copy))
    assert result.returncode == 2 and "not an action plan written by lcopia" in result.stderr


def test_a_newer_answer_is_kept_unless_forced(data_copy: Path, tmp_path: Path,
                                             plan: tuple[Results, Path]) -> None:
    _, path = plan
    keys = _keys(path)
    done, _ = _pick(keys)
    target = sorted(_targets(keys[done]))[0]
    answers = data_copy / "inventory" / "answers.csv"
    with answers.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0])
    newer = (AS_OF - dt.timedelta(days=1)).isoformat()
    hit = [r for r in rows if (r["control_id"], r["scope"], r["target_id"]) == target]
    if hit:
        hit[0]["review_date"] = newer
    else:
        rows.append({**dict.fromkeys(fields, ""), "control_id": target[0], "scope": target[1],
                     "target_id": target[2], "status": "not_implemented",
                     "review_date": newer})
    with answers.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    edited = _edit(path, tmp_path / "older.xlsx", {
        done: {"Status": "Done", "Done date": AS_OF - dt.timedelta(days=10)}})
    args = ("plan", "import", str(edited), "--data", str(data_copy), "--as-of",
            AS_OF.isoformat())

    kept = run_cli(*args)
    assert kept.returncode == 0 and "kept the newer answer (--force replaces it)" in kept.stderr
    assert _answers(data_copy)[target]["review_date"] == newer
    assert "Done" in kept.stdout, "the action's progress is recorded all the same"

    forced = run_cli(*args, "--force")
    assert forced.returncode == 0 and "-> implemented" in forced.stdout
    assert _answers(data_copy)[target]["status"] == "implemented"


@pytest.mark.parametrize(("text", "status"), [
    ("", "Not started"), ("DONE", "Done"), ("Completed 12/1, see e-mail", "Done"),
    ("in_progress", "In progress"), ("Started", "In progress"), ("not started", "Not started"),
    ("on hold", "Deferred"), ("Risk-accepted", "Risk accepted"), ("✓", "Done")])
def test_status_words_staff_type_are_understood(text: str, status: str) -> None:
    assert parse_status(text) == status


def test_status_words_that_say_nothing_known_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_status("ask Pat")


def test_a_reworded_action_keeps_open_progress_but_not_a_done_mark() -> None:
    groups = [{"rank": 1, "risk_ids": ["R-a"], "action": "Encrypt B"},
              {"rank": 2, "risk_ids": ["R-b"], "action": "Purge C"},
              {"rank": 3, "risk_ids": ["R-c"], "action": "Train  staff"}]
    records = [ActionProgress(risk_ids=["R-a"], action="Encrypt A and B", status="In progress",
                              notes="A done"),
               ActionProgress(risk_ids=["R-b"], action="Purge B and C", status="Done",
                              done_date=AS_OF),
               ActionProgress(risk_ids=["R-c"], action="Train staff", status="Deferred")]
    found = match(groups, records)
    assert found[1].notes == "A done" and 2 not in found and found[3].status == "Deferred"


def test_a_damaged_progress_file_is_reported_by_row_and_column(data_copy: Path) -> None:
    (data_copy / "inventory" / "plan_progress.csv").write_text(
        "risk_ids,action,status,done_date\nR-a,Encrypt,Finished,2026-13-01\n"
        "R-b,Purge,whenever,\n", encoding="utf-8")
    with pytest.raises(ProgressError) as err:
        read_progress(_dir(data_copy))
    text = str(err.value)
    assert "inventory/plan_progress.csv, row 2, field 'done_date'" in text
    assert "row 3, field 'status'" in text and "'whenever'" in text
    result = run_cli("validate", "--data", str(data_copy), "--as-of", AS_OF.isoformat())
    assert result.returncode == 2 and "plan_progress.csv, row 3" in result.stderr


def test_progress_from_a_newer_plan_is_kept_unless_forced(
        data_copy: Path, tmp_path: Path, plan: tuple[Results, Path]) -> None:
    _, older = plan
    _, newer = _plan(data_copy, tmp_path / "run2", AS_OF + dt.timedelta(days=1))
    number = next(iter(_keys(newer)))
    action = _keys(newer)[number]["action"]
    import_plan(_edit(newer, tmp_path / "new.xlsx", {number: {"Notes": "From the newer plan"}}),
                data_copy, as_of=AS_OF + dt.timedelta(days=1))
    old_number = next(n for n, k in _keys(older).items() if k["action"] == action)
    stale = _edit(older, tmp_path / "old.xlsx", {old_number: {"Notes": "From the older plan"}})

    kept = import_plan(stale, data_copy, as_of=AS_OF + dt.timedelta(days=1))
    assert kept.actions == [] and "newer than this one" in kept.skipped[0]
    notes = {r.action: r.notes for r in read_progress(_dir(data_copy))}
    assert notes[action] == "From the newer plan"

    import_plan(stale, data_copy, as_of=AS_OF + dt.timedelta(days=1), force=True)
    notes = {r.action: r.notes for r in read_progress(_dir(data_copy))}
    assert notes[action] == "From the older plan"


def test_a_done_mark_on_a_risk_still_found_says_so_and_why() -> None:
    """G8, L1: staff marking an action done does not close a risk this assessment still
    finds; the plan says whether its own evidence or the inventory keeps it open."""
    assert still_open("In progress", {"R-web-google"}) == ""
    assert "evidence still shows" in still_open(DONE, {"R-web-google"})
    assert "inventory still records" in still_open(DONE, set())


def test_a_missing_plan_says_where_the_action_plan_is(data_copy: Path, tmp_path: Path) -> None:
    done = run_cli("plan", "import", str(tmp_path / "nope.xlsx"), "--data", str(data_copy))
    assert done.returncode == 2
    assert "file is missing" in done.stderr and "action-plan.xlsx" in done.stderr
