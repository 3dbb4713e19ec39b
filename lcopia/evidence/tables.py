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
import hashlib
import io
import json
import os
import zipfile
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
from lcopia.evidence import detectors
from lcopia.fsio import FileProblem, file_kind_problem, require_regular_file
from lcopia.wording import plural

HEAD_BYTES = 64 * 1024
BLOCK_BYTES = 1 << 20  # 1 MiB CSV blocks: fastest streaming block size measured here
#: Blocks of a whole-file read: as fast as 1 MiB on two cores (0.28 s for 1M rows), and 8x
#: fewer chunks per column means 8x fewer steps for every later per-chunk numpy pass.
WHOLE_BLOCK_BYTES = 8 << 20
ROW_CHUNK = 65_536  # rows per batch for formats parsed in Python (XLSX, JSON lines)

# Limits: past any of them a file is refused with a message (exit 2), never read on until
# memory runs out. Each is far above what a library system exports.
#: A whole-file JSON array is parsed at once (about 10x its size in memory): keep it small.
MAX_JSON_ARRAY_BYTES = 32 << 20
#: One JSON line (one record) or one CSV row.
MAX_LINE_BYTES = 16 << 20
#: Distinct columns (JSON keys): an export keyed by patrons would otherwise grow one per row.
MAX_COLUMNS = 4096
#: XLSX and Parquet are read from one in-memory snapshot of the file (hashed as read).
MAX_SNAPSHOT_BYTES = 512 << 20
#: XLSX parts: entries, their total unpacked size, their packing ratio, the shared strings.
XLSX_MAX_ENTRIES = 10_000
XLSX_MAX_UNPACKED = 2 << 30
XLSX_MAX_RATIO = 200  # unpacked/packed, for parts above XLSX_RATIO_FLOOR
XLSX_RATIO_FLOOR = 8 << 20
XLSX_MAX_SHARED_BYTES = 256 << 20
XLSX_MAX_SHARED_STRINGS = 4_000_000
#: A single cell value (a shared string, a JSON value).
MAX_VALUE_BYTES = 1 << 20
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

_ENCODING_NAMES = {"cp1252": "Windows-1252", "latin_1": "Latin-1", "mac_roman": "Mac Roman",
                   "cp1250": "Windows-1250", "iso8859_15": "Latin-9"}


class _RetryAs(Exception):
    """Internal: the file is not valid UTF-8 after all; read it again as Windows-1252."""


def _refuse_special(path: Path, display: str) -> int:
    """The file's size, after refusing links, FIFOs, devices and sockets by ``lstat``.

    Checked before any open, so a named pipe can never block a read (a blocked read in a
    worker thread ignores Ctrl-C) and a link can never bring in a file from elsewhere.
    """
    try:
        return require_regular_file(path, display, missing="no such file").st_size
    except FileProblem as exc:
        why = exc.expected.split(";")[0]
        fix = {"no such file": "Check the path and the file name",
               "is a folder, not a file": "Name the export file itself"}.get(
                   why, "Point lcopia at the exported file itself")
        raise EvidenceError(display, why, fix) from None


def _open_fd(path: Path, display: str) -> io.BufferedReader:
    """Open without following links or blocking, and check again what was opened."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        raise EvidenceError(display, "cannot be opened for reading",
                            "Check the file's permissions") from None
    why = file_kind_problem(os.fstat(fd).st_mode)  # swapped after lstat: check again
    if why:
        os.close(fd)
        raise EvidenceError(display, why.split(";")[0], "Point lcopia at the exported file itself")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


class HashingReader(io.RawIOBase):
    """A file read once, front to back, hashed as it goes: the hash is of the bytes scanned.

    Hashing while reading (not before or after) is what makes the run manifest's hash name
    the bytes the scan saw, even if the file is replaced during the run.
    """

    def __init__(self, path: Path, display: str) -> None:
        super().__init__()
        self._fh = _open_fd(path, display)
        self._digest = hashlib.sha256()
        self.size = 0
        self.first = bytearray()  # the first HEAD_BYTES, to compare with the sniffed head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._fh.readinto(buffer)
        if n:
            self._digest.update(memoryview(buffer)[:n])
            if len(self.first) < HEAD_BYTES:
                self.first += memoryview(buffer)[:min(n, HEAD_BYTES - len(self.first))]
            self.size += n
        return n or 0

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._fh.close()
        super().close()


def _snapshot(path: Path, display: str, what: str) -> tuple[bytes, str]:
    """The whole file in memory (size-limited) and its sha256: one copy to parse and hash."""
    with _open_fd(path, display) as fh:
        data = fh.read(MAX_SNAPSHOT_BYTES + 1)
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise EvidenceError(display, f"is larger than the {MAX_SNAPSHOT_BYTES >> 20} MiB an "
                            f"{what} file may be", "Export the data as CSV instead")
    return data, hashlib.sha256(data).hexdigest()


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
    #: masked column name -> identifier kind, for column names that were themselves
    #: identifiers (an e-mail address as a JSON key); the name itself is never kept
    header_kinds: dict[str, str] = field(default_factory=dict)
    #: sha256 of the bytes the last complete read saw (None until one finished)
    sha256: str | None = None
    head: bytes = b""
    keys: list[str] = field(default_factory=list, repr=False)  # JSON keys, in column order
    snapshot: bytes | None = field(default=None, repr=False)

    def _finish(self, digest: str, head: bytes) -> None:
        """Record the hash of a complete read; refuse a file that changed since it was opened."""
        if self.head and head[:len(self.head)] != self.head:
            raise EvidenceError(self.display, "changed while it was being scanned",
                                "Scan it again once nothing is writing to it")
        self.sha256 = digest

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
        reader = HashingReader(self.path, self.display)
        try:
            table = pacsv.read_csv(reader, **self._csv_options(skipped, streaming=False))
            rest = reader.read(1)  # pyarrow stops at the end; make sure every byte was hashed
            if rest:
                raise pa.ArrowInvalid("trailing bytes")
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, ValueError) as exc:
            raise self._csv_error(exc) from None
        finally:
            reader.close()
        self.rows_skipped = skipped[0]
        self._finish(reader.hexdigest(), bytes(reader.first))
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
        if isinstance(exc, UnicodeDecodeError) or "decode" in text or "codec" in text:
            name = _ENCODING_NAMES.get(self.encoding or "", self.encoding or "Windows-1252")
            return EvidenceError(
                self.display, f"is neither UTF-8 nor {name} text (it holds bytes, such as "
                "0x81, that no character of that encoding has)",
                "Open it in a spreadsheet program and save it as 'CSV UTF-8 (comma "
                "delimited)', then scan it again")
        return EvidenceError(
            self.display, "could not be parsed as delimited text (a quote may be left open "
            "or the file may be cut short)",
            "Export the file again, or open and re-save it as CSV (UTF-8)")

    def _csv_batches(self) -> Iterator[pa.RecordBatch]:
        skipped = [0]
        raw = HashingReader(self.path, self.display)
        try:
            reader = pacsv.open_csv(raw, **self._csv_options(skipped, streaming=True))
            for batch in reader:
                self.rows_skipped = skipped[0]
                yield batch
            self.rows_skipped = skipped[0]
            while raw.read(1 << 20):  # hash any bytes the parser did not need
                pass
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, ValueError) as exc:
            raise self._csv_error(exc) from None
        finally:
            raw.close()
        self._finish(raw.hexdigest(), bytes(raw.first))


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


def _header_is_data(cells: list[str], rest: list[list[str]] | None = None) -> bool:
    """Whether the first row is data, not column names (then the file has no header row).

    Data looks like values: an identifier, a date, a long number, a person's name; or a cell
    of the same kind as the values under it (a name above names, a number above numbers).
    Cells a name hint recognises ("Patron Name", "Email") are column names.
    """
    filled = [c.strip() for c in cells if c.strip()]
    if any(detectors.looks_like_value(c) for c in filled):
        return True
    if any(detectors.header_identifier(c) for c in filled):
        return True
    rest = [r for r in (rest or []) if len(r) == len(cells)]
    if len(rest) < 2:
        return False
    for j, cell in enumerate(cells):
        text = cell.strip()
        if not text or detectors.name_hints(text):
            continue
        below = [r[j].strip() for r in rest if r[j].strip()]
        if len(below) < 2:
            continue
        if detectors.same_kind_as(text, below):
            return True
    return False


def _screen_names(cells: list[str]) -> tuple[list[str], dict[str, str]]:
    """Column names with any that is itself an identifier replaced by ``column_N``.

    A JSON export keyed by patrons' e-mail addresses, or a header cell holding a card number,
    would otherwise carry that value into every report that names the column.
    """
    screened: list[str] = []
    kinds: dict[int, str] = {}
    for i, cell in enumerate(cells, start=1):
        kind = detectors.header_identifier(cell)
        if kind is None:
            screened.append(cell)
        else:
            screened.append("")
            kinds[i] = kind
    names = _unique_names(screened)
    return names, {names[i - 1]: kind for i, kind in kinds.items()}


def _header_note(src: Source) -> None:
    if src.header_kinds:
        kinds = ", ".join(sorted({k.replace("_", " ") for k in src.header_kinds.values()}))
        n = len(src.header_kinds)
        src.notes.append(f"{plural(n, 'column name')} were themselves identifiers ({kinds}); "
                         "they are not shown: such columns are named column_N here")


def _magic(path: Path, display: str) -> bytes:
    with _open_fd(path, display) as fh:
        return fh.read(HEAD_BYTES)


def open_source(path: Path, display: str | None = None) -> Source:
    """Identify the format and columns of an evidence file; reads only its first bytes."""
    display = display or path.name
    _refuse_special(path, display)
    try:
        head = _magic(path, display)
    except OSError:
        raise EvidenceError(display, "cannot be opened for reading",
                            "Check the file's permissions") from None
    if not head:
        raise EvidenceError(display, "is empty", "Export the file again; it holds no bytes")
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        src = _open_xlsx(path, display, head)
        src.head = head
        return src
    if head.startswith(b"PAR1") or suffix == ".parquet":
        src = _open_parquet(path, display)
        src.head = head
        return src
    if suffix in (".jsonl", ".ndjson", ".json"):
        src = _open_jsonl(path, display, head)
    else:
        src = _open_csv(path, display, head, tsv=suffix in (".tsv", ".tab"))
    src.head = head
    return src


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
    rows: list[list[str]] = []
    try:
        lines = text.splitlines(keepends=True)
        complete = "".join(lines[:-1] if len(lines) > 1 else lines)  # last line may be cut
        for row in csv.reader(io.StringIO(complete), delimiter=delimiter):
            rows.append(row)
            if len(rows) == 50:
                break
    except csv.Error:
        rows = rows[:1]
    first = rows[0] if rows else []
    if not first or all(not c.strip() for c in first):
        raise EvidenceError(display, "has no header row or data in its first line",
                            "Remove blank lines at the top of the export")
    header_missing = _header_is_data(first, rows[1:])
    kinds: dict[str, str] = {}
    if header_missing:
        columns = [f"column_{i}" for i in range(1, len(first) + 1)]
    else:
        columns, kinds = _screen_names(first)
    src = Source(path, display, "tsv" if delimiter == "\t" else "csv", columns,
                 encoding=encoding, delimiter=delimiter, header_missing=header_missing,
                 header_kinds=kinds)
    _header_note(src)
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


def _xlsx_refuse(display: str, why: str) -> EvidenceError:
    return EvidenceError(display, f"is refused: {why}",
                         "Export the data again as CSV; if the workbook came from outside the "
                         "library, do not open it")


def _check_xlsx_parts(data: bytes, display: str) -> None:
    """Refuse a workbook whose parts would unpack past the limits, before openpyxl sees it.

    openpyxl unpacks the shared strings into one list at open: a 1 MB file holding one 1 GiB
    string took 12.7 GB of memory, and 88 KB of two million empty strings took 52 s. The zip
    directory gives each part's packed and unpacked size; the shared strings are then counted
    as a stream, never held.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise EvidenceError(display, "is not a readable XLSX workbook (damaged or cut short)",
                            "Open it in a spreadsheet program and save it again") from None
    if len(infos) > XLSX_MAX_ENTRIES:
        raise _xlsx_refuse(display, f"it has more than {XLSX_MAX_ENTRIES:,} parts")
    total = 0
    for info in infos:
        total += info.file_size
        if total > XLSX_MAX_UNPACKED:
            raise _xlsx_refuse(display, f"it unpacks to more than {XLSX_MAX_UNPACKED >> 30} GiB")
        if info.file_size > XLSX_RATIO_FLOOR and (
                info.file_size > XLSX_MAX_RATIO * max(info.compress_size, 1)):
            raise _xlsx_refuse(display, f"a part unpacks to more than {XLSX_MAX_RATIO} times its "
                               "packed size (a zip bomb)")
        if info.filename.lower().endswith("sharedstrings.xml"):
            if info.file_size > XLSX_MAX_SHARED_BYTES:
                raise _xlsx_refuse(display, "its shared strings unpack to more than "
                                   f"{XLSX_MAX_SHARED_BYTES >> 20} MiB")
            _count_shared_strings(zf, info, display)


def _count_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, display: str) -> None:
    """Stream the shared strings: refuse too many, or one longer than MAX_VALUE_BYTES."""
    count = 0
    gap = 0  # bytes since the last string started
    tail = b""
    read = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                read += len(chunk)
                if read > XLSX_MAX_SHARED_BYTES:
                    raise _xlsx_refuse(display, "its shared strings unpack to more than "
                                       f"{XLSX_MAX_SHARED_BYTES >> 20} MiB")
                text = tail + chunk
                found = text.count(b"<si>") + text.count(b"<si ")
                found -= tail.count(b"<si>") + tail.count(b"<si ")
                count += found
                last = max(text.rfind(b"<si>"), text.rfind(b"<si "))
                gap = len(text) - last if last >= 0 else gap + len(chunk)
                if gap > MAX_VALUE_BYTES + 4096:
                    raise _xlsx_refuse(display, "one cell holds more than "
                                       f"{MAX_VALUE_BYTES >> 20} MiB of text")
                if count > XLSX_MAX_SHARED_STRINGS:
                    raise _xlsx_refuse(display, "it holds more than "
                                       f"{XLSX_MAX_SHARED_STRINGS:,} distinct strings")
                tail = chunk[-3:]
    except EvidenceError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError):
        raise EvidenceError(display, "is not a readable XLSX workbook (damaged or cut short)",
                            "Open it in a spreadsheet program and save it again") from None


def _load_workbook(data: bytes, display: str):  # type: ignore[no-untyped-def]
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types (BadZipFile, KeyError, XML errors)
        raise EvidenceError(display, "is not a readable XLSX workbook (damaged or cut short)",
                            "Open it in a spreadsheet program and save it again as .xlsx, "
                            "or export CSV instead") from None


def _open_xlsx(path: Path, display: str, head: bytes) -> Source:
    if not head.startswith(b"PK\x03\x04"):
        raise EvidenceError(display, "has an .xlsx name but is not a workbook",
                            "Export the data again as .xlsx or CSV")
    data, digest = _snapshot(path, display, "XLSX")
    _check_xlsx_parts(data, display)
    wb = _load_workbook(data, display)
    try:
        ws = wb.worksheets[0]
        first: list[list[str]] = []
        for row in ws.iter_rows(max_row=50, values_only=True):
            first.append(["" if v is None else (_cell_text(v) or "") for v in row])
        first_row = first[0] if first else []
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
    header_missing = _header_is_data(first_row, [r[:len(first_row)] for r in first[1:]])
    kinds: dict[str, str] = {}
    if header_missing:
        columns = [f"column_{i}" for i in range(1, len(first_row) + 1)]
    else:
        columns, kinds = _screen_names(first_row)
    src = Source(path, display, "xlsx", columns, header_missing=header_missing,
                 header_kinds=kinds, snapshot=data, sha256=digest)
    _header_note(src)
    if sheets > 1:
        src.notes.append(f"the workbook has {sheets} sheets; only the first was scanned")
    if header_missing:
        src.notes.append("the first row looks like data, not column names: columns are shown "
                         "as column_1, column_2, ...")
    return src


def _xlsx_batches(src: Source) -> Iterator[pa.RecordBatch]:
    if src.snapshot is None:
        src.snapshot, src.sha256 = _snapshot(src.path, src.display, "XLSX")
        _check_xlsx_parts(src.snapshot, src.display)
    wb = _load_workbook(src.snapshot, src.display)
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
    data, digest = _snapshot(path, display, "Parquet")
    try:
        schema = pq.ParquetFile(pa.BufferReader(data)).schema_arrow
    except Exception:
        raise EvidenceError(display, "is not a readable Parquet file (damaged or cut short)",
                            "Export the data again") from None
    if len(schema) > MAX_COLUMNS:
        raise EvidenceError(display, f"has more than {MAX_COLUMNS:,} columns",
                            "Export only the columns the flow sends")
    names, kinds = _screen_names([f.name for f in schema])
    src = Source(path, display, "parquet", names, header_kinds=kinds, snapshot=data,
                 sha256=digest)
    _header_note(src)
    return src


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
    if src.snapshot is None:
        src.snapshot, src.sha256 = _snapshot(src.path, src.display, "Parquet")
    try:
        pf = pq.ParquetFile(pa.BufferReader(src.snapshot))
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


def _lines(reader: HashingReader, display: str) -> Iterator[tuple[int, bytes]]:
    """Numbered lines, each at most MAX_LINE_BYTES: one long line never fills memory."""
    buffered = io.BufferedReader(reader, buffer_size=1 << 20)
    lineno = 0
    while True:
        raw = buffered.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise EvidenceError(display, f"line {lineno} is longer than "
                                f"{MAX_LINE_BYTES >> 20} MiB (one record cannot be that long)",
                                "Export the data again as JSON lines, one record a line")
        yield lineno, raw


def _json_records(path: Path, display: str, digest: list[str]
                  ) -> Iterator[dict[str, object]]:
    """Objects from JSON lines, or from one top-level JSON array (size-limited).

    The file is read once, front to back, through a hashing reader; when every record was
    read, its sha256 is appended to ``digest``.
    """
    reader = HashingReader(path, display)
    try:
        first = reader.read(1024) or b""
        array = first.lstrip(codecs.BOM_UTF8).lstrip().startswith(b"[")
        if array:
            data = first + (reader.read(MAX_JSON_ARRAY_BYTES) or b"")
            if len(data) > MAX_JSON_ARRAY_BYTES or reader.read(1):
                raise EvidenceError(display, "is one JSON array larger than "
                                    f"{MAX_JSON_ARRAY_BYTES >> 20} MiB",
                                    "Export it as JSON lines (one object a line) instead")
            yield from _json_array(data, display)
        else:
            yield from _json_lines(first, reader, display)
        digest.append(reader.hexdigest())
    finally:
        reader.close()


def _json_array(data: bytes, display: str) -> Iterator[dict[str, object]]:
    try:
        records = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EvidenceError(display, "is not valid JSON",
                            "Export the data again as JSON lines") from None
    if not isinstance(records, list):
        raise EvidenceError(display, "is JSON but not a list of records",
                            "Export one object per record")
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise EvidenceError(display, f"record {i} is not an object",
                                "Export one object per record")
        yield rec


class _Prefixed(io.RawIOBase):
    """Bytes already read from a reader, then the rest of that reader."""

    def __init__(self, first: bytes, reader: HashingReader) -> None:
        super().__init__()
        self._first, self._reader = memoryview(first), reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._first.nbytes:
            n = min(len(buffer), self._first.nbytes)
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        return self._reader.readinto(buffer)


def _json_lines(first: bytes, reader: HashingReader, display: str
                ) -> Iterator[dict[str, object]]:
    for lineno, raw in _lines(_Prefixed(first, reader), display):  # type: ignore[arg-type]
        line = raw.strip()
        if lineno == 1:
            line = line.lstrip(codecs.BOM_UTF8)
        if not line:
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
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
    digest: list[str] = []
    for rec in _json_records(path, display, digest):  # a key pass: late keys still count
        for k in rec:
            keys.setdefault(str(k), None)
        if len(keys) > MAX_COLUMNS:
            raise EvidenceError(display, f"has more than {MAX_COLUMNS:,} different keys (an "
                                "export keyed by patrons or dates, not one record a line?)",
                                "Export one object per record with the same keys in each")
    if not keys:
        raise EvidenceError(display, "holds no records", "Export the data again")
    names, kinds = _screen_names(list(keys))
    src = Source(path, display, "jsonl", names, header_kinds=kinds, keys=list(keys),
                 sha256=digest[0] if digest else None)
    _header_note(src)
    return src


def _jsonl_batches(src: Source) -> Iterator[pa.RecordBatch]:
    buf: list[list[str | None]] = [[] for _ in src.columns]
    index = {key: i for i, key in enumerate(src.keys or src.columns)}
    count = 0
    digest: list[str] = []
    for rec in _json_records(src.path, src.display, digest):
        row: list[str | None] = [None] * len(src.columns)
        for k, v in rec.items():
            i = index.get(str(k))
            if i is None:  # a key the first pass did not see: the file was rewritten
                raise EvidenceError(src.display, "changed while it was being scanned",
                                    "Scan it again once nothing is writing to it")
            row[i] = _json_text(v)
        for i, c in enumerate(row):
            buf[i].append(c)
        count += 1
        if count == ROW_CHUNK:
            yield _batch(buf, src.columns)
            buf, count = [[] for _ in src.columns], 0
    if count:
        yield _batch(buf, src.columns)
    if digest and src.sha256 is not None and digest[0] != src.sha256:
        raise EvidenceError(src.display, "changed while it was being scanned",
                            "Scan it again once nothing is writing to it")
    src.sha256 = digest[0] if digest else None


def read_all(path: Path, display: str | None = None) -> pa.Table:
    """Whole file as a string table (for tests and small files; scans use ``batches``)."""
    src = open_source(path, display)
    batches = list(csv_batches_with_fallback(src)) if src.format in ("csv", "tsv") else list(
        src.batches())
    schema = pa.schema([(c, pa.string()) for c in src.columns])
    return pa.Table.from_batches(batches, schema=schema)
