"""Streaming in bounded memory changes nothing: the same report as a whole read, exact counts.

The scan streams every file above a few MiB in small chunks, counts quasi-identifier tuples as
packed keys that are re-packed when a column's dictionary grows, and reads ahead on a thread.
These tests force all of that onto tiny files (chunks of a few rows, counting groups of a few
rows, merges every two parts) and compare with a whole read and with brute-force counts.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcopia import evidence
from lcopia.errors import EvidenceError
from lcopia.evidence import kanon
from lcopia.evidence import scan as scan_module

AS_OF = dt.date(2026, 11, 30)
HEADER = ["patron", "zip", "birth_date", "patron_category", "branch", "genre", "checkout_time"]
ZIPS = ["65802", "65803", "65804", ""]
BIRTHS = ["1950-02-03", "1984-07-19", "2011-12-01", ""]
CATEGORIES = ["Adult", "Teen", "Child"]
BRANCHES = ["Central", "East", ""]
GENRES = ["Mystery", "Health", "Cooking", ""]

row_strategy = st.tuples(
    st.integers(0, 12),  # patron (0 = no key in this row)
    st.sampled_from(ZIPS), st.sampled_from(BIRTHS), st.sampled_from(CATEGORIES),
    st.sampled_from(BRANCHES), st.sampled_from(GENRES),
    st.integers(0, 900), st.integers(0, 86_399))


def _write(path: Path, rows: list[tuple[object, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for patron, zip_, birth, cat, branch, genre, day, second in rows:
            when = dt.datetime(2024, 1, 1) + dt.timedelta(days=day, seconds=second)
            out.writerow([f"P{patron:05d}" if patron else "", zip_, birth, cat, branch, genre,
                          when.isoformat(sep=" ")])


def _scan(path: Path, *, streamed: bool, chunk_rows: int, **kw: object) -> str:
    opts: dict[str, object] = {"k": 3, "as_of": AS_OF, "sample_rows": 50,
                               "sample_window_rows": 60}
    opts.update(kw)
    if streamed:
        opts.update(in_memory_max_bytes=0, chunk_rows=chunk_rows)
    else:
        opts.update(in_memory_max_bytes=1 << 30)
    return evidence.scan_file(path, **opts).model_dump_json()  # type: ignore[arg-type]


@pytest.fixture
def tiny_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count every few rows and merge every two parts, so re-packing happens on small files."""
    monkeypatch.setattr(scan_module, "COUNT_ROWS", 5)
    monkeypatch.setattr(kanon.Counter, "MERGE_PARTS", 2)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(rows=st.lists(row_strategy, min_size=1, max_size=120), chunk_rows=st.integers(1, 40),
       inferred=st.booleans())
def test_streamed_in_tiny_chunks_the_report_equals_the_whole_read(
        tmp_path: Path, tiny_steps: None, rows: list[tuple[object, ...]], chunk_rows: int,
        inferred: bool) -> None:
    path = tmp_path / "loans.csv"
    _write(path, rows)
    given_columns: dict[str, object] = {} if inferred else {
        "quasi": ["zip", "birth_date", "patron_category", "branch"], "sensitive": "genre",
        "person_key": "patron", "date_column": "checkout_time", "retention_days": 365}
    whole = _scan(path, streamed=False, chunk_rows=chunk_rows, **given_columns)
    streamed = _scan(path, streamed=True, chunk_rows=chunk_rows, **given_columns)
    assert streamed == whole


def test_people_and_rows_streamed_equal_a_brute_force_count(tmp_path: Path,
                                                            tiny_steps: None) -> None:
    rng = np.random.default_rng(7)
    rows = [(int(rng.integers(0, 40)), ZIPS[int(rng.integers(0, 4))],
             BIRTHS[int(rng.integers(0, 4))], CATEGORIES[int(rng.integers(0, 3))],
             BRANCHES[int(rng.integers(0, 3))], GENRES[int(rng.integers(0, 4))],
             int(rng.integers(0, 900)), 0) for _ in range(400)]
    path = tmp_path / "loans.csv"
    _write(path, rows)
    quasi = ["zip", "birth_date", "patron_category", "branch"]
    result = evidence.FileScan.model_validate_json(_scan(
        path, streamed=True, chunk_rows=7, quasi=quasi, sensitive="genre",
        person_key="patron"))
    groups = collections.Counter(r[1:5] for r in rows)
    people_in = collections.defaultdict(set)  # rows without a key count as someone else
    for r in rows:
        people_in[r[1:5]].add(r[0])
    alone = {next(iter(p)) for p in people_in.values() if len(p) == 1} - {0}
    assert result.k_min == min(groups.values())
    assert result.unique_records == sum(1 for n in groups.values() if n == 1)
    assert result.people == len({r[0] for r in rows if r[0]})
    assert result.people_unique == len(alone)
    assert result.rows_tied == sum(1 for r in rows if r[0] and len(people_in[r[1:5]]) == 1)
    genres = collections.defaultdict(set)
    for r in rows:
        genres[r[1:5]].add(r[5])
    assert result.l_diversity == min(len(g) for g in genres.values())


@settings(deadline=None)
@given(tuples=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5), st.integers(0, 300)),
                       min_size=1, max_size=200),
       cuts=st.lists(st.integers(1, 25), min_size=1, max_size=10))
def test_counts_merged_over_growing_dictionaries_equal_a_brute_force_count(
        tuples: list[tuple[int, int, int]], cuts: list[int]) -> None:
    encoder = kanon.Encoder()
    counter = kanon.Counter(["a", "b", "c"], encoder)
    counter.MERGE_PARTS = 2  # type: ignore[misc]
    start, i = 0, 0
    while start < len(tuples):  # chunks of varying length: dictionaries grow between parts
        part = tuples[start:start + cuts[i % len(cuts)]]
        counter.add([pa.array([str(t[j]) for t in part]) for j in range(3)])
        start, i = start + len(part), i + 1
    counted = counter.counted()
    words = [encoder.known[n].to_pylist() for n in ("a", "b", "c")]
    got = {tuple(words[j][int(code) - 1] for j, code in enumerate(row)): int(n)
           for row, n in zip(counted.matrix(), counted.counts, strict=True)}
    assert got == dict(collections.Counter(tuple(str(x) for x in t) for t in tuples))
    assert list(counted.keys) == sorted(counted.keys)  # type: ignore[arg-type]


def test_counts_stay_exact_when_the_tuples_outgrow_one_integer_key() -> None:
    # seven columns of 700 distinct values: 701**7 > 2**62, so later parts cannot be packed
    # and the packed earlier parts are unpacked to rows before merging
    encoder = kanon.Encoder()
    names = [f"c{j}" for j in range(7)]
    counter = kanon.Counter(names, encoder)
    steps = (3, 9, 11, 13, 17, 19, 23)  # prime to 700: every column has 700 distinct values
    rows = [tuple(str((i * m) % 700) for m in steps) for i in range(700)] * 2
    fitted = []
    for start in range(0, len(rows), 100):
        part = rows[start:start + 100]
        counter.add([pa.array([r[j] for r in part]) for j in range(7)])
        fitted.append(counter.parts[-1].keys is not None)
    assert fitted[0] and not fitted[-1]
    counted = counter.counted()
    assert counted.keys is None
    assert sorted(counted.counts.tolist()) == sorted(collections.Counter(rows).values())
    assert len(counted.runs(7)[0]) == len(set(rows))


def test_reading_ahead_stops_its_thread_when_the_scan_stops_early() -> None:
    pieces = (pa.table({"a": [str(i)]}) for i in range(1000))
    ahead = scan_module._read_ahead(pieces)
    assert next(ahead).num_rows == 1
    ahead.close()
    assert not [t for t in threading.enumerate() if t.name == "lcopia-read-ahead"]


def test_reading_ahead_raises_the_readers_error_in_order() -> None:
    def pieces():
        yield pa.table({"a": ["1"]})
        raise EvidenceError("export.csv", "could not be parsed", "Export it again")

    ahead = scan_module._read_ahead(pieces())
    assert next(ahead).num_rows == 1
    with pytest.raises(EvidenceError):
        next(ahead)


def test_a_late_non_utf8_byte_in_a_streamed_file_is_read_again_as_windows_1252(
        tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    lines = ["zip,branch"] + [f"6580{i % 10},Central" for i in range(3000)] + ["65802,Caf\xe9"]
    path.write_bytes("\n".join(lines).encode("cp1252"))
    result = evidence.scan_file(path, k=3, as_of=AS_OF, in_memory_max_bytes=0, chunk_rows=64)
    assert result.rows == 3001 and result.encoding == "cp1252"
