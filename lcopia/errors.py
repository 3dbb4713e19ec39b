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
