"""Evidence scans: re-identification, small cells, l-diversity, retention, the manifest, and
canary values that must never appear in any output, including error paths."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import AS_OF, DATA, ROOT, load_script, run_cli

from lcopia import evidence
from lcopia.errors import EvidenceError, InventoryError, UsageError

CANARY_CARD = "29999000012345"
CANARY_EMAIL = "canary.patron@quackenbush-library.example"
CANARY_NAME = "Zebediah Quackenbush"
CANARY_PHONE = "417-555-0177"
CANARY_STREET = "4821 Quackenbush Lane"
CANARIES = (CANARY_CARD, CANARY_EMAIL, CANARY_NAME, "Quackenbush", "Zebediah", CANARY_PHONE,
            "4821", "canary.patron")


def write_csv(path: Path, header: list[str], rows: list[list[str]], **kw: str) -> Path:
    with path.open("w", newline="", encoding=kw.get("encoding", "utf-8")) as fh:
        w = csv.writer(fh, delimiter=kw.get("delimiter", ","))
        w.writerow(header)
        w.writerows(rows)
    return path


def scan(path: Path, **kw) -> evidence.FileScan:
    opts = {"quasi": None, "k": None, "sensitive": None, "date_column": None,
            "retention_days": None, "as_of": AS_OF, "default_k": 5}
    opts.update(kw)
    return evidence.scan_files([path], **opts).files[0]


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary.lower() not in text.lower(), f"canary {canary!r} leaked"


# ----------------------------------------------------------------------------- k-anonymity


def test_k_anonymity_equals_a_brute_force_count_on_a_small_table(tmp_path):
    zips = ["65802", "65803", "65810"]
    years = ["1961", "1975", "1990", "2011"]
    cats = ["Adult", "Senior"]
    rows = [[f"L{i}", zips[i % 3], years[(i * 7) % 4], cats[(i // 5) % 2]] for i in range(40)]
    path = write_csv(tmp_path / "deid.csv", ["loan", "zip", "birth_year", "patron_type"], rows)
    result = scan(path, quasi=["zip", "birth_year", "patron_type"], k=3)
    brute = Counter((r[1], r[2], r[3]) for r in rows)
    assert result.k_min == min(brute.values())
    assert result.equivalence_classes == len(brute)
    assert result.unique_records == sum(1 for v in brute.values() if v == 1)
    assert result.records_below_k == sum(v for v in brute.values() if v < 3)
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(["a", "z", "y", "c"])})
    assert int(evidence.class_sizes(table, ["z", "y", "c"]).min()) == min(brute.values())


def test_a_deidentified_file_below_k_is_a_reidentification_issue(tmp_path):
    rows = [["65802", "F", "1961"]] * 6 + [["65810", "M", "1990"]]
    path = write_csv(tmp_path / "d.csv", ["zip", "sex", "birth_year"], rows)
    result = scan(path, quasi=["zip", "sex", "birth_year"], k=5)
    issue = next(i for i in result.issues if i.kind == "reidentification")
    assert (issue.count, issue.hard, issue.control_hint) == (1, False,
                                                             "statistics_non_identifying")
    assert result.k_min == 1 and result.unique_records == 1


def test_quasi_identifiers_are_inferred_when_not_given(tmp_path):
    rows = [["65802", "Central", "Adult", str(i)] for i in range(10)]
    path = write_csv(tmp_path / "q.csv", ["zip", "branch", "patron_type", "row"], rows)
    result = scan(path)
    assert result.quasi_inferred
    assert set(result.quasi_identifiers) == {"zip", "branch", "patron_type"}
    assert result.k_min == 10 and not result.issues


def test_small_cells_and_weighted_classes_in_an_aggregated_table(tmp_path):
    rows = [["Central", "0-12", "Fiction", "12"], ["Central", "0-12", "Poetry", "1"],
            ["Eastside", "65+", "Fiction", "3"], ["Eastside", "65+", "History", "0"],
            ["Eastside", "13-17", "Fiction", "40"]]
    path = write_csv(tmp_path / "agg.csv", ["branch", "age_band", "genre", "checkouts"], rows)
    result = scan(path, quasi=["branch", "age_band"], sensitive="genre")
    assert result.count_column == "checkouts" and result.claims == "statistics"
    assert (result.small_cells, result.cells) == (2, 4)  # the zero cell is not a small cell
    assert result.k_min == 3  # Eastside/65+ = 3 + 0 loans
    assert result.l_diversity == 1  # Eastside/65+ and Eastside/13-17 each show one genre
    kinds = {i.kind for i in result.issues}
    assert kinds == {"small_cells", "l_diversity"}
    assert not any(i.hard for i in result.issues)


def test_l_diversity_counts_distinct_sensitive_values_per_class(tmp_path):
    rows = [["65802", "Adult", "Romance"], ["65802", "Adult", "Romance"],
            ["65802", "Adult", "History"], ["65810", "Teen", "LGBTQ+ Studies"],
            ["65810", "Teen", "LGBTQ+ Studies"]]
    path = write_csv(tmp_path / "l.csv", ["zip", "patron_type", "genre"], rows)
    result = scan(path, quasi=["zip", "patron_type"], sensitive="genre", k=2)
    assert result.l_diversity == 1 and result.records_below_l == 2
    issue = next(i for i in result.issues if i.kind == "l_diversity")
    assert issue.count == 2 and issue.column == "genre"


# ----------------------------------------------------------------------------- identifiers


def test_a_statistics_file_with_an_identifier_is_a_hard_finding(tmp_path):
    rows = [["2026-01", "Central", "3", ""], ["2026-01", "Eastside", "1", CANARY_EMAIL],
            ["2026-02", "Central", "9", ""]]
    path = write_csv(tmp_path / "stats.csv", ["month", "branch", "loans", "contact"], rows)
    result = scan(path)
    hard = [i for i in result.issues if i.hard]
    assert [(i.kind, i.column, i.count) for i in hard] == [
        ("identifier_in_statistics", "contact", 1)]
    assert_no_canary(result.model_dump_json())


def test_an_identifying_export_reports_columns_not_reidentification(tmp_path):
    rows = [[CANARY_CARD, CANARY_NAME, "65802"], ["20417000012342", "Ann Lee", "65803"]]
    path = write_csv(tmp_path / "loans.csv", ["patron_barcode", "patron_name", "zip"], rows)
    result = scan(path, claims="identified")
    kinds = {c.name: c.kind for c in result.columns}
    assert kinds == {"patron_barcode": "card_barcode", "patron_name": "person_name",
                     "zip": "zip"}
    assert result.issues == []  # identified by its own claim; k only reported
    assert result.k_min == 1
    # without a claim, re-identification is checked even though identifiers were found
    assert [i.kind for i in scan(path).issues] == ["reidentification"]


# ----------------------------------------------------------------------------- retention


def test_retention_counts_closed_rows_before_the_cutoff_and_excludes_open_loans(tmp_path):
    rows = [["2026-11-20 10:00:00", "2026-11-25 09:00:00"],  # recent, returned
            ["2025-01-05 10:00:00", "2025-01-20 09:00:00"],  # old, returned: expired
            ["2024-06-01 08:00:00", ""],                       # old but still out: open
            ["01/15/2025", "02/01/2025"],                      # US dates, expired
            ["not a date", "2025-01-01"]]                      # unreadable
    path = write_csv(tmp_path / "loans.csv", ["checkout_date", "checkin_date"], rows)
    result = scan(path, date_column="checkout_date", retention_days=365)
    r = result.retention
    assert r is not None and r.open_column == "checkin_date"
    assert (r.expired_rows, r.open_rows_excluded, r.unparsed_dates) == (2, 1, 1)
    assert r.cutoff == dt.date(2025, 11, 30)
    assert r.oldest_age_days == (AS_OF - dt.date(2025, 1, 5)).days
    issue = next(i for i in result.issues if i.kind == "retention_exceeded")
    assert issue.count == 2 and issue.control_hint == "retention_within_need"


def test_retention_options_go_together():
    with pytest.raises(UsageError):
        evidence.scan_files([Path("x.csv")], quasi=None, k=None, sensitive=None,
                            date_column="d", retention_days=None, as_of=AS_OF)


def test_a_mistyped_column_is_a_usage_error_with_a_suggestion(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["checkout_date"], [["2026-01-01"]])
    with pytest.raises(UsageError, match="did you mean 'checkout_date'"):
        scan(path, date_column="chekout_date", retention_days=30)


# ----------------------------------------------------------------------------- defaults


def test_default_k_comes_from_the_policy_file_then_falls_back_to_5(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "a.csv", ["zip"], [["65802"]] * 3)
    policy = tmp_path / "data" / "policy"
    policy.mkdir(parents=True)
    (policy / "scales.yaml").write_text("evidence:\n  k_anonymity: 11\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert scan(path, default_k=None, data_dir=tmp_path / "data").k == 11
    assert scan(path, default_k=None).k == 5  # the working directory is never looked in
    (policy / "scales.yaml").unlink()
    assert scan(path, default_k=None, data_dir=tmp_path / "data").k == 5
    assert evidence.evidence_defaults(DATA)["k_anonymity"] == 5


# ----------------------------------------------------------------------------- manifest


def _bundle():
    from lcopia.load import load

    return load(DATA)


def test_the_shipped_manifest_scans_with_the_findings_a_privacy_officer_needs():
    report = evidence.scan_manifest(DATA / "evidence", _bundle(), AS_OF)
    by_file = {f.file: f for f in report.files}
    stats = by_file["exports/circulation_stats.csv"]
    assert [i.kind for i in stats.issues if i.hard] == ["identifier_in_statistics"]
    assert stats.small_cells and stats.small_cells > 0
    loans = by_file["exports/circulation_loans.csv"]
    assert loans.retention is not None and loans.retention.expired_rows > 0
    assert loans.retention.open_rows_excluded > 0
    events = by_file["exports/event_attendance.jsonl"]
    assert events.retention is None and any("indefinitely" in n for n in events.notes)
    pcs = by_file["exports/pc_sessions.xlsx"]
    assert pcs.retention is not None and pcs.retention.retention_days == 90
    text = evidence.render_text(report)
    assert "HARD" in text and "exports/circulation_stats.csv" in text


def _manifest(tmp_path: Path, entry: dict) -> Path:
    folder = tmp_path / "evidence"
    (folder / "exports").mkdir(parents=True, exist_ok=True)
    write_csv(folder / "exports" / "a.csv", ["zip"], [["65802"]])
    (folder / "manifest.yaml").write_text(json.dumps({"exports": [entry]}), encoding="utf-8")
    return folder


def test_an_unknown_flow_is_an_inventory_error_with_a_suggestion(tmp_path):
    folder = _manifest(tmp_path, {"file": "exports/a.csv", "flow_id": "FL-CIRC-LAONS",
                                  "claims": "identifying"})
    with pytest.raises(InventoryError) as exc:
        evidence.scan_manifest(folder, _bundle(), AS_OF)
    problem = exc.value.problems[0]
    assert (problem.field, problem.value, problem.suggestion) == (
        "exports[0].flow_id", "FL-CIRC-LAONS", "FL-CIRC-LOANS")


@pytest.mark.parametrize("target", ["../secret.csv", "/etc/passwd", "exports/../../x.csv",
                                    "exports/link.csv"])
def test_entries_outside_the_evidence_folder_are_refused(tmp_path, target):
    outside = write_csv(tmp_path / "secret.csv", ["email"], [[CANARY_EMAIL]])
    folder = _manifest(tmp_path, {"file": target, "flow_id": "FL-CIRC-LOANS",
                                  "claims": "identifying"})
    os.symlink(outside, folder / "exports" / "link.csv")
    with pytest.raises(InventoryError) as exc:
        evidence.scan_manifest(folder, _bundle(), AS_OF)
    assert "exports[0].file" in str(exc.value)
    assert_no_canary(str(exc.value))


def test_manifest_keys_are_validated(tmp_path):
    folder = _manifest(tmp_path, {"file": "exports/a.csv", "flow_id": "FL-CIRC-LOANS",
                                  "claims": "anonymous", "retention": 5})
    with pytest.raises(InventoryError) as exc:
        evidence.scan_manifest(folder, _bundle(), AS_OF)
    fields = {p.field for p in exc.value.problems}
    assert {"exports[0].claims", "exports[0].retention"} <= fields


# ----------------------------------------------------------------------------- canaries


@pytest.fixture
def canary_files(tmp_path: Path) -> dict[str, Path]:
    header = ["patron_barcode", "patron_name", "email", "phone", "street_address", "notes",
              "checkout_date", "checkin_date"]
    row = [CANARY_CARD, CANARY_NAME, CANARY_EMAIL, CANARY_PHONE, CANARY_STREET,
           f"Call {CANARY_NAME} at {CANARY_PHONE}", "2024-01-02", "2024-01-09"]
    normal = ["20417000012342", "Ann Lee", "ann@example.org", "417-555-0101", "12 Oak St", "",
              "2026-11-01", ""]
    files = {
        "csv": write_csv(tmp_path / "loans.csv", header, [row, normal]),
        "semicolon": write_csv(tmp_path / "semi.csv", header, [row, normal], delimiter=";"),
        "nohead": write_csv(tmp_path / "nohead.csv", row, [normal]),
        "cp1252": write_csv(tmp_path / "w.csv", header, [row, normal], encoding="cp1252"),
    }
    jl = tmp_path / "r.jsonl"
    jl.write_text("\n".join(json.dumps(dict(zip(header, r, strict=True)))
                            for r in (row, normal)), encoding="utf-8")
    files["jsonl"] = jl
    return files


@pytest.fixture
def broken_files(tmp_path: Path) -> list[Path]:
    bad_xlsx = tmp_path / "bad.xlsx"
    bad_xlsx.write_bytes(b"PK\x03\x04" + f"{CANARY_CARD} {CANARY_EMAIL}".encode() * 20)
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text(f'{{"email": "{CANARY_EMAIL}"}}\n{{"email": "{CANARY_EMAIL}\n',
                         encoding="utf-8")
    bad_parquet = tmp_path / "bad.parquet"
    bad_parquet.write_bytes(b"PAR1" + CANARY_EMAIL.encode() * 10 + b"PAR1")
    binary = tmp_path / "bad.csv"
    binary.write_bytes(b"\x00" + CANARY_EMAIL.encode() + b"\x00\x01" * 40)
    return [bad_xlsx, bad_jsonl, bad_parquet, binary]


def test_canaries_never_appear_in_python_api_results(canary_files):
    for path in canary_files.values():
        report = evidence.scan_files([path], quasi=None, k=None, sensitive=None,
                                     date_column=None, retention_days=None, as_of=AS_OF,
                                     default_k=5)
        assert report.files[0].rows == 2
        assert_no_canary(report.model_dump_json(), evidence.render_text(report), repr(report))


def test_a_headerless_file_is_named_by_position_so_its_first_row_is_not_shown(canary_files):
    result = scan(canary_files["nohead"])
    assert result.header_missing
    assert [c.name for c in result.columns][:2] == ["column_1", "column_2"]


def test_canary_file_columns_are_all_found(canary_files):
    kinds = {c.name: c.kind for c in scan(canary_files["csv"]).columns}
    assert kinds == {"patron_barcode": "card_barcode", "patron_name": "person_name",
                     "email": "email", "phone": "phone", "street_address": "street_address",
                     "notes": "free_text_pii", "checkout_date": "date", "checkin_date": "date"}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_canaries_never_appear_in_cli_output(canary_files, fmt):
    paths = [str(p) for p in canary_files.values()]
    proc = run_cli("scan", *paths, "--format", fmt, "--as-of", "2026-11-30",
                   "--date-column", "checkout_date", "--retention-days", "365",
                   "--sensitive", "notes", "--quasi", "checkout_date")
    assert proc.returncode == 0, proc.stderr
    assert_no_canary(proc.stdout, proc.stderr)
    if fmt == "json":
        data = json.loads(proc.stdout)
        assert len(data["files"]) == len(paths)


def test_canaries_never_appear_in_cli_errors(broken_files):
    for path in broken_files:
        proc = run_cli("scan", str(path), "--as-of", "2026-11-30")
        assert proc.returncode == 2, path.name
        assert "Traceback" not in proc.stderr
        assert path.name in proc.stderr
        assert_no_canary(proc.stdout, proc.stderr)


def test_canaries_never_appear_in_api_exceptions(broken_files):
    for path in broken_files:
        with pytest.raises(EvidenceError) as exc:
            scan(path)
        assert_no_canary(str(exc.value), repr(exc.value), exc.value.reason, exc.value.fix)
        assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_an_unexpected_scanner_failure_hides_the_library_message(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "a.csv", ["email"], [[CANARY_EMAIL]])

    def boom(*_a, **_k):
        raise ValueError(f"bad value {CANARY_EMAIL}")

    monkeypatch.setattr(evidence.detectors, "classify", boom)
    with pytest.raises(EvidenceError) as exc:
        scan(path)
    assert "ValueError" in str(exc.value)
    assert_no_canary(str(exc.value))


# ----------------------------------------------------------------------------- formats


def test_every_format_gives_the_same_findings(tmp_path):
    import openpyxl
    import pyarrow.parquet as pq

    header = ["patron_barcode", "email", "zip"]
    rows = [["20417000012342", "ann@example.org", "02134"],
            ["20417000012359", "bo@example.com", "65802"]]
    csv_path = write_csv(tmp_path / "a.csv", header, rows)
    tsv_path = write_csv(tmp_path / "a.tsv", header, rows, delimiter="\t")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + csv_path.read_bytes())
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(csv_path.read_text(encoding="utf-8").encode("utf-16"))
    wb = openpyxl.Workbook()
    for r in [header, *rows]:
        wb.active.append(r)
    xlsx = tmp_path / "a.xlsx"
    wb.save(xlsx)
    parquet = tmp_path / "a.parquet"
    pq.write_table(pa.table({h: [r[i] for r in rows] for i, h in enumerate(header)}), parquet)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("\n".join(json.dumps(dict(zip(header, r, strict=True))) for r in rows),
                     encoding="utf-8")
    seen = set()
    for path in (csv_path, tsv_path, bom, utf16, xlsx, parquet, jsonl):
        result = scan(path)
        seen.add(tuple((c.name, c.kind, c.matches) for c in result.columns))
    assert seen == {(("patron_barcode", "card_barcode", 2), ("email", "email", 2),
                     ("zip", "zip", 2))}


# ----------------------------------------------------------------------------- Evergreen


EVERGREEN = ROOT.parent / "shared" / "testdata" / "evergreen-concerto"


@pytest.mark.skipif(not EVERGREEN.is_dir(), reason="Evergreen sample data not present")
def test_evergreen_recall_meets_the_measured_floor():
    module = load_script("benchmarks/evergreen_accuracy.py")
    result = module.evaluate(EVERGREEN, ROOT / "benchmarks" / "evergreen_truth.yaml")
    per_kind = result["per_kind"]
    assert per_kind["card_barcode"]["recall"] >= 1.0
    assert per_kind["person_name"]["recall"] >= 0.8
    assert per_kind["email"]["recall"] >= 1.0
    assert result["overall"]["precision"] >= 0.95
    assert_no_canary(json.dumps(result))


def test_the_same_file_and_date_give_the_same_json_bytes():
    paths = sorted((DATA / "evidence" / "exports").iterdir())
    runs = [evidence.scan_files(paths, quasi=None, k=None, sensitive="genre", date_column=None,
                                retention_days=None, as_of=AS_OF, default_k=5).model_dump_json()
            for _ in range(2)]
    assert runs[0] == runs[1]


# ----------------------------------------------------------------------------- size


def _generator():
    return load_script("scripts/make_evidence_samples.py")


def _both_ways(path: Path, monkeypatch: pytest.MonkeyPatch, **kw) -> tuple[str, str]:
    """The scan of one file read whole, and streamed in many small chunks."""
    opts = {"k": 5, "as_of": AS_OF, "sample_rows": 500}
    opts.update(kw)
    streamed = evidence.scan_file(path, in_memory_max_bytes=0, chunk_rows=700,
                                  sample_window_rows=900, **opts).model_dump_json()
    whole = evidence.scan_file(path, sample_window_rows=900, **opts).model_dump_json()
    return whole, streamed


def test_a_file_streamed_in_chunks_gives_the_same_report_as_one_read_whole(
        tmp_path, monkeypatch):
    gen = _generator()
    table = gen.circulation(6000)
    notes = pa.array([f"Call {CANARY_PHONE} about a fine" if i == 4321 else None
                      for i in range(table.num_rows)], pa.string())
    table = table.append_column("staff_note", notes)
    path = tmp_path / "loans.csv"
    gen.write_csv(table, path)
    whole, streamed = _both_ways(
        path, monkeypatch, quasi=["zip", "birth_date", "patron_category", "branch"],
        sensitive="genre", date_column="checkout_time", retention_days=365)
    assert whole == streamed
    result = evidence.FileScan.model_validate_json(whole)
    assert result.rows == 6000 and result.k_min is not None and result.l_diversity is not None
    assert result.retention is not None and result.retention.expired_rows > 0
    assert {c.name: c.kind for c in result.columns}["staff_note"] == "free_text_pii"
    assert_no_canary(whole)


def test_the_shipped_exports_give_the_same_report_read_whole_or_streamed(
        tmp_path, monkeypatch):
    for path in sorted((DATA / "evidence" / "exports").iterdir()):
        whole, streamed = _both_ways(path, monkeypatch, sensitive=None)
        assert whole == streamed, path.name


def _statistics_table(rows: int) -> dict[str, list[str | None]]:
    branches = ["Central", "Eastside", "Ozark Hills", "Riverside", "Battlefield"]
    genres = ["Fiction", "Mystery", "Romance", "History", "Poetry", "Travel"]
    return {"month": [f"20{10 + i % 16}-{1 + i % 12:02d}" for i in range(rows)],
            "branch": [branches[i % 5] for i in range(rows)],
            "genre": [genres[(i // 5) % 6] for i in range(rows)],
            "loans": [str(5 + (i * 7) % 40) for i in range(rows)],
            "remark": [None] * rows}


@pytest.mark.parametrize("column,value,kind", [
    ("remark", CANARY_EMAIL, "email"),
    ("genre", CANARY_EMAIL, "email"),
    ("branch", f"Call {CANARY_PHONE}", "free_text_pii"),
    ("remark", "20417000012346", "card_barcode"),  # a Luhn-valid patron card number
])
def test_one_identifier_far_past_the_sample_is_still_a_hard_finding(tmp_path, column, value,
                                                                     kind):
    rows = 200_000
    data = _statistics_table(rows)
    data[column][150_001] = value  # far outside the 10,000-row sample
    path = tmp_path / "stats.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(pa.table({k: pa.array(v, pa.string()) for k, v in data.items()}), path)
    result = scan(path)
    hard = [(i.kind, i.column, i.count) for i in result.issues if i.hard]
    assert hard == [("identifier_in_statistics", column, 1)]
    found = {c.name: c for c in result.columns}[column]
    assert (found.kind, found.matches, found.confidence) == (kind, 1, "medium")
    assert any("did not show" in n for n in result.notes)
    assert_no_canary(result.model_dump_json(), evidence.render_text(
        evidence.EvidenceReport(as_of=AS_OF, files=[result])))


def test_a_column_of_check_digit_ids_is_judged_by_its_sample_not_flagged_row_by_row(tmp_path):
    rng = np.random.default_rng(7)
    ids = ["".join(map(str, rng.integers(0, 10, 16))) for _ in range(30_000)]
    path = write_csv(tmp_path / "ids.csv", ["transaction_id", "branch"],
                     [[i, "Central"] for i in ids])
    result = scan(path)
    assert not [c for c in result.columns if c.identifying]
    assert not any("did not show" in n for n in result.notes)


def test_timestamps_read_from_their_bytes_give_the_dates_strptime_gives():
    values = ["2024-09-25 04:56:59", "2023-02-29 10:00:00", "2024-02-29 10:00:00",
              "2023-13-01 10:00:00", "2023-00-10 10:00:00", "0999-01-01 10:00:00",
              "1970-01-01 00:00:00", "2026-11-30 17:00:00", "01/15/2025 10:00:00",
              "2000-02-29 10:00:00", "1900-02-29 10:00:00", "2023-04-31 10:00:00",
              "2023-12-31 23:59:59",
              "not a date at all!!"]
    arr = pa.array(values)
    assert evidence._iso_days(arr) is not None  # one length, no nulls: the byte path runs
    assert evidence._parse_dates(arr).to_pylist() ==\
        evidence._parse_dates_text(arr).to_pylist()
    assert evidence._parse_dates(arr).to_pylist()[:2] == [dt.date(2024, 9, 25),
                                                          dt.date(2023, 3, 1)]


def test_l_diversity_and_class_sizes_equal_a_brute_force_count(tmp_path):
    rng = np.random.default_rng(11)
    rows = []
    for _ in range(300):
        zip_code = str(65800 + rng.integers(0, 4))
        choices = ["Romance"] if zip_code == "65800" else ["Romance", "History", "Poetry"]
        rows.append([zip_code, ["Adult", "Teen", "Senior"][rng.integers(0, 3)],
                     choices[rng.integers(0, len(choices))]])
    path = write_csv(tmp_path / "l.csv", ["zip", "patron_type", "genre"], rows)
    result = scan(path, quasi=["zip", "patron_type"], sensitive="genre", k=20)
    classes = Counter((r[0], r[1]) for r in rows)
    genres: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        genres.setdefault((r[0], r[1]), set()).add(r[2])
    assert result.k_min == min(classes.values())
    assert result.records_below_k == sum(v for v in classes.values() if v < 20)
    assert result.l_diversity == min(len(g) for g in genres.values())
    assert result.records_below_l == sum(classes[c] for c, g in genres.items() if len(g) < 2)
    assert result.l_diversity == 1 and result.records_below_l > 0
