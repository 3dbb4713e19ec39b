"""Fuzzing the loaders, the evidence scan and the capture reader: no unhandled exception.

Every example either loads or is refused with an ``LcopiaError`` (what the CLI turns into a
message and exit code 2); anything else would be a traceback in front of a user. The scan
fuzzers also plant a patron value in the rows and check no error or report ever repeats it.
Example counts come from the hypothesis profile chosen in conftest.py ("quick" in `make test`,
"full" in `make fuzz`); the search is derandomised, so CI sees the same cases each run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AS_OF, DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from lcopia import evidence, web
from lcopia.errors import InventoryError, LcopiaError
from lcopia.models import Bundle

FUZZ = settings()  # the loaded profile: example count, derandomised, no deadline
CANARY = "Quillfeather-7731"

TABLES = {
    "systems.csv": ("system_id", "name", "external", "uses", "privacy_policy_reviewed",
                    "contract_binds_policy", "notes"),
    "flows.csv": ("flow_id", "system_id", "elements", "retention_days", "retention_need_days",
                  "minors", "patrons_affected", "encrypted", "purpose"),
    "answers.csv": ("control_id", "scope", "target_id", "status", "review_date", "comment"),
    "disclosures.csv": ("request_id", "received", "categories", "search_cost", "cost_billed",
                        "decision"),
}
YAML_FILES = ("inventory/library.yaml", "policy/scales.yaml", "taxonomy/vocabularies.yaml")
YAML_BITS = ("&a ", "*a", "<<: *a", "{", "}", "[", "]", ": ", "- ", "\t", "\n", "\n  ", "'",
             '"', "!!python/object:os.system ", "!!binary ", "~", "null", "1e400", "0x1F",
             "2026-02-30", "? ", "|\n", "%YAML 1.1\n", "---\n", "...\n", "#", "\ufeff", "\x85")
TRICKY_CELLS = ("", " ", "yes", "Y", "unknown", "1/16/2024", "2024-02-30", "13/13/2013",
                "-0", "1,000", "1e9", "NaN", "inf", "9" * 40, "-30", ";", ";;", "a;b;",
                '"', '""', "\r", "\n", "=1+1", "\u202e", "\x00", "\ufeff", "library")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "data"
    for sub in ("policy", "taxonomy", "inventory"):
        shutil.copytree(DATA / sub, root / sub)
    return root


class _Swap:
    """Write a file's fuzzed content for one example, and put the original back after."""

    def __init__(self, path: Path) -> None:
        self.path, self.original = path, path.read_bytes()

    def __enter__(self) -> _Swap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.original)


def _load_or_refuse(root: Path) -> None:
    from lcopia.load import load

    try:
        assert isinstance(load(root, as_of=AS_OF), Bundle)
    except InventoryError as exc:
        assert exc.problems and all(p.file for p in exc.problems)
        assert str(exc).startswith(f"{len(exc.problems)} problem")


def _mutate(raw: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, bytes to delete, bytes to insert) edits, positions scaled to raw."""
    out = bytearray(raw)
    for pos, delete, insert in edits:
        at = pos % (len(out) + 1)
        out[at:at + delete] = insert
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 40), st.binary(max_size=12)),
                 min_size=1, max_size=6)


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), data=st.data(),
       value=st.one_of(st.sampled_from(TRICKY_CELLS),
                       st.text(st.characters(exclude_categories=("Cs",)), max_size=40)))
def test_any_cell_value_loads_or_is_refused(scratch, table, data, value):
    import csv
    import io

    column = data.draw(st.sampled_from(TABLES[table]))
    path = scratch / "inventory" / table
    with _Swap(path) as swap:
        rows = list(csv.reader(io.StringIO(swap.original.decode("utf-8"), newline="")))
        row = data.draw(st.integers(1, len(rows) - 1))
        rows[row][rows[0].index(column)] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
        _load_or_refuse(scratch)


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), edits=EDITS)
def test_any_damage_to_an_inventory_table_loads_or_is_refused(scratch, table, edits):
    path = scratch / "inventory" / table
    with _Swap(path) as swap:
        path.write_bytes(_mutate(swap.original, edits))
        _load_or_refuse(scratch)


@FUZZ
@given(name=st.sampled_from(YAML_FILES),
       edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 8),
                                st.sampled_from(YAML_BITS)), min_size=1, max_size=8))
def test_any_damage_to_a_yaml_file_loads_or_is_refused(scratch, name, edits):
    path = scratch / name
    with _Swap(path) as swap:
        path.write_bytes(_mutate(swap.original, [(p, d, b.encode()) for p, d, b in edits]))
        _load_or_refuse(scratch)


# ----------------------------------------------------------------------------- scan


def _scan_or_refuse(path: Path, planted: str | None = None) -> None:
    try:
        report = evidence.scan_files([path], quasi=None, k=None, sensitive=None,
                                     date_column=None, retention_days=None, as_of=AS_OF)
    except LcopiaError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        if planted:
            assert planted not in str(exc)
        return
    (scan,) = report.files
    assert scan.rows >= 0
    if planted:
        shown = report.model_dump_json() + evidence.render_text(report)
        header = {c.name for c in scan.columns}  # column names are the file's own header
        if not any(planted in h for h in header):
            assert planted not in shown


def _loans_head(rows: int = 60) -> bytes:
    lines = (DATA / "evidence/exports/circulation_loans.csv").read_bytes().splitlines(True)
    body = [ln.replace(b"Kendal Bozeman", CANARY.encode()) for ln in lines[1:rows]]
    body[5] = body[5].replace(b"Adult", CANARY.encode())
    return lines[0] + b"".join(body)


LOANS = _loans_head()
EVENTS = b"".join((DATA / "evidence/exports/event_attendance.jsonl").read_bytes()
                  .splitlines(True)[:40]).replace(b"Ellyn Huntington", CANARY.encode())
WORKBOOK = (DATA / "evidence/exports/pc_sessions.xlsx").read_bytes()


@FUZZ
@given(suffix=st.sampled_from([".csv", ".tsv", ".txt"]), edits=EDITS)
def test_any_damage_to_a_csv_export_scans_or_is_refused(tmp_path_factory, suffix, edits):
    path = tmp_path_factory.mktemp("scan") / f"loans{suffix}"
    path.write_bytes(_mutate(LOANS, edits))
    _scan_or_refuse(path, CANARY)


@FUZZ
@given(edits=EDITS)
def test_any_damage_to_a_json_lines_export_scans_or_is_refused(tmp_path_factory, edits):
    path = tmp_path_factory.mktemp("scan") / "events.jsonl"
    path.write_bytes(_mutate(EVENTS, edits))
    _scan_or_refuse(path, CANARY)


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples * 2 // 5))
@given(edits=EDITS)
def test_any_damage_to_a_workbook_scans_or_is_refused(tmp_path_factory, edits):
    path = tmp_path_factory.mktemp("scan") / "sessions.xlsx"
    path.write_bytes(_mutate(WORKBOOK, edits))
    _scan_or_refuse(path)


@FUZZ
@given(suffix=st.sampled_from([".csv", ".jsonl", ".xlsx", ".parquet", ".tsv"]),
       raw=st.binary(max_size=3000))
def test_arbitrary_bytes_under_any_export_name_scan_or_are_refused(tmp_path_factory, suffix,
                                                                   raw):
    path = tmp_path_factory.mktemp("scan") / f"export{suffix}"
    path.write_bytes(raw)
    _scan_or_refuse(path)


# ----------------------------------------------------------------------------- web captures


HAR = json.loads((DATA / "evidence/web/catalog-search-leaky.har").read_text(encoding="utf-8"))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
              st.text(max_size=30)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


HAR_PATHS = [p for p in _paths(HAR) if p]


@FUZZ
@given(replacements=st.lists(st.tuples(st.sampled_from(HAR_PATHS), JSON_VALUES), min_size=1,
                             max_size=4))
def test_any_damage_to_a_browser_capture_is_audited_or_refused(tmp_path_factory, replacements):
    doc = json.loads(json.dumps(HAR))
    for path, value in replacements:
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this branch
    target = tmp_path_factory.mktemp("har") / "capture.har"
    target.write_text(json.dumps(doc), encoding="utf-8")
    try:
        report = web.audit_files([target])
    except LcopiaError as exc:
        assert "capture.har" in str(exc) or "first-party" in str(exc)
        return
    assert report.captures

