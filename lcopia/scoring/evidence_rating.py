"""An exported file's risk, rated on what the file showed and who receives it (rubric E1-E4).

The flow a file is registered to says where the file goes; it does not set the rating. The
same problem (e-mail addresses in a "statistics" file) is rated the same on any flow with
the same content and the same kind of recipient:

* severity comes from the file's content: identifier kinds (their tier through the
  taxonomy's ``detected_as``), reading content tied to them, a linkable pseudonymous key,
  people singled out on quasi-identifiers (S1-S5, E1, E2, E4), the first matching rule of
  ``scales.yaml`` ``risk_register.evidence_content``;
* likelihood comes from who receives the file: the public, a third party, a vendor bound by
  contract, or no one outside the library (``risk_register.evidence_recipients``). What was
  seen in the file is certain (L1); only an inferred re-identification of a handful of
  people is one level less likely (E1);
* the text counts people when the file has a person key, and says it counts rows otherwise
  (E1); it names no file or column (those stay in the spreadsheets' evidence).

Pure: reads the scan, the flow and the scales; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lcopia.models import EvidenceContent, EvidenceRecipient, Flow, YesNo
from lcopia.scoring.context import Context
from lcopia.scoring.risk import about_children

if TYPE_CHECKING:  # pragma: no cover - typing only; keeps pyarrow out of scoring's import
    from lcopia.evidence import EvidenceIssue, FileScan

#: Issue kinds that are a problem of the file's content (retention is a retention risk).
FILE_PROBLEMS = ("identifier_in_statistics", "linkable_key", "reidentification",
                 "l_diversity", "small_cells")
#: Which issues count the people (or rows) a fact is about.
_FACT_ISSUES = {"direct": ("identifier_in_statistics",), "regulated": (
    "identifier_in_statistics",), "linkable": ("linkable_key",), "singled_out": (
    "reidentification",), "group_revealed": ("l_diversity",), "small_cells": ("small_cells",)}
#: The manifest's claims in plain words ("a file described as ...").
CLAIM_WORDS = {"statistics": "statistics", "deidentified": "de-identified",
               "pseudonymized": "pseudonymized", "identified": "identifying",
               "identifying": "identifying"}


@dataclass
class FileFacts:
    """What a file showed, as the facts ``evidence_content`` rules require."""

    facts: set[str]
    kinds: list[str]                      # identifier kinds, in plain words
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class Affected:
    """How many people (or rows, or cells) a file problem touches, and of how many (E1)."""

    n: int
    unit: str                             # people, rows or cells
    total: int | None = None

    def words(self) -> str:
        of = f" of {self.total:,}" if self.total is not None and self.total > self.n else ""
        if self.unit == "people":
            return f"{self.n:,}{of} {'patron' if self.n == 1 and not of else 'patrons'}"
        if self.unit == "cells":
            return f"{self.n:,}{of} {'count' if self.n == 1 and not of else 'counts'}"
        return f"{self.n:,}{of} {'row' if self.n == 1 and not of else 'rows'}"


@dataclass
class FileRating:
    """The rating and the Board's words for one exported file's problem."""

    kind: str
    content: str
    recipient: str
    severity: int
    severity_reasons: list[str]
    likelihood: int
    likelihood_reasons: list[str]
    affected: Affected
    title: str
    harm: str
    action: str


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _has_phrase(text: str, phrases: list[str]) -> str | None:
    """The first phrase found as whole words in ``text`` (names split on _ - and case)."""
    spaced = _words(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text))
    return next((p for p in phrases if _words(p) in spaced), None)


def recipient_of(flow: Flow | None, recipient_text: str | None, ctx: Context) -> str:
    """public, third_party, vendor or internal: who holds the exported file (L1, G6, G8).

    A recipient named as a publication is public. A disclosure, a transmission to anyone
    but the system's own vendor, or a vendor that no contract binds to the policy and
    Missouri law (or that uses patron data for a prohibited purpose) is a third party. The
    system's own vendor, so bound, holds it under contract. A file that never leaves is
    internal. A file with no flow and no recipient is treated as a third party: where it
    went is not known.
    """
    reg = ctx.scales.risk_register
    text = (flow.recipient if flow else recipient_text) or ""
    if text and _has_phrase(text, reg.public_recipient_words):
        return "public"
    if flow is None:
        return "third_party"
    system = ctx.systems[flow.system_id]
    if flow.direction == "disclose":
        return "third_party"
    own_vendor = system.external and _names_vendor(flow.recipient, system.vendor)
    if flow.direction == "transmit" and not own_vendor:
        return "third_party"
    if not system.external:
        return "internal"
    bound = (system.contract_binds_policy == YesNo.yes
             and system.contract_binds_missouri_law == YesNo.yes
             and not set(system.uses) & set(ctx.vocab.prohibited_uses))
    return "vendor" if bound else "third_party"


def _names_vendor(recipient: str, vendor: str) -> bool:
    """The recipient is the system's vendor: the vendor's name (without notes in
    parentheses) appears in the recipient's, or the other way round."""
    def core(s: str) -> str:
        return _words(re.sub(r"\([^)]*\)", " ", s))
    r, v = core(recipient), core(vendor)
    return bool(v.strip() and r.strip()) and (v in r or r in v)


def file_facts(scan: FileScan, issues: list[EvidenceIssue], ctx: Context) -> FileFacts:
    """The facts a file showed (lcopia.names.EVIDENCE_FACTS), each with its reason."""
    reg = ctx.scales.risk_register
    linkable_kinds = set(reg.linkable_key_kinds)
    kinds: set[str] = set()
    for i in issues:
        kinds |= set(i.identifier_kinds)
    for c in scan.columns:
        if c.identifying:
            kinds |= set(c.embedded) if c.embedded else {c.kind}
        if c.header_kind:
            kinds.add(c.header_kind)
    if scan.person_key_kind:
        kinds.add(scan.person_key_kind)
    element_of: dict[str, Any] = {}
    for e in sorted(ctx.bundle.taxonomy.elements, key=lambda e: e.id):
        for k in e.detected_as:
            element_of.setdefault(k, e)
    direct_rank = ctx.tier_rank.get("T2", 2)
    regulated_rank = ctx.tier_rank.get("T3", 3)
    facts: set[str] = set()
    reasons: dict[str, str] = {}
    named, regulated = [], []
    for k in sorted(kinds - linkable_kinds):
        e = element_of.get(k)
        rank = ctx.tier_rank[e.tier] if e else direct_rank  # an unmapped identifier is direct
        if rank < direct_rank:
            continue
        word = e.name[:1].lower() + e.name[1:] if e else k.replace("_", " ")
        named.append(word)
        if rank >= regulated_rank:
            regulated.append(word)
    if named:
        facts.add("direct")
        reasons["direct"] = "identifiers found: " + ", ".join(named)
    if regulated:
        facts.add("regulated")
        reasons["regulated"] = "regulated identifiers: " + ", ".join(regulated)
    keyed = (kinds & linkable_kinds or any(i.kind == "linkable_key" for i in issues)
             or scan.person_key_kind in linkable_kinds)
    if keyed:
        facts.add("linkable")
        reasons["linkable"] = "a pseudonymous key links each person's rows (E2)"
    activity = _activity(scan, ctx)
    if activity:
        facts.add("activity")
        reasons["activity"] = activity
    for fact, kinds_of in (("singled_out", ("reidentification",)),
                           ("group_revealed", ("l_diversity",)),
                           ("small_cells", ("small_cells",))):
        if any(i.kind in kinds_of and i.count > 0 for i in issues):
            facts.add(fact)
    return FileFacts(facts=facts, kinds=named, reasons=reasons)


def _activity(scan: FileScan, ctx: Context) -> str | None:
    """Why the file carries reading content (S1): what a person read, searched or attended,
    judged on the file's own columns (an item barcode, a title or subject column, or the
    sensitive attribute the manifest names), never on what the flow declares."""
    reg = ctx.scales.risk_register
    for c in scan.columns:
        if c.kind in reg.activity_kinds:
            return "items borrowed are in the same rows"
        if _has_phrase(c.name, reg.activity_words):
            return "titles, subjects or other reading are in the same rows"
    if scan.sensitive:
        return "what the manifest marks sensitive (what was read) is in the same rows"
    return None  # what the flow declares is not what the file showed


def content_rule(facts: set[str], rules: list[EvidenceContent]) -> EvidenceContent:
    """The first rule whose facts all hold (rules run from most to least harmful)."""
    return next((r for r in rules if set(r.needs) <= facts), rules[-1])


def affected(rule: EvidenceContent, scan: FileScan, issues: list[EvidenceIssue]) -> Affected:
    """The people (or rows, or cells) the rule's problem touches (E1: people when a person
    key counts them, rows otherwise, labelled)."""
    for fact in rule.needs:
        if fact == "linkable" and scan.people is not None:
            return Affected(scan.people, "people")
        mine = [i for i in issues if i.kind in _FACT_ISSUES.get(fact, ())]
        if not mine:
            continue
        if fact == "small_cells":
            return Affected(max(_rows(i) for i in mine), "cells", scan.cells)
        people = [i.people for i in mine if i.counted == "people" and i.people is not None]
        if people:
            return Affected(max(people), "people", scan.people)
        return Affected(max(_rows(i) for i in mine), "rows", scan.rows)
    people = [i.people for i in issues if i.counted == "people" and i.people is not None]
    if people:
        return Affected(max(people), "people", scan.people)
    return Affected(max((_rows(i) for i in issues), default=0), "rows", scan.rows)


def _rows(issue: EvidenceIssue) -> int:
    return issue.rows if issue.rows is not None else issue.count


def rate_file(scan: FileScan, issues: list[EvidenceIssue], flow: Flow | None, ctx: Context,
              *, copy: str = "") -> FileRating:
    """Severity from content, likelihood from the recipient and the people affected, and
    the Board's words (no file or column names; ``copy`` tells apart files of one flow)."""
    reg = ctx.scales.risk_register
    ff = file_facts(scan, issues, ctx)
    rule = content_rule(ff.facts, reg.evidence_content)
    recipients: dict[str, EvidenceRecipient] = {r.id: r for r in reg.evidence_recipients}
    who = recipient_of(flow, scan.recipient, ctx)
    to = recipients[who]
    count = affected(rule, scan, issues)

    sev = rule.severity
    sev_reasons = [f"rated on what the file showed ({rule.id.replace('_', ' ')}): "
                   + "; ".join(ff.reasons[f] for f in rule.needs if f in ff.reasons)
                   + (f" ({', '.join(rule.cites)})" if rule.cites else "")]
    minors = ctx.scales.severity_modifiers.get("minors", 0)
    if flow is not None and about_children(flow, ctx) and minors:
        sev += minors
        sev_reasons.append("about or for children (S5)")
    sev = min(sev, max(level.value for level in ctx.scales.severity))

    lik = to.likelihood
    recipient_name = flow.recipient if flow and flow.recipient else "its recipient"
    lik_reasons = [f"seen in the file (L1); held by {_recipient_words(who, recipient_name)}: "
                   f"likelihood {lik}"]
    inferred = not ff.facts & {"direct", "regulated", "linkable"}
    if inferred and count.n < reg.evidence_few_affected and lik > 1:
        lik -= 1
        lik_reasons.append(f"{count.words()} affected, fewer than "
                           f"{reg.evidence_few_affected}: re-identifying them takes someone "
                           "who knows them (E1)")

    k = scan.k
    fix = rule.fix.format(k=k)
    claim = CLAIM_WORDS.get(scan.claims or "", "identifying no one")
    found = rule.found.format(kinds=", ".join(ff.kinds) or "identifiers")
    sent = to.sent.format(recipient=recipient_name)
    title = f"A file described as {claim} {sent} {found}: {count.words()}"
    harm = f"{rule.harm} {to.harm}"
    if count.unit == "rows":
        harm += (" The file has no patron key, so rows are counted, not patrons: one "
                 "patron's several rows count several times.")
    purpose = (flow.purpose if flow else "exported") + copy
    action = to.action.format(file=purpose, recipient=recipient_name, fix=fix)
    return FileRating(kind=rule.kind, content=rule.id, recipient=who, severity=sev,
                      severity_reasons=sev_reasons, likelihood=lik,
                      likelihood_reasons=lik_reasons, affected=count, title=title,
                      harm=harm, action=action)


def _recipient_words(who: str, name: str) -> str:
    return {"public": f"the public ({name})",
            "third_party": f"a third party outside the library ({name})",
            "vendor": f"a vendor bound by contract ({name})",
            "internal": "no one outside the library"}[who]


__all__ = ["FILE_PROBLEMS", "FileRating", "file_facts", "rate_file", "recipient_of"]
