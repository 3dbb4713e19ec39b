"""Evidence checks on real exports: what actually leaves the library, not what is promised.

For each file: which columns hold identifying data (kind, share, confidence and a shape-only
masked example), whether a file that claims to be statistics or de-identified can single a
patron out (k-anonymity, unique records, small cells, l-diversity), and whether rows are kept
past the flow's retention (open loans excluded).

Design for size: a file up to ``IN_MEMORY_MAX_BYTES`` is read whole with pyarrow's
multithreaded CSV reader; a larger one is streamed in chunks in bounded memory
(:mod:`lcopia.tabular`). Both give the same report (a test proves it): the first
``sample_rows`` non-empty values of each column are classified with every pattern, and the
winning kind is then confirmed on every row with vectorised checks, on distinct values when
values repeat (names, e-mails) and straight on the bytes for fixed-width barcodes and
timestamps. Columns the sample did not call identifying are still screened on every row for
checkable identifiers (e-mail, phone, SSN, card number), behind byte-level pre-filters, so a
single leaked value far past the sample is found. Equivalence classes are counted on integer
codes of dictionary-encoded columns, merged chunk by chunk (memory grows with the number of
classes, never with rows times columns). A thread pool checks columns while the main thread
classifies and counts: pyarrow and numpy kernels release the GIL.

Privacy of the output: reports carry counts, shares, column names (from the file header) and
masks built by :func:`lcopia.detectors.mask_example`, never a value from a file. Library errors
that might quote a row are caught in :mod:`lcopia.tabular` and replaced.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Literal, NamedTuple, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lcopia import detectors
from lcopia.detectors import DIRECT_KINDS, QUASI_KINDS, BarcodeConfig
from lcopia.errors import (
    EvidenceError,
    InventoryError,
    LcopiaError,
    Problem,
    UsageError,
    did_you_mean,
)
from lcopia.models import Bundle
from lcopia.tabular import Source, _RetryAs, open_source

Claims = Literal["identifying", "statistics", "deidentified"]
IssueKind = Literal["identifier_in_statistics", "reidentification", "small_cells",
                    "l_diversity", "retention_exceeded"]

#: Used only when data/policy/scales.yaml is absent (e.g. ``lcopia scan`` run from another
#: folder); the policy file's ``evidence:`` section is the authority.
FALLBACK_DEFAULTS: dict[str, int] = {"k_anonymity": 5, "l_diversity": 2, "sample_rows": 10_000}
CHUNK_ROWS = 131_072  # rows per chunk when streaming: large enough to amortise kernel calls
#: The sample of each column is its first ``sample_rows`` non-empty values within this many
#: first rows, whichever way the file is read (so both ways reach the same verdicts).
SAMPLE_WINDOW_ROWS = 131_072
#: Files up to this size are read whole: pyarrow parses a CSV on every core at once, and a
#: column is checked in one pass instead of one per chunk (about 2x faster on 1M rows). A
#: whole read peaks at about 4x the file's size (860-960 MiB for the 231 MiB benchmark
#: file, against 710-800 MiB streamed), so larger files are streamed.
IN_MEMORY_MAX_BYTES = 512 << 20
OPEN_COLUMN_HINTS = ("checkin", "check_in", "returned", "return_date", "return_time",
                     "date_returned", "xact_finish", "end_time", "session_end", "logout")
CONTROL_STATISTICS = "statistics_non_identifying"
CONTROL_RETENTION = "retention_within_need"


# ----------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnScan(_Model):
    name: str = Field(description="Column name from the file header (column_N without one).")
    kind: str
    by: Literal["name", "values", "both"]
    match_share: float = Field(description="Share of non-empty values matching the kind.")
    matches: int
    non_empty: int
    confidence: Literal["high", "medium", "low"]
    masked_example: str = Field(
        description="Shape-only mask; see lcopia.detectors.mask_example for why it cannot "
        "reconstruct a value.")
    embedded: list[str] = Field([], description="For free text: identifier kinds found inside.")

    @property
    def identifying(self) -> bool:
        return self.kind in DIRECT_KINDS and self.confidence in ("high", "medium") and (
            self.matches > 0)


class RetentionCheck(_Model):
    date_column: str
    open_column: str | None
    retention_days: int
    cutoff: dt.date
    expired_rows: int
    open_rows_excluded: int
    unparsed_dates: int
    oldest_age_days: int | None = Field(
        description="Age in days of the oldest closed (not open) record.")


class EvidenceIssue(_Model):
    kind: IssueKind
    hard: bool
    column: str | None = None
    count: int
    detail: str
    control_hint: str


class FileScan(_Model):
    file: str
    flow_id: str | None = None
    claims: Claims | None = None
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    rows: int
    rows_skipped: int = 0
    header_missing: bool = False
    columns: list[ColumnScan]
    quasi_identifiers: list[str] = []
    quasi_inferred: bool = False
    k: int
    k_min: int | None = None
    equivalence_classes: int | None = None
    unique_records: int | None = None
    records_below_k: int | None = None
    count_column: str | None = None
    small_cells: int | None = Field(None, description="Cells with 0 < count < k (masked).")
    cells: int | None = None
    sensitive: str | None = None
    l_target: int | None = None
    l_diversity: int | None = None
    records_below_l: int | None = None
    retention: RetentionCheck | None = None
    notes: list[str] = []
    issues: list[EvidenceIssue] = []


class EvidenceReport(_Model):
    as_of: dt.date
    files: list[FileScan]

    @property
    def hard_issues(self) -> list[EvidenceIssue]:
        return [i for f in self.files for i in f.issues if i.hard]


class ManifestEntry(BaseModel):
    """One export and what the library says it is (validated, unknown keys refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    flow_id: str
    claims: Claims
    description: str = ""
    quasi_identifiers: list[str] | None = None
    sensitive: str | None = None
    date_column: str | None = None
    open_column: str | None = None
    count_column: str | None = None
    retention_days: int | None = Field(None, ge=0)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exports: list[ManifestEntry]


# ----------------------------------------------------------------------------- defaults


def evidence_defaults(data_dir: Path = Path("data")) -> dict[str, int]:
    """The ``evidence:`` section of ``data/policy/scales.yaml``, falling back to 5/2/10000.

    The CLI's ``scan`` takes no data folder, so it looks in ``./data``; when that file is
    absent (scan run elsewhere) the documented fallback applies and is said in the report.
    """
    path = data_dir / "policy" / "scales.yaml"
    if not path.is_file():
        return dict(FALLBACK_DEFAULTS)
    try:
        # the C loader when built in: the pure-Python one took 0.03 s, a tenth of a scan
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    except (OSError, yaml.YAMLError):
        raise UsageError(f"{path} could not be read as YAML; fix it or run "
                         "`lcopia validate` for details") from None
    section = data.get("evidence") if isinstance(data, dict) else None
    out = dict(FALLBACK_DEFAULTS)
    if isinstance(section, dict):
        for key in out:
            value = section.get(key)
            if isinstance(value, (int, float)) and value >= 1:
                out[key] = int(value)
    return out


# ----------------------------------------------------------------------------- helpers


class _MissingColumn(Exception):
    def __init__(self, option: str, name: str, columns: list[str]) -> None:
        super().__init__(option)
        self.option, self.name, self.columns = option, name, columns


def _trim(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return detectors.trim(arr)


def _present(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.and_(pc.is_valid(arr), pc.greater(pc.fill_null(pc.utf8_length(arr), 0), 0))


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _iso_days(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Days since 1970 of ISO-dated values, from their bytes, and which rows that settles.

    Only for a fixed-width chunk of 10+ bytes (:func:`detectors.fixed_width_bytes`, e.g. a
    timestamp column). A row is settled when its first 10 bytes are ``YYYY-MM-DD`` with a
    year 1000-2999, a month 01-12 and a day that exists in that month: pyarrow's strptime
    reads those the same way. It rolls a day that does not exist (2023-02-30) over into the
    next month, so such rows, and every other unsettled one, are left to it.
    """
    rows = detectors.fixed_width_bytes(chunk, 10)
    if rows is None:
        return None
    digit = detectors.DIGIT_BYTES
    sure = (rows[:, 0] == 49) | (rows[:, 0] == 50)  # year 1xxx or 2xxx
    for j in (1, 2, 3, 5, 6, 8, 9):
        sure &= digit[rows[:, j]]
    sure &= (rows[:, 4] == 45) & (rows[:, 7] == 45)  # "-"

    def num(*cols: int) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.int32)
        for j in cols:
            out = out * 10 + rows[:, j] - 48
        return out

    year, month, day = num(0, 1, 2, 3), num(5, 6), num(8, 9)
    sure &= (month >= 1) & (month <= 12) & (day >= 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    sure &= day <= _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    # days from the civil date (H. Hinnant's algorithm), valid for the settled rows
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468).astype(np.int32), sure


def _date_numbers(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970 of ISO dates/timestamps or US m/d/yyyy, and which rows are dates.

    Fixed-width ISO timestamps are read from their bytes (:func:`_iso_days`, 3x cheaper than
    strptime); every row that does not settle goes through :func:`_parse_dates_text`.
    """
    days_parts: list[np.ndarray] = []
    valid_parts: list[np.ndarray] = []
    for chunk in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
        if not len(chunk):
            continue
        fast = _iso_days(chunk)
        if fast is None:
            text = _parse_dates_text(chunk).cast(pa.int32())
            days_parts.append(pc.fill_null(text, 0).to_numpy(zero_copy_only=False))
            valid_parts.append(pc.is_valid(text).to_numpy(zero_copy_only=False))
            continue
        days, sure = fast
        valid = sure.copy()
        if not sure.all():
            rest = np.flatnonzero(~sure)
            slow = _parse_dates_text(pc.take(chunk, pa.array(rest))).cast(pa.int32())
            days[rest] = pc.fill_null(slow, 0).to_numpy(zero_copy_only=False)
            valid[rest] = pc.is_valid(slow).to_numpy(zero_copy_only=False)
        days_parts.append(days)
        valid_parts.append(valid)
    if not days_parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool)
    return np.concatenate(days_parts), np.concatenate(valid_parts)


def _parse_dates(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """ISO dates/timestamps (first 10 characters) or US m/d/yyyy, as date32; else null."""
    days, valid = _date_numbers(arr)
    return pa.array(days, type=pa.int32(), mask=~valid).cast(pa.date32())


def _parse_dates_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """ISO dates/timestamps (first 10 characters) or US m/d/yyyy, as date32; else null."""
    iso = pc.strptime(pc.utf8_slice_codeunits(arr, 0, 10), format="%Y-%m-%d", unit="s",
                      error_is_null=True)
    if iso.null_count == arr.null_count:  # every value was ISO: the US pattern adds nothing
        return iso.cast(pa.date32())
    us_part = pc.struct_field(pc.extract_regex(arr, r"^(?P<d>\d{1,2}/\d{1,2}/\d{4})"), [0])
    us = pc.strptime(us_part, format="%m/%d/%Y", unit="s", error_is_null=True)
    return pc.coalesce(iso, us).cast(pa.date32())


def _parse_counts(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    digits = pc.fill_null(pc.match_substring_regex(arr, r"^\s*\d{1,15}(\.0+)?\s*$"), False)
    clean = pc.if_else(digits, pc.replace_substring_regex(arr, r"\.0+\s*$|\s", ""),
                       pa.scalar(None, pa.string()))
    return clean.cast(pa.int64())


def _chunks(src: Source) -> Iterator[pa.Table]:
    """Batches regrouped into tables of about CHUNK_ROWS rows (bounded memory)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    schema = pa.schema([(c, pa.string()) for c in src.columns])
    for batch in src.batches():
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending, schema=schema)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=schema)


def _pieces(src: Source, in_memory: bool) -> Iterator[pa.Table]:
    """The file as tables: one whole table, or CHUNK_ROWS-sized chunks when streaming."""
    if not in_memory:
        yield from _chunks(src)
        return
    table = src.read_table()
    if table.num_rows:
        yield table


def _window(pieces: Iterator[pa.Table], rows: int
            ) -> tuple[pa.Table | None, int, Iterator[pa.Table]]:
    """The first ``rows`` rows (the sampling window), the first piece's length, every piece.

    Both reading paths cut the same window, so the sample, and with it every verdict, is the
    same whether a file was read whole or streamed.
    """
    buffered: list[pa.Table] = []
    seen = 0
    for piece in pieces:
        buffered.append(piece)
        seen += piece.num_rows
        if seen >= rows:
            break
    window = pa.concat_tables(buffered).slice(0, rows) if buffered else None
    return window, buffered[0].num_rows if buffered else 0, itertools.chain(buffered, pieces)


def _resolve(option: str, name: str | None, columns: list[str]) -> str | None:
    if name is None:
        return None
    if name in columns:
        return name
    lowered = {c.lower(): c for c in columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise _MissingColumn(option, name, columns)


# ----------------------------------------------------------------------------- one file


class _Encoder:
    """Stable integer codes per column across chunks (0 = empty), via a growing dictionary.

    Grouping on small integers instead of strings is what keeps k-anonymity and l-diversity
    cheap on millions of rows; the dictionaries grow with distinct values, not with rows.
    """

    def __init__(self) -> None:
        self.known: dict[str, pa.Array] = {}

    def encode(self, name: str, arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Codes of one chunk of a column; ``arr`` may come dictionary-encoded already."""
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
        # hash the rows once into a local dictionary, then map only that small dictionary
        # onto the global one
        local = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
        words = local.dictionary
        known = self.known.get(name)
        if known is None:  # first chunk (or the whole file): its dictionary is the global one
            self.known[name] = words.cast(pa.string())
            return pc.fill_null(local.indices, -1).to_numpy(zero_copy_only=False).astype(
                np.int64) + 1  # 0 = empty cell
        else:
            idx = pc.index_in(words, value_set=known)
            unseen = pc.is_null(idx)
            if pc.any(unseen).as_py():
                known = pa.concat_arrays([known, pc.filter(words, unseen).cast(pa.string())])
                idx = pc.index_in(words, value_set=known)
                self.known[name] = known
            mapping = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False),
                                 dtype=np.int64) + 1
        local_idx = pc.fill_null(local.indices, -1).to_numpy(zero_copy_only=False)
        if local.indices.null_count == 0:
            return mapping[local_idx]
        out = np.zeros(len(arr), dtype=np.int64)  # 0 = empty cell
        valid = local_idx >= 0
        out[valid] = mapping[local_idx[valid]]
        return out

    def size(self, name: str) -> int:
        return len(self.known.get(name, [])) + 1


def _fits_one_key(sizes: list[int]) -> bool:
    return float(np.prod([float(x) for x in sizes])) < 2.0**62


def _keys(codes: np.ndarray | list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 per code tuple (mixed radix over the column sizes); needs _fits_one_key.

    ``codes`` is a matrix with a column per name, or the list of those columns (which
    saves stacking a million-row matrix only to read it column by column).
    """
    columns = codes if isinstance(codes, list) else [codes[:, j] for j in range(len(sizes))]
    key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    for column, size in zip(columns, sizes, strict=True):
        key = key * size + column
    return key


class _Counter:
    """Counts of distinct code tuples, merged chunk by chunk (exact, no hashing collisions)."""

    def __init__(self, names: list[str], encoder: _Encoder) -> None:
        self.names, self.encoder = names, encoder
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []  # (codes (m, d), counts (m,))

    def _sizes(self) -> list[int]:
        return [self.encoder.size(n) for n in self.names]

    @staticmethod
    def _unique(codes: np.ndarray | list[np.ndarray], sizes: list[int],
                weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Distinct rows of a code matrix and their (weighted) counts.

        Rows are packed into one integer key: ``np.unique`` with counts on 1M keys took
        0.01-0.02 s here, against 0.13-0.24 s for pyarrow's hash group-by or value_counts
        when nearly every key is distinct (as in a file with k = 1).
        """
        n = len(codes[0]) if isinstance(codes, list) else len(codes)
        if n == 0:
            return np.zeros((0, len(sizes)), dtype=np.int64), np.zeros(0, dtype=np.int64)
        if _fits_one_key(sizes):
            key = _keys(codes, sizes)
            if weights is None:
                uniq, counts = np.unique(key, return_counts=True)
            else:
                uniq, inverse = np.unique(key, return_inverse=True)
                counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
            counts = counts.astype(np.int64)
            rows = np.empty((len(uniq), len(sizes)), dtype=np.int64)
            rest = uniq.copy()
            for j in range(len(sizes) - 1, -1, -1):
                rest, rows[:, j] = np.divmod(rest, sizes[j])
            return rows, counts
        # too many combinations for one integer key: sort the tuples themselves
        matrix = np.column_stack(codes) if isinstance(codes, list) else codes
        rows, inverse = np.unique(matrix, axis=0, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=weights, minlength=len(rows))
        return rows, merged.astype(np.int64)

    def add_codes(self, codes: np.ndarray | list[np.ndarray],
                  weights: np.ndarray | None = None) -> None:
        self.parts.append(self._unique(codes, self._sizes(), weights))
        if len(self.parts) > 16:
            self.parts = [self.result()]

    def add(self, columns: list[pa.ChunkedArray | pa.Array], weights: np.ndarray | None = None
            ) -> None:
        self.add_codes(np.column_stack([self.encoder.encode(n, c) for n, c in
                                        zip(self.names, columns, strict=True)]), weights)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct code rows in sorted (lexicographic) order, and their counts."""
        if not self.parts:
            return np.zeros((0, len(self.names)), dtype=np.int64), np.zeros(0, dtype=np.int64)
        if len(self.parts) == 1:
            return self.parts[0]
        codes = np.concatenate([p[0] for p in self.parts])
        counts = np.concatenate([p[1] for p in self.parts])
        rows, merged = self._unique(codes, self._sizes(), counts)
        self.parts = [(rows, merged)]
        return rows, merged


def _classes_from_pairs(pairs: np.ndarray, counts: np.ndarray, q: int, sizes: list[int]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class codes, class sizes, distinct sensitive values per class) from counted pairs.

    ``pairs`` are the distinct (quasi-identifiers..., sensitive) code rows that
    :meth:`_Counter.result` returns in sorted order, so each class is one run of rows with
    the same first ``q`` codes: its size is the sum of the run's counts and its l-diversity
    the run's length. This replaces a second group-by over every row.
    """
    if len(pairs) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return pairs[:, :q], empty, empty
    prefix = pairs[:, :q]
    new = np.ones(len(pairs), dtype=bool)
    if _fits_one_key(sizes):
        key = _keys(prefix, sizes)
        new[1:] = key[1:] != key[:-1]
    else:
        new[1:] = np.any(prefix[1:] != prefix[:-1], axis=1)
    starts = np.flatnonzero(new)
    return (prefix[starts], np.add.reduceat(counts, starts),
            np.diff(np.append(starts, len(pairs))))


def _rows_in(rows: np.ndarray, wanted: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Which rows of a code matrix appear in another (exact)."""
    if len(wanted) == 0:
        return np.zeros(len(rows), dtype=bool)
    if _fits_one_key(sizes):
        return np.isin(_keys(rows, sizes), _keys(wanted, sizes))
    dtype = np.dtype([(f"c{i}", np.int64) for i in range(rows.shape[1])])
    a = np.ascontiguousarray(rows).view(dtype).ravel()
    b = np.ascontiguousarray(wanted).view(dtype).ravel()
    return np.isin(a, b)


def class_sizes(table: pa.Table, quasi: list[str], weight: str | None = None) -> np.ndarray:
    """Size of every equivalence class over ``quasi`` (weighted by a count column if given).

    The same group-by the scan runs; exposed for notebooks and the benchmark. k-anonymity is
    ``class_sizes(...).min()``.
    """
    counter = _Counter(quasi, _Encoder())
    weights = None
    if weight is not None:
        weights = pc.fill_null(_parse_counts(table.column(weight).cast(pa.string())), 0
                               ).to_numpy()
    counter.add([table.column(c).cast(pa.string()) for c in quasi], weights)
    sizes = counter.result()[1]
    return sizes[sizes > 0]


class _ColumnTotals:
    """Whole-column counts of one column summed over pieces.

    Leak values are kept as the first LEAK_KEEP distinct ones in file order; each piece
    reports its own first LEAK_KEEP distinct hits, so merging gives the same values whether
    the file came as one piece or as many.
    """

    def __init__(self) -> None:
        self.matches = self.present = self.leaks = 0
        self.leak_kinds: set[str] = set()
        self.leak_values: pa.Array | None = None

    def add(self, check: detectors.ColumnCheck) -> None:
        self.matches += check.matches
        self.present += check.present
        self.leaks += check.leaks
        self.leak_kinds.update(check.leak_kinds)
        if check.leak_values is not None:
            merged = check.leak_values if self.leak_values is None else pa.concat_arrays(
                [self.leak_values, check.leak_values])
            self.leak_values = pc.unique(merged)[: detectors.LEAK_KEEP]


def _column_plan(piece_rows: int, verdict: detectors.ColumnVerdict, sample: pa.Array,
                 cfg: BarcodeConfig) -> tuple[str, tuple[str, ...], bool]:
    """How to check one column on every row: (kind to count, leak kinds, distinct route).

    A column whose sampled rows were all empty is judged by its name only; its kind is not
    counted but every leak kind is screened, so identifiers that start late are still found
    and classified from the values that hold them.
    """
    if verdict.sample_size == 0:
        return "none", detectors.LEAK_KINDS, False
    screen = detectors.leak_screen_kinds(verdict.kind, verdict.confidence, sample, cfg,
                                         verdict.learnt)
    return verdict.kind, screen, detectors.by_distinct_worthwhile(verdict.kind, sample,
                                                                  piece_rows)


def _leak_column(name: str, totals: _ColumnTotals, cfg: BarcodeConfig
                 ) -> detectors.ColumnVerdict | None:
    """The verdict for identifiers the leak screen found, or None if they identify no one."""
    if not totals.leaks or totals.leak_values is None:
        return None
    verdict = detectors.classify(name, totals.leak_values, cfg=cfg)
    if verdict.kind in DIRECT_KINDS:
        return verdict
    # the column name can outvote a handful of values (a "branch" column is a label); an
    # e-mail address, phone or SSN is an identifier in any column
    strong = tuple(k for k in ("email", "phone", "government_id") if k in totals.leak_kinds)
    if not strong:
        return None  # e.g. item barcodes: check-digit numbers that are not about a patron
    return detectors.ColumnVerdict(
        "free_text_pii", "values", "medium", 0.0, len(totals.leak_values), strong,
        detectors.mask_example("free_text_pii", "", embedded=strong))


def scan_file(path: Path, *, display: str | None = None, claims: Claims | None = None,
              flow_id: str | None = None, quasi: list[str] | None = None, k: int,
              l_target: int = 2, sensitive: str | None = None, date_column: str | None = None,
              open_column: str | None = None, count_column: str | None = None,
              retention_days: int | None = None, as_of: dt.date, sample_rows: int = 10_000,
              barcode: BarcodeConfig | None = None,
              in_memory_max_bytes: int = IN_MEMORY_MAX_BYTES) -> FileScan:
    """Scan one export. Raises EvidenceError (unreadable file) or _MissingColumn.

    Files up to ``in_memory_max_bytes`` on disk are read whole (fastest); larger ones are
    streamed in chunks so memory stays bounded. Both give the same report.
    """
    display = display or str(path)
    src = open_source(path, display)
    try:
        size = path.stat().st_size
    except OSError:
        size = in_memory_max_bytes + 1
    options = {"claims": claims, "flow_id": flow_id, "quasi": quasi, "k": k,
               "l_target": l_target, "sensitive": sensitive, "date_column": date_column,
               "open_column": open_column, "count_column": count_column,
               "retention_days": retention_days, "as_of": as_of, "sample_rows": sample_rows,
               "cfg": barcode or BarcodeConfig(), "in_memory": size <= in_memory_max_bytes}
    try:
        return _scan_guarded(src, **options)
    except _RetryAs:
        src.encoding = "cp1252"
        src.notes.append("read as cp1252 text (the file is not valid UTF-8)")
        return _scan_guarded(src, **options)


def _scan_guarded(src: Source, **kwargs: object) -> FileScan:
    """Run a scan; any unexpected library error becomes an EvidenceError without its text.

    pyarrow and numpy errors can quote the values they choked on, so their messages are
    dropped here; only the exception's type name is kept, to help a bug report.
    """
    try:
        return _scan_source(src, **kwargs)  # type: ignore[arg-type]
    except (LcopiaError, _RetryAs, _MissingColumn):
        raise
    except Exception as exc:
        raise EvidenceError(
            src.display, f"could not be scanned ({type(exc).__name__} inside the scanner)",
            "Report this with the file's format and size, never its contents") from None


def _sample(window: pa.Table | None, name: str, sample_rows: int) -> pa.Array:
    """The first ``sample_rows`` non-empty trimmed values of a column in the window."""
    if window is None:
        return pa.array([], pa.string())
    head = _trim(window.column(name)[:sample_rows])
    if len(head) == sample_rows and detectors.present_mask(head).all():
        arr = head  # the usual case: the first rows are all filled, no filtering needed
    else:
        arr = _trim(window.column(name))
        arr = pc.filter(arr, _present(arr))[:sample_rows]
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _check_cost(kind: str, distinct: bool) -> int:
    """Rough relative cost of a column's whole-column check, to start the slow ones first."""
    if distinct:
        return 2 if kind in detectors.DISTINCT_WORTHWHILE else 1
    return {"person_name": 6, "street_address": 5, "card_barcode": 4, "item_barcode": 4,
            "email": 3, "date": 2, "dob": 2, "phone": 2}.get(kind, 1)


class _Job:
    """One column check that a pool worker or the scanning thread runs, whichever is first.

    ``ThreadPoolExecutor`` gives a waiting thread no way to help, and the scanning thread
    finishes its own share (classifying, counting classes) well before the workers finish
    theirs: claiming queued checks itself took 0.07 s off a 0.7 s scan of 1M rows.
    """

    def __init__(self, work: Callable[[], detectors.ColumnCheck]) -> None:
        self._work = work
        self._claim = threading.Lock()
        self._done = threading.Event()
        self._value: detectors.ColumnCheck | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        """Do the check unless another thread has claimed it; never raises."""
        if not self._claim.acquire(blocking=False):
            return
        try:
            self._value = self._work()
        except BaseException as exc:  # handed to whoever collects the result
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> detectors.ColumnCheck:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return cast(detectors.ColumnCheck, self._value)


class _PieceJobs(NamedTuple):
    """Pool work on one piece that needs no verdict, started as soon as the piece is read."""

    retention: Future[tuple[int, int, int, dt.date | None]] | None
    hashed: dict[str, Future[pa.DictionaryArray]]


def _hash_column(piece: pa.Table, name: str) -> pa.DictionaryArray:
    """One column dictionary-encoded: its codes group k-anonymity, its counts check it."""
    return pc.dictionary_encode(piece.column(name).combine_chunks())


_EPOCH = dt.date(1970, 1, 1)


def _retention_piece(piece: pa.Table, date_column: str, open_column: str | None,
                     cutoff: dt.date) -> tuple[int, int, int, dt.date | None]:
    """(expired, open, unparsed, oldest closed date) for one piece of the file."""
    days, valid = _date_numbers(_trim(piece.column(date_column)))
    if open_column is not None:
        is_open = ~detectors.present_mask(_trim(piece.column(open_column)))
    else:
        is_open = np.zeros(piece.num_rows, dtype=bool)
    closed = ~is_open
    dated = closed & valid
    expired = int((dated & (days < (cutoff - _EPOCH).days)).sum())
    oldest = _EPOCH + dt.timedelta(days=int(days[dated].min())) if dated.any() else None
    return expired, int(is_open.sum()), int((closed & ~valid).sum()), oldest


def _scan_source(src: Source, *, claims: Claims | None, flow_id: str | None,
                 quasi: list[str] | None, k: int, l_target: int, sensitive: str | None,
                 date_column: str | None, open_column: str | None, count_column: str | None,
                 retention_days: int | None, as_of: dt.date, sample_rows: int,
                 cfg: BarcodeConfig, in_memory: bool) -> FileScan:
    cols = src.columns
    quasi_given = [_resolve("quasi", q, cols) or q for q in quasi] if quasi else None
    sensitive = _resolve("sensitive", sensitive, cols)
    date_column = _resolve("date_column", date_column, cols)
    open_column = _resolve("open_column", open_column, cols)
    count_column = _resolve("count_column", count_column, cols)

    window, piece_rows, pieces = _window(_pieces(src, in_memory),
                                         max(sample_rows, SAMPLE_WINDOW_ROWS))
    samples = {name: _sample(window, name, sample_rows) for name in cols}
    open_note = None
    if date_column is not None and open_column is None:  # from the names alone
        for c in cols:
            if c != date_column and any(h in detectors.normalise_name(c)
                                        for h in OPEN_COLUMN_HINTS):
                open_column = c
                open_note = (f"rows with an empty '{c}' are treated as open (not yet "
                             "returned) and are not expired history")
                break
    cutoff = as_of - dt.timedelta(days=retention_days) if retention_days is not None else None
    known_keyed = list(dict.fromkeys([*(quasi_given or []), *([sensitive] if sensitive else [])]))

    with ThreadPoolExecutor(max_workers=2) as pool:

        def start(piece: pa.Table) -> _PieceJobs:
            """Work on a piece that needs no verdict: retention and hashing given columns."""
            retention = None
            if date_column is not None and cutoff is not None:
                retention = pool.submit(_retention_piece, piece, date_column, open_column,
                                        cutoff)
            return _PieceJobs(retention, {c: pool.submit(_hash_column, piece, c)
                                          for c in known_keyed})

        def check(c: str, arr: pa.Array | pa.ChunkedArray) -> _Job:
            job = _Job(lambda: detectors.check_column(
                plans[c][0], arr, cfg, verdicts[c].learnt, screen=plans[c][1],
                by_distinct=plans[c][2]))
            pool.submit(job.run)
            return job

        first = next(pieces, None)
        first_jobs = start(first) if first is not None else None
        # ---- classify every column on its sample, here, while the pool works on the first
        # piece: its retention and hashing first, then the check of each column classified.
        # Columns that may be grouped for k-anonymity wait: they are hashed once, below.
        maybe_grouped = set(known_keyed)
        verdicts: dict[str, detectors.ColumnVerdict] = {}
        plans: dict[str, tuple[str, tuple[str, ...], bool]] = {}
        early: dict[str, _Job] = {}
        for c in cols:
            verdicts[c] = detectors.classify(c, samples[c], cfg=cfg)
            plans[c] = _column_plan(piece_rows, verdicts[c], samples[c], cfg)
            if first is not None and c not in maybe_grouped and not (
                    quasi_given is None and verdicts[c].kind in QUASI_KINDS):
                early[c] = check(c, first.column(c))
        notes = list(src.notes)
        if count_column is None:
            counts = [c for c in cols if verdicts[c].kind == "count"]
            if len(counts) == 1 and claims != "identifying":
                count_column = counts[0]
                notes.append(f"'{count_column}' was taken as the count column of an "
                             "aggregated table")
        if claims is None and count_column is not None:
            claims = "statistics"  # an aggregated table is statistics by nature
            notes.append("no claim was stated; with a count column the file is an aggregated "
                         "table, so it was checked as statistics")
        if quasi_given is not None:
            qi = quasi_given
            inferred = False
        else:
            qi = [c for c in cols if verdicts[c].kind in QUASI_KINDS and c != count_column
                  and verdicts[c].confidence != "low"]
            inferred = True
        if sensitive and sensitive in qi:
            qi = [c for c in qi if c != sensitive]
        if open_note:
            notes.append(open_note)

        order = sorted(cols, key=lambda c: -_check_cost(plans[c][0], plans[c][2]))
        totals = {c: _ColumnTotals() for c in cols}
        rows = 0
        encoder = _Encoder()
        acc = _Counter(qi, encoder) if qi else None
        lacc = _Counter([*qi, sensitive], encoder) if qi and sensitive else None
        small_cells = cells = 0
        expired = open_rows = unparsed = 0
        oldest: dt.date | None = None

        keyed = ([*qi, sensitive] if lacc is not None else qi) if acc is not None else []
        in_flight: dict[str, _Job] = {}

        def collect() -> None:
            # rather than wait idle, this thread runs the checks no worker has started yet
            # (from the back of the queue, where the workers arrive last)
            for job in reversed(in_flight.values()):
                job.run()
            for c, job in in_flight.items():
                totals[c].add(job.result())
            in_flight.clear()

        # unweighted, the classes follow from the (class, sensitive value) pairs: one count
        derive_classes = lacc is not None and count_column is None
        for piece in itertools.chain([first] if first is not None else [], pieces):
            jobs = first_jobs if piece is first and first_jobs is not None else start(piece)
            rows += piece.num_rows
            futures = {c: check(c, piece.column(c)) for c in order
                       if c not in keyed and c not in early}
            futures.update(early)
            early = {}
            # quasi-identifiers are hashed once, for the group-by and their own check
            encoded = {c: jobs.hashed[c].result() if c in jobs.hashed else _hash_column(piece, c)
                       for c in keyed}
            futures.update({c: check(c, encoded[c]) for c in order if c in keyed})
            weights = None
            if count_column is not None:
                weights = pc.fill_null(_parse_counts(piece.column(count_column)), 0).to_numpy()
                small_cells += int(((weights > 0) & (weights < k)).sum())
                cells += int((weights > 0).sum())
            if acc is not None:
                codes = [encoder.encode(c, encoded[c]) for c in keyed]
                if not derive_classes:
                    acc.add_codes(codes[:len(qi)], weights)
                if lacc is not None:
                    lacc.add_codes(codes if weights is None else [
                        column[weights > 0] for column in codes])
            if jobs.retention is not None:
                part = jobs.retention.result()
                expired += part[0]
                open_rows += part[1]
                unparsed += part[2]
                if part[3] is not None and (oldest is None or part[3] < oldest):
                    oldest = part[3]
            collect()  # the previous piece's checks: at most two pieces are held at once
            in_flight.update(futures)
        # the classes are final once every piece is counted: derive them here, while the
        # pool still checks the last piece's columns
        classes = None
        if acc is not None:
            if derive_classes and lacc is not None:
                classes = _classes_from_pairs(*lacc.result(), len(qi),
                                              [encoder.size(c) for c in qi])
            else:
                classes = (*acc.result(), None)
        collect()

    columns: list[ColumnScan] = []
    for c in cols:
        v, t = verdicts[c], totals[c]
        leaked = _leak_column(c, t, cfg)
        if leaked is not None:
            # identifiers in rows the sample did not show: one is enough to report (a
            # statistics file with a single e-mail address is a disclosure)
            columns.append(ColumnScan(
                name=c, kind=leaked.kind, by="values", match_share=round(t.leaks / t.present, 4),
                matches=t.leaks, non_empty=t.present, confidence="medium",
                masked_example=leaked.shape, embedded=list(leaked.embedded)))
            found = ", ".join(k.replace("_", " ") for k in detectors.LEAK_KINDS
                              if k in t.leak_kinds)
            notes.append(f"a whole-column check found {_fmt(t.leaks)} row(s) of '{c}' holding "
                         f"{found} values that the sampled rows did not show")
            continue
        n = t.present
        matches = t.matches if plans[c][0] == v.kind else 0
        share = round(matches / n, 4) if n else 0.0
        kind = v.kind
        conf = v.confidence
        if kind in DIRECT_KINDS and n and share < 0.05 and kind != "free_text_pii":
            conf = "low"  # the sample suggested it; the whole column does not bear it out
        example = v.shape if (matches or v.sample_share) else "(no values)"
        if kind == "none":
            example = ""
        columns.append(ColumnScan(
            name=c, kind=kind, by=v.by, match_share=share, matches=matches, non_empty=n,
            confidence=conf, masked_example=example, embedded=list(v.embedded)))

    scan = FileScan(
        file=src.display, flow_id=flow_id, claims=claims, format=src.format,
        encoding=src.encoding, delimiter=src.delimiter, rows=rows,
        rows_skipped=src.rows_skipped, header_missing=src.header_missing, columns=columns,
        quasi_identifiers=qi, quasi_inferred=inferred, k=k, count_column=count_column,
        sensitive=sensitive, notes=notes)
    if src.rows_skipped:
        scan.notes.append(f"{src.rows_skipped} row(s) had a different number of fields than "
                          "the header and were skipped")

    class_codes = class_counts = distinct = None
    if classes is not None:
        class_codes, class_counts, distinct = classes
        sizes = class_counts[class_counts > 0]
        if len(sizes):
            scan.k_min = int(sizes.min())
            scan.equivalence_classes = len(sizes)
            scan.unique_records = int((sizes == 1).sum())
            scan.records_below_k = int(sizes[sizes < k].sum())
    elif rows:
        scan.notes.append("no quasi-identifiers were given or recognised, so k-anonymity was "
                          "not computed")
    if count_column is not None:
        scan.small_cells, scan.cells = small_cells, cells
    if lacc is not None and class_codes is not None and class_counts is not None:
        scan.l_target = l_target
        if distinct is None:  # weighted classes: l-diversity from the pairs of filled cells
            pairs, _ = lacc.result()
            sizes_q = [encoder.size(c) for c in qi]
            classes, distinct_w = _Counter._unique(pairs[:, :len(qi)], sizes_q, None)
            if len(pairs):
                scan.l_diversity = int(distinct_w.min())
                short = classes[distinct_w < l_target]
                scan.records_below_l = int(class_counts[_rows_in(
                    class_codes, short, sizes_q)].sum()) if len(short) else 0
        elif len(distinct):
            scan.l_diversity = int(distinct.min())
            scan.records_below_l = int(class_counts[distinct < l_target].sum())
    if date_column is not None and retention_days is not None and cutoff is not None:
        scan.retention = RetentionCheck(
            date_column=date_column, open_column=open_column, retention_days=retention_days,
            cutoff=cutoff, expired_rows=expired, open_rows_excluded=open_rows,
            unparsed_dates=unparsed,
            oldest_age_days=(as_of - oldest).days if oldest is not None else None)
    scan.issues = _issues(scan)
    return scan


# ----------------------------------------------------------------------------- issues


def _fmt(n: int) -> str:
    return f"{n:,}"


def _issues(scan: FileScan) -> list[EvidenceIssue]:
    issues: list[EvidenceIssue] = []
    identifying = [c for c in scan.columns if c.identifying]
    claims_safe = scan.claims in ("statistics", "deidentified")
    # a file of unknown claim is held to the de-identified standard only if no direct
    # identifier was found: with one, the file is plainly identifying
    check_reid = claims_safe or (scan.claims is None and not identifying)
    if claims_safe:
        for c in identifying:
            issues.append(EvidenceIssue(
                kind="identifier_in_statistics", hard=True, column=c.name, count=c.matches,
                detail=(f"The file claims to be {scan.claims} but column '{c.name}' holds "
                        f"{c.kind.replace('_', ' ')} values in {_fmt(c.matches)} of "
                        f"{_fmt(c.non_empty)} filled rows (shape: {c.masked_example})."),
                control_hint=CONTROL_STATISTICS))
    if check_reid and scan.count_column is None and scan.k_min is not None and \
            scan.k_min < scan.k:
        issues.append(EvidenceIssue(
            kind="reidentification", hard=False, count=scan.records_below_k or 0,
            detail=(f"Over {', '.join(scan.quasi_identifiers)}, the smallest group has "
                    f"{scan.k_min} record(s), below k={scan.k}: "
                    f"{_fmt(scan.records_below_k or 0)} record(s) sit in groups smaller than "
                    f"{scan.k}, {_fmt(scan.unique_records or 0)} of them unique."),
            control_hint=CONTROL_STATISTICS))
    if check_reid and scan.small_cells:
        issues.append(EvidenceIssue(
            kind="small_cells", hard=False, column=scan.count_column, count=scan.small_cells,
            detail=(f"{_fmt(scan.small_cells)} of {_fmt(scan.cells or 0)} cells have a count "
                    f"between 1 and {scan.k - 1} in column '{scan.count_column}'; suppress or "
                    f"merge cells below {scan.k} before release."),
            control_hint=CONTROL_STATISTICS))
    if check_reid and scan.l_diversity is not None and scan.l_target is not None and \
            scan.l_diversity < scan.l_target:
        issues.append(EvidenceIssue(
            kind="l_diversity", hard=False, column=scan.sensitive,
            count=scan.records_below_l or 0,
            detail=(f"Some groups over {', '.join(scan.quasi_identifiers)} show only "
                    f"{scan.l_diversity} distinct value(s) of '{scan.sensitive}' (target "
                    f"{scan.l_target}): {_fmt(scan.records_below_l or 0)} record(s) reveal "
                    "what their group read."),
            control_hint=CONTROL_STATISTICS))
    r = scan.retention
    if r is not None and r.expired_rows:
        issues.append(EvidenceIssue(
            kind="retention_exceeded", hard=False, column=r.date_column, count=r.expired_rows,
            detail=(f"{_fmt(r.expired_rows)} closed record(s) are dated before {r.cutoff} "
                    f"(older than the {r.retention_days}-day retention); the oldest is "
                    f"{r.oldest_age_days} days old. {_fmt(r.open_rows_excluded)} open "
                    "record(s) were not counted."),
            control_hint=CONTROL_RETENTION))
    return issues


# ----------------------------------------------------------------------------- entry points


def _defaults(k: int | None, default_k: int | None) -> tuple[int, dict[str, int]]:
    defaults = evidence_defaults()
    if default_k is not None:
        defaults["k_anonymity"] = default_k
    return (k if k is not None else defaults["k_anonymity"]), defaults


def scan_files(paths: list[Path], *, quasi: list[str] | None, k: int | None,
               sensitive: str | None, date_column: str | None, retention_days: int | None,
               as_of: dt.date, default_k: int | None = None, open_column: str | None = None,
               count_column: str | None = None, barcode: BarcodeConfig | None = None,
               in_memory_max_bytes: int = IN_MEMORY_MAX_BYTES) -> EvidenceReport:
    """Scan files named on the command line (claims unknown; options apply to every file).

    k defaults to ``default_k``, else to ``evidence.k_anonymity`` in ./data/policy/scales.yaml,
    else to 5 (see :func:`evidence_defaults`). An open column, when not given, is inferred from
    names such as ``checkin`` or ``returned`` and said in the notes.
    """
    if not paths:
        raise UsageError("name at least one export file to scan")
    if (date_column is None) != (retention_days is None):
        raise UsageError("--date-column and --retention-days go together: give both or neither")
    if retention_days is not None and retention_days < 0:
        raise UsageError("--retention-days must be 0 or more")
    k_value, defaults = _defaults(k, default_k)
    # Options apply to every file; a column that is in some files but not others is checked
    # where it exists (and said), one that is in none of them is a mistake.
    wanted = {"quasi": quasi or [], "sensitive": [sensitive] if sensitive else [],
              "date_column": [date_column] if date_column else [],
              "open_column": [open_column] if open_column else [],
              "count_column": [count_column] if count_column else []}
    headers = {path: _header_or_none(path) for path in paths}
    known = [h for h in headers.values() if h is not None]
    for option, names in wanted.items():
        for name in names:
            if known and not any(_has_column(name, h) for h in known):
                every = sorted({c for h in known for c in h})
                hint = did_you_mean(name, every)
                raise UsageError(
                    f"no file has a column {name!r} for --{option.replace('_', '-')}"
                    + (f" (did you mean {hint!r}?)" if hint else "")
                    + f"; the columns are: {', '.join(every)}")
    files: list[FileScan] = []
    for path in paths:
        cols = headers[path] or []
        missing = {o: [n for n in names if not _has_column(n, cols)]
                   for o, names in wanted.items()}
        skip = {o for o, names in missing.items() if names}
        scan = scan_file(
            path, display=str(path),
            quasi=[q for q in quasi if _has_column(q, cols)] if quasi else None,
            k=k_value, l_target=defaults["l_diversity"],
            sensitive=None if "sensitive" in skip else sensitive,
            date_column=None if "date_column" in skip else date_column,
            open_column=None if "open_column" in skip else open_column,
            count_column=None if "count_column" in skip else count_column,
            retention_days=None if "date_column" in skip else retention_days, as_of=as_of,
            sample_rows=defaults["sample_rows"], barcode=barcode,
            in_memory_max_bytes=in_memory_max_bytes)
        for option in sorted(skip):
            scan.notes.append(f"this file has no column {', '.join(missing[option])} given "
                              f"as --{option.replace('_', '-')}; that check was skipped here")
        files.append(scan)
    return EvidenceReport(as_of=as_of, files=files)


def _has_column(name: str, columns: list[str]) -> bool:
    return name in columns or name.lower() in {c.lower() for c in columns}


def _header_or_none(path: Path) -> list[str] | None:
    """Column names of a file, or None if it cannot be opened (scan_file then says why)."""
    try:
        return open_source(path, str(path)).columns
    except EvidenceError:
        return None


def _safe_target(evidence_dir: Path, name: str, manifest: str, index: int) -> Path:
    """The entry's file inside evidence_dir, refusing `..`, absolute paths and escapes."""
    rel = Path(name)
    field = f"exports[{index}].file"
    if (not name.strip() or rel.is_absolute() or name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)):
        raise InventoryError([Problem(manifest, field, "a path relative to the evidence folder "
                                      "(absolute paths are refused)", value=name)])
    if ".." in rel.parts:
        raise InventoryError([Problem(manifest, field, "a path inside the evidence folder "
                                      "('..' is refused)", value=name)])
    base = evidence_dir.resolve()
    target = (evidence_dir / rel)
    resolved = target.resolve()
    if not resolved.is_relative_to(base):
        raise InventoryError([Problem(manifest, field, "a file inside the evidence folder (this "
                                      "one is a link that points outside it)", value=name)])
    probe = target
    while probe != evidence_dir and probe != probe.parent:
        if probe.is_symlink():
            raise InventoryError([Problem(manifest, field, "a plain file, not a symbolic link",
                                          value=name)])
        probe = probe.parent
    return target


def load_manifest(evidence_dir: Path) -> Manifest:
    """Read and validate evidence_dir/manifest.yaml into a Manifest."""
    path = evidence_dir / "manifest.yaml"
    label = str(path)
    if not path.is_file():
        raise InventoryError([Problem(label, None, "a manifest listing each export, its flow "
                                      "and what it claims to be (see data/evidence/README.md)")])
    from lcopia.load import read_yaml

    raw = read_yaml(path, label)
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
            value = err.get("input")
            problems.append(Problem(label, loc.replace(".[", "["), err["msg"],
                                    value=value if isinstance(value, str) else None))
        raise InventoryError(problems) from None


def scan_manifest(evidence_dir: Path, bundle: Bundle, as_of: dt.date, *,
                  in_memory_max_bytes: int = IN_MEMORY_MAX_BYTES) -> EvidenceReport:
    """Scan every export the manifest lists, with the claims, columns and retention it gives.

    Retention comes from the entry, else from the flow's ``retention_days``; a flow kept
    indefinitely (blank retention) gets no retention check, and the report says so.
    """
    manifest = load_manifest(evidence_dir)
    label = str(evidence_dir / "manifest.yaml")
    flows = {f.flow_id: f for f in bundle.inventory.flows}
    problems = []
    for i, entry in enumerate(manifest.exports):
        if entry.flow_id not in flows:
            problems.append(Problem(label, f"exports[{i}].flow_id",
                                    "a flow_id from inventory/flows.csv", value=entry.flow_id,
                                    suggestion=did_you_mean(entry.flow_id, flows)))
    if problems:
        raise InventoryError(problems)
    ev = bundle.policy.scales.evidence
    k = int(ev.get("k_anonymity", FALLBACK_DEFAULTS["k_anonymity"]))
    l_target = int(ev.get("l_diversity", FALLBACK_DEFAULTS["l_diversity"]))
    sample_rows = int(ev.get("sample_rows", FALLBACK_DEFAULTS["sample_rows"]))
    files: list[FileScan] = []
    for i, entry in enumerate(manifest.exports):
        path = _safe_target(evidence_dir, entry.file, label, i)
        flow = flows[entry.flow_id]
        retention = entry.retention_days if entry.retention_days is not None else (
            flow.retention_days)
        note = None
        if entry.date_column and retention is None:
            note = (f"flow {flow.flow_id} keeps records indefinitely (no retention period), so "
                    "no retention check was made")
        try:
            scan = scan_file(
                path, display=entry.file, claims=entry.claims, flow_id=entry.flow_id,
                quasi=entry.quasi_identifiers, k=k, l_target=l_target, sensitive=entry.sensitive,
                date_column=entry.date_column if retention is not None else None,
                open_column=entry.open_column, count_column=entry.count_column,
                retention_days=retention if entry.date_column else None, as_of=as_of,
                sample_rows=sample_rows, in_memory_max_bytes=in_memory_max_bytes)
        except _MissingColumn as exc:
            field = {"quasi": "quasi_identifiers"}.get(exc.option, exc.option)
            raise InventoryError([Problem(
                label, f"exports[{i}].{field}", f"a column of {entry.file}", value=exc.name,
                suggestion=did_you_mean(exc.name, exc.columns))]) from None
        if note:
            scan.notes.append(note)
        files.append(scan)
    return EvidenceReport(as_of=as_of, files=files)


# ----------------------------------------------------------------------------- text


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def render_text(report: EvidenceReport) -> str:
    """A summary a privacy officer can read: hard findings first, then each file's facts."""
    out: list[str] = []
    n = len(report.files)
    hard = report.hard_issues
    total = sum(len(f.issues) for f in report.files)
    out.append(f"Evidence scan as of {report.as_of}: {n} file{'s' if n != 1 else ''}, "
               f"{total} issue{'s' if total != 1 else ''} ({len(hard)} hard).")
    out.append("Values are never shown: examples are masked to their format only.")
    for f in report.files:
        out.append("")
        what = []
        if f.flow_id:
            what.append(f"flow {f.flow_id}")
        what.append(f"claims {f.claims}" if f.claims else "claims not stated")
        fmt = f.format.upper() + (f", {f.encoding}" if f.encoding and f.encoding not in (
            "utf8",) else "")
        out.append(f"== {f.file} ({'; '.join(what)}; {fmt}; {_fmt(f.rows)} rows)")
        for issue in sorted(f.issues, key=lambda i: (not i.hard, i.kind)):
            tag = "HARD " if issue.hard else "issue"
            out.append(f"  {tag} [{issue.kind}] {issue.detail}")
        ident = [c for c in f.columns if c.kind in DIRECT_KINDS]
        if ident:
            out.append("  Identifying columns:")
            width = max(len(c.name) for c in ident)
            for c in ident:
                extra = f" ({', '.join(c.embedded)})" if c.embedded else ""
                out.append(f"    {c.name:<{width}}  {c.kind}{extra}, {_pct(c.match_share)} of "
                           f"{_fmt(c.non_empty)} filled, {c.confidence} confidence by {c.by}; "
                           f"e.g. {c.masked_example}")
        else:
            out.append("  Identifying columns: none found.")
        other = [c for c in f.columns if c.kind not in DIRECT_KINDS and c.kind != "none"]
        if other:
            out.append("  Other recognised columns: " + ", ".join(
                f"{c.name} ({c.kind})" for c in other))
        if f.quasi_identifiers:
            how = "inferred" if f.quasi_inferred else "given"
            line = f"  Quasi-identifiers ({how}): {', '.join(f.quasi_identifiers)}"
            if f.k_min is not None:
                line += (f" -> smallest group {f.k_min} (k={f.k}); "
                         f"{_fmt(f.equivalence_classes or 0)} groups, "
                         f"{_fmt(f.unique_records or 0)} unique record(s), "
                         f"{_fmt(f.records_below_k or 0)} record(s) in groups below {f.k}")
            out.append(line)
        if f.count_column is not None and f.small_cells is not None:
            out.append(f"  Small cells: {_fmt(f.small_cells)} of {_fmt(f.cells or 0)} cells "
                       f"count fewer than {f.k} (column '{f.count_column}'; counts not shown)")
        if f.l_diversity is not None:
            out.append(f"  l-diversity of '{f.sensitive}': {f.l_diversity} (target "
                       f"{f.l_target}); {_fmt(f.records_below_l or 0)} record(s) below target")
        r = f.retention
        if r is not None:
            opened = (f"; {_fmt(r.open_rows_excluded)} open record(s) in '{r.open_column}' "
                      "excluded") if r.open_column else ""
            oldest = f"; oldest closed record {r.oldest_age_days} days" if (
                r.oldest_age_days is not None) else ""
            unparsed = f"; {_fmt(r.unparsed_dates)} date(s) unreadable" if r.unparsed_dates else ""
            out.append(f"  Retention ({r.retention_days} days on '{r.date_column}', cutoff "
                       f"{r.cutoff}): {_fmt(r.expired_rows)} expired row(s){opened}{oldest}"
                       f"{unparsed}")
        for note in f.notes:
            out.append(f"  Note: {note}")
    return "\n".join(out) + "\n"
