"""The compliance gate: every legal rule in one place, apart from the risk score.

Three kinds of finding, each in its own words (rubric G1-G8, ``judgment-rubric.md``):

* **statute** — a release of library records that *appears to fall outside* RSMo 182.817.1:
  worded for counsel ("counsel to review"), never "unlawful"; whether it was is for a court.
* **policy** — a breach of the Board's policy: a third party the library contracted that holds
  library records without a contract on file binding it to the policy and Missouri law, or a
  release of records the policy protects but the statute may not clearly reach (donors,
  events, camera footage, staff), which is also a question for counsel.
* **practice** — below the ALA/NISO standard the library adopted: advertising, profiling,
  sale or AI training on patron data, and trackers the library never contracted.

Federal process and emergency requests go to counsel; a release on counsel's advice is
recorded, not condemned; refusing is compliance (the library's *handling* is judged, not the
requester's paper). Facts beat labels: a system marked as holding no library records whose
flows carry them is judged on the flows, and a flow that discloses is a disclosure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lcopia.models import (
    Bundle,
    Disclosure,
    DisclosureReview,
    Flow,
    Gate,
    GateViolation,
    System,
    YesNo,
    library_record_signals,
)
from lcopia.scoring.context import (
    Context,
    Evaluated,
    Outcome,
    build_context,
    flow_leaves,
    subject_of,
)
from lcopia.scoring.evidence_rating import recipient_of
from lcopia.scoring.thirdparty import web_flows

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.evidence import EvidenceIssue, EvidenceReport
    from lcopia.web import WebIssue, WebReport

# Which kind each gate rule's findings are, unless a finding says otherwise.
KIND_OF_RULE = {"disclosure_route": "statute", "vendor_contract": "policy",
                "prohibited_use": "practice"}
KIND_LABELS = {
    "statute": "Statute (RSMo 182.817): for counsel to review",
    "policy": "Board policy (Confidentiality of Library Records & Third Party Partners)",
    "practice": "Practice standard (ALA and NISO, adopted by the library)",
}
KIND_MEANING = {
    "statute": "a release of library records that appears to fall outside the two routes of "
               "RSMo 182.817.1; whether it does is a question for counsel, not a conclusion "
               "of this assessment",
    "policy": "a breach of the Board's own policy, which binds every contracted third party "
              "to the policy and to Missouri law",
    "practice": "below the ALA and NISO standard the library adopted (advertising, "
                "profiling, sale, AI training, trackers the library never contracted); "
                "neither the policy nor the statute names these uses",
}
STATUTE_TAIL = "appears to fall outside RSMo 182.817.1; counsel to review"


def _words(ident: str) -> str:
    return ident.replace("_", " ")


def _label(terms: list[Any], ident: str) -> str:
    return next((t.label for t in terms if t.id == ident), _words(ident))


# ----------------------------------------------------------------------------- facts


def holds_library_records(ctx: Context, s: System) -> bool:
    """Judge the facts (G8): the label, or flows that carry what only library records carry."""
    return s.holds_library_records or s.system_id in _signals(ctx)


def _signals(ctx: Context) -> dict[str, list[str]]:
    cache = getattr(ctx, "_legal_signals", None)
    if cache is None:
        cache = library_record_signals(ctx.flows, ctx.bundle.taxonomy.elements)
        setattr(ctx, "_legal_signals", cache)  # noqa: B010 - a per-run memo on the context
    return cache


def mislabelled(ctx: Context, s: System) -> list[str]:
    """What a system marked as holding no library records is seen to carry, if anything."""
    return [] if s.holds_library_records else _signals(ctx).get(s.system_id, [])


def contract_on_file(s: System) -> bool:
    return bool(s.contract_ref.strip())


def is_uncontracted_tracker(ctx: Context, s: System) -> bool:
    """A tracker the library never contracted: practice, not the vendor-contract rule (G7)."""
    found_on_pages = s.system_id.startswith("web:")
    return not contract_on_file(s) and (found_on_pages or s.kind in ctx.vocab.tracker_kinds)


# Elements a page request carries anyway: a party receiving only these (a font CDN) is
# housekeeping (rubric W2: IP address only is 1), not a gate finding.
NETWORK_ONLY = frozenset({"ip_address", "device_type", "timestamps"})


def receives_use_records(ctx: Context, s: System) -> bool:
    """Whether the system's flows carry more than what any page request carries."""
    return any(set(f.elements) - NETWORK_ONLY for f in ctx.flows_by_system.get(s.system_id, []))


def category_scope(ctx: Context, category: str) -> str:
    """library_user_records, unclear or not_library_user (G5); unknown ids count as users'."""
    cat = next((c for c in ctx.bundle.taxonomy.categories if c.id == category), None)
    return cat.statute_scope if cat else "library_user_records"


# ----------------------------------------------------------------------------- fact checks


def contract_binding(ctx: Context, s: System) -> Outcome:
    """Bound = a contract on file that binds the vendor to the policy and Missouri law (G6)."""
    policy, law = s.contract_binds_policy.value, s.contract_binds_missouri_law.value
    on_file = contract_on_file(s)
    ok = on_file and policy == "yes" and law == "yes"
    ref = f"contract {s.contract_ref}" if on_file else "no contract on file"
    cats = sorted({f.category for f in ctx.flows_by_system.get(s.system_id, [])})
    text = f"{ref}; binds the policy: {policy}; binds Missouri law: {law}"
    if not on_file and (policy == "yes" or law == "yes"):
        text += " (a yes without a contract on file proves nothing)"
    wrong_label = mislabelled(ctx, s)
    if wrong_label:
        text += ("; marked as holding no library records, but its flows carry "
                 + ", ".join(wrong_label))
    attrs: dict[str, list[str]] = {}
    if not ok:
        attrs = {"contract_on_file": ["yes" if on_file else "no"],
                 "contract_binds_policy": [policy], "contract_binds_missouri_law": [law],
                 "categories": cats}
        if wrong_label:
            attrs["holds_library_records_label"] = ["no"]
    return Outcome(ok, text, attrs)


def no_prohibited_use(ctx: Context, s: System) -> Outcome:
    """No sale, advertising, profiling or AI training on identifying data (a practice rule)."""
    bad = sorted(set(s.uses) & set(ctx.vocab.prohibited_uses))
    tier = ctx.system_tier(s.system_id)
    sensitive = ctx.tier_rank[tier] >= 2
    if bad and sensitive:
        return Outcome(False, f"uses include {', '.join(bad)} on {tier} data (below the "
                       "ALA/NISO standard the library adopted)", {"uses": bad, "tier": [tier]})
    return Outcome(True, "no sale, advertising, profiling or AI training on identifying data"
                   if not bad else f"{', '.join(bad)} only on non-identifying data")


@dataclass(frozen=True)
class Judgement:
    """One request judged: the route it rests on, the library's handling, any gate kind."""

    released: bool
    meets_statute: bool
    meets_policy: bool
    reason: str
    handled_correctly: bool
    kind: str | None
    handling: str
    counsel: list[str] = field(default_factory=list)  # counsel-question topics it raises


def _consent_valid(d: Disclosure, vocab: Any) -> tuple[bool, str]:
    """Whether the written request is the person identified's own (G2), and who signed."""
    signer = d.consent_by or ("person_identified" if d.requester_type == "patron" else "")
    if signer in vocab.valid_consenters:
        return True, "the written request of the person identified (182.817.1(1))"
    if not signer:
        return False, ("a written request whose signer is not recorded; 182.817.1(1) needs "
                       "the written request of the person identified in the record")
    who = _label(vocab.consenters, signer).lower() if vocab.consenters else _words(signer)
    return False, (f"a written request signed by {who}, not by the person identified in the "
                   "record (182.817.1(1); Missouri law has no parent or family exception)")


def judge_disclosure(d: Disclosure, ctx: Context) -> Judgement:
    """The request's route under 182.817.1, and whether the library handled it correctly."""
    vocab = ctx.vocab
    released = d.decision in vocab.releasing_decisions
    by_order = d.instrument in vocab.court_orders
    finding = d.court_finding in vocab.qualifying_findings
    federal = d.instrument in vocab.federal_process
    emergency = d.instrument in vocab.emergency_instruments
    on_advice = bool(d.counsel_review) and d.counsel_review in vocab.on_counsel_advice
    reviewed = bool(d.counsel_review) and d.counsel_review != "none"
    consent = d.instrument in vocab.statute_instruments and not by_order
    instrument = _label(vocab.instruments, d.instrument)
    counsel: list[str] = []
    if consent:
        ok, reason = _consent_valid(d, vocab)
        if not ok:
            counsel.append("consent")
    elif by_order and finding:
        ok, reason = True, f"court order with the statutory finding ({_words(d.court_finding)})"
    elif by_order:
        ok, reason = False, ("court order without a finding that disclosure is necessary to "
                             "protect public safety or prosecute a crime (182.817.1(2))")
    elif federal:
        ok, reason = False, (f"{instrument}: federal process, not assessed under RSMo 182.817 "
                             "alone (federal law may control); for counsel")
        counsel.append("federal")
        if d.nondisclosure_order == YesNo.yes:
            reason += "; it came with a non-disclosure order"
    elif emergency:
        ok, reason = False, (f"{instrument}: RSMo 182.817 has no emergency exception; a court "
                             "order with the statutory finding is needed")
        counsel.append("emergency")
    else:
        ok, reason = False, f"{instrument} is not one of the two routes of 182.817.1"
    policy_orders = set(vocab.court_orders) | {"federal_search_warrant", "fisa_order"}
    meets_policy = d.instrument in policy_orders  # the policy's wording: good cause in a court
    cats = d.released_categories if released else list(d.categories)
    scopes = {category_scope(ctx, c) for c in cats} or {"library_user_records"}
    covered = "library_user_records" in scopes
    if not covered:
        counsel.append("category")
    decision = _label(vocab.decisions, d.decision).lower()

    if not released:
        handling = (f"{decision.capitalize()}: nothing released"
                    + ("; counsel consulted" if reviewed else "") + ".")
        return Judgement(False, ok, meets_policy, reason, True, None, handling, counsel)
    if ok:
        return Judgement(True, True, meets_policy, reason, True, None,
                         f"Released on {reason}.", counsel)
    if on_advice:
        return Judgement(True, False, meets_policy, reason, True, None,
                         "Released on counsel's advice: recorded, not judged here.", counsel)
    if federal and reviewed:
        return Judgement(True, False, meets_policy, reason, True, None,
                         "Released after counsel reviewed the federal process.", counsel)
    if not covered:
        names = ", ".join(_words(c) for c in cats)
        return Judgement(True, False, meets_policy, reason, False, "policy",
                         f"Released {names} records, which the policy protects; whether RSMo "
                         "182.817 covers them is for counsel.", counsel)
    return Judgement(True, False, meets_policy, reason, False, "statute",
                     f"Released on {reason}: {STATUTE_TAIL}.", counsel)


def disclosure_meets_statute(d: Disclosure, vocab: Any) -> tuple[bool, bool, str]:
    """(meets RSMo 182.817.1's routes, meets the policy's wording, reason) for one request.

    Kept for callers that have no context; ``judge_disclosure`` also weighs who consented,
    the record category, federal process, counsel's advice and the library's handling."""
    by_order = d.instrument in vocab.court_orders
    finding = d.court_finding in vocab.qualifying_findings
    consent = d.instrument in vocab.statute_instruments and not by_order
    if consent:
        signer = d.consent_by or ("person_identified" if d.requester_type == "patron" else "")
        valid = signer in getattr(vocab, "valid_consenters", ["person_identified"])
        return valid, False, ("patron's written request (182.817.1(1))" if valid else
                              "written request not made by the person identified")
    if by_order and finding:
        return True, True, f"court order with the statutory finding ({_words(d.court_finding)})"
    if by_order:
        return False, True, ("court order without a finding that disclosure is necessary to "
                             "protect public safety or prosecute a crime")
    return False, False, f"{_words(d.instrument)} is not a route the statute allows"


def releases_outside_statute(ctx: Context) -> list[tuple[Disclosure, str]]:
    """Releases in the register that appear to fall outside RSMo 182.817.1 (statute kind)."""
    out = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: d.request_id):
        j = judge_disclosure(d, ctx)
        if j.kind == "statute":
            out.append((d, j.reason))
    return out


def release_title(d: Disclosure) -> str:
    """A finding's title for a release: worded for counsel, never a legal conclusion."""
    return (f"Release that appears to fall outside RSMo 182.817.1 ({d.request_id}): "
            "counsel to review")


RELEASE_RECOMMENDATION = (
    "Ask counsel to review this release and whether the patron should be told; refer every "
    "demand for records to the Privacy Officer and counsel before anything is released.")


def weak_on_statute(ctx: Context) -> list[str]:
    """Requests that meet the policy's wording but not the statute (a counsel question)."""
    return sorted(d.request_id for d in ctx.bundle.inventory.disclosures
                  if (j := judge_disclosure(d, ctx)).meets_policy and not j.meets_statute
                  and d.instrument in ctx.vocab.court_orders)


def disclosures_lawful(ctx: Context, _: str) -> Outcome:
    """Every release in the register rests on a route of RSMo 182.817.1 (or counsel's advice)."""
    bad = [(d, judge_disclosure(d, ctx)) for d in
           sorted(ctx.bundle.inventory.disclosures, key=lambda d: d.request_id)]
    bad = [(d, j) for d, j in bad if j.kind is not None]
    if not bad:
        return Outcome(True, "every release in the register rests on a route of RSMo "
                       "182.817.1 or on counsel's advice")
    return Outcome(False, "; ".join(f"{d.request_id}: {j.handling}" for d, j in bad),
                   {"requests": [d.request_id for d, _ in bad],
                    "instruments": sorted({d.instrument for d, _ in bad})},
                   tuple(d.request_id for d, _ in bad))


def search_cost_billed(ctx: Context, _: str) -> Outcome:
    """Search costs were charged to the requester. The policy makes them *chargeable* (an
    entitlement, not a duty to invoice): an uncharged cost is money the library may recover."""
    costs = [d for d in ctx.bundle.inventory.disclosures if d.search_cost > 0]
    unbilled = sorted(d.request_id for d in costs if d.cost_billed != YesNo.yes)
    if unbilled:
        return Outcome(False, f"{len(costs) - len(unbilled)} of {len(costs)} search costs "
                       "charged to the requester; not charged: " + ", ".join(unbilled)
                       + " (the policy makes them chargeable; recover them or record a waiver)",
                       {"requests": unbilled})
    return Outcome(True, "every recorded search cost was charged to the requester")


def review_disclosures(ctx: Context) -> list[DisclosureReview]:
    """Each request in the register, judged against the statute, the policy's wording and
    the library's handling."""
    out = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: (d.received, d.request_id)):
        j = judge_disclosure(d, ctx)
        out.append(DisclosureReview(
            request_id=d.request_id, received=d.received, requester_type=d.requester_type,
            instrument=d.instrument, decision=d.decision, meets_statute=j.meets_statute,
            meets_policy=j.meets_policy, reason=j.reason, search_cost=d.search_cost,
            cost_billed=d.cost_billed.value, released=j.released,
            handled_correctly=j.handled_correctly, gate_kind=j.kind,  # type: ignore[arg-type]
            counsel_review=d.counsel_review, handling=j.handling))
    return out


def disclosure_counts(reviews: list[DisclosureReview]) -> dict[str, int]:
    """Counts the report's disclosure sentences are built from."""
    return {
        "disclosures": len(reviews),
        "disclosures_released": sum(r.released for r in reviews),
        "disclosures_handled_correctly": sum(r.handled_correctly for r in reviews),
        "disclosures_outside_statute": sum(r.gate_kind == "statute" for r in reviews),
        "disclosures_policy_only": sum(r.gate_kind == "policy" for r in reviews),
        "disclosures_meeting_policy_not_statute": sum(
            r.meets_policy and not r.meets_statute for r in reviews),
        "search_costs": sum(r.search_cost > 0 for r in reviews),
        "search_costs_billed": sum(r.search_cost > 0 and r.cost_billed == "yes"
                                   for r in reviews),
    }


# ----------------------------------------------------------------------------- true sentences


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def disclosure_sentence(reviews: list[DisclosureReview]) -> str:
    """'The library handled 6 of 7 requests correctly …' — counts its handling (G3)."""
    n = len(reviews)
    if not n:
        return "No request for patron records was recorded in the period."
    ok = sum(r.handled_correctly for r in reviews)
    statute = [r.request_id for r in reviews if r.gate_kind == "statute"]
    policy = [r.request_id for r in reviews if r.gate_kind == "policy"]
    text = (f"The library handled {ok} of {_plural(n, 'request', 'requests')} correctly "
            "(refused, referred to counsel, or released on a route RSMo 182.817.1 allows or "
            "on counsel's advice).")
    if statute:
        text += (f" {_plural(len(statute), 'release', 'releases')} ({', '.join(statute)}) "
                 f"{STATUTE_TAIL}.")
    if policy:
        text += (f" {_plural(len(policy), 'release', 'releases')} ({', '.join(policy)}) "
                 "concerned records the policy protects but the statute may not clearly "
                 "cover; counsel to review.")
    return text


def policy_statute_sentence(reviews: list[DisclosureReview]) -> str:
    """What the register shows about the policy's wording against the statute's (no claim
    that the library 'follows the stricter of the two')."""
    weak = [r.request_id for r in reviews
            if r.meets_policy and not r.meets_statute and r.released and r.gate_kind]
    if weak:
        return (f"In this period the library released records on an order that met the "
                f"policy's wording but not the statute's ({', '.join(weak)}); until the "
                "difference is settled, staff should apply the statute's test and refer every "
                "demand to counsel.")
    return ("No release in this period rested on the policy's wording alone; the difference "
            "should still be settled before a request tests it.")


def search_cost_sentence(reviews: list[DisclosureReview]) -> str:
    """Costs are 'chargeable' under the policy: an entitlement, not a duty to invoice."""
    costs = [r for r in reviews if r.search_cost > 0]
    if not costs:
        return "No search cost was recorded."
    billed = sum(r.cost_billed == "yes" for r in costs)
    total = sum(r.search_cost for r in costs)
    return (f"{_plural(len(costs), 'request', 'requests')} cost the library ${total:,.2f} in "
            f"searching; {billed} of {len(costs)} {'was' if billed == 1 else 'were'} charged "
            "to the requester. The policy makes such costs chargeable to the entity demanding "
            "the search; charging them is the library's right, not a duty.")


def gate_counts(gate: Gate) -> dict[str, int]:
    """gate_statute, gate_policy, gate_practice: the same numbers in every output."""
    return {f"gate_{k}": sum(kind_of(v) == k for v in gate.violations) for k in KIND_LABELS}


def kind_of(v: GateViolation) -> str:
    """A violation's kind (statute, policy or practice), from its rule if it names none."""
    return v.kind or KIND_OF_RULE.get(v.rule, "policy")


def gate_sentence(gate: Gate) -> str:
    """The Board's one-line summary of the gate, by kind, in each kind's own words."""
    if not gate.violations:
        return ("No release appears to fall outside RSMo 182.817.1, every contracted third "
                "party holding library records is bound by a contract on file, and no use "
                "below the ALA/NISO standard was found.")
    return "Compliance gate: " + gate_parts(gate) + "."


def gate_parts(gate: Gate) -> str:
    """'1 release that appears to fall outside …; 4 breaches of the Board's policy; …'."""
    counts = gate_counts(gate)
    parts = []
    if counts["gate_statute"]:
        parts.append(_plural(counts["gate_statute"], "release that appears",
                             "releases that appear") + " to fall outside RSMo 182.817.1 "
                     "(counsel to review)")
    if counts["gate_policy"]:
        parts.append(_plural(counts["gate_policy"], "breach", "breaches")
                     + " of the Board's policy")
    if counts["gate_practice"]:
        parts.append(_plural(counts["gate_practice"], "practice", "practices")
                     + " below the ALA/NISO standard the library adopted")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- vendor list


@dataclass(frozen=True)
class VendorRow:
    system_id: str
    vendor: str
    service: str
    categories: list[str]
    privacy_policy_url: str
    reviewed: str
    bound: bool
    note: str


def vendor_privacy_list(ctx: Context) -> tuple[list[VendorRow], list[VendorRow]]:
    """(contracted third parties with access to library records, other recipients).

    The first list is the policy's "list of the privacy policies for all currently contracted
    third party vendors with access to Library records", judged on the facts (G8), each saying
    whether a contract on file binds it (only those may be called bound). The second lists
    parties that receive library records without a contract (trackers on catalog pages):
    they belong on the patrons' list too, as something the library is removing or contracting.
    """
    names = {c.id: c.name for c in ctx.bundle.taxonomy.categories}
    contracted, other = [], []
    for s in sorted(ctx.systems.values(), key=lambda s: s.vendor.lower()):
        if not (s.external and holds_library_records(ctx, s)):
            continue
        cats = sorted({names.get(f.category, f.category)
                       for f in ctx.flows_by_system.get(s.system_id, [])})
        bound = contract_binding(ctx, s).passed
        if is_uncontracted_tracker(ctx, s):
            note = ("No contract: receives website or catalog use from library pages."
                    if receives_use_records(ctx, s) else "No contract: receives the visitor's "
                    "IP address when a library page loads (fonts or similar).")
            target = other
        else:
            note = ("Bound by contract to the library's policy and Missouri law."
                    if bound else "Not yet bound by contract to the library's policy and "
                    "Missouri law.")
            target = contracted
        target.append(VendorRow(
            system_id=s.system_id, vendor=s.vendor, service=s.service, categories=cats,
            privacy_policy_url=s.privacy_policy_url,
            reviewed=s.privacy_policy_reviewed.isoformat() if s.privacy_policy_reviewed else "",
            bound=bound, note=note))
    return contracted, other


def vendor_privacy_list_for(bundle: Bundle, as_of: dt.date, web: WebReport | None = None
                            ) -> tuple[list[VendorRow], list[VendorRow]]:
    """``vendor_privacy_list`` from a loaded bundle (and the web captures, whose trackers
    receive catalog searches and so belong on the patrons' list as uncontracted parties)."""
    systems, flows = list(bundle.inventory.systems), list(bundle.inventory.flows)
    if web is not None:
        extra_systems, extra_flows = web_flows(web, systems)
        systems, flows = systems + extra_systems, flows + extra_flows
    return vendor_privacy_list(build_context(bundle, as_of, flows, systems, None))


# ----------------------------------------------------------------------------- counsel evidence


def counsel_evidence(ctx: Context, topic: str | None) -> str | None:
    """Inventory facts that make a counsel question live, for ``evidence_from`` topics."""
    inv = ctx.bundle.inventory
    vocab = ctx.vocab
    judged = [(d, judge_disclosure(d, ctx)) for d in
              sorted(inv.disclosures, key=lambda d: d.request_id)]

    def ids(pred: Any) -> str:
        found = [d.request_id for d, j in judged if pred(d, j)]
        return ", ".join(found) if found else "none in this period"

    if topic == "federal_process":
        return ("Federal process in the register: "
                + ids(lambda d, j: d.instrument in vocab.federal_process) + "; with a "
                "non-disclosure order: "
                + ids(lambda d, j: d.nondisclosure_order == YesNo.yes) + ".")
    if topic == "emergency":
        return "Emergency requests in the register: " + ids(
            lambda d, j: d.instrument in vocab.emergency_instruments) + "."
    if topic == "consent_form":
        return ("Releases on a written request: " + ids(
            lambda d, j: j.released and d.instrument in vocab.statute_instruments)
                + "; written requests not signed by the person identified: "
                + ids(lambda d, j: "consent" in j.counsel) + ".")
    if topic == "collections":
        agencies = sorted(s.name for s in ctx.systems.values()
                          if s.kind == "collection_agency")
        referrals = ids(lambda d, j: d.instrument == "collection_referral")
        return ("Collection agencies in the inventory: "
                + (", ".join(agencies) if agencies else "none") + "; referrals in the "
                f"register: {referrals}.")
    if topic == "categories":
        cats = {c.id: c for c in ctx.bundle.taxonomy.categories}
        used = sorted({f.category for f in ctx.flows
                       if f.category in cats and cats[f.category].statute_scope
                       != "library_user_records"})
        return ("Inventoried categories the statute may not clearly cover: "
                + (", ".join(cats[c].name for c in used) if used else "none")
                + "; releases of such records: " + ids(lambda d, j: "category" in j.counsel)
                + ".")
    if topic == "retention":
        over = sorted(f.flow_id for f in ctx.flows if f.exceeds_need())
        return (f"{len(over)} flows keep records longer than their purpose needs, so the plan "
                "recommends purges: " + (", ".join(over) if over else "none") + ".")
    return None


# ----------------------------------------------------------------------------- evidence and web


def evidence_breaks_gate(issue: EvidenceIssue, flow: Flow | None, ctx: Context) -> bool:
    """An identifier seen in an export released outside the library's control is an observed
    disclosure (G1, G8). The system's own vendor, bound by contract to the policy and Missouri
    law, holds the file for the library (G6): what it holds beyond its purpose is a risk in
    the register, not a release."""
    if not (issue.hard and flow_leaves(flow, ctx)):
        return False
    return recipient_of(flow, issue.recipient, ctx) in ("public", "third_party")


EVIDENCE_RULE = "disclosure_route"


def web_rule(issue: WebIssue) -> str:
    """Trackers and pixels on library pages are below the ALA/NISO standard (practice, G7, W1);
    the vendor-contract rule is about parties the library contracted."""
    return "prohibited_use"


def web_control(ctx: Context) -> Any:
    """The control that web issues are judged under (third parties on library pages)."""
    control_id = ctx.bundle.policy.roles.get("web_tracking_control")
    return next((c for c in ctx.bundle.policy.controls if c.id == control_id), None)


# ----------------------------------------------------------------------------- the gate


def _statement(kind: str, what: str) -> str:
    if kind == "statute":
        return f"{what}: {STATUTE_TAIL}."
    if kind == "policy":
        return f"{what}: does not meet the Board's policy."
    return f"{what}: below the ALA/NISO standard the library adopted."


def _disclosure_violations(ctx: Context) -> list[GateViolation]:
    out = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: d.request_id):
        j = judge_disclosure(d, ctx)
        if j.kind is None:
            continue
        requester = _label(ctx.vocab.requester_types, d.requester_type).lower()
        if j.kind == "statute":
            statement = (f"Records were released to a {requester} on {j.reason}: "
                         f"{STATUTE_TAIL}.")
        else:
            statement = (f"Records the policy protects were released to a {requester} on "
                         f"{j.reason}; the policy allows release only on a court order, and "
                         "whether RSMo 182.817 reaches these records (and the Sunshine Law, "
                         "RSMo 610) is a question for counsel.")
        out.append(GateViolation(
            rule="disclosure_route", kind=j.kind, statement=statement,  # type: ignore[arg-type]
            subject=d.request_id, control_id=_control_id(ctx, "disclosures_lawful"),
            violating_attributes={"requests": [d.request_id], "instruments": [d.instrument],
                                  "categories": d.released_categories}))
    return out


def _disclose_flow_violations(ctx: Context) -> list[GateViolation]:
    """A flow that discloses is a disclosure, register or no register (G8)."""
    out = []
    for f in sorted(ctx.flows, key=lambda f: f.flow_id):
        if f.direction != "disclose" or not f.is_library_record:
            continue
        scope = category_scope(ctx, f.category)
        kind = "statute" if scope == "library_user_records" else "policy"
        what = (f"{subject_of(f, ctx)} sends {', '.join(_words(e) for e in f.elements)} to "
                f"{f.recipient}, a disclosure outside the register")
        statement = (f"{what}, on neither a written request of each person identified nor a "
                     f"qualifying court order: {STATUTE_TAIL}." if kind == "statute" else
                     f"{what}, of records the policy protects; whether RSMo 182.817 reaches "
                     "them is a question for counsel.")
        out.append(GateViolation(
            rule="disclosure_route", kind=kind, statement=statement,  # type: ignore[arg-type]
            subject=subject_of(f, ctx), system_id=f.system_id, flow_id=f.flow_id,
            violating_attributes={"direction": ["disclose"], "category": [f.category],
                                  "elements": sorted(f.elements),
                                  "minors": ["yes" if f.minors else "no"]}))
    return out


def _control_id(ctx: Context, derived: str) -> str | None:
    return next((c.id for c in ctx.bundle.policy.controls if c.derived_from == derived), None)


def _vendor_violations(ctx: Context) -> list[GateViolation]:
    """Contracted third parties holding library records (on the facts) not bound (G6, G8);
    trackers never contracted are a practice finding instead (G7)."""
    out = []
    for s in sorted(ctx.systems.values(), key=lambda s: s.system_id):
        if not (s.external and holds_library_records(ctx, s)):
            continue
        outcome = contract_binding(ctx, s)
        if outcome.passed:
            continue
        if not contract_on_file(s) and not receives_use_records(ctx, s):
            continue  # IP address only (a font CDN): housekeeping for the register (W2)
        if is_uncontracted_tracker(ctx, s):
            out.append(GateViolation(
                rule="prohibited_use", kind="practice",
                statement=_statement("practice", f"{s.vendor} receives website or catalog "
                                     "use from library pages with no contract"),
                subject=s.name, system_id=s.system_id,
                control_id=web.id if (web := web_control(ctx)) else None,
                violating_attributes={"contract_on_file": ["no"], "tracker": [s.kind]}))
            continue
        unbound = [x for x, v in (("the policy", s.contract_binds_policy),
                                  ("Missouri law", s.contract_binds_missouri_law))
                   if v != YesNo.yes]
        unknown = all(v == YesNo.unknown for v in (s.contract_binds_policy,
                                                   s.contract_binds_missouri_law)
                      if v != YesNo.yes)
        missing = ("no contract on file" if not contract_on_file(s) else
                   ("the contract on file is not shown to bind it to " if unknown else
                    "the contract on file does not bind it to ") + " and ".join(unbound))
        label = " (marked as holding none, but its flows show them)" if mislabelled(ctx, s)\
            else ""
        out.append(GateViolation(
            rule="vendor_contract", kind="policy",
            statement=_statement("policy", f"{s.vendor} holds library records{label}; "
                                 f"{missing}"),
            subject=s.name, system_id=s.system_id,
            control_id=_control_id(ctx, "contract_binding"),
            violating_attributes=outcome.attributes))
    return out


def _practice_violations(ctx: Context) -> list[GateViolation]:
    out = []
    for s in sorted(ctx.systems.values(), key=lambda s: s.system_id):
        outcome = no_prohibited_use(ctx, s)
        if outcome.passed:
            continue
        uses = outcome.attributes.get("uses", [])
        out.append(GateViolation(
            rule="prohibited_use", kind="practice",
            statement=_statement("practice", f"{s.name} uses patron data for "
                                 + ", ".join(_words(u) for u in uses)),
            subject=s.name, system_id=s.system_id,
            control_id=_control_id(ctx, "no_prohibited_use"),
            violating_attributes=outcome.attributes))
    return out


def _evidence_violations(ctx: Context, evidence: EvidenceReport) -> list[GateViolation]:
    controls = {c.derived_from: c for c in ctx.bundle.policy.controls if c.derived_from}
    flows = {f.flow_id: f for f in ctx.flows}
    out = []
    for scan in sorted(evidence.files, key=lambda s: s.file):
        for issue in scan.issues:
            flow = flows.get(scan.flow_id) if scan.flow_id else None
            if not evidence_breaks_gate(issue, flow, ctx):
                continue
            control = controls.get(issue.control_hint)
            scope = category_scope(ctx, flow.category) if flow else "library_user_records"
            kind = "statute" if scope == "library_user_records" else "policy"
            subject = subject_of(flow, ctx) if flow else scan.file
            recipient = flow.recipient if flow else "a party outside the library"
            out.append(GateViolation(
                rule=EVIDENCE_RULE, kind=kind,  # type: ignore[arg-type]
                statement=_statement(kind, f"The export {scan.file}, sent to {recipient}, "
                                     f"shows identifying data ({_words(issue.kind)})"),
                subject=subject, system_id=flow.system_id if flow else None,
                flow_id=scan.flow_id, control_id=control.id if control else None,
                violating_attributes={"evidence": [issue.kind], "file": [scan.file]}))
    return out


def _web_violations(ctx: Context, web: WebReport) -> list[GateViolation]:
    control = web_control(ctx)
    flows = {f.flow_id: f for f in ctx.flows}
    out = []
    for issue in sorted(web.issues, key=lambda i: (i.kind, i.domain, i.page_type)):
        if not issue.hard:
            continue
        fid = f"WEB-{issue.domain}"
        flow = flows.get(fid)
        rule = web_rule(issue)
        who = issue.organisation or issue.domain
        out.append(GateViolation(
            rule=rule, kind="practice",
            statement=_statement("practice", f"{who} code on library pages "
                                 f"({_words(issue.kind)})"),
            subject=f"{who} on library web pages",
            system_id=flow.system_id if flow else None, flow_id=fid if flow else None,
            control_id=control.id if control else None,
            violating_attributes={"web": [issue.kind], "domain": [issue.domain]}))
    return out


def merge_violations(found: list[GateViolation]) -> list[GateViolation]:
    """One violation per rule, kind and system (or subject), its attributes merged."""
    merged: dict[tuple[str, str, str], GateViolation] = {}
    for v in sorted(found, key=lambda v: (v.rule, v.kind, v.subject, v.control_id or "",
                                          v.flow_id or "")):
        key = (v.rule, v.kind, v.system_id or v.subject)
        if key not in merged:
            merged[key] = v
            continue
        attrs = {k: list(vals) for k, vals in merged[key].violating_attributes.items()}
        for k, vals in v.violating_attributes.items():
            attrs[k] = sorted(set(attrs.get(k, [])) | set(vals))
        merged[key] = merged[key].model_copy(update={"violating_attributes": attrs})
    order = {k: i for i, k in enumerate(KIND_LABELS)}
    return sorted(merged.values(), key=lambda v: (order[kind_of(v)], v.rule, v.subject))


def evaluate_gate(ctx: Context, evaluated: list[Evaluated], evidence: EvidenceReport | None,
                  web: WebReport | None) -> Gate:
    """PASS or FAIL, one violation per problem, each labeled statute, policy or practice.

    The rules read the facts directly (the register, the flows, the systems), so a control's
    label-based ``when`` cannot hide a breach; ``evaluated`` is accepted for the caller's
    convenience and to report any other hard-gate control a library adds to its data."""
    found = [*_disclosure_violations(ctx), *_disclose_flow_violations(ctx),
             *_vendor_violations(ctx), *_practice_violations(ctx)]
    known = {"contract_binding", "no_prohibited_use", "disclosures_lawful"}
    gap = set(ctx.scales.gap_statuses)
    for e in evaluated:
        c = e.control
        if (e.status in gap and c.hard_gate and c.gate_rule
                and c.derived_from not in known):
            system_id = (e.target.system_id if c.applies_to == "flow" else
                         e.target_id if c.applies_to == "system" else None)
            kind = KIND_OF_RULE.get(c.gate_rule, "policy")
            found.append(GateViolation(
                rule=c.gate_rule, kind=kind,  # type: ignore[arg-type]
                statement=_statement(kind, f"{c.title} ({subject_of(e.target, ctx)})"),
                subject=subject_of(e.target, ctx), system_id=system_id,
                flow_id=e.target_id if c.applies_to == "flow" else None, control_id=c.id,
                violating_attributes=e.outcome.attributes if e.outcome else
                {"status": [e.status]}))
    if evidence is not None:
        found += _evidence_violations(ctx, evidence)
    if web is not None:
        found += _web_violations(ctx, web)
    violations = merge_violations(found)
    return Gate(result="FAIL" if violations else "PASS", violations=violations)
