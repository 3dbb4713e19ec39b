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
  interrupted one (Ctrl-C or SIGTERM) removes its temporary folder; one killed outright leaves a
  hidden folder that the next run removes, recognized by lcopia's marker file (nothing else is
  ever removed). A lock file lets only one run write into a reports folder at a time.
* **Nothing outside the run folder.** Temporary files, caches, IPython settings and the
  browser profile live in the hidden folder's scratch space (``lcopia.run_guard``), so no
  part of a report is left in ``$TMPDIR`` and no user start-up script runs in the kernels.
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
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from lcopia import pipeline, report, trend
from lcopia.errors import (
    FileProblem,
    InternalError,
    LcopiaError,
    RunError,
    UsageError,
    did_you_mean,
)
from lcopia.load import load
from lcopia.pipeline import write_atomic
from lcopia.project import DataDir
from lcopia.run_guard import (
    EARLIEST_AS_OF,
    ERROR_LOG,
    INCOMPLETE,
    LATEST_AS_OF,
    LOCK_FILE,
    MARKER,
    SCRATCH,
    SOCKET_DIR_ROOM,
    _Interrupted,
    _locked,
    _normalise_modes,
    _remove_stale,
    _remove_tree,
    _run_environment,
    _umask,
    _write_error_log,
    check_as_of,
    check_previous,
    find_browser,
    notebook_name,
    refuse_special_files,
)

# Part of this module's interface since before the guard rules moved to lcopia.run_guard.
REEXPORTED = (EARLIEST_AS_OF, ERROR_LOG, LATEST_AS_OF, LOCK_FILE, SOCKET_DIR_ROOM, find_browser)

# The templates are package data (lcopia.notebooks): an installed lcopia runs from any folder.
NOTEBOOKS = Path(str(resources.files("lcopia.notebooks")))
INVENTORY_NB, SYSTEM_NB, EVIDENCE_NB, BOARD_NB, TREND_NB = (
    "01_inventory", "02_system", "03_evidence", "04_board_report", "05_trend")
TEMPLATES = (INVENTORY_NB, SYSTEM_NB, EVIDENCE_NB, BOARD_NB, TREND_NB)
KERNEL = "python3"
CELL_TIMEOUT = 600
STARTUP_TIMEOUT = 60
MANIFEST = "manifest.json"
PACKAGES = ("lcopia", "pandas", "numpy", "papermill", "nbclient", "nbconvert", "nbformat",
            "ipykernel", "matplotlib", "pyarrow", "pydantic")
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
    found = dict(results.bundle.files)
    evidence = data / "evidence"
    if (evidence / "manifest.yaml").is_file():
        found["evidence/manifest.yaml"] = _sha256(evidence / "manifest.yaml")
    progress = DataDir(data).plan_progress  # the recorded progress the action plan starts from
    if progress.is_file() and not progress.is_symlink():
        found[f"inventory/{progress.name}"] = _sha256(progress)
    # the hash of the bytes each reader actually scanned, never a re-read afterwards: a file
    # replaced during the run must not be recorded as the one assessed
    if results.evidence is not None:
        for scan in results.evidence.files:
            if scan.sha256:
                found[f"evidence/{scan.file}"] = scan.sha256
    if results.web is not None:
        for capture in results.web.captures:
            if capture.sha256:
                found[f"evidence/web/{Path(capture.file).name}"] = capture.sha256
        for name, digest in results.web.capture_manifests.items():
            found[f"evidence/web/{name}"] = digest
    if results.web is not None:  # the tracker lists read, hashed from the bytes used
        found.update({f"trackers:{n}": h for n, h in results.web.tracker_files.items()})
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
    kernels' notebooks are canceled, and nbclient reports those as dead kernels ("out of
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


# ----------------------------------------------------------------------------- the run


def _jobs(bundle: Any, data: Path, as_of: dt.date, tmp: Path,
          previous: Path | None) -> tuple[list[Job], Job]:
    base = {"data_dir": str(data), "as_of": as_of.isoformat(), "run_dir": str(tmp)}
    first = [Job(EVIDENCE_NB, EVIDENCE_NB, dict(base)),
             Job(INVENTORY_NB, INVENTORY_NB, dict(base)),
             # the earlier runs sit beside the run being written
             Job(TREND_NB, TREND_NB, {"data_dir": str(data), "reports_dir": str(tmp.parent)})]
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


def latest_earlier_run(out: Path, *, library: str, final: Path) -> Path | None:
    """The newest dated run in ``out`` before this one, of the same library and readable by
    the comparison: the default ``--previous``, so "Changes since the last assessment" and
    "Year on year" always speak of the same earlier run. None when there is none."""
    for folder in reversed(trend.run_folders(out)):
        if folder.name >= final.name:
            continue
        try:
            check_previous(folder, library=library, final=final)
            report.read_previous(folder)
        except LcopiaError:
            continue  # another library's or a damaged run: the trend view reports those
        return folder
    return None


def _assess(*, data: Path, as_of: dt.date, out: Path, jobs: int, previous: Path | None,
            progress: bool, notebooks: Path | None, cell_timeout: float,
            stop: _Interrupted) -> RunResult:
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
    else:
        previous = latest_earlier_run(out, library=bundle.inventory.library.name, final=final)

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
