"""How fast is ``lcopia assess`` compared with running each notebook with the papermill CLI?

Measures, on the shipped sample:

* naive: one ``papermill`` process per notebook, one after another (01, each 02, 03, 04),
  then the same export and PDF step the runner does;
* runner: ``python -m lcopia assess --jobs 2`` (warm kernels), end to end;
* the per-notebook overhead of the naive way (process, kernel start/stop, imports) against
  a notebook's own time on a warm kernel;

then how the runner's total grows with synthetic inventories of 12, 50, 100 and 200 systems
(the sample's systems, flows and answers cloned under new ids into ``benchmarks/.work/``), with
the naive way timed at 12 systems only, and the marginal cost of one more system.

Run: ``.venv/bin/python benchmarks/bench_assess.py`` (about five minutes on 2 cores).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
NOTEBOOKS = ROOT / "notebooks"
WORK = ROOT / "benchmarks" / ".work" / "assess"
AS_OF = "2026-11-30"
BIN = Path(sys.executable).parent
SIZES = (12, 50, 100, 200)


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out["JUPYTER_PREFER_ENV_PATH"] = "1"
    out["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return out


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def evidence_flows() -> set[str]:
    import yaml

    manifest = DATA / "evidence" / "manifest.yaml"
    if not manifest.is_file():
        return set()
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    return {e["flow_id"] for e in doc.get("exports", [])}


def synthetic(n: int) -> Path:
    """A data folder with exactly ``n`` systems: a subset of the sample, or clones of it."""
    dest = WORK / f"data-{n}"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(DATA, dest)
    inv = dest / "inventory"
    s_head, systems = read_csv(inv / "systems.csv")
    f_head, flows = read_csv(inv / "flows.csv")
    a_head, answers = read_csv(inv / "answers.csv")
    if n <= len(systems):
        needed = {f["system_id"] for f in flows if f["flow_id"] in evidence_flows()}
        keep = [s for s in systems if s["system_id"] in needed]
        keep += [s for s in systems if s["system_id"] not in needed][: n - len(keep)]
        ids = {s["system_id"] for s in keep}
        flows = [f for f in flows if f["system_id"] in ids]
        fids = {f["flow_id"] for f in flows}
        answers = [a for a in answers if a["scope"] == "library"
                   or (a["scope"] == "system" and a["target_id"] in ids)
                   or (a["scope"] == "flow" and a["target_id"] in fids)]
        systems = [s for s in systems if s["system_id"] in ids]
    else:
        base_s, base_f, base_a = list(systems), list(flows), list(answers)
        copy = 0
        while len(systems) < n:
            copy += 1
            for s in base_s:
                if len(systems) >= n:
                    break
                sid = s["system_id"]
                new = f"{sid}_c{copy}"
                systems.append({**s, "system_id": new, "name": f"{s['name']} (copy {copy})",
                                "domains": ""})
                for f in (f for f in base_f if f["system_id"] == sid):
                    fid = f"{f['flow_id']}-C{copy}"
                    flows.append({**f, "flow_id": fid, "system_id": new})
                    answers += [{**a, "target_id": fid} for a in base_a
                                if a["scope"] == "flow" and a["target_id"] == f["flow_id"]]
                answers += [{**a, "target_id": new} for a in base_a
                            if a["scope"] == "system" and a["target_id"] == sid]
    write_csv(inv / "systems.csv", s_head, systems)
    write_csv(inv / "flows.csv", f_head, flows)
    write_csv(inv / "answers.csv", a_head, answers)
    return dest


def naive(data: Path, out: Path) -> tuple[float, list[float], float]:
    """Sequential papermill CLI, one process per notebook; then the same exports and PDF."""
    from lcopia.load import load

    systems = [s.system_id for s in load(data).inventory.systems]
    run_dir = out / "naive-run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "notebooks").mkdir(parents=True)
    base = ["-p", "data_dir", str(data), "-p", "as_of", AS_OF, "-p", "run_dir", str(run_dir)]
    plan = [("01_inventory", "01_inventory", [])]
    plan += [("02_system", f"02_system-{s}", ["-p", "system_id", s]) for s in systems]
    plan += [("03_evidence", "03_evidence", []),
             ("04_board_report", "04_board_report", ["-p", "previous_dir", ""])]
    each = []
    start = time.perf_counter()
    for template, name, extra in plan:
        t0 = time.perf_counter()
        subprocess.run(
            [str(BIN / "papermill"), "-k", "python3", "--cwd", str(NOTEBOOKS), "--log-level",
             "ERROR", "--no-progress-bar", str(NOTEBOOKS / f"{template}.ipynb"),
             str(run_dir / "notebooks" / f"{name}.ipynb"), *base, *extra],
            check=True, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        each.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    code = ("import sys, pathlib; from lcopia import pipeline, report; "
            "d = pathlib.Path(sys.argv[1]); r = pipeline.results(sys.argv[2], sys.argv[3], d); "
            "report.write_exports(r, d); "
            "report.render_board_report(d / 'notebooks' / '04_board_report.ipynb', d)")
    subprocess.run([sys.executable, "-c", code, str(run_dir), str(data), AS_OF], check=True,
                   env=env())
    render = time.perf_counter() - t0
    return time.perf_counter() - start, each, render


def runner(data: Path, out: Path, jobs: int) -> tuple[float, dict]:
    """``python -m lcopia assess`` end to end in a fresh process; its manifest's timings."""
    reports = out / "reports"
    if reports.exists():
        shutil.rmtree(reports)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lcopia", "assess", "--data", str(data), "--out",
                    str(reports), "--as-of", AS_OF, "--jobs", str(jobs), "--quiet"],
                   check=True, env=env(), cwd=ROOT, stdout=subprocess.DEVNULL)
    total = time.perf_counter() - t0
    manifest = json.loads((reports / AS_OF / "manifest.json").read_text(encoding="utf-8"))
    return total, manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"lcopia assess benchmark: {os.cpu_count()} cores, jobs={args.jobs}, "
          f"Python {sys.version.split()[0]}")

    naive_total, each, naive_render = naive(DATA, WORK / "sample")
    run_total, manifest = runner(DATA, WORK / "sample", args.jobs)
    nb_times = manifest["notebooks"]
    render = manifest["steps"].get("board report html and pdf", 0.0)
    n_nb = len(each)
    print(f"\nShipped sample: {n_nb} notebooks")
    print(f"  naive (papermill CLI, sequential): {naive_total:6.1f} s "
          f"(notebooks {naive_total - naive_render:5.1f} s + exports/PDF {naive_render:4.1f} s)")
    print(f"  runner (warm kernels, jobs={args.jobs}):    {run_total:6.1f} s "
          f"(HTML/PDF {render:4.1f} s)")
    print(f"  speed-up, whole run:               {naive_total / run_total:6.2f}x")
    nb_naive = naive_total - naive_render
    nb_runner = run_total - render
    print(f"  speed-up, notebooks only:          {nb_naive / nb_runner:6.2f}x")
    own = sum(nb_times.values()) / len(nb_times)
    per_naive = sum(each) / len(each)
    print(f"  per notebook: naive {per_naive:.2f} s wall; the notebook's own cells on a warm "
          f"kernel {own:.2f} s; overhead of the naive way {per_naive - own:.2f} s a notebook")
    print("  runner steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in manifest["steps"].items()))

    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        data = synthetic(n)
        total, m = runner(data, WORK / f"size-{n}", args.jobs)
        naive_n = naive(data, WORK / f"size-{n}")[0] if n == min(SIZES) else None
        rows.append((n, total, m["steps"], naive_n, m["notebooks"]["04_board_report"]))
    print("\nGrowth with the number of systems (runner, end to end)")
    print(f"  {'systems':>7} {'total s':>8} {'start s':>8} {'01-03 s':>8} {'04 s':>6} "
          f"{'html+pdf s':>18} {'naive s':>8}")
    for n, total, steps, naive_n, board in rows:
        tail = steps.get("board report html and pdf", 0.0)
        print(f"  {n:>7} {total:>8.1f} {steps.get('kernels ready, results computed', 0):>8.1f} "
              f"{steps.get('notebooks 01-03', 0):>8.1f} {board:>6.1f} {tail:>18.1f} "
              f"{'' if naive_n is None else f'{naive_n:.1f}':>8}")
    if len(rows) >= 2:
        (n0, t0, s0, _, _), (n1, t1, s1, _, _) = rows[0], rows[-1]
        print(f"  marginal cost of one more system: {(t1 - t0) / (n1 - n0):.3f} s end to end; "
              f"{(s1['notebooks 01-03'] - s0['notebooks 01-03']) / (n1 - n0):.3f} s in the "
              "system notebooks alone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
