"""Vendor questionnaires: out, filled in carelessly by a vendor, back into the answers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from conftest import AS_OF
from openpyxl import load_workbook

from lcopia.load import load
from lcopia.questionnaire import (
    QuestionnaireError,
    build_questionnaires,
    import_questionnaires,
    parse_answer,
)
from lcopia.scoring import assess

DUE = dt.date(2026, 12, 31)
BLUESTEM = "questionnaire-bluestem-library-systems-fictional.xlsx"


@pytest.fixture
def sent(data_copy: Path, tmp_path: Path) -> dict[str, Path]:
    out = build_questionnaires(data_copy, tmp_path / "out", as_of=AS_OF, due=DUE)
    return {s.path.name: s.path for s in out}


def _rows(path: Path) -> list[dict[str, str]]:
    ws = load_workbook(path)["Questions"]
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=2, values_only=True)]


def test_each_vendor_gets_only_its_own_open_questions(data_copy: Path,
                                                      sent: dict[str, Path]) -> None:
    bundle = load(data_copy, as_of=AS_OF)
    vendors = {s.vendor for s in bundle.inventory.systems if s.external and s.contract_ref}
    assert len(sent) <= len(vendors) and BLUESTEM in sent
    rows = _rows(sent[BLUESTEM])
    assert rows and all(r["System"].startswith("Bluestem") for r in rows)
    text = " ".join(str(c.value) for ws in load_workbook(sent[BLUESTEM]).worksheets
                    if ws.sheet_state == "visible" for row in ws.iter_rows() for c in row
                    if c.value)
    others = vendors - {"Bluestem Library Systems (fictional)"}
    assert not [v for v in others if v in text], "no other vendor is named"
    implemented = {(a.control_id, a.target_id) for a in bundle.inventory.answers
                   if a.status == "implemented"}
    keys = load_workbook(sent[BLUESTEM])["Keys"]
    asked = {(r[1], r[3]) for r in keys.iter_rows(min_row=2, values_only=True)}
    assert not asked & implemented, "questions already answered 'implemented' are not asked"
    cover = {r[0]: r[1] for r in load_workbook(sent[BLUESTEM])["Cover"].iter_rows(
        values_only=True)}
    assert "RSMo 182.817" in cover["Why we ask"] and cover["Please return by"] == "2026-12-31"


@pytest.mark.parametrize(("typed", "choice"), [
    ("Yes", "yes"), ("yes - see our SOC 2 report", "yes"), ("Partially, for new clients",
                                                            "partly"),
    ("No", "no"), ("No.", "no"), ("Don’t know", "don't know"), ("unsure", "don't know"),
    ("N/A", "not applicable"), ("", None),
])
def test_free_text_answers_map_to_a_choice(typed: str, choice: str | None) -> None:
    assert parse_answer(typed) == choice


def test_words_that_are_no_answer_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_answer("we will get back to you")


def _fill_carelessly(path: Path, answers: dict[int, tuple[str, str]]) -> None:
    """As a vendor might: a column added at the front, Answer moved, merged comment cells."""
    wb = load_workbook(path)
    ws = wb["Questions"]
    ws.insert_cols(1)
    ws.cell(row=1, column=1, value="Internal ticket")
    header = {c.value: c.column for c in ws[1]}
    for number, (answer, evidence) in answers.items():
        ws.cell(row=number + 1, column=header["Answer"], value=answer)
        ws.cell(row=number + 1, column=header["Evidence"], value=evidence)
    ws.cell(row=2, column=header["Comment"], value="Applies to all libraries")
    ws.merge_cells(start_row=2, start_column=header["Comment"], end_row=3,
                   end_column=header["Comment"])
    wb["Cover"]["B11"] = "12/2/2026"
    wb.save(path)


def test_a_returned_questionnaire_changes_the_answers_and_the_scores(
        data_copy: Path, sent: dict[str, Path]) -> None:
    path = sent[BLUESTEM]
    rows = _rows(path)
    keys = {r[0]: r[1:] for r in load_workbook(path)["Keys"].iter_rows(min_row=2,
                                                                      values_only=True)}
    before = {(r.control_id, r.target_id): r.status
              for r in assess(load(data_copy, as_of=AS_OF), AS_OF).controls}
    _fill_carelessly(path, {1: ("Yes, see SOC 2 Type II 2026", "SOC 2 report, 2026-06-30"),
                            2: ("partly", ""), 3: ("No", "")})
    report = import_questionnaires([path], data_copy, as_of=dt.date(2026, 12, 2))
    assert report.written and len(report.changes) == 3
    answers = {(a.control_id, a.target_id): a
               for a in load(data_copy, as_of=dt.date(2026, 12, 2)).inventory.answers}
    first = keys[rows[0]["No."]]
    got = answers[(first[0], first[2])]
    assert got.status == "implemented"
    assert got.evidence == "Vendor questionnaire 2026-12-02: SOC 2 report, 2026-06-30"
    assert got.review_date == dt.date(2026, 12, 2)
    assert got.comment == "Applies to all libraries"
    second = keys[rows[1]["No."]]
    assert answers[(second[0], second[2])].comment == "Applies to all libraries", "merged"
    after = {(r.control_id, r.target_id): r.status
             for r in assess(load(data_copy, as_of=dt.date(2026, 12, 2)),
                             dt.date(2026, 12, 2)).controls}
    assert after[(first[0], first[2])] == "implemented" != before[(first[0], first[2])]


def test_a_bad_answer_names_workbook_sheet_and_row_and_nothing_is_written(
        data_copy: Path, sent: dict[str, Path]) -> None:
    answers = data_copy / "inventory" / "answers.csv"
    digest = hashlib.sha256(answers.read_bytes()).hexdigest()
    _fill_carelessly(sent[BLUESTEM], {1: ("yes", ""), 2: ("ask legal", "")})
    with pytest.raises(QuestionnaireError) as err:
        import_questionnaires([sent[BLUESTEM]], data_copy, as_of=dt.date(2026, 12, 2))
    assert f"{BLUESTEM}, sheet Questions, row 3, field 'Answer'" in str(err.value)
    assert hashlib.sha256(answers.read_bytes()).hexdigest() == digest


def test_a_newer_answer_is_kept_unless_forced(data_copy: Path, sent: dict[str, Path]) -> None:
    path = sent[BLUESTEM]
    answered = {(a.control_id, a.scope, a.target_id)
                for a in load(data_copy, as_of=AS_OF).inventory.answers}
    keys = [r for r in load_workbook(path)["Keys"].iter_rows(min_row=2, values_only=True)]
    number, control_id, scope, target_id = next(k for k in keys if tuple(k[1:]) in answered)
    answers = data_copy / "inventory" / "answers.csv"
    rows = list(csv.reader(answers.open(encoding="utf-8", newline="")))
    for r in rows:
        if (r[0], r[1], r[2]) == (control_id, scope, target_id):
            r[3], r[6] = "partial", "2026-11-29"
    with answers.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    wb = load_workbook(path)
    wb["Questions"][f"E{int(number) + 1}"] = "yes"
    wb["Cover"]["B11"] = "2026-11-20"
    wb.save(path)
    report = import_questionnaires([path], data_copy, as_of=AS_OF)
    assert not report.written and report.skipped
    assert "kept the newer answer" in report.skipped[0]
    report = import_questionnaires([path], data_copy, as_of=AS_OF, force=True)
    assert report.written
    got = {(a.control_id, a.target_id): a.status
           for a in load(data_copy, as_of=AS_OF).inventory.answers}
    assert got[(control_id, target_id)] == "implemented"
