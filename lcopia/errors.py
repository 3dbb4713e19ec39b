"""Errors that carry their facts as fields and build a message a person can act on.

The library raises these; only ``lcopia.cli`` turns them into text and an exit code, so no
user mistake ever surfaces as a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


def did_you_mean(value: object, choices: Iterable[str]) -> str | None:
    """Closest valid choice to a mistyped value, or None when nothing is close."""
    text = str(value).strip().lower()
    options = [str(c) for c in choices]
    lowered = {o.lower(): o for o in options}
    match = difflib.get_close_matches(text, list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


class LcopiaError(Exception):
    """Base of every error lcopia expects; ``exit_code`` is what the CLI returns."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, located as a spreadsheet user would look for it.

    ``row`` is the row number a spreadsheet shows (header = row 1), or None for YAML and
    whole-file problems. ``value`` is the offending inventory value; never set it from an
    evidence (patron) file.
    """

    file: str
    field: str | None
    expected: str
    row: int | None = None
    value: str | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row is not None else "")
        where += f", field '{self.field}'" if self.field else ""
        got = ""
        if self.value is not None:
            shown = self.value if len(self.value) <= 80 else self.value[:77] + "..."
            got = f": got {shown!r}"
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"{where}{got}; {self.expected}{hint}"


class InventoryError(LcopiaError):
    """Every problem found in the policy, taxonomy or inventory, reported at once."""

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} in the assessment data:"]
        lines += [f"  - {p}" for p in self.problems]
        lines.append("Fix these in the files named (a spreadsheet is fine), then run again.")
        super().__init__("\n".join(lines))


class EvidenceError(LcopiaError):
    """An evidence file could not be read. Never carries a value from inside the file."""

    def __init__(self, file: str, reason: str, fix: str) -> None:
        self.file, self.reason, self.fix = file, reason, fix
        super().__init__(f"{file}: {reason}. {fix}")


class UsageError(LcopiaError):
    """A command-line option or parameter that cannot work as given."""


class RunError(LcopiaError):
    """A notebook failed during an assessment run; the good report was left alone."""

    def __init__(self, notebook: str, cell: int | None, ename: str, evalue: str, kept: str) -> None:
        self.notebook, self.cell, self.ename, self.evalue, self.kept = (
            notebook, cell, ename, evalue, kept)
        at = f" at cell {cell}" if cell is not None else ""
        super().__init__(
            f"notebook {notebook} failed{at}: {ename}: {evalue}\n"
            f"The executed notebook is kept in {kept} for reading; "
            "the previous report was not changed.")


class GateFailed(LcopiaError):
    """Raised only by ``score --strict`` when the compliance gate fails."""

    exit_code = 1


class FileProblem(LcopiaError):
    """The operating system refused a file operation (permissions, disk full, a bad name).

    Not a bug in lcopia and not a mistake in the data: the message names the file and says
    what the person at the keyboard can do about it, and the CLI exits 2.
    """

    def __init__(self, path: str, reason: str, fix: str) -> None:
        self.path, self.reason, self.fix = path, reason, fix
        super().__init__(f"{path}: {reason}. {fix}")

    @classmethod
    def from_os_error(cls, exc: OSError, where: str | None = None) -> FileProblem:
        """Translate an ``OSError``; ``where`` names the file when the error does not."""
        path = exc.filename if exc.filename is not None else where
        shown = _short_path(str(path)) if path is not None else "a file"
        reason, fix = _OS_ERRORS.get(exc.errno or -1, (None, None))
        if reason is None:
            reason = exc.strerror or type(exc).__name__
            fix = "Check the file and the folder it is in, then run again"
        return cls(shown, reason, fix or "")


def _short_path(path: str, limit: int = 120) -> str:
    """A path short enough for one terminal line (a 300-character name is the problem)."""
    return path if len(path) <= limit else f"{path[:60]}…{path[-40:]}"


def _os_errors() -> dict[int, tuple[str, str]]:
    import errno

    table = {
        errno.EACCES: ("permission denied", "Check that you may read (inputs) or write "
                       "(the --out folder) there, or choose another folder"),
        errno.EPERM: ("operation not permitted", "Check the file's permissions and owner, or "
                      "choose another folder"),
        errno.EROFS: ("the file system is read-only", "Choose a writable --out folder"),
        errno.ENOSPC: ("the disk is full", "Free some space (or choose an --out folder on "
                       "another disk) and run again; an earlier report was not changed"),
        errno.ENAMETOOLONG: ("the name is too long for the file system",
                             "Use a shorter file or folder name"),
        errno.ENOENT: ("no such file or folder", "Check the path and the file name"),
        errno.ENOTDIR: ("a part of this path is a file, not a folder", "Check the path"),
        errno.EISDIR: ("this is a folder, not a file", "Give the path of a file"),
        errno.EEXIST: ("something with this name is already there",
                       "Move it away or choose another name"),
        errno.EMFILE: ("too many files are open", "Close other programs or use fewer --jobs"),
        errno.EIO: ("the disk reported an input/output error", "Check the disk, then run "
                    "again"),
    }
    # not defined on every platform (Windows has neither)
    for name, entry in (("EDQUOT", ("your disk quota is used up", "Free some space and run "
                                    "again; an earlier report was not changed")),
                        ("ELOOP", ("too many symbolic links", "Give the real path, not a "
                                   "link"))):
        if hasattr(errno, name):
            table[getattr(errno, name)] = entry
    return table


_OS_ERRORS = _os_errors()


class InternalError(LcopiaError):
    """A bug in lcopia: one line for the terminal, the traceback in a log file, exit 3."""

    exit_code = 3

    def __init__(self, exc: BaseException, log: str) -> None:
        import traceback

        self.log = log
        self.traceback = "".join(traceback.format_exception(exc))
        first = str(exc).splitlines()[0] if str(exc) else ""
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        super().__init__(
            f"internal error ({_short_path(text, 200)}). This is a bug in lcopia, not in your "
            f"data; the details are in {log} — please attach that file when you report it")

    def log_text(self) -> str:
        """The traceback, for ``-v`` on the terminal."""
        return self.traceback.rstrip("\n")
