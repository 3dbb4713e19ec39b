"""The one place that knows the layout of a project's data folder.

Every module that reads a project's files asks a :class:`DataDir` where they are, instead
of joining paths itself or guessing ``./data`` from the working directory. A ``DataDir`` is
passed down from the command line (``--data``) or the notebook's ``data_dir`` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

POLICY_FILES = ("policy.yaml", "statutes.yaml", "controls.yaml", "scales.yaml",
                "counsel_questions.yaml")
TAXONOMY_FILES = ("categories.yaml", "elements.yaml", "vocabularies.yaml")
INVENTORY_TABLES = ("systems.csv", "flows.csv", "answers.csv", "disclosures.csv")
LIBRARY_FILE = "library.yaml"
EVIDENCE_MANIFEST = "manifest.yaml"
WEB_CAPTURE_GLOB = "*.har"
TRACKERS_FILE = "trackers.yaml"


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
