"""The evidence manifest: which export is which flow's, what it claims, and scanning it so.

Read with the shared strict YAML reader (:func:`lcopia.fsio.read_yaml`: no duplicate keys,
aliases or deep nesting) and validated into :class:`Manifest`; every file path must stay
inside the evidence folder.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import ValidationError

from lcopia.errors import InventoryError, Problem, did_you_mean
from lcopia.evidence.models import EvidenceReport, FileScan, Manifest
from lcopia.evidence.scan import (
    FALLBACK_DEFAULTS,
    IN_MEMORY_MAX_BYTES,
    ScanOptions,
    _MissingColumn,
    scan_file,
)
from lcopia.fsio import read_yaml
from lcopia.models import Bundle


def _safe_target(evidence_dir: Path, name: str, manifest: str, index: int) -> Path:
    """The entry's file inside evidence_dir, refusing `..`, absolute paths and escapes."""
    rel = Path(name)
    field = f"exports[{index}].file"
    if (not name.strip() or rel.is_absolute() or name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)):
        raise InventoryError([Problem(manifest, field, "a path relative to the evidence folder "
                                      "(absolute paths are refused)", value=name)])
    if ".." in rel.parts:
        raise InventoryError([Problem(manifest, field, "a path inside the evidence folder "
                                      "('..' is refused)", value=name)])
    base = evidence_dir.resolve()
    target = (evidence_dir / rel)
    resolved = target.resolve()
    if not resolved.is_relative_to(base):
        raise InventoryError([Problem(manifest, field, "a file inside the evidence folder (this "
                                      "one is a link that points outside it)", value=name)])
    probe = target
    while probe != evidence_dir and probe != probe.parent:
        if probe.is_symlink():
            raise InventoryError([Problem(manifest, field, "a plain file, not a symbolic link",
                                          value=name)])
        probe = probe.parent
    return target


def load_manifest(evidence_dir: Path) -> Manifest:
    """Read and validate evidence_dir/manifest.yaml into a Manifest."""
    path = evidence_dir / "manifest.yaml"
    label = str(path)
    if not path.is_file():
        raise InventoryError([Problem(label, None, "a manifest listing each export, its flow "
                                      "and what it claims to be (see data/evidence/README.md)")])
    raw = read_yaml(path, label)
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
            value = err.get("input")
            problems.append(Problem(label, loc.replace(".[", "["), err["msg"],
                                    value=value if isinstance(value, str) else None))
        raise InventoryError(problems) from None


def scan_manifest(evidence_dir: Path, bundle: Bundle, as_of: dt.date, *,
                  in_memory_max_bytes: int = IN_MEMORY_MAX_BYTES) -> EvidenceReport:
    """Scan every export the manifest lists, with the claims, columns and retention it gives.

    Retention comes from the entry, else from the flow's ``retention_days``; a flow kept
    indefinitely (blank retention) gets no retention check, and the report says so.
    """
    manifest = load_manifest(evidence_dir)
    label = str(evidence_dir / "manifest.yaml")
    flows = {f.flow_id: f for f in bundle.inventory.flows}
    problems = []
    for i, entry in enumerate(manifest.exports):
        if entry.flow_id not in flows:
            problems.append(Problem(label, f"exports[{i}].flow_id",
                                    "a flow_id from inventory/flows.csv", value=entry.flow_id,
                                    suggestion=did_you_mean(entry.flow_id, flows)))
    if problems:
        raise InventoryError(problems)
    ev = bundle.policy.scales.evidence
    k = int(ev.get("k_anonymity", FALLBACK_DEFAULTS["k_anonymity"]))
    l_target = int(ev.get("l_diversity", FALLBACK_DEFAULTS["l_diversity"]))
    sample_rows = int(ev.get("sample_rows", FALLBACK_DEFAULTS["sample_rows"]))
    files: list[FileScan] = []
    for i, entry in enumerate(manifest.exports):
        path = _safe_target(evidence_dir, entry.file, label, i)
        flow = flows[entry.flow_id]
        retention = entry.retention_days if entry.retention_days is not None else (
            flow.retention_days)
        note = None
        if entry.date_column and retention is None:
            note = (f"flow {flow.flow_id} keeps records indefinitely (no retention period), so "
                    "no retention check was made")
        try:
            scan = scan_file(path, ScanOptions(
                k=k, as_of=as_of, display=entry.file, claims=entry.claims,
                flow_id=entry.flow_id, quasi=entry.quasi_identifiers, l_target=l_target,
                sensitive=entry.sensitive,
                date_column=entry.date_column if retention is not None else None,
                open_column=entry.open_column, count_column=entry.count_column,
                retention_days=retention if entry.date_column else None,
                sample_rows=sample_rows, in_memory_max_bytes=in_memory_max_bytes,
                recipient=flow.recipient or None))
        except _MissingColumn as exc:
            field = {"quasi": "quasi_identifiers"}.get(exc.option, exc.option)
            raise InventoryError([Problem(
                label, f"exports[{i}].{field}", f"a column of {entry.file}", value=exc.name,
                suggestion=did_you_mean(exc.name, exc.columns))]) from None
        if note:
            scan.notes.append(note)
        files.append(scan)
    return EvidenceReport(as_of=as_of, files=files)


# ----------------------------------------------------------------------------- text
