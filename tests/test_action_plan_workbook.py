"""action-plan.xlsx as a working plan: numbered like the Board's PDF, with Status, Owner,
Due, Done date, Notes and Evidence, and set up to print."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import report_fixtures as fx

from lcopia import report


def _plan(tmp_path: Path) -> openpyxl.worksheet.worksheet.Worksheet:
    report.write_exports(fx.results(), tmp_path)
    return openpyxl.load_workbook(tmp_path / "action-plan.xlsx")["Action plan"]


def test_rows_are_numbered_and_worded_as_the_board_report_numbers_them(tmp_path) -> None:
    r = fx.results()
    ws = _plan(tmp_path)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    groups = report.action_groups(r)
    assert [(row[0], row[1], row[3]) for row in rows] == [
        (g["rank"], g["action"], g["owner"]) for g in groups]
    html = report.action_plan(r).html
    for g in groups:  # the PDF/HTML action plan shows the same number beside the same task
        assert re.search(rf">{g['rank']}</td>\s*<td><span class=\"finding-title\">"
                         rf"{re.escape(g['action'])}", html)


def test_staff_columns_and_a_status_drop_down(tmp_path) -> None:
    ws = _plan(tmp_path)
    header = [c.value for c in ws[1]]
    for column in ("Status", "Owner", "Due", "Done date", "Notes", "Evidence"):
        assert column in header, column
    status = header.index("Status") + 1
    letter = openpyxl.utils.get_column_letter(status)
    lists = [v for v in ws.data_validations.dataValidation if v.type == "list"]
    assert len(lists) == 1 and f"{letter}2" in lists[0].sqref
    assert lists[0].formula1.strip('"').split(",")[:3] == ["Not started", "In progress", "Done"]
    assert {ws.cell(row=n, column=status).value for n in range(2, ws.max_row + 1)} == {
        "Not started"}
    dates = [v for v in ws.data_validations.dataValidation if v.type == "date"]
    done = openpyxl.utils.get_column_letter(header.index("Done date") + 1)
    assert dates and f"{done}2" in dates[0].sqref


def test_every_sheet_prints_landscape_one_page_wide_with_the_header_repeated(tmp_path) -> None:
    report.write_exports(fx.results(), tmp_path)
    book = openpyxl.load_workbook(tmp_path / "action-plan.xlsx")
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref, ws.title
