"""Evidence checks on real exports: what actually leaves the library, not what is promised.

For each file: which columns hold identifying data (kind, share, confidence and a shape-only
masked example), whether a file that claims to be statistics or de-identified can single a
patron out (k-anonymity, unique records, small cells, l-diversity), and whether rows are kept
past the flow's retention (open loans excluded).

Design for size: the whole process must stay under min(1.5x the file, 512 MiB), so only a
small file (up to ``IN_MEMORY_MAX_BYTES``) is read whole; any other is streamed in chunks of
``CHUNK_ROWS`` rows, parsed one chunk ahead on its own thread, with at most two chunks being
checked at once (:mod:`lcopia.evidence.tables`). Both give the same report (tests prove it,
down to chunks of one row): the first
``sample_rows`` non-empty values of each column are classified with every pattern, and the
winning kind is then confirmed on every row with vectorised checks, on distinct values when
values repeat (names, e-mails) and straight on the bytes for fixed-width barcodes and
timestamps. Columns the sample did not call identifying are still screened on every row for
checkable identifiers (e-mail, phone, SSN, card number), behind byte-level pre-filters, so a
single leaked value far past the sample is found. Equivalence classes are counted on integer
codes of dictionary-encoded columns, packed into one int64 a tuple and merged every
``COUNT_ROWS`` rows (memory grows with the number of distinct tuples, 16 bytes each, never
with rows times columns). A thread pool checks columns while the main thread
classifies and counts: pyarrow and numpy kernels release the GIL.

Privacy of the output: reports carry counts, shares, column names (from the file header) and
masks built by :func:`lcopia.evidence.detectors.mask_example`, never a value from a file.
Library errors that might quote a row are caught in :mod:`lcopia.evidence.tables` and replaced.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lcopia.errors import EvidenceError, LcopiaError, UsageError, did_you_mean
from lcopia.evidence import detectors
from lcopia.evidence.dates import EPOCH, date_numbers, parse_counts
from lcopia.evidence.detectors import (
    DIRECT_KINDS,
    PERSON_ATTRIBUTE_KINDS,
    PERSON_KEY_KINDS,
    QUASI_KINDS,
    RULES,
    BarcodeConfig,
)
from lcopia.evidence.kanon import Counted, Counter, Encoder, rows_in
from lcopia.evidence.models import (
    Claims,
    ColumnScan,
    EvidenceIssue,
    EvidenceReport,
    FileScan,
    RetentionCheck,
)
from lcopia.evidence.tables import Source, _RetryAs, open_source
from lcopia.fsio import read_yaml
from lcopia.wording import plural

#: Used only when no data folder is given or its policy/scales.yaml is absent; the policy
#: file's ``evidence:`` section is the authority.
FALLBACK_DEFAULTS: dict[str, int] = {"k_anonymity": 5, "l_diversity": 2, "sample_rows": 10_000}
#: Rows per chunk when streaming. Everything held per chunk (two pieces in flight, their
#: dictionary codes, masks) scales with it: 32k rows of the 231 MiB benchmark file are about
#: 8 MiB of text, and going from 131k to 32k rows took the scan's peak down by ~60 MiB.
CHUNK_ROWS = 32_768
#: Rows whose quasi-identifier columns are encoded and counted together: each encoding looks
#: a column's new values up in its whole dictionary so far, so doing it every 128k rows
#: rather than every chunk cut that cost 4x (0.65 s to 0.17 s on the benchmark file).
COUNT_ROWS = 131_072
#: The sample of each column is its first ``sample_rows`` non-empty values within this many
#: first rows, whichever way the file is read (so both ways reach the same verdicts).
SAMPLE_WINDOW_ROWS = 131_072
#: Files up to this size are read whole (pyarrow parses on every core at once); larger ones
#: are streamed. A whole read peaks at about 4x the file's size (860-960 MiB for the 231 MiB
#: benchmark file) against the budget of min(1.5x the file, 512 MiB) for the whole process,
#: so only small files, where the interpreter and libraries dominate, are read whole.
IN_MEMORY_MAX_BYTES = 8 << 20
OPEN_COLUMN_HINTS = ("checkin", "check_in", "returned", "return_date", "return_time",
                     "date_returned", "xact_finish", "end_time", "session_end", "logout")
CONTROL_STATISTICS = "statistics_non_identifying"
CONTROL_RETENTION = "retention_within_need"


# ----------------------------------------------------------------------------- defaults


def evidence_defaults(data_dir: Path | None) -> dict[str, int]:
    """The ``evidence:`` section of ``<data_dir>/policy/scales.yaml``, else 5/2/10000.

    The data folder is always given (the CLI's ``--data``); nothing is guessed from the working
    directory. Without one, or without the file, the documented fallback applies.
    """
    out = dict(FALLBACK_DEFAULTS)
    if data_dir is None:
        return out
    path = data_dir / "policy" / "scales.yaml"
    if not path.is_file():
        return out
    data = read_yaml(path, str(path))
    section = data.get("evidence") if isinstance(data, dict) else None
    if isinstance(section, dict):
        for key in out:
            value = section.get(key)
            if isinstance(value, (int, float)) and value >= 1:
                out[key] = int(value)
    return out


@dataclass(frozen=True)
class ScanOptions:
    """How to scan one file: what it claims, which columns mean what, and the thresholds.

    One value instead of sixteen parameters, so a caller names only what differs and a new
    option does not ripple through every signature.
    """

    k: int
    as_of: dt.date
    display: str | None = None
    claims: Claims | None = None
    flow_id: str | None = None
    quasi: list[str] | None = None
    l_target: int = 2
    sensitive: str | None = None
    date_column: str | None = None
    open_column: str | None = None
    count_column: str | None = None
    retention_days: int | None = None
    sample_rows: int = 10_000
    barcode: BarcodeConfig = field(default_factory=BarcodeConfig)
    in_memory_max_bytes: int = IN_MEMORY_MAX_BYTES
    chunk_rows: int = CHUNK_ROWS
    sample_window_rows: int = SAMPLE_WINDOW_ROWS
    person_key: str | None = None  # the column standing for one person; inferred if None
    time_grain: Literal["day", "month"] = "day"  # inferred quasi sets count dates by this
    recipient: str | None = None  # who receives the file (the flow's recipient)


# ----------------------------------------------------------------------------- helpers


class _MissingColumn(Exception):
    def __init__(self, option: str, name: str, columns: list[str]) -> None:
        super().__init__(option)
        self.option, self.name, self.columns = option, name, columns


def _trim(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return detectors.trim(arr)


def _present(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.and_(pc.is_valid(arr), pc.greater(pc.fill_null(pc.utf8_length(arr), 0), 0))



def _chunks(src: Source, chunk_rows: int) -> Iterator[pa.Table]:
    """Batches regrouped into tables of about ``chunk_rows`` rows (bounded memory)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    schema = pa.schema([(c, pa.string()) for c in src.columns])
    for batch in src.batches():
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= chunk_rows:
            yield pa.Table.from_batches(pending, schema=schema)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=schema)


_DONE = object()


def _read_ahead(pieces: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Pieces parsed (and hashed) one ahead on their own thread, at most one waiting.

    Streaming parses one block at a time on whichever thread asks for it; reading ahead lets
    the next piece's parsing overlap this piece's checks and counting, for one piece's memory.
    Errors (an unreadable file, a retry in another encoding) are raised here, in order.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for piece in pieces:
                if not put(piece):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the reading thread, which raises it
            put(exc)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # the file is closed by the thread that read it

    reader = threading.Thread(target=produce, name="lcopia-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(pa.Table, item)
    finally:
        stop.set()
        reader.join()


def _pieces(src: Source, in_memory: bool, chunk_rows: int) -> Iterator[pa.Table]:
    """The file as tables: one whole table, or ``chunk_rows``-sized chunks when streaming."""
    if not in_memory:
        yield from _read_ahead(_chunks(src, chunk_rows))
        return
    table = src.read_table()
    if table.num_rows:
        yield table


def _window(pieces: Iterator[pa.Table], rows: int,
            each: Callable[[pa.Table], None] | None = None
            ) -> tuple[pa.Table | None, int, Iterator[pa.Table]]:
    """The first ``rows`` rows (the sampling window), the first piece's length, every piece.

    Both reading paths cut the same window, so the sample, and with it every verdict, is the
    same whether a file was read whole or streamed. ``each`` is called on every piece as it is
    read into the window, so work that needs no verdict can start while the rest is parsed.
    """
    buffered: list[pa.Table] = []
    seen = 0
    for piece in pieces:
        buffered.append(piece)
        if each is not None:
            each(piece)
        seen += piece.num_rows
        if seen >= rows:
            break
    window = pa.concat_tables(buffered).slice(0, rows) if buffered else None
    return window, buffered[0].num_rows if buffered else 0, _drain(buffered, pieces)


def _drain(buffered: list[pa.Table], rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The buffered pieces, each dropped from the buffer as it is handed out, then the rest."""
    buffered.reverse()
    while buffered:
        yield buffered.pop()
    yield from rest


def _resolve(option: str, name: str | None, columns: list[str]) -> str | None:
    if name is None:
        return None
    if name in columns:
        return name
    lowered = {c.lower(): c for c in columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise _MissingColumn(option, name, columns)


# ----------------------------------------------------------------------------- people

#: Claims under which a file may identify patrons (``identifying`` is the manifest's older word).
IDENTIFIED: frozenset[str] = frozenset({"identified", "identifying"})
#: Claims that promise less than identified: identifiers in such a file are an issue.
CLAIMS_LESS: frozenset[str] = frozenset({"statistics", "deidentified", "pseudonymized"})
_KEY_ORDER = ("pseudonymous_key", "card_barcode", "hint", "email")


def _person_key(cols: list[str], verdicts: dict[str, detectors.ColumnVerdict],
                given: str | None) -> str | None:
    """The column whose value stands for one person: given, or a pseudonymous key, a card
    number, a column named as a patron id, an e-mail address, in that order (E1)."""
    if given is not None:
        return given
    found: dict[str, str] = {}
    for c in cols:
        v = verdicts[c]
        hints = detectors.name_hints(c)
        if v.kind in PERSON_KEY_KINDS and v.confidence != "low" and v.sample_size:
            found.setdefault(v.kind, c)
        elif "person_key" in hints and "item" not in hints and v.sample_size and (
                v.kind not in DIRECT_KINDS):
            found.setdefault("hint", c)
    return next((found[k] for k in _KEY_ORDER if k in found), None)


def _infer_quasi(cols: list[str], verdicts: dict[str, detectors.ColumnVerdict],
                 count_column: str | None, person: str | None, notes: list[str],
                 grain: str) -> tuple[list[str], list[str]]:
    """Quasi-identifiers from the column kinds, with record timestamps coarsened (E3).

    A per-second timestamp is unique by nature: it joins the set only coarsened to a day or a
    month, and only when a person key or a person attribute (where someone lives, their age,
    sex or category) is there to tie it to someone. Without either, rows describe items or
    events, not people, and no set is inferred.
    """
    qi = [c for c in cols if verdicts[c].kind in QUASI_KINDS and c != count_column
          and verdicts[c].confidence != "low"]
    if count_column is not None:
        return qi, []
    personal = [c for c in qi if verdicts[c].kind in PERSON_ATTRIBUTE_KINDS]
    times = [c for c in qi if verdicts[c].kind == "date"]
    if not personal and person is None:
        if qi:
            notes.append("no person attribute (residence, age, sex, category) and no person "
                         "key were found: the rows describe items or events, not people, so "
                         "no re-identification check was made")
        return [], []
    if times:
        notes.append(f"record dates ({', '.join(times)}) were counted by {grain}, not as "
                     "exact times: an exact time is unique by nature")
    return qi, times


def _coarsen(arr: pa.Array | pa.ChunkedArray, grain: str,
             parsed: tuple[np.ndarray, np.ndarray] | None = None) -> pa.Array:
    """Dates and timestamps as their day or month number since 1970 (int32; null if no date).

    Numbers, not ``YYYY-MM-DD`` or ``YYYY-MM`` text: each day or month is one value either
    way, so the classes are the same, and writing the text cost more than reading the dates
    (by month, strftime took 17 ms of a 32k-row piece; the numbers take 2 ms). ``parsed`` is
    the column's :func:`date_numbers` when the retention check has read them already.
    """
    days, valid = parsed if parsed is not None else date_numbers(_trim(arr))
    if grain == "month":
        days = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int32)
    return pa.array(days, type=pa.int32(), mask=~valid)


def _distinct(codes: np.ndarray, size: int) -> int:
    """How many distinct non-zero codes (codes are dense below ``size``): a bitmap, not a sort."""
    seen = np.zeros(size, dtype=bool)
    seen[codes] = True
    seen[0] = False
    return int(np.count_nonzero(seen))


@dataclass
class _People:
    """Per-person counts over the quasi-identifiers (E1): people, not rows."""

    people: int
    unique: int
    below_k: int
    k_min: int
    rows_tied: int
    classes: int
    people_per: np.ndarray  # for each class: how many (class, person) pairs it holds
    persons: np.ndarray  # for each pair, in class order: the person's code (0 = no key)
    size: int  # codes of the person column are below this

    def below(self, classes: np.ndarray) -> int:
        """How many people sit in any of the classes selected by a boolean mask."""
        if not len(self.persons):
            return 0
        hit = np.repeat(classes, self.people_per)
        return _distinct(self.persons[hit], self.size)


def _people(pairs: Counted, q: int, k: int) -> _People:
    """People per class from the distinct (quasi..., person) pairs, sorted by class.

    Each class is one run of pairs; its length is how many people share those values. A person
    is unique when some class of theirs holds only them; a row is tied to one person when its
    class holds one person. Written to hold few pair-sized arrays at once: this runs at the end
    of a scan, when the counted pairs are largest.
    """
    size = pairs.sizes[q]
    n = len(pairs.counts)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _People(0, 0, 0, 0, 0, 0, empty, empty, size)
    people_per = np.diff(np.append(pairs.run_starts(q), n))
    persons = pairs.column(q)
    in_class = np.repeat(people_per, people_per)
    keyed = persons > 0
    below = keyed & (in_class < k)
    below_k = _distinct(persons[below], size)
    alone = np.logical_and(keyed, in_class == 1, out=below)
    del in_class
    return _People(
        people=_distinct(persons[keyed], size),
        unique=_distinct(persons[alone], size),
        below_k=below_k,
        k_min=int(people_per.min()),
        rows_tied=int(pairs.counts[alone].sum()),
        classes=len(people_per), people_per=people_per, persons=persons, size=size)


# ----------------------------------------------------------------------------- one file


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



def scan_file(path: Path, options: ScanOptions | None = None, **fields: Any) -> FileScan:
    """Scan one export. Raises EvidenceError (unreadable file) or _MissingColumn.

    ``options`` says how; keyword ``fields`` override or, without ``options``, make it. Files up
    to ``in_memory_max_bytes`` on disk are read whole (fastest); larger ones are streamed in
    chunks so memory stays bounded. Both give the same report.
    """
    opts = replace(options, **fields) if options is not None else ScanOptions(**fields)
    lean_memory_pool()
    src = open_source(path, opts.display or str(path))
    try:
        size = path.stat().st_size
    except OSError:
        size = opts.in_memory_max_bytes + 1
    in_memory = size <= opts.in_memory_max_bytes
    try:
        return _scan_guarded(src, opts, in_memory)
    except _RetryAs:
        src.encoding = "cp1252"
        src.notes.append("read as cp1252 text (the file is not valid UTF-8)")
        return _scan_guarded(src, opts, in_memory)


_POOL_SET: list[bool] = []


def lean_memory_pool() -> None:
    """Make pyarrow allocate with jemalloc and hand freed pages back at once, if it can.

    Streaming allocates and frees a chunk's buffers over and over; pyarrow's default pool
    (mimalloc in the wheels) keeps freed pages, and with jemalloc at decay 0 the benchmark
    scan peaked 30-60 MiB lower (tested with every pool). Set once per process.
    """
    if _POOL_SET:
        return
    _POOL_SET.append(True)
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowNotImplementedError, AttributeError):
        return  # a pyarrow built without jemalloc: its default pool is fine, only larger
    pa.set_memory_pool(pool)


def _scan_guarded(src: Source, opts: ScanOptions, in_memory: bool) -> FileScan:
    """Run a scan; any unexpected library error becomes an EvidenceError without its text.

    pyarrow and numpy errors can quote the values they choked on, so their messages are
    dropped here; only the exception's type name is kept, to help a bug report.
    """
    try:
        return _scan_source(src, opts, in_memory)
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
    rule = RULES.get(kind)
    if distinct:
        return 2 if rule is not None and rule.by_distinct else 1
    return rule.cost if rule is not None else 1


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


class _Retained(NamedTuple):
    """One piece's retention counts, and its record dates as read (to coarsen, not reread)."""

    expired: int
    open: int
    unparsed: int
    oldest: dt.date | None  # the oldest closed record's date
    dates: tuple[np.ndarray, np.ndarray]  # days since 1970, and which rows hold a date


class _PieceJobs(NamedTuple):
    """Pool work on one piece that needs no verdict, started as soon as the piece is read."""

    retention: Future[_Retained] | None
    hashed: dict[str, Future[pa.DictionaryArray]]


class _Ahead(NamedTuple):
    """A piece of the sampling window with the work started on it before the loop reaches it.

    Without it the pool sat idle while the window was parsed and while its columns were
    classified (a fifth of a streamed scan of 1M rows); the window's pieces are held for the
    sample anyway, so checking them early costs no more memory than their small results.
    """

    piece: pa.Table
    jobs: _PieceJobs
    early: dict[str, _Job]  # column checks started as soon as the column was classified


def _hash_column(piece: pa.Table, name: str) -> pa.DictionaryArray:
    """One column dictionary-encoded: its codes group k-anonymity, its counts check it."""
    return pc.dictionary_encode(piece.column(name).combine_chunks())


def _retention_piece(piece: pa.Table, date_column: str, open_column: str | None,
                     cutoff: dt.date) -> _Retained:
    """Expired, open and unparsed rows and the oldest closed date of one piece of the file."""
    days, valid = date_numbers(_trim(piece.column(date_column)))
    if open_column is not None:
        is_open = ~detectors.present_mask(_trim(piece.column(open_column)))
    else:
        is_open = np.zeros(piece.num_rows, dtype=bool)
    closed = ~is_open
    dated = closed & valid
    expired = int((dated & (days < (cutoff - EPOCH).days)).sum())
    oldest = EPOCH + dt.timedelta(days=int(days[dated].min())) if dated.any() else None
    return _Retained(expired, int(is_open.sum()), int((closed & ~valid).sum()), oldest,
                     (days, valid))



def _scan_source(src: Source, opts: ScanOptions, in_memory: bool) -> FileScan:
    cols = src.columns
    claims, flow_id, k, as_of = opts.claims, opts.flow_id, opts.k, opts.as_of
    l_target, retention_days, sample_rows = opts.l_target, opts.retention_days, opts.sample_rows
    cfg = opts.barcode
    quasi_given = [_resolve("quasi", q, cols) or q for q in opts.quasi] if opts.quasi else None
    sensitive = _resolve("sensitive", opts.sensitive, cols)
    date_column = _resolve("date_column", opts.date_column, cols)
    open_column = _resolve("open_column", opts.open_column, cols)
    count_column = _resolve("count_column", opts.count_column, cols)

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

        # retention and hashing of each piece of the window start as soon as it is read
        ahead: list[_Ahead] = []
        window, piece_rows, pieces = _window(
            _pieces(src, in_memory, opts.chunk_rows), max(sample_rows, opts.sample_window_rows),
            lambda piece: ahead.append(_Ahead(piece, start(piece), {})))
        samples = {name: _sample(window, name, sample_rows) for name in cols}
        # ---- classify every column on its sample, here, while the pool works on the window's
        # pieces: their retention and hashing first, then the checks of each column
        # classified. Columns that may be grouped for k-anonymity wait: they are hashed once,
        # below.
        maybe_grouped = set(known_keyed)
        verdicts: dict[str, detectors.ColumnVerdict] = {}
        plans: dict[str, tuple[str, tuple[str, ...], bool]] = {}
        for c in cols:
            verdicts[c] = detectors.classify(c, samples[c], cfg=cfg)
            plans[c] = _column_plan(piece_rows, verdicts[c], samples[c], cfg)
            if c not in maybe_grouped and not (
                    quasi_given is None and verdicts[c].kind in QUASI_KINDS):
                for started in ahead:
                    started.early[c] = check(c, started.piece.column(c))
        del samples, window  # the sampling window holds a piece's worth of rows: let it go
        notes = list(src.notes)
        if count_column is None:
            counts = [c for c in cols if verdicts[c].kind == "count"]
            if len(counts) == 1 and claims not in IDENTIFIED:
                count_column = counts[0]
                notes.append(f"'{count_column}' was taken as the count column of an "
                             "aggregated table")
        if claims is None and count_column is not None:
            claims = "statistics"  # an aggregated table is statistics by nature
            notes.append("no claim was stated; with a count column the file is an aggregated "
                         "table, so it was checked as statistics")
        person = None if count_column is not None else _person_key(
            cols, verdicts, _resolve("person_key", opts.person_key, cols))
        coarse: list[str] = []
        if quasi_given is not None:
            qi = quasi_given
            inferred = False
        else:
            qi, coarse = _infer_quasi(cols, verdicts, count_column, person, notes,
                                      opts.time_grain)
            inferred = True
        qi = [c for c in qi if c not in (sensitive, person)]
        coarse = [c for c in coarse if c in qi]
        if open_note:
            notes.append(open_note)

        order = sorted(cols, key=lambda c: -_check_cost(plans[c][0], plans[c][2]))
        totals = {c: _ColumnTotals() for c in cols}
        rows = 0
        encoder = Encoder()
        acc = Counter(qi, encoder) if qi else None
        lacc = Counter([*qi, sensitive], encoder) if qi and sensitive else None
        pacc = Counter([*qi, person], encoder) if qi and person else None
        small_cells = cells = 0
        expired = open_rows = unparsed = 0
        oldest: dt.date | None = None

        keyed = ([*qi, sensitive] if lacc is not None else qi) if acc is not None else []
        hashed = [*keyed, person] if pacc is not None and person not in keyed else keyed
        # a record date is grouped by its coarsened day or month, never by its exact value:
        # hashing its (nearly all distinct) timestamps would only serve its own check, which
        # is cheaper on the rows themselves
        hashed = [c for c in hashed if c not in coarse]
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
        # columns to count are gathered over a few pieces and encoded together (one lookup
        # in each growing dictionary per COUNT_ROWS rows, not per piece)
        grouped: dict[str, list[pa.Array]] = {c: [] for c in dict.fromkeys(
            [*keyed, *([person] if pacc is not None and person is not None else [])])}
        group_weights: list[np.ndarray] = []
        group_rows = 0

        def count_group() -> None:
            nonlocal group_rows
            if acc is None or not group_rows:
                return
            joined = {c: pa.concat_arrays(parts) for c, parts in grouped.items()}
            weights = np.concatenate(group_weights) if group_weights else None
            for parts in grouped.values():
                parts.clear()
            group_weights.clear()
            group_rows = 0
            codes = [encoder.encode(c, joined[c]) for c in keyed]
            if pacc is not None and person is not None:
                pacc.add_codes([*codes[:len(qi)], encoder.encode(person, joined[person])])
            if not derive_classes:
                acc.add_codes(codes[:len(qi)], weights)
            if lacc is not None:
                lacc.add_codes(codes if weights is None else [
                    column[weights > 0] for column in codes])
        for piece in pieces:
            # the window's pieces come first, in order, each with its work already started
            # (dropped from ``ahead`` here, so a piece is let go once the loop is done with it)
            started = ahead.pop(0) if ahead else None
            jobs = started.jobs if started is not None else start(piece)
            early = started.early if started is not None else {}
            started = None
            rows += piece.num_rows
            futures = {c: check(c, piece.column(c)) for c in order
                       if c not in hashed and c not in early}
            futures.update(early)
            # quasi-identifiers are hashed once, for the group-by and their own check
            encoded = {c: jobs.hashed[c].result() if c in jobs.hashed else _hash_column(piece, c)
                       for c in hashed}
            futures.update({c: check(c, encoded[c]) for c in order if c in hashed})
            weights = None
            if count_column is not None:
                weights = pc.fill_null(parse_counts(piece.column(count_column)), 0).to_numpy()
                small_cells += int(((weights > 0) & (weights < k)).sum())
                cells += int((weights > 0).sum())
            retained = jobs.retention.result() if jobs.retention is not None else None
            if acc is not None:
                for c in grouped:
                    # the retention date, when it is also counted, is read once (on the pool)
                    parsed = retained.dates if retained is not None and c == date_column else None
                    grouped[c].append(_coarsen(piece.column(c), opts.time_grain, parsed)
                                      if c in coarse else encoded[c])
                if weights is not None:
                    group_weights.append(weights)
                group_rows += piece.num_rows
                if group_rows >= COUNT_ROWS:
                    count_group()
            if retained is not None:
                expired += retained.expired
                open_rows += retained.open
                unparsed += retained.unparsed
                if retained.oldest is not None and (oldest is None or retained.oldest < oldest):
                    oldest = retained.oldest
                retained = None
            collect()  # the previous piece's checks: at most two pieces are held at once
            in_flight.update(futures)
        count_group()
        # the classes are final once every piece is counted: derive them here, while the
        # pool still checks the last piece's columns
        classes: tuple[Counted | None, np.ndarray, np.ndarray | None] | None = None
        if acc is not None:
            if derive_classes and lacc is not None:
                _starts, class_sizes, class_distinct = lacc.counted().runs(len(qi))
                classes = (None, class_sizes, class_distinct)
                lacc.parts = []  # only the class sizes are read from here on
            else:
                counted = acc.counted()
                # weighted l-diversity needs the classes themselves; otherwise their sizes do
                classes = (counted if lacc is not None else None, counted.counts, None)
                del counted
            acc.parts = []
        people = _people(pacc.counted(), len(qi), k) if pacc else None
        if pacc is not None:
            pacc.parts = []
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
            notes.append(f"a whole-column check found {plural(t.leaks, 'row')} of '{c}' holding "
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

    for col in columns:
        col.header_kind = src.header_kinds.get(col.name)
    scan = FileScan(
        file=src.display, flow_id=flow_id, claims=claims, format=src.format, sha256=src.sha256,
        encoding=src.encoding, delimiter=src.delimiter, rows=rows,
        rows_skipped=src.rows_skipped, header_missing=src.header_missing, columns=columns,
        quasi_identifiers=qi, quasi_inferred=inferred, k=k, count_column=count_column,
        sensitive=sensitive, notes=notes, recipient=opts.recipient)
    if src.rows_skipped:
        scan.notes.append(f"{plural(src.rows_skipped, 'row')} had a different number of "
                          "fields than the header and were skipped")

    class_counted = class_counts = distinct = None
    if classes is not None:
        class_counted, class_counts, distinct = classes
        sizes = class_counts[class_counts > 0]
        if len(sizes):
            scan.k_min = int(sizes.min())
            scan.equivalence_classes = len(sizes)
            scan.unique_records = int((sizes == 1).sum())
            scan.records_below_k = int(sizes[sizes < k].sum())
    elif rows:
        scan.notes.append("no quasi-identifiers were given or recognized, so k-anonymity was "
                          "not computed")
    if count_column is not None:
        scan.small_cells, scan.cells = small_cells, cells
    if lacc is not None and class_counts is not None:
        scan.l_target = l_target
        if distinct is None and class_counted is not None:
            # weighted classes: l-diversity from the pairs of filled cells
            pairs = lacc.counted()
            sizes_q = [encoder.size(c) for c in qi]
            starts, _sums, distinct_w = pairs.runs(len(qi))
            if len(pairs):
                scan.l_diversity = int(distinct_w.min())
                short_at = starts[distinct_w < l_target]
                scan.records_below_l = int(class_counts[rows_in(
                    class_counted.matrix(), pairs.take(short_at).matrix()[:, :len(qi)], sizes_q)
                ].sum()) if len(short_at) else 0
        elif distinct is not None and len(distinct):
            scan.l_diversity = int(distinct.min())
            scan.records_below_l = int(class_counts[distinct < l_target].sum())
            if people is not None and people.classes == len(distinct):
                scan.people_below_l = people.below(distinct < l_target)
    if person is not None:
        scan.person_key = person
        kind = verdicts[person].kind
        scan.person_key_kind = kind if kind in PERSON_KEY_KINDS else "patron_id"
    if people is not None:
        scan.people, scan.people_unique = people.people, people.unique
        scan.people_below_k, scan.people_k_min = people.below_k, people.k_min
        scan.rows_tied = people.rows_tied
    elif classes is not None and count_column is None:
        scan.notes.append("no person key (card number, patron id or pseudonymous key) was "
                          "found, so rows are counted, not people: one person's several rows "
                          "count as several")
    scan.quasi_coarsened = coarse
    scan.time_grain = opts.time_grain if coarse else None
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


def _id_kinds(scan: FileScan) -> list[str]:
    """Identifier kinds in the file: direct ones, names that were identifiers, person keys."""
    kinds = {c.kind for c in scan.columns if c.identifying and c.kind in DIRECT_KINDS}
    kinds |= {c.header_kind for c in scan.columns if c.header_kind}
    kinds |= {c.kind for c in scan.columns if c.kind == "pseudonymous_key"
              and c.confidence != "low"}
    return sorted(k for k in kinds if k)


def _issues(scan: FileScan) -> list[EvidenceIssue]:
    """The file's problems, each with what the risk register rates it on (kinds, people)."""
    issues: list[EvidenceIssue] = []
    identifying = [c for c in scan.columns if c.identifying]
    claims_less = scan.claims in CLAIMS_LESS
    # re-identification is checked whenever the file does not claim to identify people,
    # whether or not direct identifiers were also found (those are their own issue)
    check_reid = scan.claims not in IDENTIFIED
    kinds = _id_kinds(scan)
    by_people = scan.people is not None

    def issue(**kw: object) -> EvidenceIssue:
        kw.setdefault("people", scan.people)
        kw.setdefault("counted", "people" if by_people else "rows")
        return EvidenceIssue(identifier_kinds=kinds, claims=scan.claims,
                             recipient=scan.recipient, **kw)  # type: ignore[arg-type]

    if claims_less:
        for c in identifying:
            if c.header_kind in DIRECT_KINDS:
                what = (c.header_kind or "").replace("_", " ")
                issues.append(issue(
                    kind="identifier_in_statistics", hard=True, column=c.name,
                    count=max(c.non_empty, 1), rows=c.non_empty,
                    detail=(f"The file claims to be {scan.claims} but the name of column "
                            f"'{c.name}' is itself a {what} (not shown): the file is keyed by "
                            f"a patron's identifier, filled in {plural(c.non_empty, 'row')}."),
                    control_hint=CONTROL_STATISTICS))
                continue
            issues.append(issue(
                kind="identifier_in_statistics", hard=True, column=c.name, count=c.matches,
                rows=c.matches,
                detail=(f"The file claims to be {scan.claims} but column '{c.name}' holds "
                        f"{c.kind.replace('_', ' ')} values in {_fmt(c.matches)} of "
                        f"{_fmt(c.non_empty)} filled rows (shape: {c.masked_example})."),
                control_hint=CONTROL_STATISTICS))
    if scan.claims in ("statistics", "deidentified") and scan.person_key_kind == (
            "pseudonymous_key"):
        who = f"{_fmt(scan.people)} people" if scan.people is not None else "each person"
        issues.append(issue(
            kind="linkable_key", hard=False, column=scan.person_key,
            count=scan.people or scan.rows, rows=scan.rows,
            detail=(f"The file claims to be {scan.claims} but column '{scan.person_key}' is a "
                    f"pseudonymous key: it links every row of {who}, so the file is "
                    "pseudonymized (linkable), not anonymous."),
            control_hint=CONTROL_STATISTICS))
    over = ", ".join(scan.quasi_identifiers)
    if check_reid and scan.count_column is None and by_people and scan.people_k_min\
            is not None and scan.people_k_min < scan.k:
        issues.append(issue(
            kind="reidentification", hard=False, count=scan.people_below_k or 0,
            people=scan.people_below_k or 0, rows=scan.rows_tied,
            detail=(f"Over {over}, {_fmt(scan.people_unique or 0)} of {_fmt(scan.people or 0)} "
                    f"people (by '{scan.person_key}') are unique and "
                    f"{_fmt(scan.people_below_k or 0)} share their values with fewer than "
                    f"{scan.k} people; {_fmt(scan.rows_tied or 0)} of {_fmt(scan.rows)} rows "
                    "can be tied to one person."),
            control_hint=CONTROL_STATISTICS))
    elif check_reid and scan.count_column is None and not by_people and\
            scan.k_min is not None and scan.k_min < scan.k:
        issues.append(issue(
            kind="reidentification", hard=False, count=scan.records_below_k or 0,
            rows=scan.records_below_k or 0,
            detail=(f"Over {over}, the smallest group has {plural(scan.k_min, 'row')}, below "
                    f"k={scan.k}: {plural(scan.records_below_k or 0, 'row')} sit in groups "
                    f"smaller than {scan.k}, {_fmt(scan.unique_records or 0)} of them unique. "
                    "Rows are counted, not people: the file has no person key."),
            control_hint=CONTROL_STATISTICS))
    if check_reid and scan.small_cells:
        issues.append(issue(
            kind="small_cells", hard=False, column=scan.count_column, count=scan.small_cells,
            rows=scan.small_cells, people=None, counted="rows",
            detail=(f"{_fmt(scan.small_cells)} of {_fmt(scan.cells or 0)} cells have a count "
                    f"between 1 and {scan.k - 1} in column '{scan.count_column}'; suppress or "
                    f"merge cells below {scan.k} before release."),
            control_hint=CONTROL_STATISTICS))
    if check_reid and scan.l_diversity is not None and scan.l_target is not None and\
            scan.l_diversity < scan.l_target:
        who = (plural(scan.people_below_l, "person", "people")
               if scan.people_below_l is not None
               else f"{plural(scan.records_below_l or 0, 'row')}")
        issues.append(issue(
            kind="l_diversity", hard=False, column=scan.sensitive,
            count=scan.people_below_l if scan.people_below_l is not None else (
                scan.records_below_l or 0),
            people=scan.people_below_l, rows=scan.records_below_l or 0,
            detail=(f"Some groups over {over} show only {scan.l_diversity} distinct "
                    f"{'value' if scan.l_diversity == 1 else 'values'} of '{scan.sensitive}' "
                    f"(target {scan.l_target}): {who} in "
                    "them reveal what their group read."),
            control_hint=CONTROL_STATISTICS))
    r = scan.retention
    if r is not None and r.expired_rows:
        issues.append(issue(
            kind="retention_exceeded", hard=False, column=r.date_column, count=r.expired_rows,
            rows=r.expired_rows, people=None, counted="rows",
            detail=(f"{plural(r.expired_rows, 'closed record')} dated before {r.cutoff} "
                    f"(older than the {r.retention_days}-day retention); the oldest is "
                    f"{r.oldest_age_days} days old. "
                    f"{plural(r.open_rows_excluded, 'open record')} not counted."),
            control_hint=CONTROL_RETENTION))
    return issues


# ----------------------------------------------------------------------------- entry points


def _defaults(k: int | None, default_k: int | None, data_dir: Path | None
              ) -> tuple[int, dict[str, int]]:
    defaults = evidence_defaults(data_dir)
    if default_k is not None:
        defaults["k_anonymity"] = default_k
    return (k if k is not None else defaults["k_anonymity"]), defaults


def scan_files(paths: list[Path], *, quasi: list[str] | None, k: int | None,
               sensitive: str | None, date_column: str | None, retention_days: int | None,
               as_of: dt.date, default_k: int | None = None, open_column: str | None = None,
               count_column: str | None = None, barcode: BarcodeConfig | None = None,
               in_memory_max_bytes: int = IN_MEMORY_MAX_BYTES,
               data_dir: Path | None = None, claims: Claims | None = None,
               person_key: str | None = None,
               time_grain: Literal["day", "month"] = "day") -> EvidenceReport:
    """Scan files named on the command line (the options and claim apply to every file).

    k defaults to ``default_k``, else to ``evidence.k_anonymity`` in the data folder's
    policy/scales.yaml, else to 5 (see :func:`evidence_defaults`). An open column, when not
    given, is inferred from names such as ``checkin`` or ``returned`` and said in the notes.
    """
    if not paths:
        raise UsageError("name at least one export file to scan")
    if (date_column is None) != (retention_days is None):
        raise UsageError("--date-column and --retention-days go together: give both or neither")
    if retention_days is not None and retention_days < 0:
        raise UsageError("--retention-days must be 0 or more")
    k_value, defaults = _defaults(k, default_k, data_dir)
    # Options apply to every file; a column that is in some files but not others is checked
    # where it exists (and said), one that is in none of them is a mistake.
    wanted = {"quasi": quasi or [], "sensitive": [sensitive] if sensitive else [],
              "date_column": [date_column] if date_column else [],
              "open_column": [open_column] if open_column else [],
              "count_column": [count_column] if count_column else [],
              "person_key": [person_key] if person_key else []}
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
            sample_rows=defaults["sample_rows"], barcode=barcode or BarcodeConfig(),
            claims=claims, time_grain=time_grain,
            person_key=None if "person_key" in skip else person_key,
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
