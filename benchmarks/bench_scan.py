"""How fast and how accurate ``lcopia scan`` is, against the floor and against two peers.

One run prints one table, with ratios measured in that run (this machine is shared and noisy;
the floor and the scan run alternately and a ratio is the median of the per-pair ratios):

- a seeded 1,000,000-row circulation export (15 columns) and a 100,000-row aggregated export,
  written by the same generator as the shipped samples (scripts/make_evidence_samples.py)
  into benchmarks/.work/;
- lcopia's full scan (identifiers on every column, k-anonymity over zip, birth date, patron
  category and branch, l-diversity of genre, retention with open loans) in-process, as the
  CLI runs it (streamed in chunks: the path for files above ``evidence.IN_MEMORY_MAX_BYTES``)
  and read whole (the old default for this size; its report must be identical);
- the CLI as its own process, twice: the same full scan, and a bare ``scan FILE`` (quasi-
  identifiers, person key and per-person counts inferred): wall time and peak memory (RSS of
  the whole process, by ``/usr/bin/time``) against the budget of min(1.5 x file, 512 MiB);
- the floor: reading the same file with ``pyarrow.csv.read_csv`` (default options, on
  pyarrow's default memory pool: the pool the scan switches the process to is not the floor's);
- presidio-structured + presidio-analyzer (pattern recognisers, ``no_op`` NLP engine, batch 256)
  classifying a 1,000-row sample, extrapolated per row; column accuracy of both tools against the
  generator's truth;
- pycanon's k-anonymity on the same four quasi-identifiers, against lcopia's group-by.

The peers live in their own virtualenv (benchmarks/.work/peers-venv, created on first run with
``pip install presidio-analyzer presidio-structured pycanon``) because pycanon pins old pandas;
they run in a subprocess through a small driver. If they cannot be installed the script says
so and still prints lcopia against pyarrow.

Usage: ``.venv/bin/python benchmarks/bench_scan.py [--rows 1000000] [--repeat 3] [--no-peers]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
PEERS = WORK / "peers-venv"
sys.path.insert(0, str(ROOT))

from lcopia import evidence  # noqa: E402

QUASI = ["zip", "birth_date", "patron_category", "branch"]
AS_OF = dt.date(2026, 11, 30)
PRESIDIO_ROWS = 1000

PRESIDIO_KINDS = {
    "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "payment_card",
    "US_SSN": "government_id", "US_DRIVER_LICENSE": "government_id",
    "US_PASSPORT": "government_id", "US_ITIN": "government_id", "IP_ADDRESS": "ip_address",
    "PERSON": "person_name", "LOCATION": "street_address", "DATE_TIME": "date",
}
NOT_IDENTIFYING = {"none", "zip", "branch", "patron_category", "item_barcode", "date"}

DRIVER = r'''
import json, sys, time
import pandas as pd

mode, path = sys.argv[1], sys.argv[2]
if mode == "presidio":
    n = int(sys.argv[3])
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_structured import PandasAnalysisBuilder
    conf = {"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]}
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    analyzer.analyze("warm up ann@example.org 417-555-0101", language="en")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=20 * n)
    builder = PandasAnalysisBuilder(analyzer=analyzer, batch_size=256)
    t = time.perf_counter()
    analysis = builder.generate_analysis(df, n=n)
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "rows": n, "mapping": analysis.entity_mapping}))
elif mode == "pycanon":
    qi = sys.argv[3].split(",")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=qi)
    from pycanon import anonymity
    runs = []
    for _ in range(int(sys.argv[4])):
        t = time.perf_counter()
        k = anonymity.k_anonymity(df, qi)
        runs.append(time.perf_counter() - t)
    runs.sort()
    print(json.dumps({"seconds": runs[len(runs) // 2], "k": int(k)}))
'''


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "make_evidence_samples", ROOT / "scripts" / "make_evidence_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_data(rows: int) -> tuple[Path, Path, dict[str, str]]:
    gen = _generator()
    WORK.mkdir(parents=True, exist_ok=True)
    circ = WORK / f"circulation_{rows}.csv"
    agg = WORK / "aggregated_100000.csv"
    if not circ.exists():
        t = time.perf_counter()
        gen.write_csv(gen.circulation(rows), circ)
        print(f"generated {circ.name} ({circ.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.1f} s")
    if not agg.exists():
        gen.write_csv(gen.aggregated(100_000), agg)
        print(f"generated {agg.name} ({agg.stat().st_size / 1e6:.0f} MB)")
    return circ, agg, dict(gen.COLUMN_TRUTH)


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired_times(floor, fn, repeat: int,  # type: ignore[no-untyped-def]
                 pairs: list[tuple[float, float]] | None = None
                 ) -> tuple[float, float, float]:
    """Median floor time, median time of ``fn`` and the median of their per-pair ratios.

    The two run alternately, so each ratio compares runs a second apart: on a machine shared
    with other jobs the load changes between a block of floor runs and a block of scans, and
    a ratio of two separate medians then measures the load as much as the scan. ``pairs``,
    if given, receives every (floor, fn) pair, so a reader can see how far the runs spread.
    """
    floors, times, ratios = [], [], []
    for _ in range(repeat):
        t = time.perf_counter()
        floor()
        floors.append(time.perf_counter() - t)
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        ratios.append(times[-1] / floors[-1])
        if pairs is not None:
            pairs.append((floors[-1], times[-1]))
    return statistics.median(floors), statistics.median(times), statistics.median(ratios)


def lcopia_scan(path: Path, *, sensitive: str | None, date_column: str | None,
                quasi: list[str] | None = None,
                in_memory_max_bytes: int = evidence.IN_MEMORY_MAX_BYTES
                ) -> evidence.EvidenceReport:
    return evidence.scan_files([path], quasi=quasi, k=None, sensitive=sensitive,
                               date_column=date_column,
                               retention_days=365 if date_column else None, as_of=AS_OF,
                               default_k=5, in_memory_max_bytes=in_memory_max_bytes)


TIME = Path("/usr/bin/time")


def cli_run(path: Path, *extra: str) -> tuple[float, float]:
    """Wall time and peak memory (MiB) of the CLI as its own process.

    Measured by ``/usr/bin/time``: Linux keeps a process's peak across fork and exec, so a
    child of this (large) benchmark process would report the benchmark's own peak.
    """
    if not TIME.exists():
        raise SystemExit("/usr/bin/time is needed to measure peak memory")
    t = time.perf_counter()
    proc = subprocess.run([str(TIME), "-f", "PEAK_KIB %M", sys.executable, "-m", "lcopia",
                           "scan", str(path), "--format", "json", "--as-of", AS_OF.isoformat(),
                           *extra], cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"lcopia scan failed: {proc.stderr.strip()[-300:]}")
    kib = next(int(line.split()[1]) for line in proc.stderr.splitlines()
               if line.startswith("PEAK_KIB"))
    return wall, kib / 1024


def baseline_peak() -> float:
    """Peak memory of the CLI scanning a two-row file: the interpreter and its libraries."""
    tiny = WORK / "tiny.csv"
    tiny.write_text("zip,branch\n65802,Central\n65803,East\n", encoding="utf-8")
    return cli_run(tiny)[1]


def ensure_peers() -> str | None:
    """Path of the peers' python, creating their venv if needed; None if that fails."""
    python = PEERS / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import presidio_structured, pycanon"],
                               capture_output=True, check=False)
        if check.returncode == 0:
            return str(python)
    print("installing presidio-analyzer, presidio-structured and pycanon into "
          f"{PEERS.relative_to(ROOT)} (first run only) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "presidio-analyzer",
                        "presidio-structured", "pycanon"], check=True, timeout=1800)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"PEERS NOT AVAILABLE: installing them failed ({type(exc).__name__}); "
              "printing lcopia against pyarrow only")
        return None
    return str(python)


def run_peer(python: str, *args: str) -> dict[str, object] | None:
    driver = WORK / "peer_driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    proc = subprocess.run([python, str(driver), *args], capture_output=True, text=True,
                          check=False, timeout=3600)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        print(f"peer {args[0]} failed: {tail[0][:200]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def accuracy(kinds: dict[str, str], truth: dict[str, str], *, lenient_dates: bool) -> float:
    """Share of columns whose kind matches the truth (non-identifiers must stay unflagged)."""
    right = 0
    for col, want in truth.items():
        got = kinds.get(col, "none")
        if want in NOT_IDENTIFYING:
            ok = got in ("none", want) or (lenient_dates and want == "date" and got == "date")
            ok = ok or (got in NOT_IDENTIFYING and want in NOT_IDENTIFYING and not lenient_dates)
        else:
            ok = got == want or (lenient_dates and want == "dob" and got == "date")
        right += ok
    return right / len(truth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args(argv)

    circ, agg, truth = make_data(args.rows)
    rows = args.rows

    # The floor is a bare read on pyarrow's own default pool, taken here before any scan: the
    # first scan switches the process to jemalloc at decay 0 (``lean_memory_pool``), on which
    # the same read takes about twice as long, and a floor read there would flatter the scan.
    floor_pool = pa.default_memory_pool()

    def floor(path: Path) -> pa.Table:
        return pacsv.read_csv(path, memory_pool=floor_pool)

    floor(circ)  # warm the page cache and pyarrow's first-use costs for both
    report: list[evidence.EvidenceReport] = []
    pairs: list[tuple[float, float]] = []
    read, scan, ratio = paired_times(
        lambda: floor(circ),
        lambda: report.append(lcopia_scan(circ, sensitive="genre", date_column="checkout_time",
                                          quasi=QUASI)), args.repeat, pairs)
    whole: list[evidence.EvidenceReport] = []
    _, scan_whole, ratio_whole = paired_times(
        lambda: floor(circ),
        lambda: whole.append(lcopia_scan(circ, sensitive="genre",
                                         date_column="checkout_time", quasi=QUASI,
                                         in_memory_max_bytes=circ.stat().st_size)), 1)
    same = whole[-1].model_dump_json() == report[-1].model_dump_json()
    cli_wall, cli_peak = cli_run(circ, "--sensitive", "genre", "--date-column",
                                 "checkout_time", "--quasi", ",".join(QUASI),
                                 "--retention-days", "365")
    bare_wall, bare_peak = cli_run(circ)
    base_peak = baseline_peak()
    read_agg, scan_agg, ratio_agg = paired_times(
        lambda: floor(agg),
        lambda: lcopia_scan(agg, sensitive="genre", date_column=None), args.repeat)
    result = report[-1].files[0]
    lc_kinds = {c.name: c.kind for c in result.columns}
    lc_acc = accuracy(lc_kinds, truth, lenient_dates=False)

    table = pacsv.read_csv(circ, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in QUASI}, include_columns=QUASI))
    sizes_holder: list[int] = []
    k_time = median_time(lambda: sizes_holder.append(
        int(evidence.class_sizes(table, QUASI).min())), args.repeat)
    lc_k = sizes_holder[-1]

    peers = None if args.no_peers else ensure_peers()
    presidio = pycanon = None
    if peers:
        presidio = run_peer(peers, "presidio", str(circ), str(PRESIDIO_ROWS))
        pycanon = run_peer(peers, "pycanon", str(circ), ",".join(QUASI), str(args.repeat))

    print()
    print(f"Circulation export: {rows:,} rows x {len(truth)} columns, "
          f"{circ.stat().st_size / 1e6:.0f} MB; aggregated export: 100,000 rows")
    print(f"{'measure':<58} {'seconds':>9} {'ratio':>12}")
    line = "-" * 81
    print(line)
    print(f"{f'pyarrow.csv.read_csv, {rows:,} rows (the floor)':<58} {read:>9.2f} {'1.00x':>12}")
    print(f"{f'lcopia full scan, {rows:,} rows (in-process, streamed)':<58} {scan:>9.2f} "
          f"{ratio:>11.2f}x")
    print(f"{'lcopia full scan, read whole (one run; not the default)':<58} "
          f"{scan_whole:>9.2f} {ratio_whole:>11.2f}x")
    print(f"{'lcopia scan CLI, full scan (process, incl. start-up)':<58} {cli_wall:>9.2f} "
          f"{cli_wall / read:>11.2f}x")
    print(f"{'lcopia scan CLI, bare scan FILE (all inferred)':<58} {bare_wall:>9.2f} "
          f"{bare_wall / read:>11.2f}x")
    print(f"{'pyarrow.csv.read_csv, aggregated 100k rows':<58} {read_agg:>9.2f} {'1.00x':>12}")
    print(f"{'lcopia full scan, aggregated 100k rows':<58} {scan_agg:>9.2f} "
          f"{ratio_agg:>11.2f}x")
    print(f"{'lcopia per row (µs)':<58} {scan / rows * 1e6:>9.3f}")
    if presidio:
        per_row = float(presidio["seconds"]) / int(presidio["rows"])  # type: ignore[arg-type]
        print(f"{f'presidio-structured, {PRESIDIO_ROWS:,}-row sample':<58} "
              f"{float(presidio['seconds']):>9.2f}")  # type: ignore[arg-type]
        print(f"{'presidio-structured per row (µs)':<58} {per_row * 1e6:>9.1f} "
              f"{per_row / (scan / rows):>11.0f}x")
        print(f"{f'presidio-structured extrapolated to {rows:,} rows':<58} {per_row * rows:>9.0f} "
              f"{per_row * rows / scan:>11.0f}x")
    print(f"{'lcopia k-anonymity (group-by, 4 QIs, loaded table)':<58} {k_time:>9.3f} "
          f"{'1.00x':>12}")
    if pycanon:
        pk = float(pycanon["seconds"])  # type: ignore[arg-type]
        print(f"{'pycanon k_anonymity (same 4 QIs, loaded DataFrame)':<58} {pk:>9.3f} "
              f"{pk / k_time:>11.1f}x")
    print(line)
    print(f"column accuracy vs generator truth: lcopia {lc_acc * 100:.0f}% "
          f"({sum(lc_kinds.get(c) == t for c, t in truth.items())}/{len(truth)} exact kinds)")
    if presidio:
        mapping = presidio["mapping"]  # type: ignore[index]
        pk_kinds = {c: PRESIDIO_KINDS.get(e, e.lower()) for c, e in mapping.items()}
        pr_acc = accuracy(pk_kinds, truth, lenient_dates=True)
        print(f"column accuracy vs generator truth: presidio {pr_acc * 100:.0f}% "
              "(DATE_TIME accepted for dates and birth dates)")
        print("presidio's column entities: " + ", ".join(
            f"{c}={e}" for c, e in sorted(mapping.items())))
    wrong = {c: (lc_kinds.get(c), t) for c, t in truth.items() if lc_kinds.get(c) != t}
    if wrong:
        print("lcopia's misses: " + ", ".join(f"{c}: {g} (truth {t})"
                                              for c, (g, t) in wrong.items()))
    print(f"k over {', '.join(QUASI)}: lcopia {lc_k}"
          + (f", pycanon {pycanon['k']}" if pycanon else ""))
    print(f"lcopia scan: k_min {result.k_min} over "
          f"({', '.join(result.quasi_identifiers)}); retention expired rows "
          f"{result.retention.expired_rows if result.retention else 'n/a'}")
    print(f"streamed report identical to the whole-file report: {'yes' if same else 'NO'}")
    size_mib = circ.stat().st_size / 2**20
    budget = min(1.5 * size_mib, 512)
    print(f"memory budget min(1.5 x file, 512 MiB) = {budget:.0f} MiB for the whole CLI "
          f"process (CSV on disk {size_mib:.0f} MiB; the interpreter and libraries alone, "
          f"scanning a two-row file, peak at {base_peak:.0f} MiB)")
    for what, peak in (("full scan", cli_peak), ("bare scan FILE", bare_peak)):
        print(f"lcopia CLI peak memory, {what}: {peak:.0f} MiB = {peak / budget:.2f} of the "
              f"budget ({peak / size_mib:.2f}x the file; the scan's own "
              f"{peak - base_peak:.0f} MiB): {'MET' if peak <= budget else 'NOT MET'}")
    print("paired runs (floor s / streamed scan s = ratio): " + "; ".join(
        f"{f:.2f} / {t:.2f} = {t / f:.2f}x" for f, t in pairs))
    print(f"floor: pyarrow.csv.read_csv on pyarrow's default pool ({floor_pool.backend_name}"
          f"); the scans ran on {pa.default_memory_pool().backend_name}, set by the first scan")
    target = ratio <= 3
    print(f"target full scan <= 3x pyarrow read: {'MET' if target else 'NOT MET'} "
          f"({ratio:.2f}x, median of {args.repeat} paired runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
