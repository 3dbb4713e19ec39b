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

Usage: ``.venv/bin/python benchmarks/evergreen_accuracy.py [--data PATH] [--json]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
