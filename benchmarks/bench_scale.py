"""How ``lcopia validate`` and ``lcopia score`` behave on a 10,000-system inventory.

The sample's systems (each with its first flow) are cloned under new ids until there are
10,000 systems, in a scratch copy of the sample's policy, taxonomy and inventory. Each command
then runs as a user runs it (``python -m lcopia``, a new process) and the result is checked:
every system and flow is counted, and the systems are ranked 1..10,000 with no gap. The
timings are printed; they are measurements, not pass marks (the tests never time anything).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--systems N]`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
AS_OF = "2026-11-30"


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, table: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(table)
    path.write_text(buf.getvalue(), encoding="utf-8")


def grow(data: Path, systems: int) -> int:
    """Copy the sample's systems (each with its first flow) until there are ``systems``;
    return the number of flows."""
    inv = data / "inventory"
    s_rows, f_rows = rows(inv / "systems.csv"), rows(inv / "flows.csv")
    sid, fid = s_rows[0].index("system_id"), f_rows[0].index("flow_id")
    fsys = f_rows[0].index("system_id")
    first_flow: dict[str, list[str]] = {}
    for r in f_rows[1:]:
        first_flow.setdefault(r[fsys], r)
    templates = s_rows[1:]
    for i in range(systems - len(templates)):
        row = list(templates[i % len(templates)])
        flow = list(first_flow[row[sid]])
        row[sid] = flow[fsys] = f"branch-kiosk-{i:05d}"
        flow[fid] = f"FL-KIOSK-{i:05d}"
        s_rows.append(row)
        f_rows.append(flow)
    write_rows(inv / "systems.csv", s_rows)
    write_rows(inv / "flows.csv", f_rows)
    return len(f_rows) - 1


def lcopia(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lcopia", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    return proc, time.perf_counter() - started


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=10_000)
    n = parser.parse_args().systems
    with tempfile.TemporaryDirectory(prefix="lcopia-scale-") as tmp:
        data = Path(tmp) / "data"
        for sub in ("policy", "taxonomy", "inventory"):
            shutil.copytree(DATA / sub, data / sub)
        flows = grow(data, n)

        proc, validate_s = lcopia("validate", "--data", str(data))
        check(proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:])
        check(f"Systems: {n} " in proc.stdout, "validate counts every system")
        check(f"Flows: {flows}" in proc.stdout, "validate counts every flow")

        proc, score_s = lcopia("score", "--data", str(data), "--as-of", AS_OF,
                               "--format", "json")
        check(proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:])
        scored = json.loads(proc.stdout)
        check(len(scored["systems"]) == n and len(scored["flows"]) == flows,
              "score returns every system and flow")
        check(scored["counts"]["systems"] == n, "counts.systems")
        check(sorted(s["rank"] for s in scored["systems"]) == list(range(1, n + 1)),
              "systems ranked 1..N with no gap")

    print(f"{n:,} systems, {flows:,} flows")
    print(f"  validate  {validate_s:6.1f} s  (python -m lcopia, process start included)")
    print(f"  score     {score_s:6.1f} s  (JSON output, {len(proc.stdout) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
