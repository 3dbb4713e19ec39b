"""The Board's risk register: one risk per problem for patrons, rated on its own facts.

Control results (one row per control and target) feed risks; each gate violation links to
one. The rules follow the expert rubric (``judgment-rubric.md``): a fact is rated once
(R1), every Critical is backed by a gate failure or observed evidence (R2), paperwork and
unknowns are rated at most Moderate (S7, L4), a documented failure sets a likelihood floor
(L2), observed evidence is certain (L1), and web third parties are rated by what they
receive (W2). The numbers are in ``scales.yaml`` under ``risk_register``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lcopia import calendar
from lcopia.models import (
    Disclosure,
    Finding,
    Flow,
    FlowScore,
    Gate,
    GateViolation,
    Risk,
    Theme,
    WebClass,
)
from lcopia.scoring.context import Context, Evaluated
from lcopia.scoring.evidence_rating import FILE_PROBLEMS, rate_file
from lcopia.scoring.findings import evidence_finding_ids
from lcopia.scoring.risk import documented_factors, exposure_factors
from lcopia.wording import plural

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.evidence import EvidenceReport, FileScan
    from lcopia.web import WebReport

#: Which kind of gate a rule is, until the gate sets ``GateViolation.kind`` itself.
RULE_KIND = {"disclosure_route": "statute", "vendor_contract": "policy",
             "prohibited_use": "practice"}
_IDENTIFYING_ISSUES = {"identifier_in_statistics", "reidentification", "l_diversity"}
_TRACKING_CATEGORIES = {"advertising", "social", "analytics", "tag_manager", "unknown"}


def slug(text: str) -> str:
    """A stable id fragment from a name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


@dataclass
class Draft:
    """A risk being assembled: what it is about, then its rating."""

    id: str
    kind: str
    title: str
    harm: str
    action: str
    owner: str
    systems: set[str] = field(default_factory=set)
    flows: set[str] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    observed: bool = False
    gate_kinds: set[str] = field(default_factory=set)
    theme: Theme | None = None
    nature: str = "exposure"  # exposure, paperwork, governance, unknown, observed
    file: str | None = None  # an exported file's problem: rated on what the file showed
    # Set by the rating step.
    severity: int = 1
    severity_reasons: list[str] = field(default_factory=list)
    likelihood: tuple[int, int, int] = (1, 1, 1)
    likelihood_reasons: list[str] = field(default_factory=list)
    clauses: set[str] = field(default_factory=set)
    statutes: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)


# ----------------------------------------------------------------------------- web parties


@dataclass(frozen=True)
class WebParty:
    """One organization on the library's pages and the most harmful thing it receives (W3)."""

    organisation: str
    web_class: WebClass
    domains: tuple[str, ...]
    systems: tuple[str, ...]
    flows: tuple[str, ...]
    facts: tuple[str, ...]


def web_class(receives: set[str], classes: list[WebClass]) -> WebClass:
    """The first class of ``scales.yaml`` whose receive values match (W2)."""
    for c in classes:
        hit = not c.receives_any or bool(receives & set(c.receives_any))
        need = not c.needs_any or bool(receives & set(c.needs_any))
        if hit and need:
            return c
    return classes[-1]


def web_parties(ctx: Context, web: WebReport | None) -> list[WebParty]:
    """Third parties on library pages: one per organization, rated by the most harmful thing
    it receives (W2, W3: Google Analytics, Tag Manager and Fonts are one Google risk).

    The one place that reads the web report's shape. It uses ``WebReport.organizations``
    (one entry per organization with what it receives, W2) when the report has it, and
    otherwise groups ``third_parties`` by organization. A contracted vendor bound to the
    policy that delivers its own service on the pages (e-content, databases) is first party
    in effect (W4) and not listed.
    """
    if web is None:
        return []
    classes = ctx.scales.risk_register.web_classes
    by_id = {c.id: c for c in classes}
    flows = {f.flow_id: f for f in ctx.flows}
    tps = {tp.domain: tp for tp in web.third_parties}

    def bound(domain: str, system_id: str | None = None) -> bool:
        flow = flows.get(f"WEB-{domain}")
        system = ctx.systems.get(system_id or (flow.system_id if flow else ""))
        return bool(system and system.contract_binds_policy.value == "yes"
                    and system.contract_binds_missouri_law.value == "yes"
                    and not set(system.uses) & set(ctx.vocab.prohibited_uses))

    order = {c.id: i for i, c in enumerate(classes)}
    groups: dict[str, list[str]] = defaultdict(list)
    rated: dict[str, str] = {}
    organisations = getattr(web, "organisations", None) or []
    if organisations:
        for org in organisations:
            tracking = set(org.categories) & _TRACKING_CATEGORIES
            if bound(org.domains[0], org.system_id) and not tracking:
                continue
            things = [r for r in org.receives if r in by_id] or [classes[-1].id]
            groups[org.name] += org.domains
            rated[org.name] = min(things, key=lambda t: order[t])
    else:
        for tp in sorted(web.third_parties, key=lambda t: t.domain):
            if bound(tp.domain) and tp.category not in _TRACKING_CATEGORIES:
                continue
            org = tp.organisation if tp.organisation and tp.category != "unknown" else tp.domain
            groups[org].append(tp.domain)
            cid = web_class(set(tp.receives), classes).id
            rated[org] = min(rated.get(org, cid), cid, key=lambda t: order[t])
    out = []
    for org, domains in sorted(groups.items()):
        cid = rated[org]
        domains = sorted(set(domains))
        systems = sorted({flows[f"WEB-{d}"].system_id for d in domains if f"WEB-{d}" in flows})
        own = sorted({f.flow_id for s in systems for f in ctx.flows_by_system.get(s, [])})
        facts = []
        for d in domains:
            tp = tps.get(d)
            if tp is None:
                continue
            facts.append(f"{d} ({tp.category.replace('_', ' ')}) received "
                         f"{', '.join(r.replace('_', ' ') for r in tp.receives)} on "
                         f"{', '.join(p.replace('_', ' ') for p in tp.page_types)} pages "
                         f"({tp.pages} captured page{'s' if tp.pages != 1 else ''})")
        out.append(WebParty(org, by_id[cid], tuple(domains), tuple(systems), tuple(own),
                            tuple(facts)))
    return out


# ----------------------------------------------------------------------------- the register


class Register:
    """Collects drafts by id; each finding and violation lands in exactly one."""

    def __init__(self, ctx: Context, flow_scores: dict[str, FlowScore],
                 evaluated: list[Evaluated], evidence: EvidenceReport | None = None) -> None:
        self.ctx = ctx
        self.scores = flow_scores
        self.drafts: dict[str, Draft] = {}
        self.reg = ctx.scales.risk_register
        self.theme_of = {c: t for t in self.reg.themes for c in t.controls}
        self.controls = {c.id: c for c in ctx.bundle.policy.controls}
        self.flows = {f.flow_id: f for f in ctx.flows}
        self.evaluated = {f"{e.control.id}@{e.target_id}": e for e in evaluated}
        self.web_of_system: dict[str, str] = {}
        self.web_of_domain: dict[str, str] = {}
        self._factors: dict[str, tuple[set[str], set[str]]] = {}
        # exported files: by name, the file of each evidence finding, the files of a flow
        self.scans: dict[str, FileScan] = {}
        self.file_of_finding: dict[str, str] = {}
        self.files_of_flow: dict[str, list[str]] = defaultdict(list)
        ids = evidence_finding_ids(evidence) if evidence else {}
        for scan in sorted(evidence.files, key=lambda s: s.file) if evidence else []:
            self.scans[scan.file] = scan
            if scan.flow_id:
                self.files_of_flow[scan.flow_id].append(scan.file)
            for n in range(len(scan.issues)):
                self.file_of_finding[ids[(scan.file, n)]] = scan.file

    def factors(self, flow: Flow) -> tuple[set[str], set[str]]:
        """(present, documented) exposure factors of a flow, computed once."""
        if flow.flow_id not in self._factors:
            system = self.ctx.systems[flow.system_id]
            self._factors[flow.flow_id] = (set(exposure_factors(flow, system, self.ctx)),
                                           documented_factors(flow, system, self.ctx))
        return self._factors[flow.flow_id]

    def get(self, rid: str, **make: Any) -> Draft:
        if rid not in self.drafts:
            self.drafts[rid] = Draft(id=rid, **make)
        return self.drafts[rid]

    def names(self, systems: set[str]) -> str:
        return ", ".join(sorted(self.ctx.systems[s].name for s in systems
                                if s in self.ctx.systems)) or "the library"

    # --------------------------------------------------------------- kinds of risk

    def web(self, parties: list[WebParty]) -> None:
        for p in parties:
            c = p.web_class
            rid = f"R-web_tracker-{slug(p.organisation)}"
            if c.id == classes_last(self.reg.web_classes):
                action = (f"Serve what the library's pages load from {p.organisation} "
                          f"({', '.join(p.domains)}) from the library's own site, or record "
                          "the decision to keep it")
            else:
                action = (f"Remove {p.organisation}'s code from the library's pages, or sign a "
                          f"contract binding {p.organisation} to the policy and Missouri law "
                          f"that stops it receiving {c.label}")
            d = self.get(rid, kind="web_tracker", nature="observed",
                         title=f"{p.organisation} receives {c.label} from the library's "
                         "web pages",
                         harm=f"{p.organisation} receives {c.label} from patrons' browsers "
                         "without a contract that keeps it confidential: a decision to remove "
                         "or contract, not a vendor to audit.",
                         action=action, owner="Privacy Officer")
            d.observed = True
            d.systems.update(p.systems)
            d.flows.update(f"WEB-{dom}" for dom in p.domains)
            d.flows.update(p.flows)
            d.evidence.extend(p.facts)
            d.severity, d.severity_reasons = c.severity, [f"receives {c.label} (W2)"]
            rate = (c.likelihood, c.likelihood, self.reg.after_fix_likelihood)
            d.likelihood, d.likelihood_reasons = rate, [
                "observed in a browser capture (L1)" if c.likelihood >= self.reg.observed_likelihood
                else "observed, but an IP address alone reaches no one without linking"]
            for s in p.systems:
                # A system's rows join the organisation's most serious risk.
                old = self.web_of_system.get(s)
                if old is None or self.drafts[old].severity < d.severity:
                    self.web_of_system[s] = rid
            for dom in p.domains:
                self.web_of_domain[dom] = rid

    def disclosure(self, d: Disclosure) -> Draft:
        rid = f"R-disclosure-{slug(d.request_id)}"
        if rid in self.drafts:
            return self.drafts[rid]
        vocab = self.ctx.vocab
        who = _label(vocab.requester_types, d.requester_type).lower()
        how = _label(vocab.instruments, d.instrument).lower()
        names = {c.id: c.name for c in self.ctx.bundle.taxonomy.categories}
        what = " and ".join(names.get(c, c.replace("_", " ")).lower() for c in d.categories)
        draft = self.get(
            rid, kind="disclosure", nature="observed",
            title=f"{what[:1].upper()}{what[1:]} records released to {who} on {how}: outside "
            "the statute's two routes, for counsel to review",
            harm="A patron's records left the library without the patron's written request "
            "or a court order with the statute's finding; counsel should review.",
            action=f"Review the {d.received.isoformat()} release ({d.request_id}) with counsel, "
            "consider telling the patron, and have every request referred to the Privacy "
            "Officer", owner="Privacy Officer")
        draft.observed = True
        draft.evidence.append(f"Received {d.received.isoformat()} from "
                              f"{d.requester_type.replace('_', ' ')}: "
                              f"{d.records_requested}; decision "
                              f"{d.decision.replace('_', ' ')}. {d.notes}".strip())
        cats = set(d.categories)
        flows = [f for f in self.ctx.flows if f.category in cats]
        elements = {e for f in flows for e in f.elements}
        sev = self.ctx.scales.severity_by_tier[max(
            (self.ctx.element_tier[e] for e in elements if e in self.ctx.element_tier),
            key=lambda t: self.ctx.tier_rank[t], default=self.ctx.lowest_tier)]
        reasons = ["the records requested are in: " + ", ".join(sorted(cats))]
        if elements & self.ctx.activity:
            sev = 4
            reasons.append("records of one identified person's activity (S1)")
        children = d.requester_type == "parent_guardian" or any(
            w in re.findall(r"[a-z]+", d.records_requested.lower())
            for w in self.reg.children_words)
        if children:
            sev = min(4, sev + 1)
            reasons.append("about children (S5)")
        draft.severity, draft.severity_reasons = sev, reasons
        obs = self.reg.observed_likelihood
        draft.likelihood = (obs, obs, self.reg.after_fix_likelihood)
        draft.likelihood_reasons = ["the release is recorded in the disclosure register (L1)"]
        return draft

    def on_system(self, kind: str, system_id: str, title: str, harm: str, action: str,
                  owner: str) -> Draft:
        """A gate-backed risk about one system (contract, prohibited use, other rules)."""
        d = self.get(f"R-{kind}-{slug(system_id)}", kind=kind, nature="gate", title=title,
                     harm=harm, action=action, owner=owner)
        d.systems.add(system_id)
        d.flows.update(f.flow_id for f in self.ctx.flows_by_system.get(system_id, []))
        return d

    def vendor_contract(self, system_id: str) -> Draft:
        s = self.ctx.systems[system_id]
        return self.on_system(
            "vendor_contract", system_id,
            f"{s.name} holds patron records without a contract binding it to the policy",
            "If the vendor uses, shares or hands over patron records, the library has no "
            "contract term to stop it or to make it answer to Missouri law.",
            f"Sign a contract or addendum binding {s.vendor} to the library's policy and "
            "Missouri law, or stop sending it patron records", "Library Director")

    def prohibited_use(self, system_id: str) -> Draft:
        s = self.ctx.systems[system_id]
        uses = sorted(set(s.uses) & set(self.ctx.vocab.prohibited_uses))
        return self.on_system(
            "prohibited_use", system_id,
            f"{s.name} uses patron data for {', '.join(uses) or 'a prohibited use'}",
            "Advertising, profiling, sale or AI training on patron data is below the ALA/NISO "
            "standard the library adopted, and builds profiles of what patrons read.",
            f"Turn off {', '.join(uses) or 'the prohibited use'} in {s.name}, or stop using it",
            "Privacy Officer")

    def export(self, flow_id: str | None, file: str) -> Draft:
        """One risk per exported file's problem (R1): every column and check of the file
        feeds it; its words and rating come from what the file showed (``rate_export``)."""
        flow = self.flows.get(flow_id or "")
        system = self.ctx.systems[flow.system_id] if flow else None
        files = self.files_of_flow.get(flow_id or "", [])
        rid = f"R-export-{slug(flow_id or file)}"
        if len(files) > 1:
            rid += f"-{slug(file.rsplit('/', 1)[-1].rsplit('.', 1)[0])}"
        what = flow.purpose if flow else "an exported file"
        d = self.get(rid, kind="export_identifiers", nature="observed",
                     title=f"A file checked for {what} shows more than it should",
                     harm="A file shared as if it identified no one identifies patrons.",
                     action=f"Correct the {what} file and check exports before they leave",
                     owner="Privacy Officer")
        d.file = file
        d.observed = True
        if flow and system:
            d.flows.add(flow.flow_id)
            d.systems.add(system.system_id)
        return d

    # --------------------------------------------------------------- routing

    def route(self, f: Finding) -> Draft:
        """The risk a control-level row feeds (a fact is rated once)."""
        e = self.evaluated.get(f.id)
        control = self.controls.get(f.control_id or "")
        derived = control.derived_from if control else None
        if f.kind == "web":
            domain = f.id.split("@", 1)[1].rsplit(":", 1)[0]
            if domain in self.web_of_domain:
                return self.drafts[self.web_of_domain[domain]]
        if f.flow_id and f.flow_id.startswith("WEB-"):
            domain = f.flow_id[4:]
            if domain in self.web_of_domain:
                return self.drafts[self.web_of_domain[domain]]
        if f.system_id in self.web_of_system:
            return self.drafts[self.web_of_system[f.system_id]]
        if f.kind == "disclosure":
            req = f.id.split("@", 1)[1]
            found = next((d for d in self.ctx.bundle.inventory.disclosures
                          if d.request_id == req), None)
            if found is not None:
                return self.disclosure(found)
        if derived == "disclosures_lawful":
            subjects = e.outcome.subjects if e and e.outcome else ()
            for d in self.ctx.bundle.inventory.disclosures:
                if d.request_id in subjects:
                    return self.disclosure(d)
        if f.kind == "evidence":
            kind = f.id[3:].split("@", 1)[0]
            if kind == "retention_exceeded" and f.flow_id in self.flows:
                d = self.theme_risk(self.theme_by_id("retention"), f)
                d.observed = True
                return d
            # one file, one correction (R1): every column and check of it is one risk
            file = self.file_of_finding.get(f.id) or f.subject
            return self.export(f.flow_id, file)
        if derived == "statistics_non_identifying" and f.flow_id:
            mine = [d for d in self.drafts.values()
                    if d.file is not None and f.flow_id in d.flows]
            if mine:
                return min(mine, key=lambda d: (-d.severity, d.id))
        if derived == "contract_binding" and f.system_id:
            return self.vendor_contract(f.system_id)
        if derived == "no_prohibited_use" and f.system_id:
            return self.prohibited_use(f.system_id)
        if f.kind == "policy_gap":
            # Counsel questions are about how requests are handled: one governance problem.
            return self.theme_risk(self.theme_by_id("request_handling"), f)
        if (e is not None and e.status == "unknown") or self.unknown_fact(f, e):
            return self.not_yet_known(f, e)
        theme = self.theme_of.get(f.control_id or "")
        if theme is not None:
            return self.theme_risk(theme, f)
        return self.control_risk(f)

    def unknown_fact(self, f: Finding, e: Evaluated | None) -> bool:
        """A fact check that failed only because the inventory says ``unknown``."""
        theme = self.theme_of.get(f.control_id or "")
        flow = self.flows.get(f.flow_id or "")
        if not (e and e.outcome and theme and theme.factors and flow):
            return False
        found, documented = self.factors(flow)
        present = set(theme.factors) & found
        return bool(present) and not present & documented

    def documented_facts(self) -> None:
        """Facts beat answers (G8, L2): a documented failure in the inventory is a risk even
        when no control row reports it (e.g. staff-wide access on a flow whose system-level
        access control is answered implemented)."""
        covered = {(d.theme.id, f) for d in self.drafts.values() if d.theme for f in d.flows}
        for theme in self.reg.themes:
            if not theme.factors or not theme.from_facts:
                continue
            for flow in sorted(self.ctx.flows, key=lambda f: f.flow_id):
                system = self.ctx.systems[flow.system_id]
                found = set(theme.factors) & self.factors(flow)[1]
                if (theme.id, flow.flow_id) in covered or system.system_id in self.web_of_system\
                        or not found:
                    continue
                d = self.get(f"R-{theme.id}-{slug(system.system_id)}", kind=theme.id,
                             nature="exposure", title=theme.title, harm=theme.harm,
                             action=theme.action, owner=theme.owner, theme=theme)
                d.systems.add(system.system_id)
                d.flows.add(flow.flow_id)
                labels = [x.label.lower() for x in self.ctx.scales.likelihood_factors
                          if x.id in found]
                d.evidence.append(f"{system.name}: {flow.purpose}: the inventory records "
                                  + ", ".join(f"'{x}'" for x in labels))

    def theme_by_id(self, theme_id: str) -> Theme:
        """A theme from scales.yaml, or a plain one of that id when a library has none."""
        return next((t for t in self.reg.themes if t.id == theme_id), Theme(
            id=theme_id, nature="governance" if theme_id == "request_handling" else "exposure",
            controls=[], title=theme_id.replace("_", " ").capitalize() + " ({systems})",
            harm="A safeguard the policy expects is missing.",
            action=f"Address {theme_id.replace('_', ' ')} in {{systems}}"))

    def theme_risk(self, theme: Theme, f: Finding) -> Draft:
        system_id = f.system_id or (self.flows[f.flow_id].system_id if f.flow_id in self.flows
                                    else None)
        if theme.nature == "exposure" and system_id:
            for kind in theme.joins:
                same = f"R-{kind}-{slug(system_id)}"
                if same in self.drafts:
                    return self.drafts[same]
                if kind == "web_tracker" and self.web_of_domain:
                    return max((self.drafts[r] for r in set(self.web_of_domain.values())),
                               key=lambda d: (d.severity, d.id))
            d = self.get(f"R-{theme.id}-{slug(system_id)}", kind=theme.id, nature="exposure",
                         title=theme.title, harm=theme.harm, action=theme.action,
                         owner=theme.owner or f.owner, theme=theme)
            d.systems.add(system_id)
            return d
        d = self.get(f"R-{theme.id}", kind=theme.id if theme.nature == "governance"
                     else "due_diligence", nature=theme.nature, title=theme.title,
                     harm=theme.harm, action=theme.action, owner=theme.owner or f.owner,
                     theme=theme)
        if system_id:
            d.systems.add(system_id)
        return d

    def control_risk(self, f: Finding) -> Draft:
        """A control no theme names is a theme of its own (so it rolls up across systems)."""
        control = self.controls.get(f.control_id or "")
        title = control.title if control else f.title
        theme = Theme(id=slug(f.control_id or f.id), controls=[f.control_id or f.id],
                      nature="exposure" if f.system_id or f.flow_id else "governance",
                      title=f"{title}: not in place" + (" ({systems})" if f.system_id else ""),
                      harm=f"A safeguard the policy expects is missing: {title.lower()}.",
                      action=f.recommendation + (" ({systems})" if f.system_id else ""),
                      owner=f.owner)
        return self.theme_risk(theme, f)

    def not_yet_known(self, f: Finding, e: Evaluated | None) -> Draft:
        """L4: every unknown in one area is one problem, listing what to ask."""
        control = e.control if e else None
        external = bool(control and control.when.external) or bool(
            f.system_id and self.ctx.systems[f.system_id].external)
        if control is None or control.applies_to == "library":
            area, words = "library", "the library's own procedures"
        elif external:
            area, words = "vendors", "how vendors handle patron records"
        else:
            area, words = "systems", "how the library's own systems handle patron records"
        d = self.get(f"R-not_yet_known-{area}", kind="not_yet_known", nature="unknown",
                     title=f"Not yet known: {words}",
                     harm="Unanswered questions hide risks nobody has rated; until they are "
                     "answered the library cannot show these records are safe.",
                     action=f"Answer the open questions about {words} and record the answers",
                     owner="Privacy Officer")
        if f.system_id:
            d.systems.add(f.system_id)
        return d

    # --------------------------------------------------------------- rating

    def affected_flows(self, d: Draft) -> list[Flow]:
        ids = set(d.flows) or {f.flow_id for f in d.findings if f.flow_id}
        if not ids:
            ids = {fl.flow_id for s in d.systems for fl in self.ctx.flows_by_system.get(s, [])}
        return [self.flows[i] for i in sorted(ids) if i in self.flows]

    def rate(self, d: Draft) -> None:
        reg = self.reg
        flows = self.affected_flows(d)
        scores = [self.scores[f.flow_id] for f in flows if f.flow_id in self.scores]
        if d.nature in ("paperwork", "governance"):
            top = max((s.severity for s in scores), default=reg.paperwork_severity)
            d.severity = min(reg.paperwork_severity, top)
            d.severity_reasons = ["a missing safeguard or document lowers confidence; it is "
                                  "not a harm in itself (S7)"]
            statuses = {self.evaluated[f.id].status for f in d.findings if f.id in self.evaluated}
            worst = reg.documented_failure_floor if statuses & {"not_implemented"} or any(
                f.kind == "policy_gap" for f in d.findings) else 2
            d.likelihood = (worst, worst, reg.after_fix_likelihood)
            d.likelihood_reasons = ["not implemented" if worst > 2 else "partly in place"]
            return
        if d.nature == "unknown":
            d.severity = reg.unknown_severity
            d.severity_reasons = ["unknowns are a gap, rated once for the area (L4)"]
            d.likelihood = (reg.unknown_likelihood, reg.unknown_likelihood,
                            reg.after_fix_likelihood)
            d.likelihood_reasons = [f"{plural(len(d.findings), 'question')} unanswered"]
            return
        if d.kind in ("web_tracker", "disclosure"):
            return  # rated from what was observed when the draft was made
        if d.file is not None:
            self.rate_export(d, flows)
            return
        if not scores:
            d.severity, d.severity_reasons = 1, ["no inventoried flow carries it"]
            d.likelihood = (2, 2, reg.after_fix_likelihood)
            return
        head = max(scores, key=lambda s: (s.severity, s.residual_likelihood, s.flow_id))
        d.severity = head.severity
        d.severity_reasons = [f"{self.flows[head.flow_id].purpose}: "
                              + "; ".join(head.severity_reasons)]
        inh = max(s.inherent_likelihood for s in scores)
        res = max(s.residual_likelihood for s in scores)
        plan = max(s.planned_likelihood for s in scores)
        reasons = [f"exposure of the flows concerned: likelihood {res} as answered"]
        factors = set(d.theme.factors) if d.theme else set()
        documented = {x for f in flows for x in self.factors(f)[1]}
        if d.kind == "vendor_contract" or d.kind == "prohibited_use" or d.nature == "gate":
            failure = True
            reasons.append("the gate's finding is a documented failure (L2)")
        else:
            failure = bool(factors & documented)
            if failure:
                reasons.append("documented: " + ", ".join(
                    sorted(x.replace("_", " ") for x in factors & documented)) + " (L2)")
        if failure and res < reg.documented_failure_floor:
            res = reg.documented_failure_floor
        if d.observed:
            res = reg.observed_likelihood
            reasons.append("observed in an export checked (L1)")
        d.likelihood = (max(inh, res), res, min(plan, res))
        d.likelihood_reasons = reasons

    def rate_export(self, d: Draft, flows: list[Flow]) -> None:
        """An exported file's risk is rated on what the file showed and who receives it,
        never on the flow it was registered to (E1-E4, S1-S5, L1; ``evidence_rating``)."""
        reg = self.reg
        flow = flows[0] if flows else None
        scan = self.scans.get(d.file or "")
        if scan is None:  # a finding without its scan: rated as an identifier seen (L1)
            d.severity, d.severity_reasons = reg.paperwork_severity, [
                "an identifier reported in an export that was not scanned in this run"]
            lik = reg.observed_likelihood
            d.likelihood = (lik, lik, reg.after_fix_likelihood)
            d.likelihood_reasons = ["seen in the file (L1)"]
            return
        issues = [i for i in scan.issues if i.kind in FILE_PROBLEMS]
        files = self.files_of_flow.get(scan.flow_id or "", [])
        copy = (f" (export {files.index(scan.file) + 1} of {len(files)})"
                if len(files) > 1 and scan.file in files else "")
        r = rate_file(scan, issues, flow, self.ctx, copy=copy)
        d.kind, d.title, d.harm, d.action = r.kind, r.title, r.harm, r.action
        d.severity, d.severity_reasons = r.severity, r.severity_reasons
        d.likelihood = (r.likelihood, r.likelihood, min(reg.after_fix_likelihood,
                                                        r.likelihood))
        d.likelihood_reasons = r.likelihood_reasons


def _label(terms: list[Any], term_id: str) -> str:
    return next((t.label for t in terms if t.id == term_id), term_id.replace("_", " "))


def classes_last(classes: list[WebClass]) -> str:
    return classes[-1].id if classes else ""


# ----------------------------------------------------------------------------- build


def _band_max(label_id: str, scales: Any) -> int:
    return next(b.max for b in scales.risk_bands if b.id == label_id)


def _band_rank(label: str, scales: Any) -> int:
    return next(i for i, b in enumerate(scales.risk_bands) if b.label == label)


def _rollup(reg: Register) -> None:
    """Low and Moderate exposure risks of one theme become one risk across systems (R1, R4)."""
    scales = reg.ctx.scales
    limit = next(i for i, b in enumerate(scales.risk_bands)
                 if b.id == reg.reg.exposure_rollup_below)
    by_theme: dict[str, list[Draft]] = defaultdict(list)
    for d in reg.drafts.values():
        if d.nature == "exposure" and d.theme is not None and not d.observed\
                and not d.gate_kinds:
            score = min(d.severity * d.likelihood[1],
                        _band_max(reg.reg.unbacked_max_band, scales))
            if _band_index(score, scales) < limit:
                by_theme[d.theme.id].append(d)
    for theme_id, group in by_theme.items():
        if len(group) < 2:
            continue
        merged = Draft(id=f"R-{theme_id}-several", kind=theme_id, title=group[0].title,
                       harm=group[0].harm, action=group[0].action, owner=group[0].owner,
                       theme=group[0].theme, nature="exposure")
        for d in group:
            del reg.drafts[d.id]
            merged.systems |= d.systems
            merged.flows |= d.flows
            merged.findings += d.findings
            merged.evidence += d.evidence
        reg.drafts[merged.id] = merged
        reg.rate(merged)


def _band_index(score: int, scales: Any) -> int:
    for i, b in enumerate(scales.risk_bands):
        if score <= b.max:
            return i
    return len(scales.risk_bands) - 1


def build_register(ctx: Context, evaluated: list[Evaluated], flow_scores: dict[str, FlowScore],
                   findings: list[Finding], gate: Gate, web: WebReport | None,
                   evidence: EvidenceReport | None = None
                   ) -> tuple[list[Risk], list[Finding], Gate]:
    """The register, the control-level rows with their risk ids, and the gate linked to it."""
    from_scales = ctx.scales
    reg = Register(ctx, flow_scores, evaluated, evidence)
    reg.web(web_parties(ctx, web))
    for f in sorted(findings, key=lambda f: (f.kind != "disclosure", f.kind != "evidence",
                                             f.id)):
        d = reg.route(f)
        d.findings.append(f)
        d.clauses.update(f.clauses)
        d.statutes.update(f.statutes)
        if f.flow_id and d.nature not in ("paperwork", "governance", "unknown"):
            d.flows.add(f.flow_id)
        fact = f"{f.subject}: {f.evidence}" if f.subject else f.evidence
        if f.kind in ("control", "gate") and f.evidence.startswith(("Answered", "No answer")):
            fact = f"{f.subject}: {f.title}. {f.evidence}"
        if d.nature == "unknown":
            fact = _question(reg, f)
        if fact not in d.seen and d.kind not in ("web_tracker", "disclosure"):
            d.seen.add(fact)
            d.evidence.append(fact)
    reg.documented_facts()
    violations = []
    for v in gate.violations:
        d = _violation_risk(reg, v)
        kind = v.kind or RULE_KIND.get(v.rule)
        if kind:
            d.gate_kinds.add(kind)
        violations.append(v.model_copy(update={"risk_id": d.id, "kind": kind}))
    for d in reg.drafts.values():
        reg.rate(d)
    _rollup(reg)
    risks = _finish(reg, from_scales)
    by_id = {r.id: r for r in risks}
    linked = []
    for d in reg.drafts.values():
        r = by_id[d.id]
        linked += [f.model_copy(update={"risk_id": r.id, "risk": r.residual_risk,
                                        "band": r.residual_band, "due": r.due})
                   for f in d.findings]
    linked.sort(key=lambda f: (-f.risk, not f.hard_gate, f.id))
    return risks, linked, gate.model_copy(update={"violations": violations})


def _question(reg: Register, f: Finding) -> str:
    """What to ask, for a 'not yet known' row (L4: the register lists the questions)."""
    control = reg.controls.get(f.control_id or "")
    e = reg.evaluated.get(f.id)
    if e is not None and e.outcome is not None:
        return f"Ask: {f.subject}: {e.outcome.evidence.replace(': unknown', '?')}"
    return f"Ask about {f.subject}: {control.question if control else f.title}"


def _violation_risk(reg: Register, v: GateViolation) -> Draft:
    """The risk a gate violation is about (every violation links to exactly one)."""
    attrs = v.violating_attributes
    for dom in attrs.get("domain", []):
        if dom in reg.web_of_domain:
            return reg.drafts[reg.web_of_domain[dom]]
    if v.system_id in reg.web_of_system:
        return reg.drafts[reg.web_of_system[v.system_id]]
    requests = attrs.get("requests", [])
    for d in reg.ctx.bundle.inventory.disclosures:
        if d.request_id in requests and (d.request_id == v.subject or len(requests) == 1):
            return reg.disclosure(d)
    if "evidence" in attrs:
        return reg.export(v.flow_id, (attrs.get("file") or [v.subject])[0])
    control = reg.controls.get(v.control_id or "")
    derived = control.derived_from if control else None
    if derived == "contract_binding" and v.system_id in reg.ctx.systems:
        return reg.vendor_contract(v.system_id)
    if derived == "no_prohibited_use" and v.system_id in reg.ctx.systems:
        return reg.prohibited_use(v.system_id)
    target = v.system_id or v.flow_id or v.subject
    d = reg.get(f"R-gate-{slug(v.rule)}-{slug(target)}", kind=v.rule, nature="gate",
                title=f"{v.subject}: {v.statement}", harm=v.statement,
                action=f"Correct or stop: {v.subject}", owner="Privacy Officer")
    if v.system_id:
        d.systems.add(v.system_id)
    if v.flow_id:
        d.flows.add(v.flow_id)
    return d


def _finish(reg: Register, scales: Any) -> list[Risk]:
    """Caps (R2, S7), bands, due dates and ranks."""
    rr = reg.reg
    unbacked_max = _band_max(rr.unbacked_max_band, scales)
    paper_max = _band_max(rr.paperwork_max_band, scales)
    out = []
    for d in reg.drafts.values():
        sev = d.severity
        risks = [sev * li for li in d.likelihood]
        reasons = list(d.likelihood_reasons)
        cap = None
        if d.nature in ("paperwork", "governance", "unknown"):
            cap = paper_max
        elif not (d.gate_kinds or d.observed):
            cap = unbacked_max
        if cap is not None and risks[0] > cap:
            reasons.append("rated at most "
                           + next(b.label for b in scales.risk_bands if b.max == cap)
                           + (" (S7: paperwork or unknowns)" if cap == paper_max and
                              d.nature != "exposure" else
                              " (R2: no gate failure or observed evidence)"))
            risks = [min(x, cap) for x in risks]
        inh, res, plan = risks
        inh, plan = max(inh, res), min(plan, res)
        bands = [_band_label(x, scales) for x in (inh, res, plan)]
        names = reg.names(d.systems)
        n = len(d.systems)
        title = d.title.format(systems=names if n <= 2 else f"{n} systems", n=n)
        action = d.action.format(systems=names, n=n)
        findings = sorted(d.findings, key=lambda f: f.id)
        prio = sorted({f.ala_priority for f in findings if f.ala_priority})
        gate_kind = next((k for k in ("statute", "policy", "practice") if k in d.gate_kinds),
                         None)
        out.append(Risk(
            id=d.id, kind=d.kind, title=title, harm=d.harm, systems=sorted(d.systems),
            flows=sorted(d.flows), evidence=_shortlist(d.evidence, rr.evidence_lines),
            observed=d.observed,
            gate_kind=gate_kind, severity=sev, severity_reasons=d.severity_reasons,
            inherent_likelihood=d.likelihood[0], residual_likelihood=d.likelihood[1],
            planned_likelihood=d.likelihood[2], likelihood_reasons=reasons,
            inherent_risk=inh, residual_risk=res, planned_risk=plan, inherent_band=bands[0],
            residual_band=bands[1], planned_band=bands[2], action=action, owner=d.owner,
            due=None, ala_priority=prio[0] if prio else None,
            control_results=[f.id for f in findings], clauses=sorted(d.clauses),
            statutes=sorted(d.statutes), rank=0))
    out.sort(key=lambda r: (-r.residual_risk, r.gate_kind is None, not r.observed,
                            -r.severity, r.id))
    windows = [next(b.due_days for b in scales.risk_bands if b.label == r.residual_band)
               for r in out]
    dues = due_dates(reg.ctx, windows)
    return [r.model_copy(update={"rank": i + 1, "due": d})
            for i, (r, d) in enumerate(zip(out, dues, strict=True))]


def due_dates(ctx: Context, windows: list[int]) -> list[dt.date]:
    """Due dates for the risks in rank order, each within its band's window (rubric R3).

    The one place register dates are set: counted from the Board meeting that approves the
    plan (not from the assessment date, which comes before it), on business days, and
    spread over each band's window so the work is not all due on one day.
    """
    approval = calendar.board_meeting_after(ctx.bundle.inventory.library, ctx.as_of)
    return calendar.spread_due_dates(approval, windows)


def _shortlist(lines: list[str], limit: int) -> list[str]:
    """The first ``limit`` facts and a count of the rest (the CSV keeps every row)."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"... and {len(lines) - limit} more in the control results"]


def _band_label(score: int, scales: Any) -> str:
    return scales.risk_bands[_band_index(score, scales)].label


def counts(risks: list[Risk], gate: Gate, scales: Any) -> dict[str, int]:
    """Register and gate counts, so every output states the same numbers."""
    out = {"risks": len(risks)}
    for b in scales.risk_bands:
        out[f"risks_{b.label.lower()}"] = sum(r.residual_band == b.label for r in risks)
    for k in ("statute", "policy", "practice"):
        out[f"gate_{k}"] = sum(v.kind == k for v in gate.violations)
    return out


__all__ = ["RULE_KIND", "WebParty", "build_register", "counts", "web_parties"]
