"""Shared fixtures and the suite's conventions.

* ``data_copy``: a scratch copy of the sample's policy, taxonomy and inventory a test may break.
* ``run_cli``: the command line in this process, through ``lcopia.cli.main``; only the smoke
  tests in test_entry_point.py (and the runner's signal tests) start ``python -m lcopia``.
* ``shared_run``: the suite's one real ``lcopia assess`` run, made once per session.
* Hypothesis profiles: "quick" (default, `make test`) and "full" (`LCOPIA_FUZZ=full`,
  `make fuzz`). No test measures time: speed is measured in benchmarks/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings
from shared_run import SharedRun, planted_copy

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
AS_OF = dt.date(2026, 11, 30)
# A folder in the shared run's --out that looks like lcopia's own but is not (no marker).
UNRELATED = ".incomplete-downloads"

# Property tests and fuzzers run a derandomised search (CI sees the same cases each run) in one
# of two sizes: "quick" for `make test`, "full" for `make fuzz` (LCOPIA_FUZZ=full).
_SEARCH = {"deadline": None, "derandomize": True, "database": None,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("quick", max_examples=10, **_SEARCH)
settings.register_profile("full", max_examples=500, **_SEARCH)
settings.load_profile(os.environ.get("LCOPIA_FUZZ", "quick"))


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the sample's policy, taxonomy and inventory (no evidence files)."""
    dest = tmp_path / "data"
    for sub in ("policy", "taxonomy", "inventory"):
        shutil.copytree(DATA / sub, dest / sub)
    return dest


def _cli_env(env: dict[str, str]) -> dict[str, str]:
    """The environment a user's shell gives lcopia: the venv's kernel, no inherited Agg."""
    env = {k: v for k, v in env.items() if k != "MPLBACKEND"}
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    return env


def run_cli(*args: str, cwd: Path = ROOT,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``lcopia ARGS`` in this process through ``lcopia.cli.main``, from ``cwd``.

    What a user sees is returned as a finished process would be: the exit code (argparse's
    ``SystemExit`` included), and everything written to stdout and stderr. An unexpected
    exception is not caught: it fails the test with its traceback, as it would show one to
    a user. ``env`` adds variables to the user's environment for this one command.
    ``run_entry_point`` runs the real ``python -m lcopia`` for the smoke tests.
    """
    from lcopia import pipeline
    from lcopia.cli import main

    for memo in ("_cache", "_stored"):  # a new process would start with nothing remembered
        getattr(pipeline, memo, {}).clear()
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    os.environ.clear()
    os.environ.update(_cli_env(saved_env))
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse refusing an option
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["lcopia", *args], code, out.getvalue(), err.getvalue())


def run_entry_point(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``python -m lcopia`` as a user would, in a new process, capturing both streams.

    Only for the few smoke tests of the real entry point; every other test uses ``run_cli``.
    """
    return subprocess.run([sys.executable, "-m", "lcopia", *args], cwd=cwd,
                          env=_cli_env(dict(os.environ)), capture_output=True, text=True)


def load_script(relative: str) -> ModuleType:
    """Import a repository script (``scripts/…``, ``benchmarks/…``) that is not a package."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The shared run's tests go first and the shared capture's open the second worker's
    share (the order is otherwise kept).

    ``--dist worksteal`` first gives each of N workers a contiguous N-th of the list, so one
    worker makes the run (CPU-bound) while another makes the capture (mostly waiting on the
    browser): the two run side by side, never one after the other. A worker that steals such
    a test later reads the finished result, never makes another. Every worker reorders alike:
    xdist checks that they all collected the same list.
    """
    def uses(item: pytest.Item, fixture: str) -> bool:
        return fixture in getattr(item, "fixturenames", ())

    run = [i for i in items if uses(i, "shared_run")]
    capture = [i for i in items if uses(i, "captured") and not uses(i, "shared_run")]
    rest = [i for i in items if not uses(i, "shared_run") and not uses(i, "captured")]
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    at = min(max(len(items) // workers - len(run), 0), len(rest))
    items[:] = run + rest[:at] + capture + rest[at:]


def _hostile_home(base: Path) -> dict[str, Path]:
    """The setting of a person running lcopia outside ``make``: a user IPython start-up
    script (it would create ``startup-script-ran`` beside these folders if it ever ran),
    their own caches and a shared $TMPDIR."""
    home = {name: base / name for name in ("tmpdir", "xdg-cache", "xdg-config", "ipython")}
    for folder in home.values():
        folder.mkdir(parents=True)
    startup = home["ipython"] / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-user.py").write_text(f"open({str(base / 'startup-script-ran')!r}, 'w')"
                                        ".close()\n", encoding="utf-8")
    return home


def _assess_in_hostile_home(data: Path, out: Path, base: Path) -> dict[str, object]:
    """Run ``lcopia assess`` as a person would outside ``make`` (see ``_hostile_home``), with
    MPLBACKEND=Agg and an unrelated ``.incomplete-*`` folder in --out. A spy records where
    the PDF step's temporary files go, and another the $TMPDIR the command leaves behind.
    Returns what a later reader of the run needs."""
    from lcopia import report, run

    home = _hostile_home(base / "home")
    (out / UNRELATED).mkdir(parents=True)
    (out / UNRELATED / "thesis.docx").write_bytes(b"thesis")
    seen: dict[str, str | None] = {}
    real_render, real_run = report.render_board_report, run.run_assessment

    def spy(*args: object, **kwargs: object) -> object:
        seen["gettempdir"] = tempfile.gettempdir()
        seen["TMPDIR"] = os.environ.get("TMPDIR")
        return real_render(*args, **kwargs)

    def spy_run(*args: object, **kwargs: object) -> object:
        try:
            return real_run(*args, **kwargs)
        finally:  # before run_cli puts this process's own environment back
            seen["TMPDIR after"] = os.environ.get("TMPDIR")

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MPLCONFIGDIR", raising=False)  # not the Makefile's build/matplotlib
        mp.setattr(tempfile, "tempdir", None)
        mp.setattr(report, "render_board_report", spy)
        mp.setattr(run, "run_assessment", spy_run)
        done = run_cli("assess", "--data", str(data), "--out", str(out), "--as-of",
                       AS_OF.isoformat(), "--quiet",
                       env={"MPLBACKEND": "Agg", "TMPDIR": str(home["tmpdir"]),
                            "IPYTHONDIR": str(home["ipython"]),
                            "XDG_CACHE_HOME": str(home["xdg-cache"]),
                            "XDG_CONFIG_HOME": str(home["xdg-config"])})
    return {"args": done.args, "returncode": done.returncode, "stdout": done.stdout,
            "stderr": done.stderr, "seen": seen,
            "home": {name: str(path) for name, path in home.items()}}


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> SharedRun:
    """The suite's one real ``lcopia assess`` run, over a planted copy of the whole sample.

    Canary patrons in the evidence and hostile text in the inventory (see shared_run.py),
    run the way a person would outside ``make`` (a user IPython start-up script, their own
    caches, a shared $TMPDIR, an unrelated ``.incomplete-*`` folder in --out). MPLBACKEND=Agg
    is set on purpose: the notebooks must still keep their figures. Under pytest-xdist the
    run is made once per session, not once per worker: the first worker to need it makes it
    under a file lock, and any other waits for it and reads what it wrote.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by its workers
    base = root / "shared-run"
    base.mkdir(exist_ok=True)
    data, out, saved = base / "data", base / "reports", base / "result.json"
    with (base / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            counts = planted_copy(DATA, data)
            record = _assess_in_hostile_home(data, out, base)
            saved.write_text(json.dumps({**record, "counts": counts}), encoding="utf-8")
    record = json.loads(saved.read_text(encoding="utf-8"))
    result = subprocess.CompletedProcess(record["args"], record["returncode"],
                                         record["stdout"], record["stderr"])
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = out / AS_OF.isoformat()
    assert run_dir.is_dir(), sorted(p.name for p in out.iterdir())
    return SharedRun(data=data, out=out, run_dir=run_dir, result=result,
                     counts=record["counts"], seen=record["seen"],
                     home={name: Path(path) for name, path in record["home"].items()},
                     startup_canary=base / "home" / "startup-script-ran")
