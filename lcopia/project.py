"""The one place that knows the layout of a project's data folder.

Every module that reads a project's files asks a :class:`DataDir` where they are, instead
of joining paths itself or guessing ``./data`` from the working directory. A ``DataDir`` is
passed down from the command line (``--data``) or the notebook's ``data_dir`` parameter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lcopia.errors import UsageError

POLICY_FILES = ("policy.yaml", "statutes.yaml", "controls.yaml", "scales.yaml",
                "counsel_questions.yaml")
TAXONOMY_FILES = ("categories.yaml", "elements.yaml", "vocabularies.yaml")
INVENTORY_TABLES = ("systems.csv", "flows.csv", "answers.csv", "disclosures.csv")
LIBRARY_FILE = "library.yaml"
EVIDENCE_MANIFEST = "manifest.yaml"
WEB_CAPTURE_GLOB = "*.har"
TRACKERS_FILE = "trackers.yaml"
PLAN_PROGRESS_FILE = "plan_progress.csv"


@dataclass(frozen=True)
class DataDir:
    """A project's data folder: policy/, taxonomy/, inventory/, evidence/ and web/."""

    root: Path

    def __init__(self, root: Path | str) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def policy(self) -> Path:
        return self.root / "policy"

    @property
    def taxonomy(self) -> Path:
        return self.root / "taxonomy"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def evidence_manifest(self) -> Path:
        return self.evidence / EVIDENCE_MANIFEST

    @property
    def web_captures(self) -> Path:
        """Browser captures (HAR) of the library's own pages."""
        return self.evidence / "web"

    @property
    def trackers_overlay(self) -> Path:
        """The project's own additions to the packaged tracker list (optional)."""
        return self.root / "web" / TRACKERS_FILE

    @property
    def plan_progress(self) -> Path:
        """Progress recorded on the action plan between assessments (optional; written by
        ``lcopia plan import``, read into the next run's plan)."""
        return self.inventory / PLAN_PROGRESS_FILE

    def rel(self, path: Path) -> str:
        """``path`` as the user sees it inside the project (``inventory/flows.csv``)."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.name

    def har_files(self) -> list[Path]:
        folder = self.web_captures
        return sorted(folder.glob(WEB_CAPTURE_GLOB)) if folder.is_dir() else []

    def input_files(self) -> list[Path]:
        """Every policy, taxonomy and inventory file an assessment reads, in a fixed order."""
        return ([self.policy / n for n in POLICY_FILES]
                + [self.taxonomy / n for n in TAXONOMY_FILES]
                + [self.inventory / LIBRARY_FILE]
                + [self.inventory / n for n in INVENTORY_TABLES])


ENV_VAR = "LCOPIA_DATA"


def is_project(folder: Path) -> bool:
    """A data folder is one holding ``inventory/library.yaml``."""
    return (folder / "inventory" / LIBRARY_FILE).is_file()


def find_project(start: Path) -> DataDir | None:
    """The nearest data folder at or above ``start``: the folder itself, or its ``data/``.

    Papermill runs a notebook's kernel in the caller's folder, so a notebook started from the
    repository root, from ``notebooks/`` or from a library's own project folder finds the same
    data without a path written into the template.
    """
    for folder in (start, *start.parents):
        for candidate in (folder, folder / "data"):
            if is_project(candidate):
                return DataDir(candidate)
    return None


def resolve_data_dir(given: str | Path | None, *, parameter: str = "data_dir",
                     env: Mapping[str, str] | None = None, cwd: Path | None = None) -> DataDir:
    """The data folder from, in order: ``given``, ``$LCOPIA_DATA``, the nearest project
    folder above the working directory. Raises ``UsageError`` naming where it looked."""
    env = os.environ if env is None else env
    here = Path.cwd() if cwd is None else cwd
    text = "" if given is None else str(given).strip()
    if text:
        folder = Path(text).expanduser()
        folder = folder if folder.is_absolute() else here / folder
        if not folder.is_dir():
            raise UsageError(f"{parameter} {text!r} is not a folder; give the folder that "
                             "holds policy/, taxonomy/ and inventory/, or leave it empty to "
                             f"use ${ENV_VAR} or the project folder above this one")
        return DataDir(folder)
    if env.get(ENV_VAR, "").strip():
        folder = Path(env[ENV_VAR].strip()).expanduser()
        if not folder.is_dir():
            raise UsageError(f"${ENV_VAR} is {env[ENV_VAR]!r}, which is not a folder; set it "
                             "to the folder that holds policy/, taxonomy/ and inventory/")
        return DataDir(folder)
    found = find_project(here)
    if found is None:
        raise UsageError(f"no data folder given and none found: set {parameter} (or "
                         f"${ENV_VAR}) to the folder that holds policy/, taxonomy/ and "
                         "inventory/, or run from inside a project made by 'lcopia init'")
    return found
