"""Hostile evidence files (issue 12): names that are identifiers, headerless CSVs, zip bombs,
long lines, special files, and the hash of what was scanned. Each case failed before."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from lcopia import evidence
from lcopia.cli import main
from lcopia.errors import EvidenceError
from lcopia.evidence import tables

AS_OF = dt.date(2026, 11, 30)
EMAIL = "zebulon.q@canary.example"
CARD = "20417987654321"
NAME = "Zebulon Quillfeather"
CANARIES = (EMAIL, CARD, NAME, "Zebulon", "Quillfeather", "zebulon.q", "canary.example",
            "Custody Law")


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary.lower() not in text.lower(), f"canary {canary!r} leaked"


def scan(path: Path, **kw: object) -> evidence.FileScan:
    opts: dict[str, object] = {"k": 5, "as_of": AS_OF, "sample_rows": 500}
    opts.update(kw)
    return evidence.scan_file(path, **opts)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["scan", *args, "--as-of", "2026-11-30"])
    out = capsys.readouterr()
    return rc, out.out + out.err


def write_xlsx(path: Path, shared: list[str] | bytes, rows: list[list[int]]) -> Path:
    """A minimal workbook whose cells point at shared strings (written by hand, so a test can
    make the shared-strings part as hostile as it likes)."""
    if isinstance(shared, bytes):
        sst = shared
    else:
        sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats'
               f'.org/spreadsheetml/2006/main" count="{len(shared)}" uniqueCount="{len(shared)}">'
               + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>").encode()
    cells = "".join(
        f'<row r="{r + 1}">' + "".join(
            f'<c r="{chr(65 + c)}{r + 1}" t="s"><v>{v}</v></c>' for c, v in enumerate(row))
        + "</row>" for r, row in enumerate(rows))
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-'
        'types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
        'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument'
        '.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" Content'
        'Type="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats'
        '-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relation'
        f'ships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDoc'
        'ument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main'
        f'" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1"'
        ' r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package'
        f'/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relation'
        'ships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="'
        f'{ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{ns}/spreadsheetml'
        f'/2006/main"><sheetData>{cells}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
        zf.writestr("xl/sharedStrings.xml", sst)
    return path


# ----------------------------------------------------------------------------- names


def test_a_json_export_keyed_by_a_patron_email_never_shows_the_key(tmp_path, capsys):
    path = tmp_path / "keyed.jsonl"
    path.write_text("".join(json.dumps({EMAIL: "2025-01-01", CARD: "x", "branch": "Central"})
                            + "\n" for _ in range(20)), encoding="utf-8")
    result = scan(path, claims="statistics")
    kinds = {c.name: c.header_kind for c in result.columns}
    assert sorted(k for k in kinds.values() if k) == ["card_barcode", "email"]
    assert "branch" in kinds
    assert any(i.kind == "identifier_in_statistics" and i.hard for i in result.issues)
    assert all(c.identifying for c in result.columns if c.header_kind)
    report = evidence.EvidenceReport(as_of=AS_OF, files=[result])
    assert_no_canary(report.model_dump_json(), evidence.evidence_text(report), repr(report))
    for fmt in ("text", "json"):
        rc, shown = run(capsys, str(path), "--format", fmt)
        assert rc == 0 and "column_" in shown
        assert_no_canary(shown)
    rc, shown = run(capsys, str(path), "--quasi", "nosuch")  # the error lists the columns
    assert rc == 2
    assert_no_canary(shown)


def test_a_csv_header_cell_that_is_a_card_number_or_name_is_not_echoed(tmp_path, capsys):
    path = tmp_path / "pivot.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["branch", EMAIL, "total"])
        w.writerows([["Central", "3", "4"], ["East", "1", "9"]])
    for fmt in ("text", "json"):
        rc, shown = run(capsys, str(path), "--format", fmt)
        assert rc == 0
        assert_no_canary(shown)


def test_a_csv_without_a_header_row_whose_first_row_is_a_patron(tmp_path, capsys):
    rows = [[NAME, "Custody Law for Fathers", "Central"],
            ["Maria Lopez", "The Silent River", "East"], ["James Smith", "Gardens", "Central"],
            ["Linda Nguyen", "Night Sky Atlas", "West"], ["Robert Lee", "Bread Baking", "East"]]
    path = tmp_path / "headless.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    src = tables.open_source(path)
    assert src.header_missing and src.columns == ["column_1", "column_2", "column_3"]
    result = scan(path)
    assert result.header_missing and result.rows == 5  # the first row is counted as data
    assert next(c for c in result.columns if c.name == "column_1").kind == "person_name"
    for fmt in ("text", "json"):
        rc, shown = run(capsys, str(path), "--format", fmt)
        assert rc == 0
        assert_no_canary(shown)
    rc, shown = run(capsys, str(path), "--sensitive", "genre")
    assert rc == 2 and "column_2" in shown
    assert_no_canary(shown)


def test_a_real_header_above_names_is_still_a_header(tmp_path):
    path = tmp_path / "named.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Patron Name", "Title", "Year"])
        w.writerows([["Maria Lopez", "A", "2021"], ["James Smith", "B", "2022"],
                     ["Linda Nguyen", "C", "2023"]])
    assert not tables.open_source(path).header_missing


def test_an_xlsx_header_row_holding_an_email_is_read_as_data(tmp_path, capsys):
    path = write_xlsx(tmp_path / "w.xlsx", ["branch", EMAIL, "Central", "3"],
                      [[0, 1], [2, 3], [2, 3]])
    result = scan(path)
    assert result.header_missing and [c.name for c in result.columns] == ["column_1",
                                                                          "column_2"]
    rc, shown = run(capsys, str(path), "--format", "json")
    assert rc == 0
    assert_no_canary(shown, result.model_dump_json())


# ----------------------------------------------------------------------------- limits


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, capsys):
    sst = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           b'2006/main" count="1" uniqueCount="1"><si><t>' + b"a" * (24 << 20) + b"</t></si></sst>")
    path = write_xlsx(tmp_path / "bomb.xlsx", sst, [[0]])
    assert path.stat().st_size < 200_000
    with pytest.raises(EvidenceError, match="zip bomb"):
        tables.open_source(path)
    rc, shown = run(capsys, str(path))
    assert rc == 2 and "zip bomb" in shown and "Traceback" not in shown


def test_an_xlsx_with_too_many_shared_strings_is_refused(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "many.xlsx", [""] * 5000, [[0]])
    monkeypatch.setattr(tables, "XLSX_MAX_SHARED_STRINGS", 1000)
    with pytest.raises(EvidenceError, match="distinct strings"):
        tables.open_source(path)


def test_one_shared_string_longer_than_a_value_may_be_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "MAX_VALUE_BYTES", 1 << 16)
    path = write_xlsx(tmp_path / "long.xlsx", ["x" * (300 << 10)], [[0]])
    with pytest.raises(EvidenceError, match="one cell holds more than"):
        tables.open_source(path)


def test_a_json_line_longer_than_the_limit_is_refused_without_reading_it_whole(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tables, "MAX_LINE_BYTES", 1 << 20)
    path = tmp_path / "long.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"a": "1"}\n{"note": "' + "z" * (3 << 20) + '"}\n')
    with pytest.raises(EvidenceError, match="line 2 is longer than 1 MiB"):
        scan(path)
    rc, shown = run(capsys, str(path))
    assert rc == 2 and "line 2" in shown


def test_a_json_export_with_a_key_per_patron_is_refused_past_the_column_limit(
        tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "MAX_COLUMNS", 50)
    path = tmp_path / "keys.jsonl"
    path.write_text("".join(json.dumps({f"p{i}@example.org": "1"}) + "\n" for i in range(60)),
                    encoding="utf-8")
    with pytest.raises(EvidenceError, match="different keys"):
        tables.open_source(path)


def test_a_large_json_array_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "MAX_JSON_ARRAY_BYTES", 1000)
    path = tmp_path / "arr.json"
    path.write_text(json.dumps([{"a": str(i)} for i in range(200)]), encoding="utf-8")
    with pytest.raises(EvidenceError, match="JSON array larger than"):
        tables.open_source(path)


# ----------------------------------------------------------------------------- special files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path, capsys):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)  # nobody ever writes to it: opening it for reading would block forever
    with pytest.raises(EvidenceError, match="named pipe"):
        tables.open_source(fifo)
    rc, shown = run(capsys, str(fifo))
    assert rc == 2 and "named pipe" in shown


def test_a_device_and_a_symlink_are_refused(tmp_path, capsys):
    with pytest.raises(EvidenceError, match="device"):
        tables.open_source(Path("/dev/null"))
    real = tmp_path / "real.csv"
    real.write_text("zip\n65802\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with pytest.raises(EvidenceError, match="symbolic link"):
        tables.open_source(link)
    rc, shown = run(capsys, str(link))
    assert rc == 2 and "symbolic link" in shown


# ----------------------------------------------------------------------------- integrity


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
@pytest.mark.parametrize("streamed", [False, True])
def test_the_scan_carries_the_hash_of_the_bytes_it_read(tmp_path, suffix, streamed):
    path = tmp_path / f"e{suffix}"
    if suffix == ".csv":
        path.write_text("zip,branch\n" + "65802,Central\n" * 50, encoding="utf-8")
    elif suffix == ".jsonl":
        path.write_text('{"zip": "65802"}\n' * 50, encoding="utf-8")
    else:
        write_xlsx(path, ["zip", "65802"], [[0], [1], [1]])
    result = scan(path, in_memory_max_bytes=0 if streamed else 1 << 30)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_replaced_after_it_was_opened_is_hashed_as_scanned(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("zip,branch\n" + "65802,Central\n" * 50, encoding="utf-8")
    src = tables.open_source(path)
    with path.open("a", encoding="utf-8") as fh:  # rows appended between open and read
        fh.write("65810,East\n" * 20)
    table = src.read_table()
    assert table.num_rows == 70
    assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    src = tables.open_source(path)
    path.write_text("card,branch\n" + "1,East\n" * 70, encoding="utf-8")  # header changed
    with pytest.raises(EvidenceError, match="changed while it was being scanned"):
        src.read_table()


def test_a_parquet_column_named_by_a_card_number_is_masked(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({CARD: ["1", "2", "3"], "branch": ["Central", "East", "West"]}), path)
    result = scan(path, claims="deidentified")
    assert [c.header_kind for c in result.columns] == ["card_barcode", None]
    assert any(i.kind == "identifier_in_statistics" for i in result.issues)
    for fmt in ("text", "json"):
        rc, shown = run(capsys, str(path), "--format", fmt)
        assert rc == 0
        assert_no_canary(shown, result.model_dump_json())
