"""The assessment's vocabulary as pydantic models: policy, taxonomy, inventory.

Everything the privacy officer edits is validated into these; everything downstream reads
only these. Field names match the YAML keys and CSV headers one for one.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base: unknown keys are errors (a misspelt key must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- policy


class Clause(Strict):
    id: str
    heading: str
    text: str = Field(description="Quoted verbatim from the approved policy text.")


class Statute(Strict):
    id: str
    citation: str
    title: str
    text: str = Field(description="Quoted from the statute.")
    source: str


class Tier(Strict):
    id: str  # T0..T4
    rank: int
    label: str
    definition: str


class Level(Strict):
    value: int
    label: str
    definition: str


class LikelihoodFactor(Strict):
    id: str
    label: str
    points: float
    question: str


class LikelihoodBand(Strict):
    level: int
    below: float | None = Field(
        None, description="Points strictly below this give this level; null for the last.")


class RiskBand(Strict):
    id: str
    label: str
    min: int
    max: int
    due_days: int = Field(description="Days from the assessment date to close a finding.")
    colour: str


ThemeNature = Literal["exposure", "paperwork", "governance"]


class Theme(Strict):
    """Controls whose gaps are one problem for patrons, and how the register rates it."""

    id: str
    nature: ThemeNature = Field(description="exposure: rated on the flows it touches, one "
                                "risk per system; paperwork and governance: one risk for the "
                                "library, at most the paperwork band (rubric S7).")
    controls: list[str]
    title: str = Field(description="Plain words; {systems} is replaced by the systems' names.")
    harm: str
    action: str = Field(description="One action; {systems} is replaced by the systems' names.")
    owner: str = ""
    factor: str | None = Field(None, description="The likelihood factor whose documented "
                               "presence (not 'unknown') is a documented failure (rubric L2).")
    from_facts: bool = Field(False, description="Also raised from the inventory's documented "
                             "facts when no control row reports them (facts beat answers).")
    joins: list[str] = Field([], description="Risk kinds (same system first) this theme's "
                              "gaps feed instead of a risk of their own (one problem).")


class WebClass(Strict):
    """What a web third party receives (rubric W2), its severity and likelihood."""

    id: str
    receives_any: list[str] = Field(description="Receives values that put a party here; "
                                    "empty = anything (the last class).")
    needs_any: list[str] = []
    severity: int
    likelihood: int
    label: str


class RegisterScales(Strict):
    """The register's calibration (rubric S, L, R, W, E); every number the register uses."""

    observed_likelihood: int = Field(4, description="L1: observed in an export, a capture or "
                                     "the disclosure register.")
    documented_failure_floor: int = Field(3, description="L2: floor for a documented failure.")
    after_fix_likelihood: int = Field(1, description="Planned likelihood of a risk whose "
                                      "action removes the cause (a tracker removed, a release "
                                      "reviewed, paperwork on file).")
    unbacked_max_band: str = Field("high", description="R2: a risk without a gate failure or "
                                   "observed evidence is rated at most this band.")
    paperwork_severity: int = 2
    paperwork_max_band: str = Field("moderate", description="S7: paperwork and governance "
                                    "gaps are rated at most this band.")
    unknown_severity: int = 2
    unknown_likelihood: int = 2
    exposure_rollup_below: str = Field("high", description="R1/R4: exposure risks of one "
                                       "theme below this band become one risk across systems.")
    children_words: list[str] = Field([], description="S5: words in a flow's purpose or "
                                      "recipient that show it is about or for children.")
    children_elements: list[str] = Field([], description="S5: elements only a child's record "
                                         "holds (e.g. a guardian's name).")
    linking_keys: list[str] = Field([], description="S6: elements that join records of one "
                                    "person across flows of one system.")
    paper_kinds: list[str] = Field([], description="L5: system kinds that are paper.")
    paper_secure_words: list[str] = Field([], description="L5: storage words that mean the "
                                          "paper is locked away.")
    derived_fixes: dict[str, str] = Field({}, description="Fact check → the likelihood factor "
                                          "its fix removes (so the planned score counts it).")
    web_classes: list[WebClass] = []
    small_cells_severity: int = 1
    themes: list[Theme] = []


class Scales(Strict):
    tiers: list[Tier]
    severity_modifiers: dict[str, int] = Field(
        description="Severity added for 'minors' and for 'linked_identity_activity' "
        "(direct identifiers and intellectual activity in one flow or store), capped at 4.")
    severity: list[Level]
    severity_by_tier: dict[str, int]
    likelihood: list[Level]
    likelihood_base: float
    likelihood_factors: list[LikelihoodFactor]
    likelihood_bands: list[LikelihoodBand]
    control_credit: dict[str, float] = Field(
        description="Likelihood points a mitigating control removes, by answer status.")
    risk_bands: list[RiskBand]
    statuses: list[str]
    gap_statuses: list[str] = Field(description="Statuses that count as a gap (unknown is one).")
    ala_priorities: list[str]
    niso_principles: list[str]
    evidence: dict[str, int | float] = Field(
        description="Evidence check defaults, e.g. k for k-anonymity.")
    risk_register: RegisterScales = RegisterScales()


AppliesTo = Literal["library", "system", "flow"]


class ControlWhen(Strict):
    """A control applies only where every given condition holds (fideslang-style match)."""

    external: bool | None = None
    holds_library_records: bool | None = None
    categories: list[str] | None = None
    kinds: list[str] | None = None
    elements_any: list[str] | None = None
    min_tier: str | None = None
    minors: bool | None = None
    is_library_record: bool | None = None


class Control(Strict):
    id: str
    title: str
    question: str
    applies_to: AppliesTo
    when: ControlWhen = ControlWhen()
    clauses: list[str] = []
    statutes: list[str] = []
    hard_gate: bool = False
    gate_rule: str | None = Field(
        None, description="Which compliance-gate rule a failure of this control breaks.")
    mitigates: list[str] = Field(
        [], description="Likelihood factors (ids from the scales) an implemented answer offsets; "
        "empty for governance controls that lower no exposure directly.")
    derived_from: str | None = Field(
        None, description="A fact check computed from the inventory instead of an answer "
        "(e.g. 'contract_binding'); such a control takes no row in answers.csv.")
    ala_priority: str
    niso: list[str]
    recommendation: str
    owner: str


class CounselQuestion(Strict):
    """A gap between the policy's wording and the statute, put as a question for counsel."""

    id: str
    title: str
    question: str
    why: str
    clauses: list[str] = []
    statutes: list[str] = []
    band: str = Field(description="Risk band label the Board should read this at.")
    recommendation: str
    owner: str
    evidence_from: str | None = Field(
        None, description="Inventory fact quoted as evidence: minors, disclosures or None.")


class Policy(Strict):
    id: str
    title: str
    library: str
    approved: dt.date
    version: str
    source_file: str
    contact: str
    clauses: list[Clause]
    statutes: list[Statute]
    controls: list[Control]
    scales: Scales
    gate_rules: dict[str, str] = Field(description="Gate rule id → plain-language statement.")
    roles: dict[str, str] = Field(
        {}, description="Role the code needs (lcopia.names.ROLES) → the library's clause or "
        "control id that plays it.")
    counsel_questions: list[CounselQuestion] = []


# --------------------------------------------------------------------------- taxonomy


class Category(Strict):
    id: str
    name: str
    clause: str
    policy_text: str = Field(description="The policy bullet, verbatim.")


class Element(Strict):
    id: str
    name: str
    tier: str
    description: str
    policy_text: str | None = Field(
        None, description="The policy detail this element comes from, verbatim, if any.")
    direct_identifier: bool = False
    intellectual_activity: bool = False
    detected_as: list[str] = Field(
        [], description="Identifier kinds the evidence checks report for this element; an "
        "export showing one adds the element to its flow.")


class Term(Strict):
    id: str
    label: str
    definition: str = ""


class Vocabularies(Strict):
    """The closed lists inventory cells must come from; editing them needs no code change."""

    system_kinds: list[Term]
    uses: list[Term]
    prohibited_uses: list[str] = Field(description="Uses that fail the gate on T2-T4 data.")
    directions: list[Term]
    requester_types: list[Term]
    instruments: list[Term]
    statute_instruments: list[str] = Field(
        description="Instruments that can satisfy RSMo 182.817.1 (with a finding, for orders).")
    court_orders: list[str] = Field(description="Instruments that are court orders.")
    court_findings: list[Term]
    qualifying_findings: list[str]
    decisions: list[Term]
    releasing_decisions: list[str]


class Taxonomy(Strict):
    categories: list[Category]
    elements: list[Element]
    vocabularies: Vocabularies


# --------------------------------------------------------------------------- inventory


class YesNo(StrEnum):
    yes = "yes"
    no = "no"
    unknown = "unknown"


class Library(Strict):
    name: str
    illustrative: bool
    location: str
    policy_id: str
    privacy_officer: str
    director: str
    counsel: str
    period_start: dt.date
    period_end: dt.date
    board_resolution_date: dt.date | None = None
    signed_privacy_officer: dt.date | None = None
    signed_director: dt.date | None = None
    residual_risks_accepted: bool = False
    website_domains: list[str] = []


class System(Strict):
    row: int = Field(0, exclude=True)
    system_id: str
    name: str
    vendor: str
    service: str
    kind: str
    external: bool
    holds_library_records: bool
    contract_ref: str = ""
    contract_binds_policy: YesNo
    contract_binds_missouri_law: YesNo
    uses: list[str]
    shares_with_third_parties: YesNo
    patron_accounts: bool
    privacy_policy_url: str = ""
    privacy_policy_reviewed: dt.date | None = None
    data_location: str = ""
    subprocessors: list[str] = []
    domains: list[str] = Field(
        [], description="Web hosts that belong to this system, to match browser captures.")
    owner: str
    notes: str = ""


class Flow(Strict):
    row: int = Field(0, exclude=True)
    flow_id: str
    system_id: str
    category: str
    elements: list[str]
    purpose: str
    direction: str
    recipient: str
    transfer: str
    storage: str
    retention_days: int | None = Field(description="None means kept indefinitely.")
    retention_need_days: int
    encrypted: YesNo
    broad_access: YesNo
    minors: bool
    patrons_affected: int
    is_library_record: bool
    rationale: str
    notes: str = ""


class Answer(Strict):
    row: int = Field(0, exclude=True)
    control_id: str
    scope: AppliesTo
    target_id: str
    status: str
    evidence: str = ""
    owner: str = ""
    review_date: dt.date | None = None
    comment: str = ""


class Disclosure(Strict):
    row: int = Field(0, exclude=True)
    request_id: str
    received: dt.date
    requester: str
    requester_type: str
    instrument: str
    court_finding: str
    categories: list[str]
    records_requested: str
    decision: str
    search_cost: float
    cost_billed: YesNo
    notes: str = ""


class Inventory(Strict):
    library: Library
    systems: list[System]
    flows: list[Flow]
    answers: list[Answer]
    disclosures: list[Disclosure]


class Bundle(Strict):
    """Everything loaded from one data folder, plus what was read, for provenance."""

    policy: Policy
    taxonomy: Taxonomy
    inventory: Inventory
    files: dict[str, str] = Field(description="Relative path → sha256 of every input file read.")
    warnings: list[str] = []


# --------------------------------------------------------------------------- results


FindingKind = Literal["control", "gate", "policy_gap", "disclosure", "evidence", "web"]


class Finding(BaseModel):
    """One thing the Board should know, traceable to a clause, a statute and the evidence.

    ``id`` is derived from what the finding is about (``CONTROL@target``), never from row
    order, so the same finding keeps its id from one year's run to the next.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: FindingKind
    title: str
    band: str = Field(description="Risk band label: Critical, High, Moderate or Low.")
    risk: int = Field(description="Residual risk score 1-16 of what the finding is about.")
    hard_gate: bool = False
    gate_rule: str | None = None
    control_id: str | None = None
    system_id: str | None = None
    flow_id: str | None = None
    subject: str = Field(description="Plain-language name of what is affected.")
    clauses: list[str] = []
    clause_quotes: list[str] = []
    statutes: list[str] = []
    evidence: str
    recommendation: str
    ala_priority: str | None = None
    owner: str
    due: dt.date | None = None
    risk_id: str | None = Field(
        None, description="The register risk this row feeds; none when it feeds no risk.")


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ControlResult(Result):
    """One control evaluated against one target (the library, a system or a flow)."""

    control_id: str
    scope: AppliesTo
    target_id: str
    status: str = Field(description="The answer's status; 'unknown' when nobody answered.")
    gap: bool
    answered: bool
    evidence: str = ""
    owner: str = ""


class FlowScore(Result):
    flow_id: str
    system_id: str
    category: str
    tier: str
    severity: int
    severity_reasons: list[str]
    factors: list[str] = Field(description="Exposure factors present (ids from the scales).")
    inherent_likelihood: int
    residual_likelihood: int
    planned_likelihood: int
    inherent_risk: int
    residual_risk: int
    planned_risk: int
    inherent_band: str
    residual_band: str
    planned_band: str


class SystemScore(Result):
    system_id: str
    name: str
    vendor: str
    kind: str
    flows: int
    tier: str
    inherent_risk: int
    residual_risk: int
    planned_risk: int
    residual_band: str
    residual_total: int = Field(description="Sum of the residual risk of the system's flows.")
    share: float = Field(description="Percent of the library's total residual risk.")
    rank: int
    controls_met: int
    controls_gap: int
    gate: Literal["PASS", "FAIL"]


class CategoryScore(Result):
    category: str
    name: str
    flows: int
    residual_total: int
    share: float
    rank: int


GateKind = Literal["statute", "policy", "practice"]


class GateViolation(Result):
    rule: str
    statement: str
    subject: str
    kind: GateKind | None = Field(
        None, description="statute (RSMo 182.817, for counsel), policy (the Board's policy) or "
        "practice (below the ALA/NISO standard the library adopted).")
    system_id: str | None = None
    flow_id: str | None = None
    control_id: str | None = None
    violating_attributes: dict[str, list[str]] = {}
    risk_id: str | None = Field(None, description="The register risk this violation is about.")


class Gate(Result):
    result: Literal["PASS", "FAIL"]
    violations: list[GateViolation]


class DisclosureReview(Result):
    request_id: str
    received: dt.date
    requester_type: str
    instrument: str
    decision: str
    meets_statute: bool
    meets_policy: bool
    reason: str
    search_cost: float
    cost_billed: str


class Risk(Result):
    """One problem for patrons, rated on its own facts: a row of the Board's risk register.

    ``id`` comes from what the risk is about (``R-<kind>-<slug>``), so it is stable from one
    year's run to the next; ``control_results`` names the control-level rows that feed it.
    """

    id: str
    kind: str = Field(description="disclosure, web_tracker, export_identifiers, retention, "
                      "staff_access, vendor_contract, due_diligence, not_yet_known, ...")
    title: str = Field(description="The harm in plain words: no ids, paths or column names.")
    harm: str = Field(description="What it means for patrons.")
    systems: list[str]
    flows: list[str]
    evidence: list[str] = Field(description="Plain facts behind the rating.")
    observed: bool = Field(description="Backed by observed evidence (export, capture, register).")
    gate_kind: GateKind | None = None
    severity: int
    severity_reasons: list[str]
    inherent_likelihood: int
    residual_likelihood: int
    planned_likelihood: int
    likelihood_reasons: list[str]
    inherent_risk: int
    residual_risk: int
    planned_risk: int
    inherent_band: str
    residual_band: str
    planned_band: str
    action: str
    owner: str
    due: dt.date | None
    ala_priority: str | None = None
    control_results: list[str] = Field(description="Ids of the control-level rows (Finding.id).")
    clauses: list[str] = []
    statutes: list[str] = []
    rank: int = Field(description="1 = highest residual risk.")


class ActionItem(Result):
    rank: int
    finding_ids: list[str]
    control_id: str | None
    subject: str
    action: str
    owner: str
    due: dt.date | None
    residual_risk: int
    planned_risk: int
    band: str
    ala_priority: str | None
    risk_id: str | None = Field(None, description="The register risk this action treats.")


class Assessment(Result):
    """The whole scored assessment; ``schema/assessment.schema.json`` describes its JSON."""

    schema_version: str
    as_of: dt.date
    library: str
    illustrative: bool
    policy_id: str
    policy_version: str
    inputs: dict[str, str]
    posture: str
    counts: dict[str, int]
    gate: Gate
    risks: list[Risk] = Field([], description="The Board's risk register, highest risk first.")
    flows: list[FlowScore]
    systems: list[SystemScore]
    categories: list[CategoryScore]
    controls: list[ControlResult]
    findings: list[Finding]
    actions: list[ActionItem]
    disclosures: list[DisclosureReview]

    def to_json(self) -> str:
        """Byte-stable JSON: same inputs and as_of give the same bytes."""
        return self.model_dump_json(indent=2)
