"""Recall and precision of lcopia's identifier detection on Evergreen ILS sample exports.

Real test material that lcopia's authors did not write: the Evergreen "concerto" sample data
(GPL-2.0+), read in place from ../shared/testdata/evergreen-concerto (never copied into this
repository). Our own column labels are in benchmarks/evergreen_truth.yaml (labels only).

Two views are printed:
- kind: a column counts as found when lcopia names the same kind as the label (library
  addresses and e-mails included: the detector sees data, not whose it is);
- patron: only patron identifiers are positives; a library's own address flagged as
  street_address counts as a false positive.

A column counts as predicted when its kind is a direct identifier at high or medium confidence
with at least one matching value; columns empty in every row are left out on both sides.

Then a pseudonymized circulation export is built from the same sample in a temporary folder at
run time (never written into the repository): each loan's borrower replaced by a salted
SHA-256 hash (and, in a second variant, by the hash with its digits mapped to letters), with
the borrower's ZIP code, birth year and home library. lcopia must find the hash as the file's
person key (a pseudonymous key) and count people unique on the quasi-identifiers exactly as a
brute-force count over the same rows does.

Usage: ``.venv/bin/python benchmarks/evergreen_accuracy.py [--data PATH] [--json]``
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lcopia import evidence  # noqa: E402
from lcopia.evidence.detectors import DIRECT_KINDS  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "testdata" / "evergreen-concerto"
SCORED = sorted(DIRECT_KINDS)


def _truth(path: Path) -> dict[str, dict[str, tuple[str, bool]]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["files"]
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for file, cols in raw.items():
        out[file] = {}
        for col, label in cols.items():
            if isinstance(label, dict):
                out[file][col] = (label["kind"], bool(label.get("patron", True)))
            else:
                out[file][col] = (label, True)
    return out


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": round(precision, 4) if precision is not None else None,
            "recall": round(recall, 4) if recall is not None else None}


def evaluate(data: Path, truth_path: Path) -> dict[str, object]:
    """Scan every CSV in ``data`` and score the columns against the labels."""
    truth = _truth(truth_path)
    files = sorted(data.glob("*.csv"))
    report = evidence.scan_files(files, quasi=None, k=None, sensitive=None, date_column=None,
                                 retention_days=None, as_of=dt.date(2026, 11, 30), default_k=5)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    patron = {"tp": 0, "fp": 0, "fn": 0}
    overall = {"tp": 0, "fp": 0, "fn": 0}
    misses: list[str] = []
    wrong: list[str] = []
    columns = 0
    for scan in report.files:
        name = Path(scan.file).name
        labels = truth.get(name, {})
        for col in scan.columns:
            if col.non_empty == 0:
                continue
            columns += 1
            want, is_patron = labels.get(col.name, ("none", False))
            want = want if want in DIRECT_KINDS else "none"
            got = col.kind if col.identifying else "none"
            if want != "none" and got == want:
                counts[want]["tp"] += 1
                overall["tp"] += 1
            else:
                if got != "none":
                    counts[got]["fp"] += 1
                    overall["fp"] += 1
                    wrong.append(f"{name}:{col.name} labelled {want}, found {got}")
                if want != "none":
                    counts[want]["fn"] += 1
                    overall["fn"] += 1
                    misses.append(f"{name}:{col.name} labelled {want}, found {got}")
            p_want = want != "none" and is_patron
            p_got = got != "none"
            if p_want and p_got:
                patron["tp"] += 1
            elif p_got:
                patron["fp"] += 1
            elif p_want:
                patron["fn"] += 1
    return {
        "files": len(files), "columns_scored": columns,
        "per_kind": {k: _prf(**counts[k]) for k in SCORED if any(counts[k].values())},
        "overall": _prf(**overall), "patron": _prf(**patron),
        "missed": sorted(misses), "false_positives": sorted(wrong),
    }


QUASI = ["zipcode", "birth_year", "home_library"]
#: quasi-identifier sets checked against the brute-force count (from fine to coarse)
QUASI_SETS = [QUASI, ["birth_year", "home_library"], ["zipcode"], ["home_library"]]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def pseudonymized_rows(data: Path, *, letters: bool) -> list[list[str]]:
    """Loans with the borrower hashed, plus the borrower's ZIP, birth year and home library."""
    users = {u["id"]: u for u in _read(data / "actor.usr.csv")}
    zips: dict[str, str] = {}
    for a in _read(data / "actor.usr_address.csv"):
        zips.setdefault(a["usr"], (a["post_code"] or "")[:5])
    rows = []
    for circ in _read(data / "action.circulation.csv"):
        user = users.get(circ["usr"])
        if user is None:
            continue
        key = hashlib.sha256(f"benchmark-salt:{circ['usr']}".encode()).hexdigest()
        if letters:
            key = key.translate(str.maketrans("0123456789", "ghijklmnop"))
        rows.append([key, zips.get(circ["usr"], ""), (user["dob"] or "")[:4], user["home_ou"],
                     circ["target_copy"], circ["xact_start"][:19]])
    return rows


def brute_force_people(rows: list[list[str]], quasi: list[str], k: int) -> dict[str, int]:
    """People alone / below k on the quasi-identifiers, and rows tied, by plain counting."""
    idx = [1 + QUASI.index(q) for q in quasi]
    people_of: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for r in rows:
        people_of[tuple(r[i] for i in idx)].add(r[0])
    unique = {next(iter(p)) for p in people_of.values() if len(p) == 1}
    below = {x for p in people_of.values() if len(p) < k for x in p}
    tied = sum(1 for r in rows if len(people_of[tuple(r[i] for i in idx)]) == 1)
    return {"people": len({r[0] for r in rows}), "unique": len(unique), "below_k": len(below),
            "rows_tied": tied}


def evaluate_pseudonymized(data: Path, k: int = 5) -> dict[str, object]:
    """Per-person uniqueness of lcopia against a brute-force count, on two key variants."""
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="lcopia-evergreen-") as tmp:
        for letters in (False, True):
            rows = pseudonymized_rows(data, letters=letters)
            path = Path(tmp) / f"loans_{'letters' if letters else 'hex'}.csv"
            with path.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["borrower_hash", *QUASI, "item", "checkout_time"])
                w.writerows(rows)
            for quasi in QUASI_SETS:
                scan = evidence.scan_files([path], quasi=quasi, k=k, sensitive=None,
                                           date_column=None, retention_days=None,
                                           as_of=dt.date(2026, 11, 30), claims="deidentified"
                                           ).files[0]
                truth = brute_force_people(rows, quasi, k)
                found = scan.people_unique if scan.people_unique is not None else -1
                name = f"{'letters' if letters else 'hex'}: {'+'.join(quasi)}"
                out[name] = _compare(scan, truth, found)
    return out


def _compare(scan: evidence.FileScan, truth: dict[str, int], found: int) -> dict[str, object]:
    return {
        "rows": scan.rows, "person_key": scan.person_key,
        "person_key_kind": scan.person_key_kind,
        "key_found": scan.person_key == "borrower_hash"
        and scan.person_key_kind == "pseudonymous_key",
        "people": scan.people, "people_truth": truth["people"],
        "people_unique": scan.people_unique, "people_unique_truth": truth["unique"],
        "people_unique_error": found - truth["unique"],
        "people_below_k": scan.people_below_k, "people_below_k_truth": truth["below_k"],
        "rows_tied": scan.rows_tied, "rows_tied_truth": truth["rows_tied"],
        "issues": sorted(i.kind for i in scan.issues),
    }


def _fmt(x: float | int | None) -> str:
    return "  n/a" if x is None else f"{x * 100:5.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--truth", type=Path, default=ROOT / "benchmarks" / "evergreen_truth.yaml")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"Evergreen sample data not found at {args.data}", file=sys.stderr)
        return 2
    result = evaluate(args.data, args.truth)
    result["pseudonymized"] = evaluate_pseudonymized(args.data)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    print(f"Evergreen concerto sample: {result['files']} CSV files, "
          f"{result['columns_scored']} non-empty columns scored")
    print(f"{'kind':<16} {'TP':>3} {'FP':>3} {'FN':>3} {'precision':>10} {'recall':>8}")
    for kind, r in result["per_kind"].items():  # type: ignore[union-attr]
        print(f"{kind:<16} {r['tp']:>3} {r['fp']:>3} {r['fn']:>3} {_fmt(r['precision']):>10} "
              f"{_fmt(r['recall']):>8}")
    for label in ("overall", "patron"):
        r = result[label]  # type: ignore[assignment]
        print(f"{label + ' (' + ('kind' if label == 'overall' else 'patron') + ')':<16} "
              f"{r['tp']:>3} {r['fp']:>3} {r['fn']:>3} {_fmt(r['precision']):>10} "
              f"{_fmt(r['recall']):>8}")
    for line in result["missed"]:  # type: ignore[union-attr]
        print(f"missed: {line}")
    for line in result["false_positives"]:  # type: ignore[union-attr]
        print(f"false positive: {line}")
    print("Pseudonymized loans built from the sample (k=5), lcopia vs a brute-force count:")
    for variant, r in result["pseudonymized"].items():  # type: ignore[union-attr]
        print(f"  {variant:<40} key found: {r['key_found']} ({r['person_key_kind']}); "
              f"people {r['people']} (truth {r['people_truth']}); unique "
              f"{r['people_unique']} (truth {r['people_unique_truth']}, error "
              f"{r['people_unique_error']}); below k {r['people_below_k']} (truth "
              f"{r['people_below_k_truth']}); rows tied {r['rows_tied']} of {r['rows']} "
              f"(truth {r['rows_tied_truth']}); issues: {', '.join(r['issues'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
