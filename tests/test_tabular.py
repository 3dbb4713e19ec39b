"""Reading exports as text in every format and encoding, and refusing bad files quietly."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lcopia.errors import EvidenceError
from lcopia.tabular import open_source, read_all

ROWS = [["patron_barcode", "name", "zip"],
        ["20417000012342", "Renée Dupré", "02134"],
        ["20417000012359", "José Núñez", "65802"]]


def write_text(path: Path, rows: list[list[str]], *, delimiter: str = ",",
               encoding: str = "utf-8", bom: bytes = b"") -> Path:
    text = "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"
    path.write_bytes(bom + text.encode(encoding))
    return path


def as_rows(table: pa.Table) -> list[list[str | None]]:
    return [list(r.values()) for r in table.to_pylist()]


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b"\xfe\xff"), ("cp1252", b""),
])
def test_csv_encodings_keep_accents_and_leading_zeros(tmp_path, encoding, bom):
    path = write_text(tmp_path / "patrons.csv", ROWS, encoding=encoding, bom=bom)
    table = read_all(path)
    assert table.column_names == ROWS[0]
    assert as_rows(table) == ROWS[1:]


def test_utf16_without_bom_is_recognised(tmp_path):
    path = write_text(tmp_path / "p.csv", ROWS, encoding="utf-16-le")
    assert as_rows(read_all(path)) == ROWS[1:]


def test_windows_1252_found_only_after_the_first_block_is_reread(tmp_path):
    filler = [["20417000012342", "Ann Lee", "65802"]] * 6000  # > 64 KiB of ASCII first
    path = write_text(tmp_path / "late.csv", [*ROWS[:1], *filler, ROWS[1]], encoding="cp1252")
    table = read_all(path)
    assert table.num_rows == 6001
    assert table.column("name")[-1].as_py() == "Renée Dupré"


@pytest.mark.parametrize("delimiter,suffix", [(";", ".csv"), ("\t", ".tsv"), ("|", ".txt"),
                                              ("\t", ".csv")])
def test_delimiters_are_sniffed(tmp_path, delimiter, suffix):
    path = write_text(tmp_path / f"export{suffix}", ROWS, delimiter=delimiter)
    src = open_source(path)
    assert src.delimiter == delimiter
    assert as_rows(read_all(path)) == ROWS[1:]


def test_quoted_newlines_and_empty_cells(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note,zip\n1,"first line\nsecond line",\n2,,65802\n', encoding="utf-8")
    assert as_rows(read_all(path)) == [["1", "first line\nsecond line", None],
                                       ["2", None, "65802"]]


def test_rows_with_the_wrong_number_of_fields_are_skipped_and_counted(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n", encoding="utf-8")
    src = open_source(path)
    rows = sum(b.num_rows for b in src.batches())
    assert rows == 2 and src.rows_skipped == 1


def test_a_file_without_a_header_gets_numbered_columns(tmp_path):
    path = write_text(tmp_path / "nohead.csv", ROWS[1:])
    src = open_source(path)
    assert src.header_missing
    assert src.columns == ["column_1", "column_2", "column_3"]
    assert read_all(path).num_rows == 2


def test_duplicate_and_blank_header_names_are_made_unique(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("name,name,\nA,B,C\n", encoding="utf-8")
    assert open_source(path).columns == ["name", "name_2", "column_3"]


def test_xlsx_numbers_and_dates_become_text(tmp_path):
    import datetime as dt

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["card_number", "session_start", "minutes", "note"])
    ws.append([20417000012342, dt.datetime(2026, 5, 1, 9, 30), 45, None])
    ws.append([20417000012359, dt.datetime(2026, 5, 2), 30, "ok"])
    wb.create_sheet("Other")
    path = tmp_path / "sessions.xlsx"
    wb.save(path)
    src = open_source(path)
    assert src.format == "xlsx" and any("2 sheets" in n for n in src.notes)
    assert as_rows(read_all(path)) == [
        ["20417000012342", "2026-05-01 09:30:00", "45", None],
        ["20417000012359", "2026-05-02", "30", "ok"]]


def test_parquet_of_any_types_becomes_text(tmp_path):
    import datetime as dt

    table = pa.table({"zip": ["02134", None], "n": [1, 2],
                      "when": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5), None]),
                      "tags": [["a", "b"], []], "ok": [True, False]})
    path = tmp_path / "x.parquet"
    pq.write_table(table, path)
    assert as_rows(read_all(path)) == [["02134", "1", "2026-01-02 03:04:05", '["a", "b"]', "true"],
                                       [None, "2", None, "[]", "false"]]


def test_json_lines_and_json_arrays(tmp_path):
    recs = [{"name": "Ann Lee", "age": 7, "meta": {"a": 1}}, {"name": "Bo", "late_key": "x"}]
    lines = tmp_path / "r.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in recs) + "\n\n", encoding="utf-8")
    array = tmp_path / "r.json"
    array.write_text(json.dumps(recs), encoding="utf-8")
    for path in (lines, array):
        table = read_all(path)
        assert table.column_names == ["name", "age", "meta", "late_key"]
        assert as_rows(table) == [["Ann Lee", "7", '{"a": 1}', None], ["Bo", None, None, "x"]]


@pytest.mark.parametrize("name,content,reason", [
    ("empty.csv", b"", "is empty"),
    ("blob.csv", b"\x00\x01\x02binary\x00" * 50, "binary"),
    ("book.xlsx", b"PK\x03\x04 not really a workbook", "not a readable XLSX"),
    ("book.xlsx", b"name,email\n", "not a workbook"),
    ("t.parquet", b"PAR1 cut short", "not a readable Parquet"),
    ("r.jsonl", b'{"a": 1}\n{"a": \n', "line 2 is not valid JSON"),
    ("r.jsonl", b'{"a": 1}\n"just text"\n', "line 2 is not a JSON object"),
    ("r.json", b"[1, 2]", "record 1 is not an object"),
    ("doc.csv", b"%PDF-1.7 something", "not a delimited text file"),
])
def test_bad_files_raise_evidence_errors_that_name_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(EvidenceError) as exc:
        read_all(path, display=name)
    assert reason in str(exc.value)
    assert str(exc.value).startswith(name)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(EvidenceError, match="no such file"):
        open_source(tmp_path / "nope.csv")
    with pytest.raises(EvidenceError, match="is a folder"):
        open_source(tmp_path)


def test_a_large_file_with_quoted_newlines_reads_whole_the_same_as_streamed(tmp_path):
    lines = ["loan,note,zip"]
    # 5 MiB, a newline in every other note: reading it without quote-aware block splitting
    # garbles two rows silently, so this guards the reader's options
    for i in range(150_000):
        note = f'"returned late\nby {i}, damp"' if i % 2 == 0 else f"ok {i}"
        lines.append(f"L{i:06d},{note},{65000 + i % 90:05d}")
    path = tmp_path / "notes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = open_source(path).read_table()
    streamed = pa.Table.from_batches(list(open_source(path).batches()))
    assert whole.num_rows == 150_000 and whole.equals(streamed.cast(whole.schema))
    assert whole.column("loan")[31166].as_py() == "L031166"
    assert whole.column("note")[62006].as_py() == "returned late\nby 62006, damp"
    assert whole.column("zip")[0].as_py() == "65000"


def test_a_whole_read_counts_ragged_rows_like_the_stream(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n", encoding="utf-8")
    src = open_source(path)
    assert src.read_table().num_rows == 2 and src.rows_skipped == 1
