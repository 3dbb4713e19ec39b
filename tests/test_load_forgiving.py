"""Spreadsheet spellings of vocabulary words are accepted, and problems read in row order."""

from __future__ import annotations

from pathlib import Path

import pytest

from lcopia.errors import InventoryError
from lcopia.load import canonical, load


def _rewrite(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize(("typed", "expected"), [
    ("Implemented", "implemented"), ("Not implemented", "not_implemented"),
    ("NOT_IMPLEMENTED", "not_implemented"), ("not-implemented", "not_implemented"),
    ("Unknown", "unknown"), ("N/A", "not_applicable"), ("n/a", "not_applicable"),
    ("Not applicable", "not_applicable"), ("nonsense", "nonsense"),
])
def test_statuses_match_ignoring_case_spaces_and_underscores(typed: str, expected: str) -> None:
    statuses = ["implemented", "partial", "planned", "not_implemented", "unknown",
                "not_applicable"]
    assert canonical(typed, statuses) == expected


def test_spreadsheet_spellings_load_in_their_canonical_form(data_copy: Path) -> None:
    answers = data_copy / "inventory" / "answers.csv"
    _rewrite(answers, "POL-01,library,library,partial", "POL-01,Library,Library,Partial")
    _rewrite(answers, "POL-04,library,library,implemented", "POL-04,library,library,Implemented")
    bundle = load(data_copy)
    got = {a.control_id: a for a in bundle.inventory.answers if a.target_id == "library"}
    assert (got["POL-01"].scope, got["POL-01"].target_id, got["POL-01"].status) == (
        "library", "library", "partial")
    assert got["POL-04"].status == "implemented"


def test_a_bad_scope_says_the_choices_in_words_not_pydantic(data_copy: Path) -> None:
    _rewrite(data_copy / "inventory" / "answers.csv", "POL-01,library,library",
             "POL-01,libary,library")
    with pytest.raises(InventoryError) as err:
        load(data_copy)
    text = str(err.value)
    assert "must be one of: library, system, flow" in text
    assert "did you mean 'library'?" in text
    assert "Input should be" not in text


def test_problems_are_listed_file_by_file_in_row_order(data_copy: Path) -> None:
    answers = data_copy / "inventory" / "answers.csv"
    lines = answers.read_text(encoding="utf-8").splitlines(keepends=True)
    # a bad status late in the file and a bad target early: reported early first
    lines[-1] = lines[-1].replace(lines[-1].split(",")[3], "sometimes", 1)
    lines[2] = lines[2].replace(",library,library,", ",library,everywhere,", 1)
    answers.write_text("".join(lines), encoding="utf-8")
    _rewrite(data_copy / "inventory" / "flows.csv", ",store,", ",stow,")
    with pytest.raises(InventoryError) as err:
        load(data_copy)
    located = [(p.file, p.row) for p in err.value.problems]
    files = [f for f, _ in located]
    assert files.index("inventory/flows.csv") < files.index("inventory/answers.csv")
    rows = [r for f, r in located if f == "inventory/answers.csv"]
    assert rows == sorted(rows) and len(rows) >= 2


def test_a_row_dropped_for_one_bad_cell_causes_no_follow_on_problems(data_copy: Path) -> None:
    # FL-CIRC-LOANS gets a retention that is not a number; answers naming it stay valid
    _rewrite(data_copy / "inventory" / "flows.csv",
             "Vendor-hosted ILS database (US),,90,", "Vendor-hosted ILS database (US),,ninety,")
    with pytest.raises(InventoryError) as err:
        load(data_copy)
    problems = [str(p) for p in err.value.problems]
    assert any("flows.csv, row 2, field 'retention_need_days'" in p for p in problems), problems
    assert not any("names no flow" in p and "FL-CIRC-LOANS" in p for p in problems), problems
