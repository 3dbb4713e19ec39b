"""One whole ``assess`` run with planted patrons: no planted value reaches any output.

The suite's shared run (conftest ``shared_run``, planted as shared_run.py describes) put canary
patrons in every evidence file (a loans export, a statistics file, a workbook, a JSON-lines
export and a browser capture); its run folder is searched file by file (HTML, PDF text,
workbook XML, notebooks, JSON, CSV) and so are stdout and stderr. The same run carries hostile
text in the inventory, to prove the outputs a person opens escape HTML and neutralize
spreadsheet formulas.
"""

from __future__ import annotations

import html
import json
import subprocess
import zipfile
from pathlib import Path

import openpyxl
from shared_run import CANARIES, XSS, read_rows, variants


def _texts(path: Path) -> list[tuple[str, str]]:
    """(where, text) pieces of one output file, as a person or a program would read them."""
    if path.suffix == ".pdf":
        done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                              text=True, check=True)
        return [(str(path), done.stdout)]
    raw = path.read_bytes()
    if zipfile.is_zipfile(path):  # xlsx: every part (cells, shared strings, comments)
        with zipfile.ZipFile(path) as zf:
            return [(f"{path}!{name}", zf.read(name).decode("utf-8", "replace"))
                    for name in zf.namelist()]
    return [(str(path), raw.decode("utf-8", "replace"))]


def _leaks(where: str, text: str) -> list[str]:
    low = text.lower()
    return [f"{canary!r} in {where}" for canary in CANARIES
            if any(v in low for v in variants(canary))]


def test_planted_rows_were_really_scanned(shared_run):
    run_dir, counts = shared_run.run_dir, shared_run.counts
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    scanned = {f["file"]: f["rows"] for f in results["evidence"]["files"]}
    assert scanned == counts
    loans = next(f for f in results["evidence"]["files"]
                 if f["file"] == "exports/circulation_loans.csv")
    kinds = {c["name"]: c["kind"] for c in loans["columns"]}
    assert kinds["patron_barcode"] == "card_barcode" and kinds["email"] == "email"
    assert results["web"]["captures"], "the planted browser capture was not audited"


def test_no_canary_in_any_file_of_the_run_folder(shared_run):
    run_dir = shared_run.run_dir
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    assert any(p.suffix == ".pdf" for p in files) and any(p.suffix == ".xlsx" for p in files)
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".html" for p in files)
    found = [leak for path in files for where, text in _texts(path)
             for leak in _leaks(where, text)]
    assert not found


def test_no_canary_in_the_reports_folder_beside_the_run(shared_run):
    run_dir = shared_run.run_dir
    others = [p for p in run_dir.parent.rglob("*")
              if p.is_file() and run_dir not in p.parents]
    found = [leak for path in others for where, text in _texts(path)
             for leak in _leaks(where, text)]
    assert not found


def test_no_canary_in_stdout_or_stderr(shared_run):
    result = shared_run.result
    assert "Traceback" not in result.stderr
    assert not _leaks("stdout", result.stdout) + _leaks("stderr", result.stderr)


def test_html_outputs_escape_inventory_script(shared_run):
    run_dir = shared_run.run_dir
    pages = sorted(run_dir.rglob("*.html"))
    assert pages
    board = (run_dir / "board-report.html").read_text(encoding="utf-8")
    assert html.escape(XSS, quote=False) in board or html.escape(XSS) in board
    for page in pages:
        assert XSS not in page.read_text(encoding="utf-8"), page.name


def test_notebook_html_outputs_escape_inventory_script(shared_run):
    run_dir = shared_run.run_dir
    for path in sorted((run_dir / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for output in cell.get("outputs", []):
                shown = output.get("data", {}).get("text/html")
                if shown:
                    text = "".join(shown) if isinstance(shown, list) else shown
                    assert XSS not in text, path.name


def _formula_cells(values: list[object]) -> list[str]:
    return [str(v) for v in values if isinstance(v, str) and v.startswith(("=", "+", "@"))
            and "evil.example" in v]


def test_action_plan_workbook_neutralises_formula_text(shared_run):
    run_dir = shared_run.run_dir
    book = openpyxl.load_workbook(run_dir / "action-plan.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert any(isinstance(c.value, str) and "evil.example" in c.value for c in cells), (
        "the hostile system name should reach the action plan, neutralized")
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not _formula_cells([c.value for c in cells])


def test_findings_csv_neutralises_formula_text(shared_run):
    run_dir = shared_run.run_dir
    table = read_rows(run_dir / "findings.csv")
    cells = [cell for row in table for cell in row]
    assert any("evil.example" in c for c in cells)
    assert not _formula_cells(cells)
