"""One call from a data folder to every result a notebook shows.

Notebooks stay thin by calling ``results(data_dir, as_of, run_dir)``: inside an assessment
run the runner has already written ``results.json`` into the run folder, so each notebook
reads the same numbers instead of recomputing them; run standalone (plain papermill), the
notebook computes them itself from the same inputs and gets the same answer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lcopia.errors import UsageError
from lcopia.evidence import EvidenceReport, scan_manifest
from lcopia.fsio import write_atomic
from lcopia.load import load, parse_date
from lcopia.models import Assessment, Bundle
from lcopia.progress import ActionProgress, read_progress
from lcopia.project import DataDir, resolve_data_dir
from lcopia.scoring import assess
from lcopia.web import WebReport, audit_folder

RESULTS_FILE = "results.json"
_cache: dict[tuple[object, ...], Results] = {}
_stored: dict[tuple[object, ...], Results] = {}


class Results(BaseModel):
    """Everything an assessment run found, as one serialisable object."""

    model_config = ConfigDict(extra="forbid")

    bundle: Bundle
    evidence: EvidenceReport | None = None
    web: WebReport | None = None
    assessment: Assessment
    progress: list[ActionProgress] = Field(
        default=[], description="Action-plan progress recorded between assessments.")


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out.append((str(path.relative_to(root)), st.st_mtime_ns, st.st_size))
    return tuple(out)


def compute(data_dir: Path | str | DataDir, as_of: dt.date) -> Results:
    """Load, check the evidence, audit the web captures and score, in that order."""
    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    root = project.root
    key = (str(root.resolve()), as_of, _fingerprint(root))
    if key in _cache:
        return _cache[key]
    bundle = load(project, as_of=as_of)
    evidence = (scan_manifest(project.evidence, bundle, as_of)
                if project.evidence_manifest.is_file() else None)
    web = None
    if project.har_files():
        web = audit_folder(project.web_captures,
                           first_party=bundle.inventory.library.website_domains or None,
                           overlay=project.trackers_overlay,
                           systems=bundle.inventory.systems)
    assessment = assess(bundle, as_of, evidence=evidence, web=web)
    result = Results(bundle=bundle, evidence=evidence, web=web, assessment=assessment,
                     progress=read_progress(project))
    _cache[key] = result
    return result


def _project(data_dir: Path | str | DataDir | None) -> DataDir:
    return data_dir if isinstance(data_dir, DataDir) else resolve_data_dir(data_dir)


def assessment_date(as_of: dt.date | str | None, today: dt.date | None = None) -> dt.date:
    """A notebook's ``as_of``: a date, ``YYYY-MM-DD`` or ``M/D/YYYY``; empty means today.

    Only a standalone notebook leaves it empty; ``lcopia assess`` always passes the run's
    date, so a run's numbers never depend on the clock.
    """
    if isinstance(as_of, dt.date):
        return as_of
    text = "" if as_of is None else str(as_of).strip()
    if not text:
        return today or dt.date.today()
    day = parse_date(text)
    if day is None:
        raise UsageError(f"as_of must be a date written 2026-11-30 or 11/30/2026, got {text!r}")
    return day


def results(data_dir: Path | str | DataDir | None, as_of: dt.date | str | None,
            run_dir: Path | str | None = None) -> Results:
    """The run's results: read from ``run_dir/results.json`` if there, else computed.

    Notebook parameters arrive as strings. An empty ``data_dir`` means ``$LCOPIA_DATA`` or
    the project folder above the working directory (papermill runs the kernel in the
    caller's folder); an empty ``as_of`` means today; an empty ``run_dir`` means a standalone
    run, which computes and writes nothing. A stored results.json is parsed once per process
    while it is unchanged, so warm kernels running many notebooks of one run do not parse it
    again and again.
    """
    day = assessment_date(as_of)
    folder = Path(run_dir) if run_dir is not None and str(run_dir).strip() else None
    if folder is None:
        return compute(_project(data_dir), day)
    stored = folder / RESULTS_FILE
    if stored.is_file():
        st = stored.stat()
        key = (str(stored.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _stored:
            _stored.clear()
            _stored[key] = Results.model_validate_json(stored.read_text(encoding="utf-8"))
        return _stored[key]
    found = compute(_project(data_dir), day)
    write_atomic(stored, found.model_dump_json(indent=1))
    return found
