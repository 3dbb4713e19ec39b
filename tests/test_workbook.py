"""The inventory workbook: CSV → xlsx → CSV loses nothing, and careless edits are handled."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import pytest
from conftest import AS_OF, DATA
from openpyxl import load_workbook

from lcopia.errors import InventoryError
from lcopia.load import load
from lcopia.workbook import (
    SHEETS,
    WorkbookError,
    _applicable_answers,
    export_workbook,
    import_workbook,
)

TABLES = tuple(SHEETS)


def _digests(data: Path) -> dict[str, str]:
    return {t: hashlib.sha256((data / "inventory" / t).read_bytes()).hexdigest()
            for t in TABLES}


@pytest.fixture
def exported(data_copy: Path, tmp_path: Path) -> Path:
    return export_workbook(data_copy, tmp_path / "inventory.xlsx", as_of=AS_OF)


def _header(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1]}


def test_round_trip_through_the_workbook_changes_no_byte(data_copy: Path,
                                                         exported: Path) -> None:
    result = import_workbook(exported, data_copy, as_of=AS_OF)
    assert result.written == []
    assert not any(c.any for c in result.changes)
    for table in TABLES:
        assert (data_copy / "inventory" / table).read_bytes() ==\
            (DATA / "inventory" / table).read_bytes(), table


def test_answers_sheet_lists_every_applicable_question(data_copy: Path,
                                                       exported: Path) -> None:
    bundle = load(data_copy, as_of=AS_OF)
    expected = set(_applicable_answers(bundle, AS_OF))
    ws = load_workbook(exported)["Answers"]
    col = _header(ws)
    listed = {(r[col["control_id"] - 1], r[col["scope"] - 1], r[col["target_id"] - 1])
              for r in ws.iter_rows(min_row=2, values_only=True)}
    assert expected <= listed
    derived = {c.id for c in bundle.policy.controls if c.derived_from}
    assert not {k for k in listed if k[0] in derived}, "fact checks are not questions"
    assert "question" in col and "target_name" in col


def test_a_status_changed_in_the_workbook_is_written_in_canonical_form(
        data_copy: Path, exported: Path) -> None:
    answered = {(a.control_id, a.scope, a.target_id)
                for a in load(data_copy, as_of=AS_OF).inventory.answers}
    wb = load_workbook(exported)
    ws = wb["Answers"]
    col = _header(ws)
    row = next(r for r in ws.iter_rows(min_row=2)
               if tuple(r[col[k] - 1].value for k in ("control_id", "scope", "target_id"))
               not in answered)
    key = tuple(row[col[k] - 1].value for k in ("control_id", "scope", "target_id"))
    row[col["status"] - 1].value = "Not implemented"
    row[col["evidence"] - 1].value = "Vendor e-mail of 11/2/2026"
    wb.save(exported)
    result = import_workbook(exported, data_copy, as_of=AS_OF)
    assert result.written == ["inventory/answers.csv"]
    answers = {(a.control_id, a.scope, a.target_id): a
               for a in load(data_copy, as_of=AS_OF).inventory.answers}
    assert answers[key].status == "not_implemented"
    assert answers[key].evidence == "Vendor e-mail of 11/2/2026"
    change = next(c for c in result.changes if c.table == "answers.csv")
    assert change.added == ["/".join(key)]


def test_reordered_columns_and_merged_cells_are_read_as_meant(data_copy: Path,
                                                               exported: Path) -> None:
    wb = load_workbook(exported)
    ws = wb["Systems"]
    ws.move_range("A1:A40", cols=ws.max_column)  # the id column moved to the far right
    ws.delete_cols(1)
    flows = wb["Flows"]
    col = _header(flows)
    letter = flows.cell(row=2, column=col["direction"]).column_letter
    values = {flows[f"{letter}{r}"].value for r in (2, 3)}
    assert len(values) == 1, "the sample's first two flows share a direction"
    flows.merge_cells(f"{letter}2:{letter}3")
    wb.save(exported)
    result = import_workbook(exported, data_copy, as_of=AS_OF)
    assert not any(c.any for c in result.changes), result.changes
    for table in TABLES:
        assert (data_copy / "inventory" / table).read_bytes() ==\
            (DATA / "inventory" / table).read_bytes(), table


def test_a_bad_cell_is_located_by_sheet_row_and_column_and_nothing_is_written(
        data_copy: Path, exported: Path) -> None:
    wb = load_workbook(exported)
    ws = wb["Flows"]
    col = _header(ws)
    ws.cell(row=4, column=col["retention_need_days"]).value = "a while"
    ws.cell(row=1, column=ws.max_column + 1).value = "vendor comments"
    wb.save(exported)
    before = _digests(data_copy)
    with pytest.raises(InventoryError) as err:
        import_workbook(exported, data_copy, as_of=AS_OF)
    text = str(err.value)
    assert "inventory.xlsx, sheet Flows, row 4, field 'retention_need_days'" in text
    assert "inventory.xlsx, sheet Flows, row 1, field 'vendor comments'" in text
    assert _digests(data_copy) == before


def test_a_csv_edited_after_export_is_not_overwritten_without_force(
        data_copy: Path, exported: Path) -> None:
    flows = data_copy / "inventory" / "flows.csv"
    flows.write_text(flows.read_text(encoding="utf-8").replace(
        "Track items on loan", "Track loans"), encoding="utf-8")
    with pytest.raises(WorkbookError, match="changed after this workbook was exported"):
        import_workbook(exported, data_copy, as_of=AS_OF)
    assert "Track loans" in flows.read_text(encoding="utf-8")
    result = import_workbook(exported, data_copy, as_of=AS_OF, force=True)
    assert result.written == ["inventory/flows.csv"]


def test_text_that_looks_like_a_formula_stays_text(data_copy: Path, tmp_path: Path) -> None:
    systems = data_copy / "inventory" / "systems.csv"
    text = systems.read_text(encoding="utf-8")
    systems.write_text(text.replace(
        "Bluestem Library Systems (fictional),",
        '"=HYPERLINK(""http://x.example"",""y"")",', 1), encoding="utf-8")
    before = systems.read_bytes()
    out = export_workbook(data_copy, tmp_path / "w.xlsx", as_of=AS_OF)
    cells = [c for row in load_workbook(out)["Systems"].iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert cells and all(c.data_type == "s" for c in cells)
    import_workbook(out, data_copy, as_of=AS_OF)
    assert systems.read_bytes() == before


def test_a_blank_inventory_still_gets_every_sheet_and_list(data_copy: Path,
                                                           tmp_path: Path) -> None:
    for table in TABLES:
        path = data_copy / "inventory" / table
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n",
                        encoding="utf-8")
    out = export_workbook(data_copy, tmp_path / "w.xlsx", as_of=AS_OF)
    wb = load_workbook(out)
    assert set(SHEETS.values()) <= set(wb.sheetnames)
    assert wb["Answers"].max_row == 1
    assert wb["Systems"].data_validations.dataValidation, "drop-downs on a blank sheet"


def test_a_workbook_that_unpacks_to_far_too_much_is_refused(data_copy: Path,
                                                            tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", b"\0" * (65 * 1024 * 1024))
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(WorkbookError, match="would unpack to"):
        import_workbook(bomb, data_copy, as_of=AS_OF)


def test_export_is_the_same_for_the_same_inputs(data_copy: Path, tmp_path: Path) -> None:
    a = export_workbook(data_copy, tmp_path / "a.xlsx", as_of=AS_OF)
    b = export_workbook(data_copy, tmp_path / "b.xlsx", as_of=dt.date(2026, 11, 30))
    rows = [[list(r) for r in load_workbook(p)["Answers"].iter_rows(values_only=True)]
            for p in (a, b)]
    assert rows[0] == rows[1]
