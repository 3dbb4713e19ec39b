"""``lcopia init``: a new library's project folder, ready to fill in.

The folder gets the starter policy pack (the policy text, statutes, controls, scales and the
taxonomy, packaged with lcopia), a ``library.yaml`` whose placeholders ``validate`` insists on
replacing, empty inventory tables with their header rows, empty evidence folders and a
README saying what to do next. Nothing that already exists is overwritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from lcopia.errors import UsageError
from lcopia.fsio import write_atomic
from lcopia.load import CSV_MODELS, PLACEHOLDER
from lcopia.project import (
    INVENTORY_TABLES,
    LIBRARY_FILE,
    DataDir,
    is_project,
)

LIBRARY_TEMPLATE = """\
# Your library. Every value that starts with "{p}" must be replaced before `lcopia validate`
# passes. Dates are written 2026-01-31 or 1/31/2026.
name: "{p} your library's name"
illustrative: false
location: "{p} city and state"
policy_id: {policy_id}
privacy_officer: "{p} name and role of the privacy officer"
director: "{p} name of the director"
counsel: "{p} name of the library's counsel"
period_start: {start}
period_end: {end}
board_resolution_date: null
signed_privacy_officer: null
signed_director: null
residual_risks_accepted: false
# The library's own web hosts (website, catalog): first parties in browser captures.
website_domains: ["{p} www.your-library.org"]
"""

MANIFEST_TEMPLATE = """\
# Exports checked as evidence: one entry per file in exports/. See the README of this folder.
#   - file: exports/circulation_stats.csv
#     flow_id: FL-CIRC-STATS
#     claims: statistics
exports: []
"""

README_TEMPLATE = """\
# {name}: privacy impact assessment data

Made by `lcopia init`. lcopia reads this folder; run every command with `--data {folder}`
(or set `LCOPIA_DATA={folder}`, or run from inside this folder).

1. `inventory/library.yaml`: replace every value that starts with `{p}`.
2. `policy/`: the starter policy pack is the Library Center of the Ozarks' confidentiality
   policy, quoted verbatim. If your library has its own policy, put its text file in
   `policy/`, set `source_file` in `policy/policy.yaml`, and quote your clauses verbatim
   (lcopia checks every quote against the text). Keep the `roles:` names; put your own ids.
3. The inventory: `lcopia workbook export --data {folder}` writes `inventory.xlsx` with a sheet
   per table, help on every column and drop-down lists. Fill Systems and Flows, then
   `lcopia workbook import inventory.xlsx --data {folder}`. Export again: the Answers sheet
   then lists every question that applies to your systems and flows.
4. `lcopia validate --data {folder}` until it passes, then `lcopia assess --data {folder}`.

Evidence is optional: exports in `evidence/exports/` described in `evidence/manifest.yaml`,
and browser captures of your own website in `evidence/web/`.
"""


@dataclass
class InitResult:
    project: DataDir
    created: list[str]


def _copy_tree(src: Traversable, dest: Path, created: list[str], root: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for item in sorted(src.iterdir(), key=lambda t: t.name):
        if item.name.startswith((".", "__")):
            continue
        target = dest / item.name
        if item.is_dir():
            _copy_tree(item, target, created, root)
        elif not target.exists():
            target.write_bytes(item.read_bytes())
            created.append(target.relative_to(root).as_posix())


def starter_pack() -> Traversable:
    """The packaged policy pack and taxonomy (``policy/``, ``taxonomy/``)."""
    return resources.files("lcopia.starter")


def _policy_id(pack: Traversable) -> str:
    for line in (pack / "policy" / "policy.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("id:"):
            return line.split(":", 1)[1].strip()
    raise UsageError("the packaged policy pack has no policy id; reinstall lcopia")


def init_project(folder: Path, *, today: dt.date, sample: bool = False) -> InitResult:
    """Create ``folder`` as a new library's project; refuses a folder that already is one.

    ``sample`` copies the illustrative sample library instead (inventory, evidence and web
    captures included), to try every command before entering one's own data.
    """
    project = DataDir(folder)
    if is_project(folder):
        raise UsageError(f"{folder} already holds a project (inventory/{LIBRARY_FILE}); "
                         "lcopia init never overwrites one: choose a new folder")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder; choose a folder name")
    created: list[str] = []
    pack = starter_pack()
    for sub in ("policy", "taxonomy", *(("inventory", "evidence", "web") if sample else ())):
        if (pack / sub).is_dir():
            _copy_tree(pack / sub, folder / sub, created, folder)
    if sample:
        return InitResult(project=project, created=sorted(created))
    start = dt.date(today.year - 1, today.month, 1)  # a year's period to check and adjust
    files = {
        project.inventory / LIBRARY_FILE: LIBRARY_TEMPLATE.format(
            p=PLACEHOLDER, policy_id=_policy_id(pack), start=start.isoformat(),
            end=today.isoformat()),
        project.evidence_manifest: MANIFEST_TEMPLATE,
        folder / "README.md": README_TEMPLATE.format(name="Your library", folder=folder.name,
                                                     p=PLACEHOLDER),
    }
    for table in INVENTORY_TABLES:
        header = [n for n in CSV_MODELS[table].model_fields if n != "row"]
        files[project.inventory / table] = ",".join(header) + "\n"
    for path, text in files.items():
        if not path.exists():
            write_atomic(path, text)
            created.append(path.relative_to(folder).as_posix())
    for sub in (project.evidence / "exports", project.web_captures):
        sub.mkdir(parents=True, exist_ok=True)
    return InitResult(project=project, created=sorted(created))
