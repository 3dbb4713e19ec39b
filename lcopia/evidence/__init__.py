"""Evidence checks on real exports: what actually leaves the library, not what is promised.

The flow, one module a step:

- :mod:`~lcopia.evidence.tables` reads CSV/TSV/XLSX/Parquet/JSON lines as string columns;
- :mod:`~lcopia.evidence.detectors` classifies each column (one rule record per kind);
- :mod:`~lcopia.evidence.kanon` counts equivalence classes (k-anonymity, l-diversity);
- :mod:`~lcopia.evidence.scan` runs a file through them (:class:`ScanOptions`);
- :mod:`~lcopia.evidence.manifest` scans what ``evidence/manifest.yaml`` lists;
- :mod:`~lcopia.evidence.text` writes the report for a reader.

The names below are the package's public surface, kept importable as ``lcopia.evidence.X``.
"""

from __future__ import annotations

from lcopia.evidence.dates import iso_days as _iso_days
from lcopia.evidence.dates import parse_dates as _parse_dates
from lcopia.evidence.dates import parse_dates_text as _parse_dates_text
from lcopia.evidence.detectors import DIRECT_KINDS, QUASI_KINDS, BarcodeConfig
from lcopia.evidence.kanon import class_sizes
from lcopia.evidence.manifest import load_manifest, scan_manifest
from lcopia.evidence.models import (
    Claims,
    ColumnScan,
    EvidenceIssue,
    EvidenceReport,
    FileScan,
    IssueKind,
    Manifest,
    ManifestEntry,
    RetentionCheck,
)
from lcopia.evidence.scan import (
    CHUNK_ROWS,
    CONTROL_RETENTION,
    CONTROL_STATISTICS,
    FALLBACK_DEFAULTS,
    IN_MEMORY_MAX_BYTES,
    SAMPLE_WINDOW_ROWS,
    ScanOptions,
    evidence_defaults,
    scan_file,
    scan_files,
)
from lcopia.evidence.text import evidence_text

#: The name callers used before the split; new code says :func:`evidence_text`.
render_text = evidence_text

__all__ = [
    "CHUNK_ROWS", "CONTROL_RETENTION", "CONTROL_STATISTICS", "DIRECT_KINDS",
    "FALLBACK_DEFAULTS", "IN_MEMORY_MAX_BYTES", "QUASI_KINDS", "SAMPLE_WINDOW_ROWS",
    "BarcodeConfig", "Claims", "ColumnScan", "EvidenceIssue", "EvidenceReport", "FileScan",
    "IssueKind", "Manifest", "ManifestEntry", "RetentionCheck", "ScanOptions", "_iso_days",
    "_parse_dates", "_parse_dates_text", "class_sizes", "evidence_defaults", "evidence_text",
    "load_manifest", "render_text", "scan_file", "scan_files", "scan_manifest",
]
