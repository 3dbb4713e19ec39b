"""The assessment's vocabulary as pydantic models: policy, taxonomy, inventory.

Everything the privacy officer edits is validated into these; everything downstream reads
only these. Field names match the YAML keys and CSV headers one for one.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lcopia import names


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
    factors: list[str] = Field([], description="Likelihood factors whose documented presence "
                               "(not 'unknown') is a documented failure (rubric L2).")
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


class EvidenceContent(Strict):
    """What an exported file showed, and the severity it sets (rubric S1-S5, E1-E4).

    The register takes the first rule whose ``needs`` all hold for the file, so the most
    harmful content comes first.
    """

    id: str
    needs: list[str] = Field(description="Facts that must all hold (lcopia.names."
                             "EVIDENCE_FACTS); empty = any file with a problem.")
    severity: int = Field(ge=1, le=4)
    kind: str = Field(description="The register kind of the risk this content makes.")
    found: str = Field(description="What the file does, in plain words after 'a file "
                       "... ': {kinds} is replaced by the identifiers found.")
    harm: str
    fix: str = Field(description="What the corrected file has instead ({k} = the k of "
                     "k-anonymity).")
    cites: list[str] = Field([], description="The rubric lines the rule follows, for the "
                             "reasons the spreadsheets show.")

    @field_validator("needs")
    @classmethod
    def _known_facts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in names.EVIDENCE_FACTS]
        if unknown:
            raise ValueError(f"unknown fact {unknown[0]!r}; known facts are "
                             + ", ".join(names.EVIDENCE_FACTS))
        return value


class EvidenceRecipient(Strict):
    """Who receives an exported file: how far what it shows can reach (rubric L1, G6, G8)."""

    id: str
    likelihood: int = Field(ge=1, le=4)
    sent: str = Field(description="After 'a file described as statistics ': how it went "
                      "({recipient} = the flow's recipient).")
    harm: str
    action: str = Field(description="One action: {file} (the flow's purpose), {recipient}, "
                        "{fix}.")


DEFAULT_EVIDENCE_CONTENT: list[dict[str, object]] = [
    {"id": "identified_activity", "cites": ["S1", "S6"],
     "needs": ["direct", "activity"], "severity": 4,
     "kind": "export_identifiers",
     "found": "ties patrons' identifiers ({kinds}) to what they read",
     "harm": "It shows what identified patrons read or looked up, the record the statute "
     "protects.", "fix": "no patron identifiers in it"},
    {"id": "regulated", "cites": ["S2"],
     "needs": ["regulated"], "severity": 3, "kind": "export_identifiers",
     "found": "carries patrons' regulated identifiers ({kinds})",
     "harm": "Regulated identifiers open the door to identity theft and a breach notice.",
     "fix": "no patron identifiers in it"},
    {"id": "linkable_activity", "cites": ["S2", "E2"],
     "needs": ["linkable", "activity"], "severity": 3,
     "kind": "export_identifiers", "found": "links each patron's reading by a code",
     "harm": "A code repeated on every row joins each patron's reading into one history; "
     "one known loan is enough to name the rest.",
     "fix": "no patron code, or one that changes with every export"},
    {"id": "singled_out_activity", "cites": ["S2", "E1"],
     "needs": ["singled_out", "activity"], "severity": 3,
     "kind": "export_reidentification",
     "found": "lets patrons be picked out, with what they read",
     "harm": "Patrons who are alone in their group can be recognized by someone who knows "
     "their age, place or dates, and then what they read is known.",
     "fix": "coarser ages, places and dates, so each group has at least {k} patrons"},
    {"id": "direct", "cites": ["S3"],
     "needs": ["direct"], "severity": 2, "kind": "export_identifiers",
     "found": "carries patrons' identifiers ({kinds})",
     "harm": "It identifies patrons in a file shared as if it identified no one.",
     "fix": "no patron identifiers in it"},
    {"id": "linkable", "cites": ["E2"],
     "needs": ["linkable"], "severity": 2, "kind": "export_identifiers",
     "found": "links each patron's rows by a code",
     "harm": "A code repeated on every row joins each patron's records; the file is "
     "pseudonymized, not anonymous.",
     "fix": "no patron code, or one that changes with every export"},
    {"id": "group_revealed", "cites": ["E1"],
     "needs": ["group_revealed"], "severity": 2,
     "kind": "export_reidentification", "found": "reveals what whole groups of patrons read",
     "harm": "When everyone in a group read the same kind of thing, knowing someone is in "
     "the group tells what they read.",
     "fix": "groups that each show several different values"},
    {"id": "singled_out", "cites": ["S4", "E1"],
     "needs": ["singled_out"], "severity": 1,
     "kind": "export_reidentification", "found": "lets patrons be picked out",
     "harm": "Patrons who are alone in their group can be recognized by someone who knows "
     "their age, place or dates.",
     "fix": "coarser ages, places and dates, so each group has at least {k} patrons"},
    {"id": "small_cells", "cites": ["E4"],
     "needs": ["small_cells"], "severity": 1, "kind": "small_cells",
     "found": "shows counts small enough to point to a patron",
     "harm": "A count of one or two people in a small group can point to a person.",
     "fix": "counts below {k} suppressed or merged"},
    {"id": "quasi", "cites": ["S4"],
     "needs": [], "severity": 1, "kind": "export_reidentification",
     "found": "shows details that may single patrons out",
     "harm": "Details that are harmless alone can single a person out together.",
     "fix": "coarser details"},
]
DEFAULT_EVIDENCE_RECIPIENTS: list[dict[str, object]] = [
    {"id": "public", "likelihood": 4, "sent": "and published",
     "harm": "Anyone can read a published file, copy it and keep it.",
     "action": "Take down the {file} file, publish a corrected one with {fix}, and check "
     "every export before it is published"},
    {"id": "third_party", "likelihood": 4, "sent": "and sent to {recipient}",
     "harm": "It left the library for a party the library does not control and no "
     "contract binds to its policy.",
     "action": "Ask {recipient} to delete the {file} file, send a corrected one with {fix}, "
     "and check every export before it leaves"},
    {"id": "vendor", "likelihood": 3, "sent": "and held by {recipient} under contract",
     "harm": "A vendor bound by contract to the policy holds it: the contract limits the "
     "exposure but does not remove it.",
     "action": "Ask {recipient} to delete the {file} file and send it only what the "
     "service needs, with {fix}"},
    {"id": "internal", "likelihood": 2, "sent": "and kept inside the library",
     "harm": "It stays inside the library, but a file described as identifying no one is "
     "handled without the care identified records need.",
     "action": "Replace the {file} file with a corrected one, with {fix}, and delete the "
     "copy"},
]


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
    evidence_content: list[EvidenceContent] = Field(
        default_factory=lambda: [EvidenceContent(**c) for c in DEFAULT_EVIDENCE_CONTENT],
        description="S1-S5, E1-E4: what an exported file showed sets the severity of its "
        "risk; the first rule whose facts all hold wins.")
    evidence_recipients: list[EvidenceRecipient] = Field(
        default_factory=lambda: [EvidenceRecipient(**r) for r in DEFAULT_EVIDENCE_RECIPIENTS],
        description="L1: who receives an exported file sets the likelihood of its risk, "
        "one entry per lcopia.names.EVIDENCE_RECIPIENTS.")
    public_recipient_words: list[str] = Field(
        [], description="Phrases in a flow's recipient that mean the file is published.")
    activity_words: list[str] = Field(
        [], description="S1: words in an export's column names that show what a patron "
        "read, searched or attended (titles, subjects).")
    activity_kinds: list[str] = Field(
        [], description="S1: evidence kinds that stand for an item read (item barcodes).")
    linkable_key_kinds: list[str] = Field(
        ["pseudonymous_key"], description="E2: evidence kinds that link one person's rows "
        "without naming them.")
    evidence_few_affected: int = Field(
        10, ge=1, description="E1: a re-identification problem affecting fewer people (or "
        "rows, without a person key) than this is one likelihood level lower; identifiers "
        "seen in a file are certain whatever their number (L1).")
    evidence_lines: int = Field(25, description="Facts listed per risk; the rest are counted "
                                "(every control result stays in findings.csv).")
    themes: list[Theme] = []

    @model_validator(mode="after")
    def _every_recipient(self) -> RegisterScales:
        ids = [r.id for r in self.evidence_recipients]
        for rid in ids:
            if rid not in names.EVIDENCE_RECIPIENTS:
                raise ValueError(f"evidence_recipients: unknown recipient {rid!r}; lcopia "
                                 "knows " + ", ".join(names.EVIDENCE_RECIPIENTS))
        missing = [r for r in names.EVIDENCE_RECIPIENTS if r not in ids]
        if missing:
            raise ValueError(f"evidence_recipients: needs an entry for {missing[0]!r}")
        if not self.evidence_content:
            raise ValueError("evidence_content: needs at least one rule (the last with "
                             "needs: [] catches every file)")
        return self


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
    tracker: bool | None = Field(
        None, description="The system is a tracker the library never contracted (a tracker "
        "kind, or found only in browser captures, with no contract on file): vendor "
        "checklists use tracker: false, since a tracker is a decision, not a vendor (W1).")
    data_outside_us: bool | None = Field(
        None, description="The system's data_location names a place outside the United "
        "States (international transfer); see outside_us().")


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
    sources: list[str] = Field(
        [], description="Other sources in words: the ALA checklist and item, a rule.")
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
        None, description="Inventory fact quoted as evidence: minors, disclosures, "
        "federal_process, emergency, consent_form, collections, categories, retention, "
        "or None.")
    sources: list[str] = Field(
        [], description="Other authorities the question rests on (ALA checklist, NISO "
        "principle, rule), in words.")


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


StatuteScope = Literal["library_user_records", "unclear", "not_library_user"]


class Category(Strict):
    """A kind of record. The policy's seven are ``named_in_policy``; its list "include[s] but
    [is] not limited to" them, so an inventory may add more (security video, staff records)."""

    id: str
    name: str
    clause: str
    policy_text: str | None = Field(
        None, description="The policy bullet, verbatim; null for a category the policy's "
        "list does not name.")
    named_in_policy: bool = Field(
        True, description="One of the seven bullets of the policy (control POL-03 needs a "
        "flow for each).")
    statute_scope: StatuteScope = Field(
        "library_user_records", description="Whether RSMo 182.815(5) clearly covers these "
        "records: library_user_records (they identify library users or what they used), "
        "unclear (the policy protects them; whether the statute does is for counsel: donors, "
        "events, security video), not_library_user (staff and volunteer records). A release "
        "is assessed under 182.817 only for library_user_records (rubric G5).")


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
    tracker_kinds: list[str] = Field(
        [], description="System kinds that are web trackers: without a contract on file "
        "they are a practice finding (below the ALA/NISO standard), not a vendor-contract one.")
    uses: list[Term]
    prohibited_uses: list[str] = Field(
        description="Uses below the ALA/NISO standard on T2-T4 data (practice findings).")
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
    federal_process: list[str] = Field(
        [], description="Instruments of federal process (federal warrant, grand-jury "
        "subpoena, national security letter, FISA order): routed to counsel, not judged "
        "under RSMo 182.817 alone (rubric G4).")
    emergency_instruments: list[str] = Field(
        [], description="Emergency or exigent requests: the statute has no emergency "
        "exception, so a release is a statute finding and a counsel question (C5).")
    consenters: list[Term] = Field(
        [], description="Who signed a written request (disclosures.csv consent_by).")
    valid_consenters: list[str] = Field(
        ["person_identified"], description="Signatories whose written request meets "
        "182.817.1(1): the person identified in the record (rubric G2).")
    counsel_reviews: list[Term] = Field(
        [], description="Counsel's part in a request (disclosures.csv counsel_review).")
    on_counsel_advice: list[str] = Field(
        [], description="counsel_review values meaning the release was made on counsel's "
        "advice: recorded, not condemned (rubric G4).")


class Taxonomy(Strict):
    categories: list[Category]
    elements: list[Element]
    vocabularies: Vocabularies


# --------------------------------------------------------------------------- inventory


RetentionNeed = Literal["indefinitely", "while_opted_in"]


def outside_us(location: str) -> bool:
    """True when a data_location names anywhere besides the United States.

    "United States (vendor data center, Kansas City region)" is domestic; "United States and
    Canada" or "United States and other countries" is an international transfer. Blank is
    unknown (False here; POL-52's question asks it)."""
    text = location.lower()
    if not text.strip():
        return False
    for domestic in ("united states of america", "united states", "usa", "u.s.a.", "u.s.",
                     "missouri", "kansas city"):
        text = text.replace(domestic, " ")
    text = text.split("(")[0]  # a parenthesis qualifies the place, e.g. "(vendor cloud)"
    words = [w for w in re.split(r"[^a-z]+", text) if w and w not in {"and", "only", "us"}]
    return bool(words)


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
    board_meetings: list[dt.date] = Field(
        [], description="Dates of the Board's regular meetings, for action due dates.")


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
    retention_need_days: int | RetentionNeed = Field(
        description="Days the purpose needs the records, or 'indefinitely' (aggregate "
        "statistics kept for good) or 'while_opted_in' (kept only while the patron opts in, "
        "e.g. reading history; whether it really is opt-in is control POL-19's question).")
    encrypted: YesNo
    broad_access: YesNo
    minors: bool
    patrons_affected: int
    is_library_record: bool
    rationale: str
    notes: str = ""
    audience: Literal["children", "general"] | None = Field(
        None, description="Whom the flow is about or directed to: 'children' (a children's "
        "program roster, minors' consent forms) raises severity for minors (rubric S5); "
        "'general' does not, even if minors may appear; blank lets lcopia judge from the "
        "purpose.")

    @field_validator("audience", mode="before")
    @classmethod
    def _blank_audience(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def need_label(self) -> str:
        """The need in words: '30 days', 'indefinitely', 'while the patron opts in'."""
        need = self.retention_need_days
        if isinstance(need, int):
            return f"{need} days"
        return "while the patron opts in" if need == "while_opted_in" else "indefinitely"

    def exceeds_need(self) -> bool:
        """Kept longer than the purpose needs (kept indefinitely counts, unless the need is
        indefinite or tied to the patron's opt-in)."""
        need = self.retention_need_days
        if not isinstance(need, int):
            return False
        return self.retention_days is None or self.retention_days > need


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
    consent_by: str = Field(
        "", description="Who signed a written request (vocabulary consenters); blank = "
        "not recorded.")
    nondisclosure_order: YesNo = Field(
        YesNo.no, description="The request came with a non-disclosure (gag) order.")
    counsel_review: str = Field(
        "", description="Counsel's part (vocabulary counsel_reviews): none, "
        "counsel_reviewed, released_on_counsel_advice; blank = not recorded.")
    categories_released: list[str] = Field(
        [], description="Record categories actually released; blank = those asked for.")

    @property
    def released_categories(self) -> list[str]:
        return list(self.categories_released or self.categories)


class Inventory(Strict):
    library: Library
    systems: list[System]
    flows: list[Flow]
    answers: list[Answer]
    disclosures: list[Disclosure]


def library_record_signals(flows: list[Flow], elements: list[Element]) -> dict[str, list[str]]:
    """What each system's flows show that only library records carry (rubric G8).

    Search terms, titles and other intellectual activity, card numbers, device ids and other
    direct identifiers of a user, or a flow itself marked a library record. A system labeled
    ``holds_library_records = no`` with any of these is judged on the facts."""
    activity = {e.id for e in elements if e.intellectual_activity}
    direct = {e.id for e in elements if e.direct_identifier}
    out: dict[str, set[str]] = {}
    for f in flows:
        shown = {e for e in f.elements if e in activity or e in direct}
        if f.is_library_record:
            shown.add(f"{f.flow_id} marked a library record")
        if shown:
            out.setdefault(f.system_id, set()).update(shown)
    return {k: sorted(v) for k, v in sorted(out.items())}


def holds_records_contradictions(inventory: Inventory, taxonomy: Taxonomy) -> list[str]:
    """Warnings for systems marked as holding no library records whose flows say otherwise."""
    signals = library_record_signals(inventory.flows, taxonomy.elements)
    out = []
    for s in inventory.systems:
        if not s.holds_library_records and s.system_id in signals:
            out.append(
                f"systems.csv row {s.row}: {s.system_id} is marked holds_library_records = no, "
                f"but its flows carry {', '.join(signals[s.system_id])}; the assessment judges "
                "the facts (vendor-contract rule and controls apply). Correct the label or the "
                "flows.")
    return out


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
        None, description="Whose standard (the gate always sets it): statute (a disclosure "
        "that appears to fall outside RSMo 182.817.1; counsel to review), policy (the Board's "
        "policy: a contracted third party not bound to it and Missouri law, or a release of "
        "records the policy protects), practice (below the ALA/NISO standard the library "
        "adopted).")
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
    released: bool = False
    handled_correctly: bool = Field(
        False, description="The library's handling met the statute (rubric G3): nothing was "
        "released (refused, pending, referred to counsel), or the release was on a route "
        "182.817.1 allows, or on counsel's advice (recorded, not condemned).")
    gate_kind: GateKind | None = Field(
        None, description="The gate finding this request raised, if any.")
    counsel_review: str = ""
    handling: str = Field("", description="What the library did, in one plain sentence.")


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
