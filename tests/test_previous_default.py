"""Without --previous, assess compares with the newest earlier run of the same library, so
"Changes since the last assessment" and "Year on year" speak of the same earlier run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lcopia.load import load
from lcopia.run import latest_earlier_run


def _copy_run(run_dir: Path, out: Path, date: str, library: str | None = None) -> Path:
    target = out / date
    target.mkdir(parents=True)
    for name in ("findings.json", "results.json"):
        shutil.copy2(run_dir / name, target / name)
    if library is not None:
        f = target / "findings.json"
        data = json.loads(f.read_text(encoding="utf-8"))
        data["library"] = library
        f.write_text(json.dumps(data), encoding="utf-8")
    return target


def test_the_newest_earlier_run_of_the_same_library_is_the_default(shared_run, tmp_path):
    library = load(shared_run.data).inventory.library.name
    out = tmp_path / "reports"
    _copy_run(shared_run.run_dir, out, "2024-11-30")
    newest = _copy_run(shared_run.run_dir, out, "2025-11-30")
    _copy_run(shared_run.run_dir, out, "2026-01-15", library="Another Library District")
    _copy_run(shared_run.run_dir, out, "2027-01-01")  # after this run: never the previous
    final = out / "2026-11-30"
    assert latest_earlier_run(out, library=library, final=final) == newest


def test_a_damaged_earlier_run_is_passed_over_for_an_older_readable_one(shared_run, tmp_path):
    library = load(shared_run.data).inventory.library.name
    out = tmp_path / "reports"
    older = _copy_run(shared_run.run_dir, out, "2024-11-30")
    damaged = _copy_run(shared_run.run_dir, out, "2025-11-30")
    (damaged / "findings.json").write_text("{not json", encoding="utf-8")
    assert latest_earlier_run(out, library=library, final=out / "2026-11-30") == older


def test_no_earlier_run_means_no_comparison(tmp_path):
    assert latest_earlier_run(tmp_path / "reports", library="Any",
                              final=tmp_path / "reports" / "2026-11-30") is None
