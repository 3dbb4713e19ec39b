"""The runner and CLI under a hostile environment (issue 12): every problem the person can fix is
exit 2 naming the file, a bug is exit 3 with a log, nothing leaks out of the run's folder, and
nothing the run did not create is deleted.

Fast tests replace the notebook step (``run._run``) and the PDF step with stand-ins; the suite's
one real assessment (conftest ``shared_run``, made in such an environment) proves the
environment of the kernels and the browser.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import AS_OF, DATA, UNRELATED
from shared_run import SharedRun

from lcopia import report, run
from lcopia.cli import main
from lcopia.errors import UsageError

DAY = AS_OF.isoformat()


def _copy_all(tmp_path: Path) -> Path:
    """The whole sample, evidence included (``data_copy`` leaves the evidence out)."""
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def _fake_results() -> Any:
    a = SimpleNamespace(gate=SimpleNamespace(result="PASS"), posture="fine", counts={},
                        policy_id="p", policy_version="1", schema_version="1")
    return SimpleNamespace(assessment=a, bundle=SimpleNamespace(files={}), evidence=None,
                           web=None)


@pytest.fixture
def no_notebooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the kernels: the run's own plumbing is what these tests exercise."""

    async def fake_run(**kwargs: Any) -> Any:
        return _fake_results()

    monkeypatch.setattr(run, "_run", fake_run)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty $TMPDIR, to prove nothing of a run is left in it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return folder


def _assess(out: Path, *extra: str) -> int:
    return main(["assess", "--data", str(DATA), "--out", str(out), "--as-of", DAY, "--quiet",
                 *extra])


# ----------------------------------------------------------------------------- exit codes


def test_read_only_out_is_exit_2_naming_the_folder(tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    real_open = os.open

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(str(out)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert _assess(out) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "permission denied" in err and str(out) in err


def test_unreadable_inventory_file_is_exit_2_naming_it(data_copy, monkeypatch, capsys) -> None:
    real = os.open

    def denied(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path).name == "systems.csv":  # as root, chmod 000 would not stop the read
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert main(["validate", "--data", str(data_copy)]) == 2
    err = capsys.readouterr().err
    assert "systems.csv" in err and "permission denied" in err and "Traceback" not in err


def test_disk_full_in_pdf_step_is_exit_2_and_keeps_the_earlier_report(
        tmp_path, monkeypatch, capsys, no_notebooks, private_tmp) -> None:
    out = tmp_path / "reports"
    (out / DAY).mkdir(parents=True)
    (out / DAY / "board-report.pdf").write_bytes(b"earlier report")

    def full(*args: Any, **kwargs: Any) -> None:
        # what Chromium's caller meets: ENOSPC with no file name attached
        Path(tempfile.mkdtemp(prefix="lcopia-pdf-"), "print.html").write_text("report")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "render_board_report", full)
    assert _assess(out) == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and str(out) in err and "Traceback" not in err
    assert (out / DAY / "board-report.pdf").read_bytes() == b"earlier report"
    assert sorted(p.name for p in out.iterdir()) == [".lcopia-assess.lock", DAY]
    assert list(private_tmp.iterdir()) == []


def test_file_name_too_long_is_exit_2(tmp_path, capsys) -> None:
    long_name = tmp_path / ("x" * 300 + ".csv")
    assert main(["scan", str(long_name)]) == 2
    err = capsys.readouterr().err
    assert "too long" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_out_folder_name_too_long_is_exit_2(tmp_path, capsys, no_notebooks) -> None:
    assert _assess(tmp_path / ("r" * 300)) == 2
    assert "too long" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["score", "validate", "assess"])
def test_as_of_far_future_is_refused_at_the_edge(command, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, "--data", str(DATA), "--as-of", "9999-12-31"])
    assert stop.value.code == 2
    assert "2100" in capsys.readouterr().err


def test_run_assessment_refuses_as_of_that_would_overflow_due_dates(tmp_path) -> None:
    with pytest.raises(UsageError, match="2100"):
        run.run_assessment(data=DATA, as_of=dt.date(9999, 12, 31), out=tmp_path / "r",
                           progress=False)
    assert not (tmp_path / "r").exists()


def test_as_of_takes_us_dates_like_the_cells(monkeypatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(run, "run_assessment", lambda **kw: seen.update(kw) or
                        SimpleNamespace(summary=lambda: "ok", steps={}))
    assert main(["assess", "--as-of", "11/30/2026", "--quiet"]) == 0
    assert seen["as_of"] == dt.date(2026, 11, 30)


def test_nul_in_evidence_manifest_path_is_exit_2(tmp_path, capsys) -> None:
    data = _copy_all(tmp_path)
    manifest = data / "evidence" / "manifest.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("- file: exports/circulation_stats.csv",
                                     '- file: "exports/circ\\0ulation_stats.csv"', 1),
                        encoding="utf-8")
    assert main(["score", "--data", str(data), "--as-of", DAY]) == 2
    err = capsys.readouterr().err
    assert "NUL" in err and "Traceback" not in err


def test_nul_on_the_command_line_names_the_argument(capsys) -> None:
    assert main(["validate", "--data", "da\0ta"]) == 2
    assert "NUL" in capsys.readouterr().err


def test_internal_error_is_one_line_exit_3_with_a_log(tmp_path, monkeypatch, capsys,
                                                     private_tmp) -> None:
    import lcopia.pipeline

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(lcopia.pipeline, "compute", boom)
    assert main(["score", "--data", str(DATA), "--as-of", DAY]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "planted bug" in err and "Traceback" not in err
    log = next(private_tmp.glob("lcopia-error-*.log"))
    assert str(log) in err and "RuntimeError: planted bug" in log.read_text(encoding="utf-8")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600  # a traceback may quote a value


def test_internal_error_in_assess_keeps_a_failed_folder_with_the_log(
        tmp_path, monkeypatch, capsys, no_notebooks, private_tmp) -> None:
    def bug(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(report, "render_board_report", bug)
    out = tmp_path / "reports"
    assert _assess(out) == 3
    err = capsys.readouterr().err.strip()
    (failed,) = [p for p in out.iterdir() if p.name.startswith("failed-")]
    log = failed / run.ERROR_LOG
    assert len(err.splitlines()) == 1 and str(log) in err
    assert "ZeroDivisionError: planted" in log.read_text(encoding="utf-8")
    assert not (failed / run.SCRATCH).exists() and not (failed / run.MARKER).exists()
    assert not list(out.glob(run.INCOMPLETE + "*"))


def test_verbose_shows_the_traceback_of_an_internal_error(monkeypatch, capsys,
                                                          private_tmp) -> None:
    import lcopia.pipeline

    monkeypatch.setattr(lcopia.pipeline, "compute", lambda *a, **k: 1 / 0)
    assert main(["-v", "score", "--data", str(DATA), "--as-of", DAY]) == 3
    assert "Traceback" in capsys.readouterr().err


# ----------------------------------------------------------------------------- notebook names


def test_system_ids_become_safe_unique_notebook_names() -> None:
    ids = ["ils", "a/b", "a-b", "../../etc", "x" * 300, "Bücher", "con", " ", "a\\b"]
    names = [run.notebook_name(i) for i in ids]
    assert names[0] == "ils"  # a plain id keeps its usual name
    assert len(set(names)) == len(names)
    for name in names:
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert len(name) <= 64 and name.isascii() and name.lower() != "con"


def test_jobs_use_safe_names_and_keep_the_real_id_as_parameter(tmp_path) -> None:
    bundle = SimpleNamespace(inventory=SimpleNamespace(
        systems=[SimpleNamespace(system_id="ils/branch")]))
    first, _ = run._jobs(bundle, tmp_path, AS_OF, tmp_path, None)
    (system,) = [j for j in first if j.template == run.SYSTEM_NB]
    assert "/" not in system.name and system.parameters["system_id"] == "ils/branch"


def test_pool_reports_the_notebook_that_failed_first(monkeypatch) -> None:
    """A real failure in one notebook must not be reported as a sibling's "out of memory"."""

    async def execute(kernel: Any, job: run.Job, *args: Any) -> float:
        if job.name == "broken":
            await asyncio.sleep(0)
            raise OSError(errno.ENOENT, "No such file or directory", "notebooks/a/b.ipynb")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            # what nbclient does with a cancelled cell
            raise run._NotebookFailed(job, None, 3, "DeadKernelError", "out of memory") from None
        return 1.0

    monkeypatch.setattr(run, "_execute", execute)
    jobs = [run.Job("sibling", "t", {}), run.Job("broken", "t", {})]
    with pytest.raises(OSError) as raised:
        asyncio.run(run._pool([object(), object()], jobs, {"t": None}, Path("."), 1.0,
                              Path("."), {}, lambda name: None))
    assert raised.value.filename == "notebooks/a/b.ipynb"


# ----------------------------------------------------------------------------- clean-up


def test_stale_folders_are_removed_only_with_lcopias_marker(tmp_path) -> None:
    out = tmp_path / "reports"
    unrelated = out / ".incomplete-downloads"
    unrelated.mkdir(parents=True)
    (unrelated / "thesis.docx").write_bytes(b"three years of work")
    killed = out / f"{run.INCOMPLETE}{DAY}-99999"
    killed.mkdir()
    (killed / run.MARKER).write_text("lcopia assess, process 99999\n", encoding="utf-8")
    (killed / "results.json").write_text("{}", encoding="utf-8")
    run._remove_stale(out)
    assert (unrelated / "thesis.docx").read_bytes() == b"three years of work"
    assert not killed.exists()


def test_assess_leaves_an_unrelated_incomplete_folder_alone(tmp_path, no_notebooks,
                                                            monkeypatch) -> None:
    monkeypatch.setattr(report, "render_board_report", lambda *a, **k: None)
    out = tmp_path / "reports"
    (out / ".incomplete-downloads").mkdir(parents=True)
    (out / ".incomplete-downloads" / "thesis.docx").write_bytes(b"thesis")
    assert _assess(out) == 0
    assert (out / ".incomplete-downloads" / "thesis.docx").read_bytes() == b"thesis"


def test_sigterm_is_handled_like_ctrl_c(tmp_path, monkeypatch, capsys, private_tmp) -> None:
    """SIGTERM mid-run: exit 130, no temporary file anywhere, the earlier report untouched."""

    class Killed(Exception):
        pass

    def outer(signum: int, frame: Any) -> None:  # what an unhandled SIGTERM would do
        raise Killed

    async def fake_run(**kwargs: Any) -> Any:
        Path(tempfile.mkdtemp(prefix="lcopia-pdf-"), "print.html").write_text("report")
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(3600)

    monkeypatch.setattr(run, "_run", fake_run)
    previous = signal.signal(signal.SIGTERM, outer)
    try:
        out = tmp_path / "reports"
        (out / DAY).mkdir(parents=True)
        (out / DAY / "board-report.pdf").write_bytes(b"earlier")
        assert _assess(out) == 130
        assert signal.getsignal(signal.SIGTERM) is outer  # handlers restored afterwards
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [".lcopia-assess.lock", DAY]
    assert (out / DAY / "board-report.pdf").read_bytes() == b"earlier"
    assert list(private_tmp.iterdir()) == []


# ----------------------------------------------------------------------------- --previous


@pytest.fixture
def no_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that passes too late would start the run: fail at once instead of waiting."""

    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the run started; --previous should have been refused first")

    monkeypatch.setattr(run, "template_parameters", started)


def _findings(tmp_path: Path, **change: Any) -> Path:
    doc: dict[str, Any] = {
        "schema": "lcopia.findings/1", "library": "Library Center of the Ozarks",
        "as_of": "2025-11-30", "gate": "PASS", "posture": "x", "policy_id": "p",
        "policy_version": "1",
        "findings": [{"id": "F-1", "band": "High"}],
        "systems": [{"system_id": "ils", "name": "ILS", "residual_risk": 9,
                     "residual_band": "High"}]}
    doc.update(change)
    folder = tmp_path / "prev"
    folder.mkdir(exist_ok=True)
    (folder / "findings.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def _library_name() -> str:
    from lcopia.load import load

    return load(DATA, as_of=AS_OF).inventory.library.name


@pytest.mark.parametrize("change, expected", [
    ({"findings": [{"band": "High"}]}, "finding 1"),
    ({"systems": [{"system_id": "ils"}]}, "system 1"),
    ({"as_of": "last year"}, "as_of"),
    ({"library": "Springfield Public Library"}, "Springfield"),
])
def test_previous_is_checked_fully_before_the_run(tmp_path, capsys, no_kernels, change,
                                                  expected) -> None:
    previous = _findings(tmp_path, **{"library": _library_name(), **change})
    assert _assess(tmp_path / "reports", "--previous", str(previous)) == 2
    err = capsys.readouterr().err
    assert expected in err and "--previous" in err and "Traceback" not in err


def test_previous_may_not_be_the_report_being_replaced(tmp_path, capsys, no_kernels) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    shutil.move(_findings(tmp_path, library=_library_name()), out / DAY)
    assert _assess(out, "--previous", str(out / DAY)) == 2
    assert "replaces" in capsys.readouterr().err


def test_previous_of_the_same_library_is_accepted(tmp_path) -> None:
    previous = _findings(tmp_path, library=_library_name())
    found = run.check_previous(previous, library=_library_name(), final=tmp_path / "r" / DAY)
    assert found == previous / "findings.json"


# ----------------------------------------------------------------------------- special files


@pytest.fixture
def fifo_export(tmp_path: Path) -> Iterator[Path]:
    """The sample with a named pipe where an export should be.

    A writer thread feeds the pipe if anything opens it, so code that does read it fails the
    test instead of hanging it; the test unblocks the writer when it is done.
    """
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    data = _copy_all(tmp_path)
    pipe = data / "evidence" / "exports" / "circulation_stats.csv"
    pipe.unlink()
    os.mkfifo(pipe)

    done = threading.Event()

    def feed() -> None:
        while not done.is_set():
            with open(pipe, "w", encoding="utf-8") as fh:  # blocks until a reader opens it
                fh.write("month,branch\n2026-01,Central\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    yield data
    done.set()
    fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # release the writer's waiting open
    writer.join(timeout=5)
    os.close(fd)


@pytest.mark.parametrize("command", ["score", "validate"])
def test_fifo_in_the_data_folder_is_refused_before_it_is_opened(fifo_export, command,
                                                                capsys) -> None:
    assert main([command, "--data", str(fifo_export), "--as-of", DAY]) == 2
    err = capsys.readouterr().err
    assert "circulation_stats.csv" in err and "named pipe" in err


def test_fifo_in_the_data_folder_is_refused_by_assess(fifo_export, tmp_path, capsys,
                                                      no_kernels) -> None:
    assert main(["assess", "--data", str(fifo_export), "--out", str(tmp_path / "r"),
                 "--as-of", DAY, "--quiet"]) == 2
    assert "named pipe" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["scan", "web"])
def test_fifo_given_to_scan_or_web_is_refused(fifo_export, command, capsys) -> None:
    pipe = fifo_export / "evidence" / "exports" / "circulation_stats.csv"
    assert main([command, str(pipe)]) == 2
    assert "named pipe" in capsys.readouterr().err


def test_fifo_as_previous_is_refused(tmp_path, capsys, no_kernels) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    folder = tmp_path / "prev"
    folder.mkdir()
    os.mkfifo(folder / "findings.json")
    assert _assess(tmp_path / "reports", "--previous", str(folder)) == 2
    assert "not a regular file" in capsys.readouterr().err


# ----------------------------------------------------------------------------- one real run
# The suite's shared run (conftest ``shared_run``) is started the way a person would outside
# ``make``: a user IPython start-up script, their own caches, a shared $TMPDIR, and an
# unrelated ``.incomplete-*`` folder in --out.


def test_real_run_keeps_temporary_files_inside_its_hidden_folder(shared_run: SharedRun) -> None:
    seen, out, home = shared_run.seen, shared_run.out, shared_run.home
    hidden = Path(seen["gettempdir"]).resolve().relative_to(out.resolve())
    assert hidden.parts[0].startswith(run.INCOMPLETE)
    # children get the same folder, unless its path is too long for Chromium's socket
    if len(seen["gettempdir"]) <= run.SOCKET_DIR_ROOM:
        assert seen["TMPDIR"] == seen["gettempdir"]
    assert seen["TMPDIR after"] == str(home["tmpdir"])  # the environment is restored
    assert list(home["tmpdir"].iterdir()) == []
    assert not (out / DAY / run.SCRATCH).exists() and not (out / DAY / run.MARKER).exists()


def test_real_run_ignores_user_ipython_startup_and_writes_no_user_cache(
        shared_run: SharedRun) -> None:
    home = shared_run.home
    assert (home["ipython"] / "profile_default" / "startup" / "00-user.py").is_file()
    assert not shared_run.startup_canary.exists()
    assert list(home["xdg-cache"].iterdir()) == []
    assert list(home["xdg-config"].iterdir()) == []


def test_real_run_outputs_have_one_file_mode(shared_run: SharedRun) -> None:
    folder = shared_run.run_dir
    mask = os.umask(0o022)
    os.umask(mask)
    modes = {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in folder.rglob("*") if p.is_file()}
    assert "results.json" in modes and "notebooks/01_inventory.ipynb" in modes
    assert set(modes.values()) == {0o666 & ~mask}, modes


def test_real_run_leaves_unrelated_incomplete_folder(shared_run: SharedRun) -> None:
    out = shared_run.out
    assert (out / UNRELATED / "thesis.docx").read_bytes() == b"thesis"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [DAY]
