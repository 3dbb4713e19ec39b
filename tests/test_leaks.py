"""One whole ``assess`` run with planted patrons: no planted value reaches any output.

A copy of the sample data gets canary patrons in every evidence file (a loans export, a
statistics file, a workbook, a JSON-lines export and a browser capture); the run folder is then
searched file by file (HTML, PDF text, workbook XML, notebooks, JSON, CSV) and so are stdout
and stderr. The same run carries hostile text in the inventory, to prove the outputs a person
opens escape HTML and neutralise spreadsheet formulas.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import openpyxl
import pytest
from conftest import AS_OF, DATA, run_cli

BARCODE = "20417987654321"
NAME = "Zebulon Quillfeather"
EMAIL = "zebulon.quillfeather@canary-patron.example"
PHONE = "660-314-1592"
STREET = "77 Quillfeather Hollow Rd"
SEARCH = "quillfeather custody dispute"
HAR_SEARCH = "coping with gambling debt"  # the sample capture's search, replaced by SEARCH
# The rare words alone too: a PDF may wrap a name or an address across two lines.
CANARIES = (BARCODE, NAME, EMAIL, PHONE, STREET, SEARCH, "quillfeather", "zebulon")

XSS = '<script>alert("lcopia-xss")</script>'
FORMULA = '=HYPERLINK("http://evil.example/steal","open me")'


def _variants(value: str) -> set[str]:
    """The spellings an output could carry a value in: as is, escaped, encoded, bare digits."""
    low = value.lower()
    out = {low, html.escape(low), quote(low), quote_plus(low), quote(quote_plus(low)),
           json.dumps(low)[1:-1]}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 10:
        out.add(digits)
    words = low.split()
    if len(words) > 1:
        out |= {"+".join(words), "%20".join(words), "%2b".join(words)}
    return {v.lower() for v in out}


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write_rows(path: Path, table: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(table)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _plant_evidence(data: Path) -> dict[str, int]:
    """Add canary patrons to every evidence export; return each file's expected row count."""
    exports = data / "evidence" / "exports"
    counts: dict[str, int] = {}

    loans = _rows(exports / "circulation_loans.csv")
    row = dict(zip(loans[0], loans[1], strict=True))
    row.update(loan_id="L09999999", patron_barcode=BARCODE, patron_name=NAME, email=EMAIL,
               phone=PHONE, street_address=STREET,
               staff_note=f"Patron {NAME} asked us to call {PHONE} about {SEARCH}")
    loans.append([row[c] for c in loans[0]])
    _write_rows(exports / "circulation_loans.csv", loans)
    counts["exports/circulation_loans.csv"] = len(loans) - 1

    stats = _rows(exports / "circulation_stats.csv")
    contact = stats[0].index("contact_email")
    stats[1][contact] = EMAIL  # an email inside a file that claims to be statistics
    _write_rows(exports / "circulation_stats.csv", stats)
    counts["exports/circulation_stats.csv"] = len(stats) - 1

    book = openpyxl.load_workbook(exports / "pc_sessions.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    template = [c.value for c in sheet[2]]
    template[header.index("session_id")] = "S999999"
    template[header.index("card_number")] = int(BARCODE)
    sheet.append(template)
    book.save(exports / "pc_sessions.xlsx")
    counts["exports/pc_sessions.xlsx"] = sheet.max_row - 1

    events = exports / "event_attendance.jsonl"
    lines = events.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record.update(registration_id="R99999", name=NAME, email=EMAIL, phone=PHONE)
    lines.append(json.dumps(record))
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["exports/event_attendance.jsonl"] = len(lines)

    har = data / "evidence" / "web" / "catalog-search-leaky.har"
    text = har.read_text(encoding="utf-8")
    planted = 0
    for encode in (lambda s: s, lambda s: s.replace(" ", "+"), lambda s: s.replace(" ", "%20"),
                   lambda s: s.replace(" ", "%2B")):
        planted += text.count(encode(HAR_SEARCH))
        text = text.replace(encode(HAR_SEARCH), encode(SEARCH))
    assert planted, "the sample capture no longer holds the search to replace"
    har.write_text(text, encoding="utf-8")
    return counts


def _plant_hostile_inventory(data: Path) -> None:
    """Script in a system's notes and vendor, a formula as a system's name, in the inventory."""
    systems = data / "inventory" / "systems.csv"
    table = _rows(systems)
    head = table[0]
    first = table[1]
    first[head.index("name")] = FORMULA
    first[head.index("vendor")] = XSS
    first[head.index("notes")] = XSS
    _write_rows(systems, table)
    answers = data / "inventory" / "answers.csv"
    table = _rows(answers)
    table[1][table[0].index("evidence")] = FORMULA
    table[1][table[0].index("comment")] = XSS
    _write_rows(answers, table)


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory: pytest.TempPathFactory):
    """One assess run over the planted copy: (run folder, completed process, row counts)."""
    base = tmp_path_factory.mktemp("canary")
    data = base / "data"
    shutil.copytree(DATA, data)
    before = "\n".join(p.read_text(encoding="utf-8", errors="replace").lower()
                       for p in data.rglob("*") if p.is_file() and p.suffix != ".xlsx")
    for canary in CANARIES:
        assert canary.lower() not in before, f"{canary!r} is already in the sample data"
    counts = _plant_evidence(data)
    _plant_hostile_inventory(data)
    out = base / "reports"
    result = run_cli("assess", "--data", str(data), "--out", str(out), "--as-of",
                     AS_OF.isoformat(), "--quiet", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = out / AS_OF.isoformat()
    assert run_dir.is_dir(), sorted(p.name for p in out.iterdir())
    return run_dir, result, counts


def _texts(path: Path) -> list[tuple[str, str]]:
    """(where, text) pieces of one output file, as a person or a program would read them."""
    if path.suffix == ".pdf":
        done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                              text=True, timeout=120, check=True)
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
            if any(v in low for v in _variants(canary))]


def test_planted_rows_were_really_scanned(canary_run):
    run_dir, _, counts = canary_run
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    scanned = {f["file"]: f["rows"] for f in results["evidence"]["files"]}
    assert scanned == counts
    loans = next(f for f in results["evidence"]["files"]
                 if f["file"] == "exports/circulation_loans.csv")
    kinds = {c["name"]: c["kind"] for c in loans["columns"]}
    assert kinds["patron_barcode"] == "card_barcode" and kinds["email"] == "email"
    assert results["web"]["captures"], "the planted browser capture was not audited"


def test_no_canary_in_any_file_of_the_run_folder(canary_run):
    run_dir, _, _ = canary_run
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    assert any(p.suffix == ".pdf" for p in files) and any(p.suffix == ".xlsx" for p in files)
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".html" for p in files)
    found = [leak for path in files for where, text in _texts(path)
             for leak in _leaks(where, text)]
    assert not found


def test_no_canary_in_the_reports_folder_beside_the_run(canary_run):
    run_dir, _, _ = canary_run
    others = [p for p in run_dir.parent.rglob("*")
              if p.is_file() and run_dir not in p.parents]
    found = [leak for path in others for where, text in _texts(path)
             for leak in _leaks(where, text)]
    assert not found


def test_no_canary_in_stdout_or_stderr(canary_run):
    _, result, _ = canary_run
    assert "Traceback" not in result.stderr
    assert not _leaks("stdout", result.stdout) + _leaks("stderr", result.stderr)


def test_html_outputs_escape_inventory_script(canary_run):
    run_dir, _, _ = canary_run
    pages = sorted(run_dir.rglob("*.html"))
    assert pages
    board = (run_dir / "board-report.html").read_text(encoding="utf-8")
    assert html.escape(XSS, quote=False) in board or html.escape(XSS) in board
    for page in pages:
        assert XSS not in page.read_text(encoding="utf-8"), page.name


def test_notebook_html_outputs_escape_inventory_script(canary_run):
    run_dir, _, _ = canary_run
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


def test_action_plan_workbook_neutralises_formula_text(canary_run):
    run_dir, _, _ = canary_run
    book = openpyxl.load_workbook(run_dir / "action-plan.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert any(isinstance(c.value, str) and "evil.example" in c.value for c in cells), (
        "the hostile system name should reach the action plan, neutralised")
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not _formula_cells([c.value for c in cells])


def test_findings_csv_neutralises_formula_text(canary_run):
    run_dir, _, _ = canary_run
    table = _rows(run_dir / "findings.csv")
    cells = [cell for row in table for cell in row]
    assert any("evil.example" in c for c in cells)
    assert not _formula_cells(cells)
