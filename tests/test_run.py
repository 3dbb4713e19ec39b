"""``lcopia assess``: a complete dated report on success, the previous report untouched on any
failure, interruption, kill or concurrent run, and parameters that cannot become code."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import AS_OF, DATA, ROOT, UNRELATED, run_cli
from shared_run import SharedRun

from lcopia import run
from lcopia.errors import InventoryError, RunError, UsageError

DAY = AS_OF.isoformat()
NOTEBOOK_DIR = ROOT / "notebooks"
EXPORTS = ("board-report.html", "board-report.pdf", "vendor-privacy-policies.html",
           "findings.csv", "findings.json", "action-plan.xlsx")
PLANTED = 'raise ValueError("planted")'
# The runner's own per-cell limit, the option under test; not a clock on the test.
CELL_LIMIT_S = 3
INJECTION = '\'"; import os; os.system("touch PWNED")\n#'


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env.update(extra)
    return env


def _assess_args(out: Path, data: Path = DATA, jobs: int = 2) -> list[str]:
    return ["assess", "--data", str(data), "--out", str(out), "--as-of", DAY, "--quiet",
            "--jobs", str(jobs)]


def _assess_cmd(out: Path, jobs: int = 2) -> list[str]:
    """The real entry point, in a new process a test can interrupt or kill."""
    return [sys.executable, "-m", "lcopia", *_assess_args(out, jobs=jobs)]


def _tree(folder: Path) -> dict[str, str]:
    """Every file under a folder → sha256, to prove a report was left byte-identical."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _visible(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


def _system_ids() -> list[str]:
    import csv

    with (DATA / "inventory" / "systems.csv").open(encoding="utf-8-sig") as fh:
        return [row["system_id"] for row in csv.DictReader(fh)]


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """A reports folder holding an earlier report of the same date: every file a run writes,
    each with its own bytes, so any change the runner made to it would show in its hash."""
    reports = tmp_path / "reports"
    folder = reports / DAY
    (folder / "notebooks").mkdir(parents=True)
    for name in ("results.json", "manifest.json", *EXPORTS, "notebooks/01_inventory.ipynb"):
        (folder / name).write_text(f"earlier {name} of {DAY}\n", encoding="utf-8")
    return reports


def templates_with(tmp_path: Path, name: str, edit: Callable[[Any], None]) -> Path:
    """A private copy of the notebook templates with one template changed by ``edit``."""
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, folder)
    path = folder / name
    nb = nbformat.read(str(path), as_version=4)
    edit(nb)
    nbformat.write(nb, str(path))
    return folder


def last_cell(source: str) -> Callable[[Any], None]:
    """An edit that replaces a template's last cell with ``source``."""
    def edit(nb: Any) -> None:
        nb.cells[-1].source = source
    return edit


def parameters_index(template: Path) -> int:
    """Where a template's parameters cell is."""
    nb = nbformat.read(str(template), as_version=4)
    return next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))


def after_parameters(source: str) -> Callable[[Any], None]:
    """An edit that adds a cell of ``source`` right after a template's parameters cell: it
    runs as soon as the run's parameters are set, before the notebook's own work."""
    def edit(nb: Any) -> None:
        at = next(i for i, c in enumerate(nb.cells)
                  if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    return edit


@pytest.fixture
def notebook_step_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose notebook step fails at once: it gets past the lock and the clean-up of
    stale folders, then stops (exit 2) without starting a kernel."""

    async def fail(**kwargs: Any) -> Any:
        raise RunError("03_evidence.ipynb", 0, "ValueError", "planted", "(no notebook)")

    monkeypatch.setattr(run, "_run", fail)


@pytest.fixture
def failing_notebooks(tmp_path: Path) -> Path:
    """A copy of the templates whose system notebook fails in its last cell."""
    return templates_with(tmp_path, "02_system.ipynb", last_cell(PLANTED))


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_part_way(out: Path, proc: subprocess.Popen, notebooks: bool = True) -> Path:
    """The hidden run folder, once at least one notebook has been executed into it (or, with
    ``notebooks=False``, once it exists: the run holds the folder's lock by then). The run
    must still be going then: a run that ends first fails the test, it is not waited on."""
    while True:
        for tmp in out.glob(run.INCOMPLETE + "*"):
            if not notebooks or any((tmp / "notebooks").glob("*.ipynb")):
                return tmp
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


# ----------------------------------------------------------------------------- success


def test_assess_writes_a_complete_dated_folder(shared_run: SharedRun) -> None:
    proc, out = shared_run.result, shared_run.out
    assert proc.returncode == 0, proc.stderr
    folder = out / DAY
    names = {p.stem for p in (folder / "notebooks").glob("*.ipynb")}
    assert names == {"01_inventory", "03_evidence", "04_board_report", "05_trend",
                     *(f"02_system-{s}" for s in _system_ids())}
    for name in ("results.json", "manifest.json", *EXPORTS):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    assert (folder / "board-report.pdf").read_bytes().startswith(b"%PDF")
    assert _visible(out) == [DAY]  # no partial or failed folder beside it
    # no hidden run folder left either: only the unrelated one the person had put there
    assert [p.name for p in out.glob(run.INCOMPLETE + "*")] == [UNRELATED]
    assert str(folder / "board-report.html") in proc.stdout
    assert "Compliance gate:" in proc.stdout and "Traceback" not in proc.stderr


def test_manifest_records_inputs_policy_versions_and_times(shared_run: SharedRun) -> None:
    out, data = shared_run.out, shared_run.data  # the planted copy: its own hashes
    m = json.loads((out / DAY / "manifest.json").read_text(encoding="utf-8"))
    assert m["as_of"] == DAY and m["complete"] is True and m["jobs"] == 2
    for rel in ("inventory/systems.csv", "inventory/flows.csv", "policy/policy.yaml",
                "evidence/web/catalog-search-leaky.har"):
        assert m["inputs"][rel] == hashlib.sha256((data / rel).read_bytes()).hexdigest()
    if (data / "evidence" / "manifest.yaml").is_file():
        assert "evidence/manifest.yaml" in m["inputs"]
    import yaml

    policy = yaml.safe_load((data / "policy" / "policy.yaml").read_text(encoding="utf-8"))
    assert (m["policy_id"], m["policy_version"]) == (policy["id"], str(policy["version"]))
    assert set(m["packages"]) >= {"lcopia", "pandas", "papermill", "nbclient", "nbconvert",
                                  "matplotlib", "pyarrow", "pydantic"}
    assert m["python"].count(".") == 2
    ran = {p.stem for p in (out / DAY / "notebooks").glob("*.ipynb")}
    assert set(m["notebooks"]) == ran and all(v > 0 for v in m["notebooks"].values())


def test_executed_notebooks_have_no_errors_and_keep_figures_under_agg(shared_run: SharedRun
                                                                      ) -> None:
    out = shared_run.out
    for path in (out / DAY / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        kinds = [o.output_type for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert "error" not in kinds, path.name
    inventory = nbformat.read(str(out / DAY / "notebooks" / "01_inventory.ipynb"), 4)
    assert any("image/png" in o.get("data", {}) for c in inventory.cells
               if c.cell_type == "code" for o in c.outputs)


def test_system_notebook_shows_its_own_system(shared_run: SharedRun) -> None:
    out = shared_run.out
    nb = nbformat.read(str(out / DAY / "notebooks" / "02_system-sms_notices.ipynb"), 4)
    text = json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])
    assert "FL-CIRC-NOTICES" in text and "FL-CIRC-LOANS" not in text


# ----------------------------------------------------------------------------- refusals


def test_bad_inventory_stops_with_the_problem_list_before_any_kernel(data_copy, tmp_path):
    systems = data_copy / "inventory" / "systems.csv"
    systems.write_text(systems.read_text(encoding="utf-8") + "ils,duplicate\n",
                       encoding="utf-8")
    out = tmp_path / "reports"
    with pytest.raises(InventoryError) as err:
        run.run_assessment(data=data_copy, as_of=AS_OF, out=out, jobs=2, previous=None,
                           progress=False)
    assert err.value.problems
    assert not out.exists()  # nothing was created, so no kernel could have started


def test_misspelled_parameter_is_refused_naming_the_valid_ones() -> None:
    declared = run.template_parameters(NOTEBOOK_DIR / "02_system.ipynb")
    with pytest.raises(UsageError) as err:
        run.check_parameters("02_system.ipynb", {"sytem_id": "ils"}, declared)
    assert "did you mean 'system_id'" in str(err.value)
    assert "as_of, data_dir, run_dir, system_id" in str(err.value)


def test_template_missing_a_parameter_the_runner_passes_is_refused(tmp_path: Path) -> None:
    def rename_parameter(nb: Any) -> None:
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source = cell.source.replace("system_id:", "system:")

    folder = templates_with(tmp_path, "02_system.ipynb", rename_parameter)
    out = tmp_path / "reports"
    with pytest.raises(UsageError, match="no parameter 'system_id'"):
        run.run_assessment(data=DATA, as_of=AS_OF, out=out, jobs=1, previous=None,
                           progress=False, notebooks=folder)
    assert not out.exists()


def test_parameters_with_quotes_and_newlines_stay_strings(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('system_id: str = "ils"  # a system',
                                          metadata={"tags": ["parameters"]})]
    injected = run.parameterize(nb, {"system_id": INJECTION})
    cell = next(c for c in injected.cells if "injected-parameters" in c.metadata.tags)
    scope: dict[str, object] = {}
    exec(compile(cell.source, "injected", "exec"), scope)  # what the kernel would run
    assert scope["system_id"] == INJECTION
    assert not (Path.cwd() / "PWNED").exists()


def test_injection_attempt_runs_harmlessly_in_a_real_kernel(tmp_path: Path) -> None:
    import papermill

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('system_id: str = "ils"  # a system',
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(f"assert system_id == {INJECTION!r}")]
    src = tmp_path / "probe.ipynb"
    nbformat.write(nb, str(src))
    papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"),
                               parameters={"system_id": INJECTION}, kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False)
    assert not (tmp_path / "PWNED").exists()


# ----------------------------------------------------------------------------- failures


def test_failing_notebook_keeps_previous_report_and_names_the_cell(previous, failing_notebooks,
                                                                  monkeypatch):
    before = _tree(previous / DAY)
    monkeypatch.setattr(run, "NOTEBOOKS", failing_notebooks)
    proc = run_cli(*_assess_args(previous))
    assert proc.returncode == 2
    assert "notebook 02_system-" in proc.stderr and "failed at cell" in proc.stderr
    assert "ValueError: planted" in proc.stderr and "Traceback" not in proc.stderr
    assert _tree(previous / DAY) == before
    failed = [p for p in previous.iterdir() if p.name.startswith("failed-")]
    assert len(failed) == 1
    # the notebook named, not any system notebook: with two kernels, the other one's
    # notebook was stopped part-way and is kept too
    named = re.search(r"notebook (02_system-\S+\.ipynb) failed", proc.stderr)
    assert named, proc.stderr
    kept = failed[0] / "notebooks" / named[1]
    assert kept.is_file() and str(kept.parent) in proc.stderr
    nb = nbformat.read(str(kept), as_version=4)
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    assert errors == [len(nb.cells) - 1] and f"cell {errors[0]}" in proc.stderr
    assert not list(previous.glob(run.INCOMPLETE + "*"))


@pytest.mark.drill
def test_dead_kernel_is_reported_not_waited_on(tmp_path: Path) -> None:
    folder = templates_with(tmp_path, "03_evidence.ipynb", after_parameters(
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    with pytest.raises(RunError) as err:  # one kernel: the evidence notebook runs first
        run.run_assessment(data=DATA, as_of=AS_OF, out=tmp_path / "reports", jobs=1,
                           previous=None, progress=False, notebooks=folder)
    assert err.value.notebook == "03_evidence.ipynb" and err.value.ename == "DeadKernelError"


@pytest.mark.drill
def test_cell_running_past_the_timeout_is_stopped(tmp_path: Path) -> None:
    folder = templates_with(tmp_path, "03_evidence.ipynb", after_parameters(
        "import time\ntime.sleep(120)"))
    sleeper = parameters_index(folder / "03_evidence.ipynb") + 1
    with pytest.raises(RunError) as err:  # one kernel: the evidence notebook runs first
        run.run_assessment(data=DATA, as_of=AS_OF, out=tmp_path / "reports", jobs=1,
                           previous=None, progress=False, notebooks=folder,
                           cell_timeout=CELL_LIMIT_S)
    # Stopped, not finished: a cell that ran to its end would raise no CellTimeoutError.
    # The cell index is the executed notebook's (one parameters cell injected), as papermill.
    assert err.value.ename == "CellTimeoutError" and err.value.cell == sleeper + 1


@pytest.mark.drill
def test_sigint_part_way_leaves_no_partial_folder_and_previous_intact(previous) -> None:
    before = _tree(previous / DAY)
    proc = _start(_assess_cmd(previous, jobs=1))  # one kernel is enough to be part-way
    _wait_part_way(previous, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert _visible(previous) == [DAY] and _tree(previous / DAY) == before
    assert not list(previous.glob(run.INCOMPLETE + "*"))


@pytest.mark.drill
def test_sigkill_leaves_previous_intact_and_next_run_clears_the_leftover(
        previous, notebook_step_fails):
    before = _tree(previous / DAY)
    proc = _start(_assess_cmd(previous, jobs=1))  # one kernel is enough to be part-way
    leftover = _wait_part_way(previous, proc)
    proc.kill()
    proc.communicate()
    assert leftover.is_dir() and _visible(previous) == [DAY]
    assert _tree(previous / DAY) == before
    # The next run (here one whose notebook step fails at once) removes the killed run's
    # hidden folder. The stand-in is in this process only: the killed run was a real one.
    again = run_cli(*_assess_args(previous, jobs=1))
    assert again.returncode == 2 and not leftover.exists()
    assert _tree(previous / DAY) == before


@pytest.mark.drill
def test_second_run_into_the_same_folder_is_refused_clearly(previous) -> None:
    first = _start(_assess_cmd(previous, jobs=1))  # one kernel is enough to hold the folder
    try:
        _wait_part_way(previous, first, notebooks=False)
        second = run_cli(*_assess_args(previous))
        assert second.returncode == 2
        assert "another lcopia assess" in second.stderr and "Traceback" not in second.stderr
    finally:  # how the first run ends is not under test: stop it at once
        first.kill()
        first.communicate()


def test_publishing_renames_an_earlier_same_day_report_aside(tmp_path: Path) -> None:
    final, new = tmp_path / DAY, tmp_path / ".incomplete-x"
    final.mkdir()
    (final / "board-report.html").write_text("old", encoding="utf-8")
    new.mkdir()
    (new / "board-report.html").write_text("new", encoding="utf-8")
    aside = run._publish(new, final)
    assert aside == tmp_path / f"{DAY}.superseded-1"
    assert (aside / "board-report.html").read_text(encoding="utf-8") == "old"
    assert (final / "board-report.html").read_text(encoding="utf-8") == "new"


def test_run_result_summary_says_where_and_what() -> None:
    result = run.RunResult(run_dir=Path("reports") / DAY, notebooks={"01_inventory": 0.5},
                           as_of=dt.date(2026, 11, 30), gate="FAIL", posture="Not compliant.",
                           counts={"systems": 3, "flows": 5, "findings": 7},
                           outputs={"Board report (PDF)": Path("reports") / DAY / "b.pdf"},
                           superseded=Path("reports") / f"{DAY}.superseded-1", seconds=3.0)
    text = result.summary()
    assert f"reports/{DAY}" in text and "Compliance gate: FAIL" in text
    assert "b.pdf" in text and "superseded-1" in text


def test_reset_between_notebooks_drops_names_but_keeps_ipython_internals() -> None:
    from types import SimpleNamespace

    shell = SimpleNamespace(
        user_ns_hidden={"In": [], "Out": {}, "get_ipython": None},
        user_ns={"In": [], "Out": {3: "old table"}, "get_ipython": None,
                 "results": "last notebook's results", "system_id": "ils", "_3": "x"})
    run.reset_namespace(shell)
    assert "results" not in shell.user_ns and "system_id" not in shell.user_ns
    assert "_3" not in shell.user_ns and shell.user_ns["Out"] == {}
    assert "In" in shell.user_ns and "get_ipython" in shell.user_ns
