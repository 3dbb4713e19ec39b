"""The compliance gate's legal rules, one test per rubric line (judgment-rubric.md G1-G8).

Each test builds a tiny library from the shipped data and checks what an expert Missouri
library-law reviewer would say: the kind of finding (statute, policy, practice), its wording
(for counsel, never a legal conclusion) and the library's handling.
"""

from __future__ import annotations

import datetime as dt

import pytest
from builders import flow, system
from conftest import AS_OF, DATA

from lcopia.load import load
from lcopia.models import (
    Bundle,
    Disclosure,
    YesNo,
    holds_records_contradictions,
    outside_us,
)
from lcopia.scoring import assess
from lcopia.scoring.context import build_context
from lcopia.scoring.controls import applies
from lcopia.scoring.gate import (
    counsel_evidence,
    disclosure_sentence,
    gate_counts,
    policy_statute_sentence,
    search_cost_sentence,
    vendor_privacy_list,
)

BASE = load(DATA, as_of=AS_OF)
CONTROLS = {c.id: c for c in BASE.policy.controls}




def disclosure(rid: str = "R1", **kw: object) -> Disclosure:
    fields = dict(request_id=rid, received=dt.date(2026, 3, 1), requester="County office",
                  requester_type="law_enforcement", instrument="subpoena", court_finding="none",
                  categories=["circulation"], records_requested="Loans of one patron",
                  decision="refused", search_cost=0.0, cost_billed=YesNo.no)
    fields.update(kw)
    return Disclosure(**fields)


def world(systems=(), flows=(), disclosures=()) -> Bundle:
    inventory = BASE.inventory.model_copy(update={
        "systems": list(systems) or [system()], "flows": list(flows) or [flow()],
        "answers": [], "disclosures": list(disclosures)})
    return BASE.model_copy(update={"inventory": inventory})


def score(**kw: object):
    return assess(world(**kw), AS_OF)


def kinds(a) -> list[tuple[str, str]]:
    return sorted((v.kind, v.subject) for v in a.gate.violations)


def all_words(a) -> str:
    parts = [v.statement for v in a.gate.violations]
    parts += [f"{f.title} {f.evidence} {f.recommendation}" for f in a.findings]
    parts += [f"{r.reason} {r.handling}" for r in a.disclosures]
    return " ".join(parts).lower()


# ----------------------------------------------------------------------------- G1 / G2 consent


@pytest.mark.parametrize(("fields", "kind"), [
    # a parent's signature for a 12- or 16-year-old is not the person identified (G2)
    ({"requester_type": "parent_guardian", "consent_by": "parent_guardian"}, "statute"),
    ({"requester_type": "spouse_partner", "consent_by": "spouse_partner"}, "statute"),
    # the signer was not recorded and someone else asked: not shown to be the person's own
    ({"requester_type": "employer", "consent_by": ""}, "statute"),
    # the person identified signed; an employer may carry it (DR-2026-005)
    ({"requester_type": "employer", "consent_by": "person_identified"}, None),
    ({"requester_type": "patron", "consent_by": ""}, None),
])
def test_written_consent_checks_who_signed(fields, kind):
    a = score(disclosures=[disclosure(instrument="written_consent", decision="released",
                                      **fields)])
    review = a.disclosures[0]
    assert review.gate_kind == kind
    assert review.handled_correctly is (kind is None)
    if kind:
        assert kinds(a) == [("statute", "R1")]
        assert "person identified" in review.reason
    else:
        assert a.gate.result == "PASS"


# ----------------------------------------------------------------------------- G3 handling


def test_refusing_is_compliance_and_handling_is_counted():
    a = score(disclosures=[
        disclosure("R1", instrument="informal", decision="refused"),
        disclosure("R2", instrument="informal", requester_type="parent_guardian",
                   decision="refused"),
        disclosure("R3", instrument="court_order_finding", court_finding="prosecute_crime",
                   decision="released", search_cost=120.0, cost_billed=YesNo.yes),
        disclosure("R4", instrument="court_order_good_cause", court_finding="good_cause_only",
                   requester_type="government_agency", decision="released", search_cost=35.0),
        disclosure("R5", instrument="written_consent", requester_type="patron",
                   decision="released"),
        disclosure("R6", instrument="subpoena", requester_type="attorney",
                   decision="referred_to_counsel", counsel_review="counsel_reviewed"),
    ])
    assert [r.handled_correctly for r in a.disclosures] == [True, True, True, False, True, True]
    assert a.counts["disclosures_handled_correctly"] == 5
    assert a.counts["disclosures_outside_statute"] == 1
    sentence = disclosure_sentence(a.disclosures)
    assert sentence.startswith("The library handled 5 of 6 requests correctly")
    assert "R4" in sentence and "appears to fall outside RSMo 182.817.1" in sentence
    assert "R4" in policy_statute_sentence(a.disclosures)
    assert "stricter" not in policy_statute_sentence(a.disclosures)
    costs = search_cost_sentence(a.disclosures)
    assert "1 of 2 were charged" not in costs and "1 of 2 was charged" in costs
    assert "chargeable" in costs and "requires" not in costs
    assert kinds(a) == [("statute", "R4")]


# ----------------------------------------------------------------------------- G4 federal, C5


@pytest.mark.parametrize(("instrument", "decision", "review", "kind", "handled"), [
    ("federal_search_warrant", "released", "released_on_counsel_advice", None, True),
    ("federal_grand_jury_subpoena", "released", "released_on_counsel_advice", None, True),
    ("federal_grand_jury_subpoena", "released", "counsel_reviewed", None, True),
    ("national_security_letter", "refused", "counsel_reviewed", None, True),
    ("fisa_order", "released", "none", "statute", False),  # released with no counsel at all
    ("emergency_request", "referred_to_counsel", "counsel_reviewed", None, True),
    ("emergency_request", "released", "none", "statute", False),  # no emergency exception
])
def test_federal_process_and_emergencies_go_to_counsel(instrument, decision, review, kind,
                                                       handled):
    a = score(disclosures=[disclosure(instrument=instrument, decision=decision,
                                      requester_type="federal_agency", counsel_review=review,
                                      nondisclosure_order=YesNo.yes)])
    r = a.disclosures[0]
    assert (r.gate_kind, r.handled_correctly) == (kind, handled)
    assert "unlawful" not in all_words(a) and "lawful basis" not in all_words(a)
    if instrument != "emergency_request":
        assert "federal law may control" in r.reason


def test_counsel_questions_quote_federal_and_emergency_requests_from_the_register():
    bundle = world(disclosures=[
        disclosure("N1", instrument="national_security_letter", nondisclosure_order=YesNo.yes),
        disclosure("E1", instrument="emergency_request")])
    ctx = build_context(bundle, AS_OF, list(bundle.inventory.flows),
                        list(bundle.inventory.systems), None)
    assert "N1" in counsel_evidence(ctx, "federal_process")
    assert "non-disclosure order: N1" in counsel_evidence(ctx, "federal_process")
    assert "E1" in counsel_evidence(ctx, "emergency")
    a = assess(bundle, AS_OF)
    fed = next(f for f in a.findings if f.id == "GAP-FEDERAL-PROCESS@library")
    assert "N1" in fed.evidence


# ----------------------------------------------------------------------------- G5 category


@pytest.mark.parametrize(("categories", "kind"), [
    (["donations"], "policy"),            # donor records: policy + counsel (Sunshine Law)
    (["events"], "policy"),
    (["staff_volunteer"], "policy"),
    (["donations", "registration"], "statute"),  # card registration names library users
    (["circulation"], "statute"),
])
def test_record_category_decides_statute_or_policy(categories, kind):
    a = score(disclosures=[disclosure(instrument="public_records_request",
                                      requester_type="public_requester", decision="released",
                                      categories=categories)])
    assert kinds(a) == [(kind, "R1")]
    if kind == "policy":
        assert "counsel" in a.gate.violations[0].statement
        assert "182.817.1; counsel to review" not in a.gate.violations[0].statement


def test_categories_released_override_those_asked_for():
    a = score(disclosures=[disclosure(instrument="informal", decision="partially_released",
                                      categories=["circulation", "donations"],
                                      categories_released=["donations"])])
    assert kinds(a) == [("policy", "R1")]


# ----------------------------------------------------------------------------- G6 binding


@pytest.mark.parametrize(("ref", "binds", "failed"), [
    ("", (YesNo.yes, YesNo.yes), True),       # two yes cells and no contract prove nothing
    ("DPA 2024 sec. 7", (YesNo.yes, YesNo.yes), False),
    ("DPA 2024 sec. 7", (YesNo.yes, YesNo.no), True),
    ("DPA 2024 sec. 7", (YesNo.unknown, YesNo.yes), True),
])
def test_binding_needs_a_contract_on_file(ref, binds, failed):
    a = score(systems=[system(external=True, contract_ref=ref, contract_binds_policy=binds[0],
                              contract_binds_missouri_law=binds[1])],
              flows=[flow(elements=("card_number", "titles_borrowed"))])
    assert kinds(a) == ([("policy", "System stacks")] if failed else [])
    if failed:
        v = a.gate.violations[0]
        assert v.rule == "vendor_contract"
        assert ("no contract on file" in v.statement) == (not ref)
    pol12 = next(c for c in a.controls if c.control_id == "POL-12")
    assert (pol12.status == "not_implemented") == failed


# ----------------------------------------------------------------------------- G7 practice


def test_advertising_and_uncontracted_trackers_are_practice_not_policy():
    ads = system("ads", external=True, kind="web_analytics", contract_ref="",
                 contract_binds_policy=YesNo.no, contract_binds_missouri_law=YesNo.no,
                 uses=["analytics"])
    fonts = system("fonts", external=True, kind="website", contract_ref="",
                   contract_binds_policy=YesNo.no, contract_binds_missouri_law=YesNo.no,
                   uses=[])
    news = system("news", external=True, kind="newsletter", contract_ref="Addendum 2024",
                  uses=["marketing", "profiling"])
    a = score(systems=[ads, fonts, news], flows=[
        flow("F-ADS", "ads", ("ip_address", "pages_viewed", "search_terms", "device_id"),
             category="technology_use", direction="transmit"),
        flow("F-FONTS", "fonts", ("ip_address",), category="technology_use"),
        flow("F-NEWS", "news", ("email", "subjects_researched"), direction="transmit")])
    assert kinds(a) == [("practice", "System ads"), ("practice", "System news")]
    assert all("ALA/NISO" in v.statement for v in a.gate.violations)
    assert gate_counts(a.gate) == {"gate_statute": 0, "gate_policy": 0, "gate_practice": 2}
    assert a.counts["gate_practice"] == 2


# ----------------------------------------------------------------------------- G8 facts


def test_holds_no_library_records_label_is_judged_on_the_flows():
    wifi = system("portal", external=True, holds_library_records=False, kind="wifi",
                  contract_ref="Network services 2025", contract_binds_policy=YesNo.no,
                  contract_binds_missouri_law=YesNo.no)
    bundle = world(systems=[wifi], flows=[
        flow("F-PORTAL", "portal", ("search_terms", "device_id", "timestamps"),
             category="technology_use")])
    a = assess(bundle, AS_OF)
    assert kinds(a) == [("policy", "System portal")]
    assert "marked as holding none" in a.gate.violations[0].statement
    # the vendor controls apply on the facts, not the label
    assert any(c.control_id == "POL-12" and c.target_id == "portal" for c in a.controls)
    warnings = holds_records_contradictions(bundle.inventory, bundle.taxonomy)
    assert len(warnings) == 1 and "search_terms" in warnings[0] and "portal" in warnings[0]


def test_a_label_that_matches_the_flows_raises_no_warning():
    stats = system("stats", holds_library_records=False)
    bundle = world(systems=[stats], flows=[flow("F-S", "stats", ("aggregate_count", "zip"),
                                                is_library_record=False)])
    assert holds_records_contradictions(bundle.inventory, bundle.taxonomy) == []


@pytest.mark.parametrize(("category", "kind"), [("registration", "statute"),
                                                ("events", "policy")])
def test_a_disclosing_flow_is_a_disclosure_without_a_register_entry(category, kind):
    roster = flow("F-ROSTER", elements=("patron_name", "address", "event_attended"),
                  category=category, direction="disclose", recipient="Summer reading sponsor",
                  minors=True)
    a = score(flows=[roster])
    assert kinds(a) == [(kind, "System stacks: Lending")]
    v = a.gate.violations[0]
    assert v.flow_id == "F-ROSTER" and "Summer reading sponsor" in v.statement


# ----------------------------------------------------------------------------- wording


def test_the_sample_gate_is_labelled_and_worded_for_counsel():
    a = assess(BASE, AS_OF)
    by_kind = gate_counts(a.gate)
    assert by_kind == {"gate_statute": 1, "gate_policy": 4, "gate_practice": 2}
    statute = [v for v in a.gate.violations if v.kind == "statute"]
    assert [v.subject for v in statute] == ["DR-2026-004"]
    assert "appears to fall outside RSMo 182.817.1; counsel to review" in statute[0].statement
    words = all_words(a)
    assert "unlawful" not in words and "without a lawful basis" not in words
    assert a.counts["disclosures_handled_correctly"] == 6 and a.counts["disclosures"] == 7
    # the policy's vendor list says who is bound, and lists the uncontracted separately
    ctx = build_context(BASE, AS_OF, list(BASE.inventory.flows), list(BASE.inventory.systems),
                        None)
    contracted, other = vendor_privacy_list(ctx)
    google = next(r for r in contracted if r.vendor == "Google")
    assert not google.bound and "Not yet bound" in google.note
    assert all(r.bound == ("Not yet" not in r.note) for r in contracted)
    assert other == []  # no tracker outside a contract in the inventory (captures add them)


# ----------------------------------------------------------------------------- data


def test_statute_data_says_what_the_statutes_say():
    statutes = {s.id: s.text for s in BASE.policy.statutes}
    assert "without foundation" in statutes["RSMO-182.817-2"]
    assert "in combination with any required security code" in statutes["RSMO-407.1500"]
    assert "computerized form" in statutes["RSMO-407.1500"]
    card = next(e for e in BASE.taxonomy.elements if e.id == "payment_card")
    assert "in\ncombination" not in card.description and "combination" in card.description
    assert "with or without its security code" not in card.description
    assert "RSMO-182.817-1" in CONTROLS["POL-17"].statutes
    assert CONTROLS["POL-31"].statutes == ["RSMO-182.817-1"]
    assert "RSMO-182.817-1" not in CONTROLS["POL-13"].statutes


def test_new_vocabulary_controls_and_questions_are_present():
    vocab = BASE.taxonomy.vocabularies
    instruments = {t.id for t in vocab.instruments}
    assert {"federal_search_warrant", "federal_grand_jury_subpoena", "national_security_letter",
            "fisa_order", "emergency_request", "public_records_request",
            "collection_referral"} <= instruments
    assert {"security_camera", "mobile_app"} <= {t.id for t in vocab.system_kinds}
    assert {"item_barcode", "video_image"} <= {e.id for e in BASE.taxonomy.elements}
    extra = [c for c in BASE.taxonomy.categories if not c.named_in_policy]
    assert {c.id for c in extra} >= {"staff_volunteer", "security_video"}
    questions = {q.id for q in BASE.policy.counsel_questions}
    assert {"GAP-FEDERAL-PROCESS", "GAP-EMERGENCY", "GAP-CONSENT-FORM", "GAP-MINORS",
            "GAP-COLLECTIONS", "GAP-SUNSHINE", "GAP-RETENTION-SCHEDULES", "GAP-15-CSR",
            "GAP-NAMES-WORDING", "GAP-DEFINITION-CITATION"} <= questions
    for cid in [f"POL-{n}" for n in range(40, 55)]:
        c = CONTROLS[cid]
        assert c.recommendation and (c.clauses or c.statutes) and c.niso and c.sources
        assert c.applies_to == "library" or c.when != type(c.when)()  # applies only where due


def test_extra_categories_do_not_need_a_flow_but_the_seven_do():
    bundle = world(flows=[flow(category=c.id) for c in BASE.taxonomy.categories
                          if c.named_in_policy])
    a = assess(bundle, AS_OF)
    pol03 = next(c for c in a.controls if c.control_id == "POL-03")
    assert pol03.status == "implemented"


# ----------------------------------------------------------------------------- retention, transfer


@pytest.mark.parametrize(("kept", "need", "exceeds"), [
    (None, "indefinitely", False), (1825, "indefinitely", False),
    (None, "while_opted_in", False), (None, 30, True), (90, 30, True), (30, 30, False)])
def test_retention_need_may_be_indefinite_or_tied_to_opt_in(kept, need, exceeds):
    f = flow(retention_days=kept, retention_need_days=need)
    assert f.exceeds_need() is exceeds
    a = score(flows=[f])
    pol36 = next(c for c in a.controls if c.control_id == "POL-36")
    assert (pol36.status == "not_implemented") is exceeds


@pytest.mark.parametrize(("location", "abroad"), [
    ("United States (vendor data center, Kansas City region)", False),
    ("United States", False), ("", False), ("United States and Canada (per vendor terms)", True),
    ("United States and other countries (vendor)", True), ("Ireland", True)])
def test_international_transfer_is_tested_against_data_location(location, abroad):
    assert outside_us(location) is abroad
    s = system(external=True, contract_ref="DPA", data_location=location)
    bundle = world(systems=[s], flows=[flow(elements=("card_number",))])
    ctx = build_context(bundle, AS_OF, list(bundle.inventory.flows),
                        list(bundle.inventory.systems), None)
    assert applies(CONTROLS["POL-52"], ctx, s) is abroad


def test_patron_vendor_list_names_uncontracted_recipients_of_catalogue_searches():
    from lcopia.pipeline import results
    from lcopia.scoring.gate import vendor_privacy_list_for

    r = results(DATA, AS_OF)
    contracted, other = vendor_privacy_list_for(r.bundle, AS_OF, r.web)
    assert r.web is not None
    names = {row.vendor for row in other}
    assert any("Meta" in n for n in names)  # the pixel on catalogue search is listed
    # GA itself is contracted (click-through terms); what of Google is listed apart is only a
    # service outside that contract that gets IP addresses (fonts), and says so
    assert any(row.system_id == "web_analytics" for row in contracted)
    google = [row for row in other if row.vendor == "Google"]
    assert all("IP address" in row.note for row in google)
    assert all(not row.bound for row in other)
    assert {row.system_id for row in contracted} & {row.system_id for row in other} == set()


def test_trackers_get_no_vendor_checklist():
    from lcopia.pipeline import results

    a = results(DATA, AS_OF).assessment
    meta = next(s.system_id for s in a.systems if s.vendor.startswith("Meta"))
    asked = {c.control_id for c in a.controls if c.target_id == meta}
    assert not asked & {"POL-12", "POL-14", "POL-15", "POL-16", "POL-19", "POL-20", "POL-30"}
    assert any(v.system_id == meta and v.kind == "practice" for v in a.gate.violations)


def test_validate_warns_when_the_label_contradicts_the_flows(data_copy, capsys):
    from lcopia.cli import main

    systems = data_copy / "inventory" / "systems.csv"
    lines = systems.read_text(encoding="utf-8").splitlines()
    lines = [line.replace("wifi,yes,yes,", "wifi,yes,no,", 1) if line.startswith("wifi,")
             else line for line in lines]
    systems.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", "--data", str(data_copy)]) == 0
    err = capsys.readouterr().err
    assert "wifi is marked holds_library_records = no" in err and "device_id" in err
