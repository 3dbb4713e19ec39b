"""What an evidence scan reports: per column, per file, per run, and the manifest's entries.

Every field is a count, a share, a column name, a kind or a shape-only mask: never a value
from a file (see :func:`lcopia.evidence.detectors.mask_example`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lcopia.evidence.detectors import DIRECT_KINDS
from lcopia.models import Result

#: What a file says it is. ``identified`` and ``identifying`` mean the same (the second is the
#: manifest's older word); ``pseudonymized`` files carry a key that links a person's rows.
Claims = Literal["identified", "identifying", "pseudonymized", "deidentified", "statistics"]
IssueKind = Literal["identifier_in_statistics", "reidentification", "small_cells",
                    "l_diversity", "retention_exceeded", "linkable_key"]


class ColumnScan(Result):
    name: str = Field(description="Column name from the file header (column_N without one).")
    kind: str
    by: Literal["name", "values", "both"]
    match_share: float = Field(description="Share of non-empty values matching the kind.")
    matches: int
    non_empty: int
    confidence: Literal["high", "medium", "low"]
    masked_example: str = Field(
        description="Shape-only mask; see lcopia.evidence.detectors.mask_example for why it cannot "
        "reconstruct a value.")
    embedded: list[str] = Field([], description="For free text: identifier kinds found inside.")
    header_kind: str | None = Field(
        None, description="The identifier kind the column's own name was (an e-mail address "
        "as a JSON key, a card number as a header cell); the name is replaced by column_N.")

    @property
    def identifying(self) -> bool:
        if self.header_kind in DIRECT_KINDS:
            return True
        return self.kind in DIRECT_KINDS and self.confidence in ("high", "medium") and (
            self.matches > 0)


class RetentionCheck(Result):
    date_column: str
    open_column: str | None
    retention_days: int
    cutoff: dt.date
    expired_rows: int
    open_rows_excluded: int
    unparsed_dates: int
    oldest_age_days: int | None = Field(
        description="Age in days of the oldest closed (not open) record.")


class EvidenceIssue(Result):
    kind: IssueKind
    hard: bool
    column: str | None = None
    count: int
    detail: str
    control_hint: str
    # what the risk register rates an evidence risk on (register helper)
    identifier_kinds: list[str] = Field(
        default_factory=list, description="Identifier kinds found in the file (direct ones "
        "and pseudonymous keys), sorted.")
    people: int | None = Field(None, description="People affected, counted by the file's "
                               "person key; None when the file has none.")
    rows: int | None = Field(None, description="Rows affected (always given; the measure "
                             "when there is no person key).")
    counted: Literal["people", "rows"] = "rows"
    claims: Claims | None = None
    recipient: str | None = Field(None, description="Who receives the file (the flow's "
                                  "recipient), filled in by a manifest scan.")


class FileScan(Result):
    file: str
    flow_id: str | None = None
    claims: Claims | None = None
    format: str
    sha256: str | None = Field(None, description="sha256 of the bytes actually scanned "
                               "(hashed while reading), for the run manifest.")
    encoding: str | None = None
    delimiter: str | None = None
    rows: int
    rows_skipped: int = 0
    header_missing: bool = False
    columns: list[ColumnScan]
    quasi_identifiers: list[str] = Field(default_factory=list)
    quasi_inferred: bool = False
    k: int
    k_min: int | None = None
    equivalence_classes: int | None = None
    unique_records: int | None = None
    records_below_k: int | None = None
    count_column: str | None = None
    small_cells: int | None = Field(None, description="Cells with 0 < count < k (masked).")
    cells: int | None = None
    person_key: str | None = Field(None, description="Column standing for one person (card "
                                   "number, patron id or pseudonymous key), if any.")
    person_key_kind: str | None = None
    people: int | None = Field(None, description="Distinct people (by the person key).")
    people_unique: int | None = Field(None, description="People alone in their group.")
    people_below_k: int | None = Field(None, description="People in groups of < k people.")
    people_k_min: int | None = Field(None, description="Fewest people sharing one group.")
    rows_tied: int | None = Field(None, description="Rows in groups of one person: rows "
                                  "that can be tied to that person.")
    people_below_l: int | None = None
    quasi_coarsened: list[str] = Field(default_factory=list, description="Quasi-identifier "
                                       "dates counted by time_grain, not as exact times.")
    time_grain: str | None = None
    recipient: str | None = None
    sensitive: str | None = None
    l_target: int | None = None
    l_diversity: int | None = None
    records_below_l: int | None = None
    retention: RetentionCheck | None = None
    notes: list[str] = Field(default_factory=list)
    issues: list[EvidenceIssue] = Field(default_factory=list)


class EvidenceReport(Result):
    as_of: dt.date
    files: list[FileScan]

    @property
    def hard_issues(self) -> list[EvidenceIssue]:
        return [i for f in self.files for i in f.issues if i.hard]


class ManifestEntry(BaseModel):
    """One export and what the library says it is (validated, unknown keys refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    flow_id: str
    claims: Claims
    description: str = ""
    quasi_identifiers: list[str] | None = None
    sensitive: str | None = None
    date_column: str | None = None
    open_column: str | None = None
    count_column: str | None = None
    retention_days: int | None = Field(None, ge=0)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exports: list[ManifestEntry]


# ----------------------------------------------------------------------------- defaults
