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

from lcopia.errors import UsageError
from lcopia.evidence import EvidenceReport, scan_manifest
from lcopia.load import load
from lcopia.models import Assessment, Bundle
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
    """The run's results: read from ``run_dir/results.json`` if there, else computed.

    Notebook parameters arrive as strings: ``as_of`` may be ``YYYY-MM-DD`` and an empty
    ``run_dir`` means a standalone run, which computes and writes nothing. A stored
    results.json is parsed once per process while it is unchanged, so warm kernels running
    many notebooks of one run do not parse it again and again.
    """
    try:
        day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise UsageError(f"as_of must be a date written YYYY-MM-DD, got {as_of!r}") from None
    folder = Path(run_dir) if run_dir is not None and str(run_dir).strip() else None
    if folder is None:
        return compute(data_dir, day)
    stored = folder / RESULTS_FILE
    if stored.is_file():
        st = stored.stat()
        key = (str(stored.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _stored:
            _stored.clear()
            _stored[key] = Results.model_validate_json(stored.read_text(encoding="utf-8"))
        return _stored[key]
    found = compute(data_dir, day)
    write_atomic(stored, found.model_dump_json(indent=1))
    return found
