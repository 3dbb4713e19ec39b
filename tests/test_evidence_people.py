"""Evidence that counts people, not rows (issue 15): person keys, pseudonymous keys, claims,
coarsened timestamps, places of residence, partial dates and the fields the register rates."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from collections import defaultdict
from pathlib import Path

import pytest

from lcopia import evidence
from lcopia.cli import main

AS_OF = dt.date(2026, 11, 30)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def scan(path: Path, **kw: object) -> evidence.FileScan:
    opts: dict[str, object] = {"quasi": None, "k": None, "sensitive": None,
                               "date_column": None, "retention_days": None, "as_of": AS_OF,
                               "default_k": 2}
    opts.update(kw)
    return evidence.scan_files([path], **opts).files[0]  # type: ignore[arg-type]


def pseudonymized(patrons: int, loans: int, seed: int, *, letters: bool = False
                  ) -> tuple[list[str], list[list[str]]]:
    """Loans of patrons under a hashed borrower number, with ZIP, sex and birth year."""
    rng = random.Random(seed)
    people = []
    for i in range(patrons):
        key = hashlib.sha256(f"salt-{seed}-{i}".encode()).hexdigest()
        if letters:  # the digits mapped to letters: no digit run left inside the key
            key = key.translate(str.maketrans("0123456789", "ghijklmnop"))
        people.append([key, rng.choice(["65802", "65803", "65804"]), rng.choice("FM"),
                       str(rng.randint(1940, 2010))])
    rows = []
    for j in range(loans):
        p = people[j % patrons] if j < patrons else rng.choice(people)
        rows.append([*p, f"3{j:013d}", rng.choice(["Fiction", "History", "Science"])])
    return ["borrower", "zipcode", "sex", "birth_year", "item", "genre"], rows


def brute_force(rows: list[list[str]], k: int) -> dict[str, int]:
    """People unique / below k on (zip, sex, birth year), and rows tied, counted plainly."""
    people_of: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for r in rows:
        people_of[(r[1], r[2], r[3])].add(r[0])
    unique = {next(iter(p)) for p in people_of.values() if len(p) == 1}
    below = {x for p in people_of.values() if len(p) < k for x in p}
    tied = sum(1 for r in rows if len(people_of[(r[1], r[2], r[3])]) == 1)
    return {"people": len({r[0] for r in rows}), "unique": len(unique), "below": len(below),
            "tied": tied}


@pytest.mark.parametrize("letters", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_people_unique_equals_a_brute_force_count_on_a_pseudonymized_export(
        tmp_path, seed, letters):
    header, rows = pseudonymized(42, 115, seed, letters=letters)
    path = write_csv(tmp_path / "loans.csv", header, rows)
    result = scan(path, quasi=["zipcode", "sex", "birth_year"], k=2, sensitive="genre")
    truth = brute_force(rows, 2)
    assert (result.person_key, result.person_key_kind) == ("borrower", "pseudonymous_key")
    assert result.people == truth["people"] == 42
    assert result.people_unique == truth["unique"]
    assert result.people_below_k == truth["below"]
    assert result.rows_tied == truth["tied"]
    issue = next(i for i in result.issues if i.kind == "reidentification")
    assert issue.counted == "people" and issue.people == truth["below"]
    assert f"{truth['unique']} of 42 people" in issue.detail
    assert f"{truth['tied']} of 115 rows" in issue.detail
    borrower = next(c for c in result.columns if c.name == "borrower")
    assert borrower.kind == "pseudonymous_key"
    assert borrower.masked_example == ("64-character token" if letters else "64 hex characters")


def test_l_diversity_counts_people_in_groups_that_reveal_what_they_read(tmp_path):
    rows = [["a" * 32, "65802", "F", "Fiction"], ["a" * 32, "65802", "F", "Fiction"],
            ["b" * 32, "65803", "M", "Fiction"], ["c" * 32, "65803", "M", "History"]]
    rows += [[f"{i:032x}", "65804", "F", "Science" if i % 2 else "Poetry"] for i in range(12)]
    path = write_csv(tmp_path / "l.csv", ["patron_hash", "zip", "sex", "genre"], rows)
    result = scan(path, quasi=["zip", "sex"], sensitive="genre", k=2)
    assert result.person_key == "patron_hash"
    assert result.l_diversity == 1 and result.people_below_l == 1  # only patron "a..."


def test_without_a_person_key_rows_are_counted_and_the_report_says_why(tmp_path):
    rows = [["65802", "F", "1961"]] * 6 + [["65810", "M", "1990"]]
    path = write_csv(tmp_path / "d.csv", ["zip", "sex", "birth_year"], rows)
    result = scan(path, quasi=["zip", "sex", "birth_year"], k=5)
    issue = next(i for i in result.issues if i.kind == "reidentification")
    assert issue.counted == "rows" and issue.people is None and issue.rows == 1
    assert "no person key" in issue.detail
    assert result.people is None
    assert "rows, not people" in evidence.evidence_text(
        evidence.EvidenceReport(as_of=AS_OF, files=[result]))


def test_claims_decide_what_is_checked(tmp_path, capsys):
    header, rows = pseudonymized(20, 40, 7)
    path = write_csv(tmp_path / "p.csv", header, rows)
    stats = scan(path, claims="statistics", k=2)
    assert "linkable_key" in {i.kind for i in stats.issues}
    assert "reidentification" in {i.kind for i in stats.issues}
    assert not any(i.kind == "linkable_key" for i in scan(path, claims="pseudonymized",
                                                           k=2).issues)
    assert scan(path, claims="identified", k=2).issues == []
    # identifiers in a file that claims less are their own issue, and k is checked too
    ident = write_csv(tmp_path / "i.csv", ["email", "zip", "sex"],
                      [[f"p{i}@example.org", "65802", "F" if i % 2 else "M"]
                       for i in range(30)])
    found = scan(ident, claims="pseudonymized", k=20)
    kinds = {i.kind for i in found.issues}
    assert {"identifier_in_statistics", "reidentification"} <= kinds
    one = next(i for i in found.issues if i.kind == "identifier_in_statistics")
    assert one.hard and one.identifier_kinds == ["email"] and one.claims == "pseudonymized"
    rc = main(["scan", str(path), "--claims", "statistics", "--format", "json", "--k", "2",
               "--as-of", "2026-11-30"])
    assert rc == 0 and '"linkable_key"' in capsys.readouterr().out


def test_item_level_public_statistics_raise_no_reidentification(tmp_path):
    rng = random.Random(5)
    rows = [[f"3{i:013d}", f"Title {i % 40}", f"2025-0{1 + i % 9}-1{i % 10} 1{i % 10}:"
             f"{i % 60:02d}:{(i * 7) % 60:02d}", rng.choice(["Central", "East"])]
            for i in range(400)]
    path = write_csv(tmp_path / "checkouts.csv",
                     ["ItemBarcode", "Title", "CheckoutDateTime", "Branch"], rows)
    result = scan(path, claims="statistics", k=5, sensitive="Title")
    assert result.issues == []
    assert result.quasi_identifiers == []
    assert any("not people" in n for n in result.notes)


def test_timestamps_are_coarsened_in_inferred_sets_by_day_or_month(tmp_path):
    rows = []
    for i in range(60):
        card = f"2041700{i % 6:06d}"
        rows.append([card, "65802", f"2025-03-{1 + i % 3:02d} 10:{i:02d}:{i % 60:02d}"])
    path = write_csv(tmp_path / "t.csv", ["card", "zip", "checkout_time"], rows)
    day = scan(path, k=2)
    assert day.quasi_coarsened == ["checkout_time"] and day.time_grain == "day"
    assert day.equivalence_classes == 3  # three days, not sixty seconds
    month = scan(path, k=2, time_grain="month")
    assert month.equivalence_classes == 1
    assert any("counted by day" in n for n in day.notes)


def test_city_is_a_quasi_identifier_of_the_person(tmp_path):
    rows = [[f"{i:032x}", ["Ozark", "Nixa", "Ozark", "Republic"][i % 4], "Adult"]
            for i in range(40)]
    path = write_csv(tmp_path / "c.csv", ["patron_hash", "city", "category"], rows)
    result = scan(path, k=2)
    kinds = {c.name: c.kind for c in result.columns}
    assert kinds["city"] == "place"
    assert "city" in result.quasi_identifiers


def test_year_month_dates_are_read_for_retention(tmp_path):
    rows = [[f"2024-{m:02d}", "Central"] for m in range(1, 13)] * 8
    path = write_csv(tmp_path / "m.csv", ["month", "branch"], rows)
    days = (AS_OF - dt.date(2024, 10, 15)).days
    result = scan(path, date_column="month", retention_days=days)
    assert result.retention is not None and result.retention.unparsed_dates == 0
    # a month counts as expired once all of it is: January-September, not October
    assert result.retention.expired_rows == 8 * 9


def test_a_windows_1252_file_with_an_undefined_byte_gets_the_encoding_message(tmp_path,
                                                                              capsys):
    path = tmp_path / "w.csv"
    path.write_bytes(b"title,branch\n" + b"Caf\xe9 \x81 book,Central\n" * 50)
    rc = main(["scan", str(path), "--as-of", "2026-11-30"])
    err = capsys.readouterr().err
    assert rc == 2 and "neither UTF-8 nor Windows-1252" in err and "CSV UTF-8" in err


def test_a_manifest_scan_names_who_receives_each_file(tmp_path):
    header, rows = pseudonymized(20, 40, 9)
    path = write_csv(tmp_path / "p.csv", header, rows)
    result = evidence.scan_file(path, k=5, as_of=AS_OF, claims="deidentified",
                                recipient="State Library")
    assert result.issues and all(i.recipient == "State Library" for i in result.issues)
    assert all(i.identifier_kinds == ["pseudonymous_key"] for i in result.issues)
