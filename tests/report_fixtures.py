"""A small, hand-built assessment of a two-system library, for the report and chart tests.

Built directly from the models (not through scoring) so the report tests can choose names,
risks and findings: a hosted catalog (ILS) and an events calendar, one policy gap for
counsel, two disclosure requests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lcopia import fsio
from lcopia import models as m

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 30)


def scales() -> m.Scales:
    return m.Scales.model_validate(fsio.read_yaml(ROOT / "data/policy/scales.yaml",
                                                  "policy/scales.yaml"))


def policy() -> m.Policy:
    return m.Policy(
        id="lco-confidentiality", title="Confidentiality of Library Records & Third-Party "
        "Partners", library="Library Center of the Ozarks", approved=dt.date(2024, 1, 16),
        version="2024-01-16", source_file="policy.txt", contact="Info@lcozarks.com",
        clauses=[
            m.Clause(id="C-DISCLOSE", heading="Scope", text="No employee or agent of the "
                     "Library ... shall release or disclose a Library record ... except "
                     "pursuant to federal, state, or local law where a proper showing of good "
                     "cause has been made in a court of competent jurisdiction."),
            m.Clause(id="C-THIRD", heading="Third Party Partners", text="Any third party "
                     "partners ... will be bound by this Confidentiality of Library Records "
                     "and Third Party Partners Privacy Policy as well as by the laws of "
                     "Missouri"),
            m.Clause(id="C-LIST", heading="Third Party Partners", text="For questions, "
                     "concerns, or to obtain a list of the privacy policies for all currently "
                     "contracted third party vendors with access to Library records please "
                     "contact: Info@lcozarks.com"),
        ],
        statutes=[m.Statute(
            id="RSMo-182.817", citation="RSMo 182.817.1(2)", title="Disclosure of records",
            text="Pursuant to an order issued by a court of competent jurisdiction upon a "
            "finding that the disclosure of such record is necessary to protect the public "
            "safety or to prosecute a crime.", source="revisor.mo.gov")],
        controls=[
            m.Control(id="POL-12", title="Vendor contract binds the policy and Missouri law",
                      question="Does the contract bind the vendor?", applies_to="system",
                      clauses=["C-THIRD"], statutes=["RSMo-182.817"], hard_gate=True,
                      gate_rule="vendor_unbound", ala_priority="P1",
                      niso=["Sharing Data with Others"],
                      recommendation="Add the confidentiality clause at renewal.",
                      owner="Director"),
            m.Control(id="POL-23", title="Circulation history unlinked on return",
                      question="Is the link broken on return?", applies_to="flow",
                      clauses=["C-DISCLOSE"], ala_priority="P1",
                      niso=["Data Collection and Use"],
                      recommendation="Turn on anonymization of returned loans.",
                      owner="Systems librarian"),
        ],
        scales=scales(),
        gate_rules={"vendor_unbound": "Every vendor holding library records is bound by "
                    "contract to the policy and Missouri law."},
    )


def taxonomy() -> m.Taxonomy:
    t = m.Term
    return m.Taxonomy(
        categories=[
            m.Category(id="circulation", name="Circulation", clause="C-DISCLOSE",
                       policy_text="Circulation records from the Library;"),
            m.Category(id="registration", name="Card registration", clause="C-DISCLOSE",
                       policy_text="Library card registration records;"),
            m.Category(id="events", name="Events", clause="C-DISCLOSE",
                       policy_text="Event registration and attendance records;"),
        ],
        elements=[
            m.Element(id="titles_borrowed", name="Titles borrowed", tier="T4",
                      description="x", intellectual_activity=True),
            m.Element(id="card_number", name="Card number", tier="T2", description="x",
                      direct_identifier=True),
            m.Element(id="email", name="Email", tier="T2", description="x",
                      direct_identifier=True),
        ],
        vocabularies=m.Vocabularies(
            system_kinds=[t(id="ils", label="Integrated library system"),
                          t(id="events", label="Event calendar")],
            uses=[t(id="provide.service", label="Provide the service")],
            prohibited_uses=["marketing.advertising"],
            directions=[t(id="stored", label="Stored")],
            requester_types=[t(id="law_enforcement", label="Law enforcement"),
                             t(id="parent", label="Parent or guardian")],
            instruments=[t(id="court_order", label="Court order"),
                         t(id="informal", label="Informal request")],
            statute_instruments=["court_order"], court_orders=["court_order"],
            court_findings=[t(id="public_safety", label="Public safety"),
                            t(id="none", label="None")],
            qualifying_findings=["public_safety"],
            decisions=[t(id="released", label="Released"), t(id="refused", label="Refused")],
            releasing_decisions=["released"]),
    )


def _system(system_id: str, name: str, vendor: str, kind: str, url: str,
            reviewed: dt.date | None) -> m.System:
    return m.System(
        system_id=system_id, name=name, vendor=vendor, service=f"{name} service", kind=kind,
        external=True, holds_library_records=True, contract_binds_policy=m.YesNo.no,
        contract_binds_missouri_law=m.YesNo.unknown, uses=["provide.service"],
        shares_with_third_parties=m.YesNo.unknown, patron_accounts=True,
        privacy_policy_url=url, privacy_policy_reviewed=reviewed, data_location="US",
        owner="Systems librarian")


def bundle(ils_name: str = "Ozark Catalog", events_name: str = "Events Calendar",
           events_url: str = "https://events.example/privacy") -> m.Bundle:
    lib = m.Library(
        name="Library Center of the Ozarks", illustrative=True, location="Missouri",
        policy_id="lco-confidentiality", privacy_officer="Pat Example", director="Dana Example",
        counsel="County counsel", period_start=dt.date(2025, 12, 1),
        period_end=dt.date(2026, 11, 30))
    systems = [
        _system("ils", ils_name, "Example ILS Co.", "ils", "https://ils.example/privacy",
                dt.date(2026, 3, 1)),
        _system("events", events_name, "Calendar Vendor Inc.", "events", events_url, None),
    ]
    flows = [
        m.Flow(flow_id="F-circ", system_id="ils", category="circulation",
               elements=["card_number", "titles_borrowed"], purpose="Lending",
               direction="stored", recipient="vendor", transfer="https", storage="cloud",
               retention_days=None, retention_need_days=30, encrypted=m.YesNo.yes,
               broad_access=m.YesNo.unknown, minors=False, patrons_affected=12000,
               is_library_record=True, rationale="Loans"),
        m.Flow(flow_id="F-events", system_id="events", category="events",
               elements=["email"], purpose="Registration", direction="stored",
               recipient="vendor", transfer="https", storage="cloud", retention_days=365,
               retention_need_days=60, encrypted=m.YesNo.yes, broad_access=m.YesNo.no,
               minors=True, patrons_affected=800, is_library_record=True,
               rationale="Attendance"),
    ]
    inv = m.Inventory(library=lib, systems=systems, flows=flows, answers=[], disclosures=[])
    return m.Bundle(policy=policy(), taxonomy=taxonomy(), inventory=inv,
                    files={"inventory/systems.csv": "ab" * 32, "policy/scales.yaml": "cd" * 32})


def assessment(b: m.Bundle, owner: str = "Systems librarian",
               finding_title: str = "Circulation history kept indefinitely") -> m.Assessment:
    names = {s.system_id: s.name for s in b.inventory.systems}
    flows = [
        m.FlowScore(flow_id="F-circ", system_id="ils", category="circulation", tier="T4",
                    severity=4, severity_reasons=["T4", "linked"], factors=["leaves_library"],
                    inherent_likelihood=4, residual_likelihood=3, planned_likelihood=1,
                    inherent_risk=16, residual_risk=12, planned_risk=4,
                    inherent_band="Critical", residual_band="Critical",
                    planned_band="Moderate"),
        m.FlowScore(flow_id="F-events", system_id="events", category="events", tier="T2",
                    severity=3, severity_reasons=["T2", "minors"], factors=["leaves_library"],
                    inherent_likelihood=3, residual_likelihood=3, planned_likelihood=2,
                    inherent_risk=9, residual_risk=9, planned_risk=6, inherent_band="High",
                    residual_band="High", planned_band="Moderate"),
    ]
    systems = [
        m.SystemScore(system_id="ils", name=names["ils"], vendor="Example ILS Co.", kind="ils",
                      flows=1, tier="T4", inherent_risk=16, residual_risk=12, planned_risk=4,
                      residual_band="Critical", residual_total=12, share=57.1, rank=1,
                      controls_met=3, controls_gap=2, gate="FAIL"),
        m.SystemScore(system_id="events", name=names["events"], vendor="Calendar Vendor Inc.",
                      kind="events", flows=1, tier="T2", inherent_risk=9, residual_risk=9,
                      planned_risk=6, residual_band="High", residual_total=9, share=42.9,
                      rank=2, controls_met=4, controls_gap=1, gate="PASS"),
    ]
    findings = [
        m.Finding(id="POL-12@ils", kind="gate", title="Vendor not bound by contract",
                  band="Critical", risk=12, hard_gate=True, gate_rule="vendor_unbound",
                  control_id="POL-12", system_id="ils", subject=names["ils"],
                  clauses=["C-THIRD"], statutes=["RSMo-182.817"],
                  evidence="Contract does not cite the policy.",
                  recommendation="Add the confidentiality clause at renewal.",
                  ala_priority="P1", owner="Director", due=dt.date(2026, 12, 30)),
        m.Finding(id="POL-23@F-circ", kind="control", title=finding_title, band="Critical",
                  risk=12, control_id="POL-23", system_id="ils", flow_id="F-circ",
                  subject=names["ils"] + ": circulation", clauses=["C-DISCLOSE"],
                  evidence="Retention is indefinite; need is 30 days.",
                  recommendation="Turn on anonymization of returned loans.",
                  ala_priority="P1", owner=owner, due=dt.date(2026, 12, 30)),
        m.Finding(id="GAP-court-standard", kind="policy_gap",
                  title="The policy's court-order test is looser than the statute's",
                  band="High", risk=8, subject="Disclosure standard", clauses=["C-DISCLOSE"],
                  clause_quotes=["where a proper showing of good cause has been made in a "
                                 "court of competent jurisdiction"],
                  statutes=["RSMo-182.817"],
                  evidence="The statute requires a finding of public safety or prosecution.",
                  recommendation="Should the policy adopt the statute's wording?",
                  owner="Counsel", due=dt.date(2027, 2, 28)),
        m.Finding(id="POL-27@F-events", kind="control", title="Event rosters kept a year",
                  band="High", risk=9, control_id="POL-27", system_id="events",
                  flow_id="F-events", subject=names["events"] + ": events",
                  evidence="Retention 365 days; need 60.",
                  recommendation="Configure a 60-day privacy scrub.", ala_priority="P2",
                  owner=owner, due=dt.date(2027, 2, 28)),
    ]
    actions = [
        m.ActionItem(rank=1, finding_ids=["POL-12@ils"], control_id="POL-12",
                     subject=names["ils"], action="Add the confidentiality clause at renewal.",
                     owner="Director", due=dt.date(2026, 12, 30), residual_risk=12,
                     planned_risk=4, band="Critical", ala_priority="P1"),
        m.ActionItem(rank=2, finding_ids=["POL-23@F-circ"], control_id="POL-23",
                     subject=names["ils"] + ": circulation",
                     action="Turn on anonymization of returned loans.", owner=owner,
                     due=dt.date(2026, 12, 30), residual_risk=12, planned_risk=4,
                     band="Critical", ala_priority="P1"),
        m.ActionItem(rank=3, finding_ids=["POL-27@F-events"], control_id="POL-27",
                     subject=names["events"] + ": events",
                     action="Configure a 60-day privacy scrub.", owner=owner,
                     due=dt.date(2027, 2, 28), residual_risk=9, planned_risk=6, band="High",
                     ala_priority="P2"),
    ]
    disclosures = [
        m.DisclosureReview(request_id="D-1", received=dt.date(2026, 4, 2),
                           requester_type="law_enforcement", instrument="court_order",
                           decision="released", meets_statute=True, meets_policy=True,
                           reason="Order with public-safety finding", search_cost=40.0,
                           cost_billed="yes"),
        m.DisclosureReview(request_id="D-2", received=dt.date(2026, 6, 9),
                           requester_type="parent", instrument="informal",
                           decision="refused", meets_statute=True, meets_policy=True,
                           reason="Refused: no consent", search_cost=0.0, cost_billed="no"),
    ]
    gate = m.Gate(result="FAIL", violations=[m.GateViolation(
        rule="vendor_unbound", statement=b.policy.gate_rules["vendor_unbound"],
        subject=names["ils"], system_id="ils", control_id="POL-12",
        violating_attributes={"categories": ["circulation"]})])
    return m.Assessment(
        schema_version="1", as_of=AS_OF, library=b.inventory.library.name, illustrative=True,
        policy_id=b.policy.id, policy_version=b.policy.version, inputs=dict(b.files),
        posture="Non-compliant", counts={"findings": 4, "critical": 2, "high": 2},
        gate=gate, flows=flows, systems=systems,
        categories=[m.CategoryScore(category="circulation", name="Circulation", flows=1,
                                    residual_total=12, share=57.1, rank=1),
                    m.CategoryScore(category="events", name="Events", flows=1,
                                    residual_total=9, share=42.9, rank=2)],
        controls=[], findings=findings, actions=actions, disclosures=disclosures)


def results(**names: Any) -> Any:
    """Results-shaped object for a two-system library; keyword args rename things."""
    b = bundle(**{k: v for k, v in names.items() if k in
                  {"ils_name", "events_name", "events_url"}})
    a = assessment(b, **{k: v for k, v in names.items() if k in {"owner", "finding_title"}})
    try:
        from lcopia.pipeline import Results
    except ImportError:
        return SimpleNamespace(assessment=a, bundle=b, evidence=None, web=None)
    return Results(assessment=a, bundle=b, evidence=None, web=None)
