"""One call from a data folder to every result a notebook shows.

Notebooks stay thin by calling ``results(data_dir, as_of, run_dir)``: inside an assessment
run the runner has already written ``results.json`` into the run folder, so each notebook
reads the same numbers instead of recomputing them; run standalone (plain papermill), the
notebook computes them itself from the same inputs and gets the same answer.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lcopia.evidence import EvidenceReport, scan_manifest
from lcopia.load import load
from lcopia.models import Assessment, Bundle
from lcopia.scoring import assess
from lcopia.web import WebReport, audit_folder

RESULTS_FILE = "results.json"
_cache: dict[tuple[object, ...], Results] = {}


class Results(BaseModel):
    """Everything an assessment run found, as one serialisable object."""

    model_config = ConfigDict(extra="forbid")

    bundle: Bundle
    evidence: EvidenceReport | None = None
    web: WebReport | None = None
    assessment: Assessment


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out.append((str(path.relative_to(root)), st.st_mtime_ns, st.st_size))
    return tuple(out)


def compute(data_dir: Path | str, as_of: dt.date) -> Results:
    """Load, check the evidence, audit the web captures and score, in that order."""
    root = Path(data_dir)
    key = (str(root.resolve()), as_of, _fingerprint(root))
    if key in _cache:
        return _cache[key]
    bundle = load(root, as_of=as_of)
    evidence_dir = root / "evidence"
    evidence = (scan_manifest(evidence_dir, bundle, as_of)
                if (evidence_dir / "manifest.yaml").is_file() else None)
    web_dir = evidence_dir / "web"
    web = None
    if web_dir.is_dir() and any(web_dir.glob("*.har")):
        web = audit_folder(web_dir, first_party=bundle.inventory.library.website_domains or None)
    assessment = assess(bundle, as_of, evidence=evidence, web=web)
    result = Results(bundle=bundle, evidence=evidence, web=web, assessment=assessment)
    _cache[key] = result
    return result


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def results(data_dir: Path | str, as_of: dt.date | str, run_dir: Path | str | None = None
            ) -> Results:
    """The run's results: read from ``run_dir/results.json`` if there, else computed."""
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    if run_dir:
        stored = Path(run_dir) / RESULTS_FILE
        if stored.is_file():
            return Results.model_validate_json(stored.read_text(encoding="utf-8"))
    found = compute(data_dir, day)
    if run_dir:
        write_atomic(Path(run_dir) / RESULTS_FILE, found.model_dump_json(indent=1))
    return found
