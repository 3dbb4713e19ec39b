"""``lcopia assess``: every notebook of the assessment, run on warm kernels, published atomically.

Why it is built this way:

* **Validate first.** The inventory is loaded (and every template's parameters checked) before
  any kernel starts, so a spreadsheet mistake is a problem list, not a notebook traceback.
* **Warm kernels.** Starting and stopping a kernel costs about 0.9 s and importing pandas and
  matplotlib another 0.5 s, far more than a notebook's own work. A pool of ``jobs`` kernels is
  started once, while the results are computed, and each notebook runs on a free kernel after
  ``%reset -f``; so one more system costs one notebook's cells, not a Python start-up.
* **Never half a report.** Everything is written into a hidden ``.incomplete-<as_of>-<pid>``
  folder that is renamed to ``<as_of>`` only when every notebook and export succeeded. An
  earlier report of the same date is renamed aside (``<as_of>.superseded-<n>``), never
  deleted. A failed run keeps its executed notebooks in a visible ``failed-<stamp>`` folder; an
  interrupted one removes its temporary folder; one killed outright leaves a hidden folder that
  the next run removes. A lock file lets only one run write into a reports folder at a time.
* **Parameters are checked.** papermill only warns about a parameter a notebook does not
  declare; here that is an error naming the valid ones, and the injected cell is parsed back to
  prove it assigns exactly the values given (a value with quotes or newlines stays a string).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import copy
import datetime as dt
import errno
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from lcopia.errors import (
    FileProblem,
    InternalError,
    LcopiaError,
    RunError,
    UsageError,
    did_you_mean,
)
from lcopia.pipeline import write_atomic

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
INVENTORY_NB, SYSTEM_NB, EVIDENCE_NB, BOARD_NB = (
    "01_inventory", "02_system", "03_evidence", "04_board_report")
TEMPLATES = (INVENTORY_NB, SYSTEM_NB, EVIDENCE_NB, BOARD_NB)
KERNEL = "python3"
CELL_TIMEOUT = 600
STARTUP_TIMEOUT = 60
LOCK_FILE = ".lcopia-assess.lock"
INCOMPLETE = ".incomplete-"
# Written first into every temporary run folder: only a folder holding it is ever removed as
# a killed run's leftovers, so an unrelated ``.incomplete-downloads`` in --out survives.
MARKER = ".lcopia-run"
# The run's private scratch space (temporary files, caches, kernel and browser profiles),
# inside the hidden run folder and removed before it is published or kept as failed-*.
SCRATCH = ".scratch"
ERROR_LOG = "error.log"
SOCKET_DIR_ROOM = 56  # longest $TMPDIR that leaves room for Chromium's socket path
MANIFEST = "manifest.json"
PACKAGES = ("lcopia", "pandas", "numpy", "papermill", "nbclient", "nbconvert", "nbformat",
            "ipykernel", "matplotlib", "pyarrow", "pydantic")
EARLIEST_AS_OF, LATEST_AS_OF = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
WARMUP = ("%matplotlib inline\n"
          "import pandas, matplotlib, lcopia.views, lcopia.report, lcopia.pipeline")
# What ``%reset -f`` does to the user's names, without its ``gc.collect()`` (0.2 s a notebook
# once the results of a few hundred systems are in memory).
RESET = "import lcopia.run as _lcopia_run; _lcopia_run.reset_namespace(get_ipython())"


# ----------------------------------------------------------------------------- results


@dataclass
class RunResult:
    """What a finished run produced and how long each notebook took."""

    run_dir: Path
    notebooks: dict[str, float]
    as_of: dt.date
    gate: str
    posture: str
    counts: dict[str, int]
    outputs: dict[str, Path] = field(default_factory=dict)
    superseded: Path | None = None
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    jobs: int = 1

    def summary(self) -> str:
        """A few lines for the terminal: where the report is and what it says."""
        c = self.counts
        lines = [
            f"Assessment of {self.as_of.isoformat()} written to {self.run_dir}",
            f"Compliance gate: {self.gate}. {self.posture}",
            f"{c.get('systems', 0)} systems, {c.get('flows', 0)} data flows, "
            f"{c.get('findings', 0)} findings ({c.get('findings_critical', 0)} critical, "
            f"{c.get('findings_high', 0)} high).",
            f"{len(self.notebooks)} notebooks in {self.seconds:.1f} s on {self.jobs} "
            f"kernel{'s' if self.jobs != 1 else ''}.",
        ]
        lines += [f"  {label}: {path}" for label, path in self.outputs.items()]
        if self.superseded is not None:
            lines.append(f"The earlier report of the same date was kept as {self.superseded}.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Job:
    """One notebook to execute: the template, its output name and its parameters."""

    name: str
    template: str
    parameters: dict[str, Any]


class _NotebookFailed(Exception):
    """Internal: carries a failed notebook out of the pool (the executed notebook too)."""

    def __init__(self, job: Job, nb: Any, cell: int | None, ename: str, evalue: str) -> None:
        super().__init__(f"{job.name}: {ename}")
        self.job, self.nb, self.cell, self.ename, self.evalue = job, nb, cell, ename, evalue


# ----------------------------------------------------------------------------- parameters


def template_parameters(template: Path) -> dict[str, dict[str, Any]]:
    """The parameters a template declares (name → papermill's inferred type, default, help)."""
    from papermill import inspect_notebook

    if not template.is_file():
        raise UsageError(f"notebook template {template} is missing; restore it from the "
                         "repository")
    return inspect_notebook(str(template))


def check_parameters(notebook: str, given: Mapping[str, Any],
                     declared: Mapping[str, Any]) -> None:
    """Refuse a parameter the notebook does not declare (papermill would only warn)."""
    for name in given:
        if name not in declared:
            hint = did_you_mean(name, declared)
            raise UsageError(
                f"notebook {notebook} has no parameter {name!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; its parameters are: {', '.join(sorted(declared)) or 'none'}")


def parameterize(nb: Any, parameters: Mapping[str, Any]) -> Any:
    """papermill's own injection, then proof that the injected cell means exactly ``parameters``.

    papermill writes strings as escaped literals; parsing the cell back and comparing values
    guarantees that no value (quotes, newlines, backslashes) turned into code.
    """
    from papermill.parameterize import parameterize_notebook

    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    out = parameterize_notebook(nb, dict(parameters), kernel_name=KERNEL, language="python")
    cell = next(c for c in out.cells if "injected-parameters" in c.metadata.get("tags", []))
    try:
        tree = ast.parse(cell.source)
        assigned = {}
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                raise ValueError("not a plain assignment")
            assigned[node.targets[0].id] = ast.literal_eval(node.value)
    except (SyntaxError, ValueError):
        assigned = None
    if assigned != dict(parameters):
        raise UsageError("a notebook parameter could not be passed safely as a literal; "
                         "use plain text, numbers or true/false")
    return out


# ----------------------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inputs(data: Path, results: Any) -> dict[str, str]:
    """sha256 of every input read: inventory files, evidence exports, HAR captures, trackers."""
    from lcopia import web

    found = dict(results.bundle.files)
    evidence = data / "evidence"
    if (evidence / "manifest.yaml").is_file():
        found["evidence/manifest.yaml"] = _sha256(evidence / "manifest.yaml")
    if results.evidence is not None:
        for scan in results.evidence.files:
            path = evidence / scan.file
            if path.is_file():
                found[f"evidence/{scan.file}"] = _sha256(path)
    for har in sorted((evidence / "web").glob("*.har")) if (evidence / "web").is_dir() else []:
        found[f"evidence/web/{har.name}"] = _sha256(har)
    if results.web is not None and Path(web.DEFAULT_TRACKERS).is_file():
        found["web/trackers.yaml"] = _sha256(Path(web.DEFAULT_TRACKERS))
    return dict(sorted(found.items()))


def _packages() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _manifest(*, data: Path, as_of: dt.date, results: Any, times: Mapping[str, float],
              steps: Mapping[str, float], jobs: int, previous: Path | None,
              complete: bool) -> str:
    a = results.assessment
    doc = {
        "schema": "lcopia.manifest/1",
        "command": "lcopia assess",
        "complete": complete,
        "as_of": as_of.isoformat(),
        "data_dir": str(data),
        "previous": str(previous) if previous else "",
        "policy_id": a.policy_id,
        "policy_version": a.policy_version,
        "schema_version": a.schema_version,
        "lcopia_version": _packages()["lcopia"],
        "python": platform.python_version(),
        "packages": _packages(),
        "inputs": _inputs(data, results),
        "gate": a.gate.result,
        "counts": a.counts,
        "jobs": jobs,
        "notebooks": {k: round(v, 3) for k, v in sorted(times.items())},
        "steps": {k: round(v, 3) for k, v in steps.items()},
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on an open file without waiting; False when someone holds it.

    ``fcntl`` exists only on POSIX and ``msvcrt`` only on Windows, so each is imported where
    it is used; both locks are released when the descriptor is closed (or the process dies).
    """
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise
        return False
    return True


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the reports folder's lock; a second run at the same time is refused, not queued."""
    path = out / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            os.lseek(fd, 0, os.SEEK_SET)
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "another"
            raise UsageError(
                f"another lcopia assess (process {holder}) is writing into {out}; wait for it "
                "to finish, or give a different --out folder")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_stale(out: Path) -> None:
    """Temporary folders of runs that were killed; safe because we hold the lock.

    Only folders carrying lcopia's marker are removed: nothing the run did not create.
    """
    for stale in out.glob(INCOMPLETE + "*"):
        if (stale.is_dir() and not stale.is_symlink()
                and (stale / MARKER).is_file() and not (stale / MARKER).is_symlink()):
            _remove_tree(stale)


def _remove_tree(path: Path, attempts: int = 5) -> None:
    """Remove a folder the run created, retrying briefly: after an interruption a browser
    helper process may still be writing its profile (``Directory not empty: 'Default'``)."""
    for attempt in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.1 * (attempt + 1))


def _free_name(base: Path) -> Path:
    if not base.exists():
        return base
    n = 1
    while base.with_name(f"{base.name}-{n}").exists():
        n += 1
    return base.with_name(f"{base.name}-{n}")


def _publish(tmp: Path, final: Path) -> Path | None:
    """Rename the finished run into place; an earlier report of that date is renamed aside."""
    aside = None
    if final.exists():
        n = 1
        while final.with_name(f"{final.name}.superseded-{n}").exists():
            n += 1
        aside = final.with_name(f"{final.name}.superseded-{n}")
        os.rename(final, aside)
    os.rename(tmp, final)
    return aside


# ----------------------------------------------------------------------------- kernels


def reset_namespace(shell: Any) -> None:
    """Run inside a kernel between notebooks: drop every name a notebook defined and the
    output history, keep imported modules (that is what makes the kernel warm)."""
    ns, hidden = shell.user_ns, shell.user_ns_hidden
    for name in [k for k in ns if k not in hidden]:
        del ns[name]
    out = ns.get("Out")
    if isinstance(out, dict):
        out.clear()
    ns.update({"_": "", "__": "", "___": ""})


def _kernel_env() -> dict[str, str]:
    """The venv's kernel, no inherited MPLBACKEND (it would drop every figure)."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def _kernel_spec_manager() -> Any:
    """Kernel specs of this environment only, so a user-level ``python3`` cannot hijack runs."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager(kernel_dirs=[str(Path(sys.prefix) / "share" / "jupyter" /
                                              "kernels")])


class _Kernel:
    """One warm kernel: its manager and the client every notebook on it shares."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.cwd = cwd
        self.km = AsyncKernelManager(kernel_name=KERNEL,
                                     kernel_spec_manager=_kernel_spec_manager())
        self.kc: Any = None

    async def launch(self) -> None:
        await self.km.start_kernel(
            cwd=str(self.cwd), env=_kernel_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            extra_arguments=["--HistoryManager.hist_file=:memory:"])

    async def ready(self, timeout: float) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await self.kc.wait_for_ready(timeout=timeout)
        except RuntimeError:
            raise LcopiaError(
                f"the {KERNEL} kernel did not start within {timeout:.0f} s; check that "
                "ipykernel is installed in this environment (`make venv`)") from None
        self.kc.allow_stdin = False
        await self.run(WARMUP, timeout)

    async def run(self, code: str, timeout: float) -> None:
        """Run setup code silently; its failure is the runner's problem, not a notebook's."""
        reply = await self.kc.execute_interactive(
            code, silent=True, store_history=False, allow_stdin=False, timeout=timeout,
            output_hook=lambda _msg: None)
        if reply["content"].get("status") != "ok":
            raise LcopiaError(f"the kernel could not prepare ({reply['content'].get('ename')}:"
                              f" {reply['content'].get('evalue')}); run `make venv` again")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.kc is not None:
                self.kc.stop_channels()
        with contextlib.suppress(Exception):
            if self.km.has_kernel:
                await self.km.shutdown_kernel(now=True)


def _warm_client_class() -> type:
    from contextlib import asynccontextmanager

    from nbclient import NotebookClient

    class WarmClient(NotebookClient):  # type: ignore[misc]
        """nbclient on a kernel it does not own: no start, no shutdown, no signal handlers.

        nbclient's own ``async_setup_kernel`` installs SIGINT/SIGTERM handlers that shut the
        kernel down; here the runner owns the kernels and Ctrl-C, so setup does nothing.
        """

        @asynccontextmanager
        async def async_setup_kernel(self, **kwargs: Any) -> Any:
            yield

    return WarmClient


def _short(text: str, lines: int = 3, width: int = 400) -> str:
    """An error message short enough to read in a terminal; the notebook keeps it all."""
    parts = str(text).strip().splitlines()
    shown = "\n".join(parts[:lines])
    if len(shown) > width:
        shown = shown[:width - 1] + "…"
    if len(parts) > lines:
        shown += f"\n(… {len(parts) - lines} more lines in the kept notebook)"
    return shown


async def _execute(kernel: _Kernel, job: Job, template_nb: Any, out_dir: Path,
                   timeout: float, nb_dir: Path) -> float:
    """Run one notebook on a warm kernel and save it (also when it fails)."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = parameterize(template_nb, job.parameters)
    nb.metadata.setdefault("papermill", {})
    nb.metadata.papermill.update({"input_path": f"{job.template}.ipynb",
                                  "output_path": f"notebooks/{job.name}.ipynb",
                                  "exception": None})
    current: dict[str, int] = {}

    def on_cell(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    client = _warm_client_class()(
        nb, km=kernel.km, timeout=timeout, kernel_name=KERNEL, allow_errors=False,
        record_timing=False, resources={"metadata": {"path": str(nb_dir)}},
        on_cell_execute=on_cell)
    client.kc = kernel.kc
    await kernel.run(RESET, STARTUP_TIMEOUT)
    start = time.perf_counter()
    path = out_dir / f"{job.name}.ipynb"
    try:
        await client.async_execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError, TimeoutError,
            RuntimeError) as exc:
        cell = current.get("index")
        if isinstance(exc, DeadKernelError):
            ename, evalue = "DeadKernelError", ("the kernel stopped while running this cell "
                                                "(out of memory, or killed)")
        elif isinstance(exc, CellTimeoutError | TimeoutError):
            ename, evalue = "CellTimeoutError", f"the cell ran longer than {timeout:.0f} s"
        elif isinstance(exc, CellExecutionError):
            ename, evalue = exc.ename, exc.evalue
        else:
            ename, evalue = type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""
        evalue = _short(evalue)
        nb.metadata.papermill["exception"] = True
        nbformat.write(nb, str(path))
        raise _NotebookFailed(job, nb, cell, ename, evalue) from None
    seconds = time.perf_counter() - start
    nbformat.write(nb, str(path))
    return seconds


async def _pool(kernels: list[_Kernel], jobs: list[Job], templates: Mapping[str, Any],
                out_dir: Path, timeout: float, nb_dir: Path, times: dict[str, float],
                tick: Any) -> None:
    """Each kernel takes the next job until none are left; the first failure stops all.

    The failure reported is the one that happened first: when it stops the pool, the other
    kernels' notebooks are cancelled, and nbclient reports those as dead kernels ("out of
    memory"), which must never be blamed instead.
    """
    queue = list(jobs)
    first: list[BaseException] = []

    async def worker(kernel: _Kernel) -> None:
        while queue:
            job = queue.pop(0)
            try:
                times[job.name] = await _execute(kernel, job, templates[job.template],
                                                 out_dir, timeout, nb_dir)
            except BaseException as exc:
                if not first:
                    first.append(exc)
                raise
            tick(job.name)

    try:
        async with asyncio.TaskGroup() as group:
            for kernel in kernels:
                group.create_task(worker(kernel))
    except BaseExceptionGroup as eg:
        if first and not isinstance(first[0], asyncio.CancelledError):
            raise first[0] from None
        failed = [e for e in eg.exceptions if isinstance(e, _NotebookFailed)]
        if failed:
            raise failed[0] from None
        raise eg.exceptions[0] from None


# ----------------------------------------------------------------------------- checks


def check_as_of(as_of: dt.date) -> None:
    """Refuse an assessment date outside 1900-2100: due dates are as_of + days, and a date
    such as 9999-12-31 would overflow in the middle of scoring."""
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise UsageError(f"--as-of {as_of.isoformat()} is outside the years "
                         f"{EARLIEST_AS_OF.year}-{LATEST_AS_OF.year}; give the date the "
                         "assessment describes")


_SPECIAL = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def refuse_special_files(folder: Path, limit: int = 100_000) -> None:
    """Refuse a FIFO, socket or device anywhere in the data folder, before anything opens it.

    Reading a FIFO blocks until someone writes to it, so one where an export or inventory file
    should be would hang the run forever; ``lstat``/``stat`` never open the file.
    """
    if not folder.is_dir():
        return
    seen = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            seen += 1
            if seen > limit:
                return
            path = Path(root) / name
            try:
                mode = path.stat().st_mode  # follows a link: a link to a FIFO is a FIFO
            except OSError:
                continue  # a dangling link: the reader reports it as missing
            kind = _SPECIAL.get(stat.S_IFMT(mode))
            if kind is not None:
                raise UsageError(f"{path} is {kind}, not a file; lcopia reads only regular "
                                 "files. Replace it with the file itself")


def _need(cond: bool, file: Path, what: str) -> None:
    if not cond:
        raise UsageError(f"--previous {file}: {what}. It is not a complete findings.json "
                         "written by lcopia assess; point --previous at an earlier run "
                         "folder, for example reports/2025-11-30")


def check_previous(previous: Path, *, library: str, final: Path) -> Path:
    """Everything the comparison with an earlier run needs, checked before any kernel starts.

    Returns the findings.json to read. Refused: a special file, a file that is not lcopia's
    findings.json or lacks a field the comparison reads (so no ``KeyError`` after the whole
    run), another library's report, and the report this run is about to replace.
    """
    file = previous / "findings.json" if previous.is_dir() else previous
    try:
        mode = file.stat().st_mode
    except OSError:
        raise UsageError(f"--previous {previous}: no findings.json there. Point it at an "
                         "earlier run folder, for example reports/2025-11-30.") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"--previous {file} is not a regular file; point it at an earlier "
                         "run folder")
    if file.resolve().parent == final.resolve() or previous.resolve() == final.resolve():
        raise UsageError(
            f"--previous {previous} is the report this run replaces ({final.name}); compare "
            "with an earlier date, or leave --previous out")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        data = None
    _need(isinstance(data, dict) and data.get("schema") == "lcopia.findings/1", file,
          "not lcopia's findings format (schema lcopia.findings/1)")
    assert isinstance(data, dict)
    _need(isinstance(data.get("library"), str) and bool(data["library"]), file,
          "it names no library")
    if data["library"].strip().casefold() != library.strip().casefold():
        raise UsageError(
            f"--previous {file} is a report for {data['library']!r}, not for {library!r}; "
            "compare with an earlier report of this library")
    try:
        before = dt.date.fromisoformat(str(data.get("as_of")))
    except ValueError:
        before = None
    _need(before is not None, file, "'as_of' is not a date written YYYY-MM-DD")
    _need(isinstance(data.get("gate"), str), file, "'gate' is missing")
    findings, systems = data.get("findings"), data.get("systems")
    _need(isinstance(findings, list), file, "'findings' is not a list")
    _need(isinstance(systems, list), file, "'systems' is not a list")
    assert isinstance(findings, list) and isinstance(systems, list)
    for n, f in enumerate(findings, 1):
        _need(isinstance(f, dict) and isinstance(f.get("id"), str)
              and isinstance(f.get("band"), str), file,
              f"finding {n} has no 'id' and 'band'")
    for n, row in enumerate(systems, 1):
        _need(isinstance(row, dict) and isinstance(row.get("system_id"), str)
              and isinstance(row.get("name"), str)
              and isinstance(row.get("residual_risk"), int)
              and not isinstance(row.get("residual_risk"), bool)
              and isinstance(row.get("residual_band"), str), file,
              f"system {n} lacks 'system_id', 'name', 'residual_risk' or 'residual_band'")
    return file


# ----------------------------------------------------------------------------- environment


def find_browser() -> str | None:
    """Chromium, Chrome or Edge on Linux, macOS or Windows; ``LCOPIA_CHROMIUM`` wins."""
    chosen = os.environ.get("LCOPIA_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                 "chrome", "msedge", "microsoft-edge"):
        found = shutil.which(name)
        if found:
            return found
    places: list[Path] = []
    if sys.platform == "darwin":
        for root in (Path("/Applications"), Path.home() / "Applications"):
            places += [root / "Chromium.app/Contents/MacOS/Chromium",
                       root / "Google Chrome.app/Contents/MacOS/Google Chrome",
                       root / "Microsoft Edge.app/Contents/MacOS/Microsoft Edge"]
    elif sys.platform == "win32":
        for var in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA"):
            base = os.environ.get(var)
            if base:
                places += [Path(base) / "Chromium/Application/chrome.exe",
                           Path(base) / "Google/Chrome/Application/chrome.exe",
                           Path(base) / "Microsoft/Edge/Application/msedge.exe"]
    else:
        places += [Path("/usr/bin/chromium"), Path("/usr/lib/chromium/chromium"),
                   Path("/snap/bin/chromium")]
    return next((str(p) for p in places if p.is_file()), None)


@contextlib.contextmanager
def _run_environment(scratch: Path) -> Iterator[None]:
    """Point every temporary file and cache of the run (this process, its kernels and the
    PDF browser) into ``scratch``, inside the run's hidden folder; restore afterwards.

    So nothing of the report lands in ``$TMPDIR`` (``lcopia-pdf-*/print.html``), the kernels
    never run the user's ``~/.ipython`` startup scripts, and no cache is written to
    ``~/.cache`` or ``~/.config/chromium``. A matplotlib folder set by the caller (the
    Makefile's ``build/matplotlib``) is kept: it is project-local and saves a font scan.
    """
    dirs = {name: scratch / name for name in
            ("tmp", "ipython", "cache", "config", "runtime", "matplotlib")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # Chromium puts a Unix socket under $TMPDIR (``.org.chromium.Chromium.XXXXXX/
    # SingletonSocket``), and a socket path may hold only 104 bytes (macOS; 108 on Linux): a
    # deep --out would make it print nothing. Then the children get a short private folder
    # (0700, removed with the run) that holds only that socket; this process's temporary
    # files, the printed HTML and the browser profile among them, stay in the run folder.
    child_tmp, short = dirs["tmp"], None
    if len(str(dirs["tmp"])) > SOCKET_DIR_ROOM:
        short = child_tmp = Path(tempfile.mkdtemp(prefix="lcopia-"))
    env = {"TMPDIR": child_tmp, "TEMP": child_tmp, "TMP": child_tmp,
           "IPYTHONDIR": dirs["ipython"], "XDG_CACHE_HOME": dirs["cache"],
           "XDG_CONFIG_HOME": dirs["config"], "JUPYTER_RUNTIME_DIR": dirs["runtime"]}
    if not os.environ.get("MPLCONFIGDIR"):
        env["MPLCONFIGDIR"] = dirs["matplotlib"]
    browser = find_browser()
    if browser and not os.environ.get("LCOPIA_CHROMIUM"):
        env["LCOPIA_CHROMIUM"] = Path(browser)
    saved = {k: os.environ.get(k) for k in env}
    saved_tempdir = tempfile.tempdir
    os.environ.update({k: str(v) for k, v in env.items()})
    tempfile.tempdir = str(dirs["tmp"])
    try:
        yield
    finally:
        if short is not None:
            _remove_tree(short)
        tempfile.tempdir = saved_tempdir
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Interrupted:
    """SIGINT and SIGTERM both mean "stop and clean up" for the whole run.

    Inside the event loop they cancel the run (see ``_run``); outside it (results, PDF) they
    raise ``KeyboardInterrupt``. ``hit`` lets an error caused by the interruption (a browser
    profile removed under Chromium's feet) be reported as the interruption it is.
    """

    SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s)

    def __init__(self) -> None:
        self.hit = False
        self.saved: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        self.hit = True
        raise KeyboardInterrupt

    def install(self) -> None:
        """(Re)install the process-level handlers; only the main thread may."""
        for sig in self.SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                previous = signal.signal(sig, self._handler)
                self.saved.setdefault(sig, previous)

    def restore(self) -> None:
        for sig, previous in self.saved.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, previous)
        self.saved.clear()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _normalise_modes(folder: Path, umask: int) -> None:
    """One mode for every output: 0666/0777 less the umask (0644/0755 by default).

    results.json was 0600 (written through mkstemp) while the same data sat in 0644
    notebooks. The outputs are the Board's papers and are built to hold no patron value, so
    they follow the person's umask like any document they save; ``umask 077`` makes them all
    private at once.
    """
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _write_error_log(folder: Path, exc: BaseException) -> Path:
    log = folder / ERROR_LOG
    with contextlib.suppress(OSError):
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return log


# ----------------------------------------------------------------------------- the run


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                     *(f"lpt{i}" for i in range(1, 10))}


def notebook_name(system_id: str) -> str:
    """A file-name-safe, unique stand-in for a system id in ``02_system-<name>.ipynb``.

    An id that is already a plain name (letters, digits, ``_.-``, at most 64) is kept, so the
    usual notebooks keep their names; any other (``a/b``, ``..``, spaces, non-ASCII, 300
    characters) becomes an ASCII slug plus 8 hex digits of its sha256, which keeps two ids
    that slug alike apart and can never leave the notebooks folder.
    """
    if (_SAFE_NAME.fullmatch(system_id) and not system_id.endswith(".")
            and system_id.split(".")[0].lower() not in _WINDOWS_RESERVED):
        return system_id
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", system_id).strip("-_")[:40] or "system"
    digest = hashlib.sha256(system_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}"


def _jobs(bundle: Any, data: Path, as_of: dt.date, tmp: Path,
          previous: Path | None) -> tuple[list[Job], Job]:
    base = {"data_dir": str(data), "as_of": as_of.isoformat(), "run_dir": str(tmp)}
    first = [Job(EVIDENCE_NB, EVIDENCE_NB, dict(base)),
             Job(INVENTORY_NB, INVENTORY_NB, dict(base))]
    first += [Job(f"{SYSTEM_NB}-{notebook_name(s.system_id)}", SYSTEM_NB,
                  {**base, "system_id": s.system_id})
              for s in bundle.inventory.systems]
    last = Job(BOARD_NB, BOARD_NB,
               {**base, "previous_dir": str(previous) if previous else ""})
    return first, last


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="nb", desc="Assessment", file=sys.stderr,
                            dynamic_ncols=True, leave=False)

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def _run(*, data: Path, as_of: dt.date, tmp: Path, jobs: int, nb_dir: Path,
               templates: Mapping[str, Any], first: list[Job], last: Job,
               previous: Path | None, timeout: float, progress: _Progress,
               times: dict[str, float], steps: dict[str, float],
               stop: _Interrupted) -> Any:
    from lcopia import pipeline

    notebooks = tmp / "notebooks"
    notebooks.mkdir()
    kernels = [_Kernel(nb_dir) for _ in range(max(1, min(jobs, len(first))))]
    t0 = time.perf_counter()
    # Ctrl-C and SIGTERM cancel the run. nbclient reports a cancelled cell as a dead kernel,
    # so the flag tells an interruption apart from a real failure.
    loop, main = asyncio.get_running_loop(), asyncio.current_task()

    def on_signal() -> None:
        stop.hit = True
        if main is not None:
            main.cancel()

    for sig in _Interrupted.SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
    try:
        for kernel in kernels:
            await kernel.launch()
        # The kernels boot (and import pandas) while the results are computed here.
        boot = [asyncio.create_task(k.ready(STARTUP_TIMEOUT)) for k in kernels]
        results = await asyncio.to_thread(pipeline.results, data, as_of, tmp)
        await asyncio.gather(*boot)
        steps["kernels ready, results computed"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await _pool(kernels, first, templates, notebooks, timeout, nb_dir, times, progress)
        # The Board report shows the provenance: it reads this manifest, completed below.
        steps["notebooks 01-03"] = time.perf_counter() - t0
        write_atomic(tmp / MANIFEST, _manifest(
            data=data, as_of=as_of, results=results, times=times, steps=steps, jobs=jobs,
            previous=previous, complete=False))
        spare = [asyncio.create_task(k.stop()) for k in kernels[1:]]
        await _pool(kernels[:1], [last], templates, notebooks, timeout, nb_dir, times,
                    progress)
        await asyncio.gather(*spare)
    except BaseException:
        if stop.hit:
            raise KeyboardInterrupt from None
        raise
    finally:
        await asyncio.gather(*(k.stop() for k in kernels), return_exceptions=True)
        for sig in _Interrupted.SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        stop.install()  # removing the loop's handlers reset them to the defaults
    return results


def run_assessment(*, data: Path, as_of: dt.date, out: Path, jobs: int = 2,
                   previous: Path | None = None, progress: bool = True,
                   notebooks: Path | None = None, cell_timeout: float = CELL_TIMEOUT
                   ) -> RunResult:
    """Validate, run every notebook, write the exports and manifest, then publish atomically.

    Raises InventoryError (before any kernel starts) for bad data, UsageError for a bad
    option or a concurrent run, FileProblem when the system refuses a file (permissions, a
    full disk, a name too long), RunError when a notebook fails (its executed copy is kept in
    ``out/failed-<stamp>``) and InternalError for a bug (traceback in ``failed-*/error.log``);
    KeyboardInterrupt (Ctrl-C or SIGTERM) leaves nothing half-written.
    """
    stop = _Interrupted()
    stop.install()
    out = Path(out)
    try:
        return _assess(data=data, as_of=as_of, out=out, jobs=jobs, previous=previous,
                       progress=progress, notebooks=notebooks, cell_timeout=cell_timeout,
                       stop=stop)
    except OSError as exc:
        if stop.hit:
            raise KeyboardInterrupt from None
        raise FileProblem.from_os_error(exc, where=str(out)) from None
    finally:
        stop.restore()


def _assess(*, data: Path, as_of: dt.date, out: Path, jobs: int, previous: Path | None,
            progress: bool, notebooks: Path | None, cell_timeout: float,
            stop: _Interrupted) -> RunResult:
    from lcopia import report
    from lcopia.load import load

    if jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    check_as_of(as_of)
    started = time.perf_counter()
    umask = _umask()
    data = Path(data).resolve()
    out = Path(out).resolve()
    final = out / as_of.isoformat()
    nb_dir = Path(notebooks).resolve() if notebooks else NOTEBOOKS
    refuse_special_files(data)
    bundle = load(data, as_of=as_of)  # every inventory problem, before any kernel starts
    if previous is not None:
        previous = Path(previous).resolve()
        check_previous(previous, library=bundle.inventory.library.name, final=final)
        report.read_previous(previous)  # the reader the Board report uses agrees

    from papermill.iorw import load_notebook_node

    declared = {t: template_parameters(nb_dir / f"{t}.ipynb") for t in TEMPLATES}
    sources = {t: load_notebook_node(str(nb_dir / f"{t}.ipynb")) for t in TEMPLATES}
    placeholder = out / f"{INCOMPLETE}{as_of.isoformat()}-{os.getpid()}"
    first, last = _jobs(bundle, data, as_of, placeholder, previous)
    for job in [*first, last]:
        check_parameters(f"{job.template}.ipynb", job.parameters, declared[job.template])

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileProblem.from_os_error(exc, where=str(out)) from None
    times: dict[str, float] = {}
    steps: dict[str, float] = {"validate": time.perf_counter() - started}
    with _locked(out):
        _remove_stale(out)
        tmp = placeholder
        tmp.mkdir()
        (tmp / MARKER).write_text(f"lcopia assess, process {os.getpid()}\n", encoding="utf-8")
        scratch = tmp / SCRATCH
        bar = _Progress(len(first) + 2, progress)
        try:
            with _run_environment(scratch):
                results = asyncio.run(_run(
                    data=data, as_of=as_of, tmp=tmp, jobs=jobs, nb_dir=nb_dir,
                    templates=sources, first=first, last=last, previous=previous,
                    timeout=cell_timeout, progress=bar, times=times, steps=steps, stop=stop))
                t0 = time.perf_counter()
                # the exports were written by the Board report notebook itself (it lists them)
                report.render_board_report(tmp / "notebooks" / f"{BOARD_NB}.ipynb", tmp)
                steps["board report html and pdf"] = time.perf_counter() - t0
            bar("board report")
            steps["total"] = time.perf_counter() - started
            write_atomic(tmp / MANIFEST, _manifest(data=data, as_of=as_of, results=results,
                                                   times=times, steps=steps, jobs=jobs,
                                                   previous=previous, complete=True))
            _remove_tree(scratch)
            (tmp / MARKER).unlink()
            _normalise_modes(tmp, umask)
            aside = _publish(tmp, final)
        except _NotebookFailed as failed:
            bar.close()
            if stop.hit:
                _remove_tree(tmp)
                raise KeyboardInterrupt from None
            kept = _keep_failed(tmp, out, umask)
            raise RunError(f"{failed.job.name}.ipynb", failed.cell, failed.ename,
                           failed.evalue, str(kept / "notebooks" / f"{failed.job.name}.ipynb")
                           ) from None
        except (LcopiaError, OSError, KeyboardInterrupt, asyncio.CancelledError) as exc:
            bar.close()
            _remove_tree(tmp)
            if stop.hit or isinstance(exc, asyncio.CancelledError):
                raise KeyboardInterrupt from None
            raise
        except BaseException as exc:
            bar.close()
            if stop.hit:
                _remove_tree(tmp)
                raise KeyboardInterrupt from None
            if not isinstance(exc, Exception):
                _remove_tree(tmp)
                raise
            kept = _keep_failed(tmp, out, umask)
            raise InternalError(exc, str(_write_error_log(kept, exc))) from None
        bar.close()
    outputs = {"Board report (HTML)": final / "board-report.html",
               "Board report (PDF)": final / "board-report.pdf",
               "Vendor privacy policies": final / "vendor-privacy-policies.html",
               "Findings (CSV, JSON)": final / "findings.csv",
               "Action plan (Excel)": final / "action-plan.xlsx",
               "Notebooks": final / "notebooks"}
    a = results.assessment
    return RunResult(run_dir=final, notebooks=dict(sorted(times.items())), as_of=as_of,
                     gate=a.gate.result, posture=a.posture, counts=dict(a.counts),
                     outputs=outputs, superseded=aside, steps=steps,
                     seconds=time.perf_counter() - started, jobs=jobs)


def _keep_failed(tmp: Path, out: Path, umask: int) -> Path:
    """A failed run's folder, made visible as ``failed-<stamp>`` without its scratch space."""
    _remove_tree(tmp / SCRATCH)
    with contextlib.suppress(OSError):
        (tmp / MARKER).unlink()
    kept = _free_name(out / f"failed-{dt.datetime.now():%Y%m%dT%H%M%S}")
    os.rename(tmp, kept)
    _normalise_modes(kept, umask)
    return kept
