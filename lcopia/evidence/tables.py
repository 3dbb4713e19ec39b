"""Read evidence exports as text, in bounded memory, without ever echoing their contents.

Every format becomes pyarrow data whose columns are all strings (an empty cell is null): ZIP
codes and barcodes keep their leading zeros. Two ways to read, with the same result:

- :meth:`Source.read_table` reads the whole file at once; for CSV this is pyarrow's
  multithreaded ``read_csv`` (both cores parse), the fastest way to get text columns;
- :meth:`Source.batches` streams record batches, so memory stays at a few blocks however long
  the file is (the scanner uses it above a size threshold).

Library errors (pyarrow, openpyxl, json) quote the offending row in their messages, so every
one is caught here and replaced by an :class:`~lcopia.errors.EvidenceError` that names the
file and the problem, never a value.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from lcopia.errors import EvidenceError
from lcopia.evidence.detectors import looks_like_value

HEAD_BYTES = 64 * 1024
BLOCK_BYTES = 1 << 20  # 1 MiB CSV blocks: fastest streaming block size measured here
#: Blocks of a whole-file read: as fast as 1 MiB on two cores (0.28 s for 1M rows), and 8x
#: fewer chunks per column means 8x fewer steps for every later per-chunk numpy pass.
WHOLE_BLOCK_BYTES = 8 << 20
ROW_CHUNK = 65_536  # rows per batch for formats parsed in Python (XLSX, JSON lines)
MAX_JSON_ARRAY_BYTES = 256 * 1024 * 1024

class _RetryAs(Exception):
    """Internal: the file is not valid UTF-8 after all; read it again as Windows-1252."""


@dataclass
class Source:
    """One evidence file opened for streaming: its format, columns and a batch iterator."""

    path: Path
    display: str
    format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    header_missing: bool = False
    notes: list[str] = field(default_factory=list)
    rows_skipped: int = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Record batches of string columns named ``self.columns``; raises EvidenceError."""
        if self.format in ("csv", "tsv"):
            yield from self._csv_batches()
        elif self.format == "xlsx":
            yield from _xlsx_batches(self)
        elif self.format == "parquet":
            yield from _parquet_batches(self)
        else:
            yield from _jsonl_batches(self)

    def read_table(self) -> pa.Table:
        """The whole file as one table of string columns; raises EvidenceError.

        CSV goes through pyarrow's multithreaded ``read_csv`` (measured here: about as fast as
        the floor a type-inferring read sets, and 1.5-2x faster than streaming); other formats
        are collected from :meth:`batches`.
        """
        schema = pa.schema([(c, pa.string()) for c in self.columns])
        if self.format not in ("csv", "tsv"):
            return pa.Table.from_batches(list(self.batches()), schema=schema)
        # Quoted newlines stay on: without them pyarrow splits blocks at any newline, and a
        # cut inside a quoted note silently yields wrong rows (seen here: 150,000 rows with
        # a newline in every other note, 2 rows garbled, no error). It costs ~0.1 s per 1M.
        skipped = [0]
        try:
            table = pacsv.read_csv(self.path, **self._csv_options(skipped, streaming=False))
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, ValueError) as exc:
            raise self._csv_error(exc) from None
        self.rows_skipped = skipped[0]
        return table

    # ------------------------------------------------------------------ csv
    def _csv_options(self, skipped: list[int], *, streaming: bool) -> dict[str, object]:
        """Reader options shared by both CSV paths, so they parse every file the same way."""

        def on_invalid(_row: object) -> str:
            skipped[0] += 1  # a row with the wrong number of fields; never looked at
            return "skip"

        read = {"block_size": BLOCK_BYTES if streaming else WHOLE_BLOCK_BYTES}
        return {
            "read_options": pacsv.ReadOptions(
                encoding=self.encoding or "utf8", column_names=self.columns,
                skip_rows=0 if self.header_missing else 1, **read),
            "parse_options": pacsv.ParseOptions(
                delimiter=self.delimiter or ",", newlines_in_values=True,
                invalid_row_handler=on_invalid),
            "convert_options": pacsv.ConvertOptions(
                column_types={name: pa.string() for name in self.columns}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True),
        }

    def _csv_error(self, exc: BaseException) -> Exception:
        """The error to raise for a parser failure: a UTF-8 retry, or a value-free message."""
        text = str(exc).lower()  # inspected, never shown: it may quote a row
        if (self.encoding in (None, "utf8", "utf-8")
                and ("utf8" in text or "utf-8" in text or isinstance(exc, UnicodeDecodeError))):
            return _RetryAs()
        return EvidenceError(
            self.display, "could not be parsed as delimited text (a quote may be left open "
            "or the file may be cut short)",
            "Export the file again, or open and re-save it as CSV (UTF-8)")

    def _csv_batches(self) -> Iterator[pa.RecordBatch]:
        skipped = [0]
        try:
            reader = pacsv.open_csv(self.path, **self._csv_options(skipped, streaming=True))
            for batch in reader:
                self.rows_skipped = skipped[0]
                yield batch
            self.rows_skipped = skipped[0]
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, ValueError) as exc:
            raise self._csv_error(exc) from None


# ----------------------------------------------------------------------------- sniffing


def _sniff_encoding(head: bytes) -> str:
    """BOMs first, then UTF-16 without BOM (NULs on one side), UTF-8, then a best guess."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
            return "utf-16-le"
        if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
            return "utf-16-be"
    try:
        head.decode("utf-8")
        return "utf8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the head boundary
            return "utf8"
    try:
        head.decode("cp1252")  # the usual encoding of US Windows exports: prefer it
        return "cp1252"
    except UnicodeDecodeError:
        pass
    try:
        best = from_bytes(head).best()
        guess = (best.encoding if best else "cp1252").lower()
    except Exception:  # any detector failure: fall back to the usual Windows export encoding
        guess = "cp1252"
    allowed = {"cp1252", "latin_1", "iso8859_1", "mac_roman", "cp1250", "iso8859_15", "utf_8"}
    return guess if guess in allowed else "cp1252"


def _sniff_delimiter(text: str, default: str) -> str:
    """The candidate that splits the first lines into the same number (>1) of fields."""
    lines = text.splitlines()[:50]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut
    best, best_score = default, (-1.0, 0)
    for delim in (",", ";", "\t", "|"):
        try:
            counts = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def _unique_names(cells: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(cells, start=1):
        name = raw.strip() or f"column_{i}"
        base, n = name, 2
        while name in seen:
            name = f"{base}_{n}"
            n += 1
        seen.add(name)
        names.append(name)
    return names


def _header_is_data(cells: list[str]) -> bool:
    return any(looks_like_value(c) for c in cells if c.strip())


def _magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def open_source(path: Path, display: str | None = None) -> Source:
    """Identify the format and columns of an evidence file; reads only its first bytes."""
    display = display or path.name
    if not path.exists():
        raise EvidenceError(display, "no such file", "Check the path and the file name")
    if path.is_dir():
        raise EvidenceError(display, "is a folder, not a file", "Name the export file itself")
    try:
        head = _magic(path)
    except OSError:
        raise EvidenceError(display, "cannot be opened for reading",
                            "Check the file's permissions") from None
    if not head:
        raise EvidenceError(display, "is empty", "Export the file again; it holds no bytes")
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, display, head)
    if head.startswith(b"PAR1") or suffix == ".parquet":
        return _open_parquet(path, display)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _open_jsonl(path, display, head)
    return _open_csv(path, display, head, tsv=suffix in (".tsv", ".tab"))


def _open_csv(path: Path, display: str, head: bytes, *, tsv: bool,
              encoding: str | None = None) -> Source:
    encoding = encoding or _sniff_encoding(head)
    if b"\x00" in head and not encoding.startswith("utf-16"):
        raise EvidenceError(display, "looks like a binary file, not text",
                            "Export the data as CSV, TSV, XLSX, Parquet or JSON lines")
    for magic in (b"%PDF", b"\x1f\x8b", b"\xd0\xcf\x11\xe0", b"SQLite format"):
        if head.startswith(magic):
            raise EvidenceError(display, "is not a delimited text file (it looks like a PDF, "
                                "gzip, legacy Excel or SQLite file)",
                                "Export the data as CSV, TSV, XLSX, Parquet or JSON lines")
    try:
        text = head.decode(encoding, errors="replace")
    except LookupError:
        text = head.decode("cp1252", errors="replace")
        encoding = "cp1252"
    text = text.lstrip("\ufeff")
    delimiter = _sniff_delimiter(text, "\t" if tsv else ",")
    try:
        first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        first = []
    if not first or all(not c.strip() for c in first):
        raise EvidenceError(display, "has no header row or data in its first line",
                            "Remove blank lines at the top of the export")
    header_missing = _header_is_data(first)
    columns = ([f"column_{i}" for i in range(1, len(first) + 1)] if header_missing
               else _unique_names(first))
    src = Source(path, display, "tsv" if delimiter == "\t" else "csv", columns,
                 encoding=encoding, delimiter=delimiter, header_missing=header_missing)
    if header_missing:
        src.notes.append("the first row looks like data, not column names: the file seems to "
                         "lack a header, so columns are shown as column_1, column_2, ...")
    if encoding not in ("utf8", "utf-8-sig"):
        src.notes.append(f"read as {encoding} text")
    return src


def csv_batches_with_fallback(src: Source) -> Iterator[pa.RecordBatch]:
    """Stream a CSV; if it turns out not to be UTF-8 past the head, restart as Windows-1252.

    Restarting is only possible before the first batch was consumed by the caller, so the
    caller (:mod:`lcopia.evidence.scan`) restarts its whole scan on ``_RetryAs``; this wrapper
    exists for callers that only want rows.
    """
    try:
        yield from src.batches()
    except _RetryAs:
        src.encoding = "cp1252"
        src.notes.append("read as cp1252 text (not valid UTF-8)")
        yield from src.batches()


# ----------------------------------------------------------------------------- xlsx


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _load_workbook(path: Path, display: str):  # type: ignore[no-untyped-def]
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types (BadZipFile, KeyError, XML errors)
        raise EvidenceError(display, "is not a readable XLSX workbook (damaged or cut short)",
                            "Open it in a spreadsheet program and save it again as .xlsx, "
                            "or export CSV instead") from None


def _open_xlsx(path: Path, display: str, head: bytes) -> Source:
    if not head.startswith(b"PK\x03\x04"):
        raise EvidenceError(display, "has an .xlsx name but is not a workbook",
                            "Export the data again as .xlsx or CSV")
    wb = _load_workbook(path, display)
    try:
        ws = wb.worksheets[0]
        first_row: list[str] = []
        for row in ws.iter_rows(max_row=1, values_only=True):
            first_row = ["" if v is None else (_cell_text(v) or "") for v in row]
        sheets = len(wb.worksheets)
    except Exception:
        raise EvidenceError(display, "is not a readable XLSX workbook (damaged or cut short)",
                            "Open it in a spreadsheet program and save it again") from None
    finally:
        wb.close()
    while first_row and not first_row[-1].strip():
        first_row.pop()
    if not first_row:
        raise EvidenceError(display, "has an empty first sheet",
                            "Put the export on the first sheet, with column names in row 1")
    header_missing = _header_is_data(first_row)
    columns = ([f"column_{i}" for i in range(1, len(first_row) + 1)] if header_missing
               else _unique_names(first_row))
    src = Source(path, display, "xlsx", columns, header_missing=header_missing)
    if sheets > 1:
        src.notes.append(f"the workbook has {sheets} sheets; only the first was scanned")
    if header_missing:
        src.notes.append("the first row looks like data, not column names: columns are shown "
                         "as column_1, column_2, ...")
    return src


def _xlsx_batches(src: Source) -> Iterator[pa.RecordBatch]:
    wb = _load_workbook(src.path, src.display)
    width = len(src.columns)
    try:
        rows = wb.worksheets[0].iter_rows(min_row=1 if src.header_missing else 2,
                                          values_only=True)
        buf: list[list[str | None]] = [[] for _ in range(width)]
        count = 0
        for row in rows:
            cells = [_cell_text(v) for v in row[:width]]
            if all(c is None for c in cells):
                continue
            if len(row) > width and any(v is not None for v in row[width:]):
                src.rows_skipped += 1  # cells beyond the header's columns: not attributable
            cells += [None] * (width - len(cells))
            for i, c in enumerate(cells):
                buf[i].append(c)
            count += 1
            if count == ROW_CHUNK:
                yield _batch(buf, src.columns)
                buf, count = [[] for _ in range(width)], 0
        if count:
            yield _batch(buf, src.columns)
    except EvidenceError:
        raise
    except Exception:
        raise EvidenceError(src.display, "could not be read to the end (damaged workbook)",
                            "Open it in a spreadsheet program and save it again") from None
    finally:
        wb.close()


def _batch(buf: list[list[str | None]], names: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(col, pa.string()) for col in buf], names=names)


# ----------------------------------------------------------------------------- parquet


def _open_parquet(path: Path, display: str) -> Source:
    try:
        schema = pq.ParquetFile(path).schema_arrow
    except Exception:
        raise EvidenceError(display, "is not a readable Parquet file (damaged or cut short)",
                            "Export the data again") from None
    names = _unique_names([f.name for f in schema])
    return Source(path, display, "parquet", names)


def _to_text(arr: pa.Array) -> pa.Array:
    """Any Parquet column as strings; nested values as sorted-key JSON."""
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_large_string(arr.type) or pa.types.is_dictionary(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        try:
            return arr.cast(pa.string())
        except pa.ArrowInvalid:
            return pa.nulls(len(arr), pa.string())
    if pa.types.is_timestamp(arr.type):
        seconds = arr.cast(pa.timestamp("s", tz=arr.type.tz), safe=False)
        day = pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")
        return pc.replace_substring_regex(day, r" 00:00:00$", "")
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else json.dumps(v, sort_keys=True, default=str)
                         for v in arr.to_pylist()], pa.string())


def _parquet_batches(src: Source) -> Iterator[pa.RecordBatch]:
    try:
        pf = pq.ParquetFile(src.path)
        for batch in pf.iter_batches(batch_size=ROW_CHUNK * 2):
            cols = [_to_text(batch.column(i)) for i in range(batch.num_columns)]
            cols = [pc.if_else(pc.equal(c, ""), pa.scalar(None, pa.string()), c) for c in cols]
            yield pa.RecordBatch.from_arrays(cols, names=src.columns)
    except EvidenceError:
        raise
    except Exception:
        raise EvidenceError(src.display, "could not be read to the end (damaged Parquet file)",
                            "Export the data again") from None


# ----------------------------------------------------------------------------- json lines


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    return text if text.strip() else None


def _json_records(path: Path, display: str) -> Iterator[dict[str, object]]:
    """Objects from JSON lines, or from one top-level JSON array (size-limited)."""
    with path.open("rb") as fh:
        first = fh.read(1024).lstrip(codecs.BOM_UTF8).lstrip()
    if first.startswith(b"["):
        if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
            raise EvidenceError(display, "is one large JSON array",
                                "Export it as JSON lines (one object a line) instead")
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            raise EvidenceError(display, "is not valid JSON",
                                "Export the data again as JSON lines") from None
        if not isinstance(data, list):
            raise EvidenceError(display, "is JSON but not a list of records",
                                "Export one object per record")
        for i, rec in enumerate(data, start=1):
            if not isinstance(rec, dict):
                raise EvidenceError(display, f"record {i} is not an object",
                                    "Export one object per record")
            yield rec
        return
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.strip()
            if lineno == 1:
                line = line.lstrip(codecs.BOM_UTF8)
            if not line:
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise EvidenceError(display, f"line {lineno} is not valid JSON (it may be cut "
                                    "short)", "Export the data again as JSON lines") from None
            if not isinstance(rec, dict):
                raise EvidenceError(display, f"line {lineno} is not a JSON object",
                                    "Export one object per line") from None
            yield rec


def _open_jsonl(path: Path, display: str, head: bytes) -> Source:
    if b"\x00" in head:
        raise EvidenceError(display, "looks like a binary file, not JSON",
                            "Export the data as JSON lines")
    keys: dict[str, None] = {}
    for rec in _json_records(path, display):  # a key pass: a key first seen late still counts
        for k in rec:
            keys.setdefault(str(k), None)
    if not keys:
        raise EvidenceError(display, "holds no records", "Export the data again")
    return Source(path, display, "jsonl", list(keys))


def _jsonl_batches(src: Source) -> Iterator[pa.RecordBatch]:
    buf: list[list[str | None]] = [[] for _ in src.columns]
    index = {name: i for i, name in enumerate(src.columns)}
    count = 0
    for rec in _json_records(src.path, src.display):
        row: list[str | None] = [None] * len(src.columns)
        for k, v in rec.items():
            row[index[str(k)]] = _json_text(v)
        for i, c in enumerate(row):
            buf[i].append(c)
        count += 1
        if count == ROW_CHUNK:
            yield _batch(buf, src.columns)
            buf, count = [[] for _ in src.columns], 0
    if count:
        yield _batch(buf, src.columns)


def read_all(path: Path, display: str | None = None) -> pa.Table:
    """Whole file as a string table (for tests and small files; scans use ``batches``)."""
    src = open_source(path, display)
    batches = list(csv_batches_with_fallback(src)) if src.format in ("csv", "tsv") else list(
        src.batches())
    schema = pa.schema([(c, pa.string()) for c in src.columns])
    return pa.Table.from_batches(batches, schema=schema)
