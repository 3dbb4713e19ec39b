"""What keeps an ``assess`` run safe from its surroundings, apart from the notebooks it runs.

Why a module of its own: these are the rules a red-team pass found missing (issue 12), and each
reads alone: inputs checked before any kernel starts (dates, special files, ``--previous``),
file names built from data made safe, a portable lock, clean-up that removes only what carries
lcopia's marker, a run-private environment (temporary files, caches, IPython, the browser)
inside the run's hidden folder, SIGINT and SIGTERM treated alike, and one file mode.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lcopia.errors import UsageError

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
EARLIEST_AS_OF, LATEST_AS_OF = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


# ----------------------------------------------------------------------------- names


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


# ----------------------------------------------------------------------------- lock, clean-up


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
    # deep --out would make it print nothing. Then the children keep the caller's $TMPDIR,
    # where Chromium puts only that socket (removed when it exits); this process's temporary
    # files, the printed HTML and the browser profile among them, stay in the run folder.
    child_tmp: Path | None = dirs["tmp"]
    if len(str(dirs["tmp"])) > SOCKET_DIR_ROOM:
        child_tmp = None
    env: dict[str, Path] = {
        "IPYTHONDIR": dirs["ipython"], "XDG_CACHE_HOME": dirs["cache"],
        "XDG_CONFIG_HOME": dirs["config"], "JUPYTER_RUNTIME_DIR": dirs["runtime"]}
    if child_tmp is not None:
        env.update({"TMPDIR": child_tmp, "TEMP": child_tmp, "TMP": child_tmp})
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
