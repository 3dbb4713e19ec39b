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
sys.path.insert(0, str(ROOT / "tests"))
from builders import grow  # noqa: E402  (the inventory helpers the tests use)

AS_OF = "2026-11-30"


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
