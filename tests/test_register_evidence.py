"""An exported file's risk is rated on what the file showed and who receives it (rubric E1-E4,
S1-S5, L1), not on the flow it was registered to; one risk per exported file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from builders import flow, system

from lcopia.evidence import ColumnScan, EvidenceIssue, EvidenceReport, FileScan
from lcopia.load import load
from lcopia.models import Assessment, RegisterScales, Risk, YesNo
from lcopia.report.language import plain
from lcopia.scoring import assess

DATA = Path(__file__).resolve().parent.parent / "data"
AS_OF = dt.date(2026, 11, 30)
_BASE: list[Any] = []


def base() -> Any:
    if not _BASE:
        _BASE.append(load(DATA))
    return _BASE[0]


def column(name: str, kind: str, matches: int, rows: int, **kw: Any) -> ColumnScan:
    return ColumnScan(name=name, kind=kind, by="values", match_share=matches / rows,
                      matches=matches, non_empty=rows, confidence="high", masked_example="***",
                      **kw)


def identifiers_file(name: str, flow_id: str, kinds: list[str], rows: int = 400,
                     found: int = 40, reading: bool = False, claims: str = "statistics",
                     people: int | None = None) -> FileScan:
    """A file that claims less than it carries: one identifier column per kind."""
    cols = [column(f"col_{k}", k, found, rows) for k in kinds]
    if reading:
        cols.append(column("title", "none", 0, rows))
    issues = [EvidenceIssue(kind="identifier_in_statistics", hard=True, column=f"col_{k}",
                            count=found, rows=found, people=people,
                            counted="people" if people is not None else "rows",
                            identifier_kinds=sorted(kinds), claims=claims,  # type: ignore
                            detail=f"The file claims to be {claims} but column 'col_{k}' "
                            f"holds {k} values in {found} rows.",
                            control_hint="statistics_non_identifying")
              for k in kinds]
    return FileScan(file=name, flow_id=flow_id, claims=claims, format="csv",  # type: ignore
                    rows=rows, k=5, columns=cols, issues=issues, people=people)


def pseudonymized_file(name: str, flow_id: str, people: int = 42, rows: int = 115,
                       unique: int = 34) -> FileScan:
    """A loan file keyed by a hash, with the item borrowed: linkable reading (E2)."""
    cols = [column("borrower_hash", "pseudonymous_key", rows, rows),
            column("item", "item_barcode", rows, rows), column("zipcode", "zip", rows, rows)]
    issue = EvidenceIssue(
        kind="reidentification", hard=False, count=unique, people=unique, rows=93,
        counted="people", identifier_kinds=["pseudonymous_key"], claims="pseudonymized",
        detail=f"Over zipcode, {unique} of {people} people are unique.",
        control_hint="statistics_non_identifying")
    return FileScan(file=name, flow_id=flow_id, claims="pseudonymized", format="csv",
                    rows=rows, k=5, columns=cols, issues=[issue], person_key="borrower_hash",
                    person_key_kind="pseudonymous_key", people=people, people_unique=unique,
                    quasi_identifiers=["zipcode"])


def run(systems: list[Any], flows: list[Any], files: list[FileScan]) -> Assessment:
    b = base()
    inv = b.inventory.model_copy(update={"systems": systems, "flows": flows, "answers": [],
                                         "disclosures": []})
    bundle = b.model_copy(update={"inventory": inv})
    return assess(bundle, AS_OF, evidence=EvidenceReport(as_of=AS_OF, files=files))


def export_risks(a: Assessment, flow_id: str | None = None) -> list[Risk]:
    return [r for r in a.risks if r.id.startswith("R-export")
            and (flow_id is None or flow_id in r.flows)]


def one(a: Assessment, flow_id: str) -> Risk:
    found = export_risks(a, flow_id)
    assert len(found) == 1, [r.id for r in found]
    return found[0]


def test_the_same_problem_on_two_different_flows_rates_the_same() -> None:
    """E-mail addresses in a 'statistics' file sent out: the flows differ in tier, exposure
    and controls, the file and recipient kind do not, so the risk does not (E1, L1)."""
    heavy = flow("LOANS", "ils", ("titles_borrowed", "card_number", "patron_name"),
                 purpose="Loan extract", direction="transmit", recipient="County auditor",
                 broad_access=YesNo.yes, encrypted=YesNo.no, retention_days=None,
                 retention_need_days=30)
    light = flow("STATS", "stats", ("aggregate_count", "branch"), purpose="Survey counts",
                 direction="transmit", recipient="State Library", is_library_record=False,
                 retention_days=1825, retention_need_days=1825)
    a = run([system("ils"), system("stats")], [heavy, light],
            [identifiers_file("a.csv", "LOANS", ["email"]),
             identifiers_file("b.csv", "STATS", ["email"])])
    scores = {f.flow_id: f for f in a.flows}
    assert scores["LOANS"].severity > scores["STATS"].severity  # the flows differ
    x, y = one(a, "LOANS"), one(a, "STATS")
    assert (x.severity, x.residual_likelihood, x.residual_risk) == (
        y.severity, y.residual_likelihood, y.residual_risk) == (2, 4, 8)


def test_the_same_file_rates_by_who_receives_it() -> None:
    """Public and third party 4, a vendor bound by contract 3, inside the library 2 (L1)."""
    flows = [
        flow("PUB", "site", ("aggregate_count",), purpose="Open data counts",
             direction="disclose", recipient="Published on the county open data portal"),
        flow("OUT", "site", ("aggregate_count",), purpose="Survey counts",
             direction="transmit", recipient="State Library"),
        flow("VEN", "host", ("aggregate_count",), purpose="Hosted counts",
             recipient="Vendor host (hosting)"),
        flow("IN", "site", ("aggregate_count",), purpose="Desk counts"),
    ]
    a = run([system("site"), system("host", external=True)], flows,
            [identifiers_file(f"{f.flow_id}.csv", f.flow_id, ["email"]) for f in flows])
    got = {fid: one(a, fid).residual_likelihood for fid in ("PUB", "OUT", "VEN", "IN")}
    assert got == {"PUB": 4, "OUT": 4, "VEN": 3, "IN": 2}
    assert {one(a, fid).severity for fid in got} == {2}
    assert "published" in one(a, "PUB").title and "State Library" in one(a, "OUT").title


def test_a_vendor_without_a_binding_contract_is_a_third_party() -> None:
    """G6: a contract that does not bind the vendor to the policy is no contract here."""
    f = flow("VEN", "host", ("aggregate_count",), purpose="Hosted counts",
             recipient="Vendor host")
    a = run([system("host", external=True, contract_binds_policy=YesNo.no)], [f],
            [identifiers_file("v.csv", "VEN", ["email"])])
    assert one(a, "VEN").residual_likelihood == 4


def test_identifiers_with_reading_in_a_published_statistics_file_are_critical() -> None:
    """S1, S6, L1: names and e-mails on the same rows as titles, published: Critical 16,
    backed by the gate and the observation (R2)."""
    f = flow("PUB", "ils", ("aggregate_count",), purpose="Popular titles",
             direction="disclose", recipient="The public, on the library website",
             is_library_record=False)
    a = run([system("ils")], [f], [identifiers_file(
        "p.csv", "PUB", ["email", "person_name", "phone"], reading=True)])
    r = one(a, "PUB")
    assert (r.severity, r.residual_likelihood, r.residual_band) == (4, 4, "Critical")
    assert r.observed and r.gate_kind == "statute"


def test_identifiers_alone_in_a_published_statistics_file_are_high_not_critical() -> None:
    """S3: direct identifiers without reading data are severity 2 (a statute finding all the
    same, but not Critical on the rubric's scale)."""
    f = flow("PUB", "ils", ("aggregate_count",), purpose="Branch counts",
             direction="disclose", recipient="The public, on the library website")
    a = run([system("ils")], [f], [identifiers_file(
        "p.csv", "PUB", ["email", "person_name", "phone", "dob", "street_address"])])
    r = one(a, "PUB")
    assert (r.severity, r.residual_band) == (2, "High")


def test_regulated_identifiers_are_severity_three() -> None:
    """S2: a payment card number (tier T3 by detected_as) is sensitive context."""
    f = flow("OUT", "ils", ("aggregate_count",), direction="transmit", recipient="Auditor")
    a = run([system("ils")], [f], [identifiers_file("f.csv", "OUT", ["payment_card"])])
    r = one(a, "OUT")
    assert (r.severity, r.residual_band) == (3, "Critical")


def test_pseudonymized_reading_to_a_contracted_vendor_is_high() -> None:
    """S2, E2: linkable reading is severity 3; a vendor bound by contract is likelihood 3:
    High 9, below the published identified file, and not Low."""
    f = flow("PSEUDO", "ana", ("timestamps",), purpose="Collection analysis",
             direction="transmit", recipient="Vendor ana (analytics)")
    a = run([system("ana", external=True)], [f], [pseudonymized_file("l.csv", "PSEUDO")])
    r = one(a, "PSEUDO")
    assert (r.severity, r.residual_likelihood, r.residual_band) == (3, 3, "High")
    assert "42 patrons" in r.title and "by a code" in r.title


def test_people_are_counted_in_the_text_and_rows_are_labelled() -> None:
    """E1: people when the file has a person key, rows (labelled) when it has none."""
    flows = [flow("BYPEOPLE", "ils", ("aggregate_count",), direction="transmit",
                  recipient="State Library", purpose="Counts by patron"),
             flow("BYROWS", "ils", ("aggregate_count",), direction="transmit",
                  recipient="State Library", purpose="Counts by row")]
    a = run([system("ils")], flows, [
        identifiers_file("a.csv", "BYPEOPLE", ["email"], found=40, people=37),
        identifiers_file("b.csv", "BYROWS", ["email"], rows=4800, found=404)])
    assert "37 patrons" in one(a, "BYPEOPLE").title
    rows = one(a, "BYROWS")
    assert "404 of 4,800 rows" in rows.title and "patrons" not in rows.title.split(":")[-1]
    assert "rows are counted, not patrons" in rows.harm


def test_one_risk_per_exported_file_not_per_column() -> None:
    """R1: four identifier columns, small cells and the statistics check of one file are
    one risk; a second file on the same flow is a second risk with its own action."""
    f = flow("STATS", "ils", ("aggregate_count",), direction="transmit",
             recipient="State Library", purpose="Survey counts", is_library_record=False)
    first = identifiers_file("one.csv", "STATS", ["email", "phone", "person_name", "dob"])
    first.issues.append(EvidenceIssue(
        kind="small_cells", hard=False, column="n", count=12, rows=12, detail="12 cells.",
        control_hint="statistics_non_identifying"))
    second = identifiers_file("two.csv", "STATS", ["email"], found=7)  # same column name
    a = run([system("ils")], [f], [first, second])
    risks = export_risks(a, "STATS")
    assert len(risks) == 2
    assert sorted(len([c for c in r.control_results if c.startswith("EV-")])
                  for r in risks) == [1, 5]
    assert len({r.action for r in risks}) == 2


def quasi_file(name: str, flow_id: str, singled_out: int, rows: int = 500) -> FileScan:
    """A 'de-identified' loan file with no person key: titles, ZIP and birth year."""
    cols = [column("title", "none", 0, rows), column("zipcode", "zip", rows, rows),
            column("birth_year", "birth_year", rows, rows)]
    issue = EvidenceIssue(
        kind="reidentification", hard=False, count=singled_out, rows=singled_out,
        claims="deidentified", detail=f"{singled_out} rows in groups below 5.",
        control_hint="statistics_non_identifying")
    return FileScan(file=name, flow_id=flow_id, claims="deidentified", format="csv",
                    rows=rows, k=5, columns=cols, issues=[issue],
                    quasi_identifiers=["zipcode", "birth_year"])


def test_a_handful_of_rows_picked_out_is_one_level_less_likely() -> None:
    """E1 with L1: picking out a few rows by their quasi-identifiers takes someone who
    knows the people; hundreds is as likely as the recipient makes it."""
    flows = [flow(fid, "ils", ("timestamps",), direction="transmit", recipient="Researcher",
                  purpose=f"Loans for research {fid}") for fid in ("FEW", "MANY")]
    a = run([system("ils")], flows, [quasi_file("few.csv", "FEW", 3),
                                     quasi_file("many.csv", "MANY", 300)])
    few, many = one(a, "FEW"), one(a, "MANY")
    assert few.severity == many.severity == 3  # picked out, with what they read (S2, E1)
    assert (few.residual_likelihood, many.residual_likelihood) == (3, 4)
    assert few.kind == "export_reidentification"
    assert "3 of 500 rows" in few.title


def test_identifiers_seen_are_certain_however_few() -> None:
    """L1: one e-mail address leaked in a file sent out is as likely as a thousand."""
    f = flow("OUT", "ils", ("aggregate_count",), direction="transmit", recipient="Auditor")
    a = run([system("ils")], [f], [identifiers_file("f.csv", "OUT", ["email"], found=1)])
    assert one(a, "OUT").residual_likelihood == 4


def test_board_text_names_no_file_or_column() -> None:
    f = flow("STATS", "ils", ("aggregate_count",), direction="transmit",
             recipient="State Library", purpose="Survey counts")
    a = run([system("ils")], [f], [identifiers_file("exports/stats.csv", "STATS",
                                                    ["email"], reading=True)])
    r = one(a, "STATS")
    for text in (r.title, r.harm, r.action):
        assert ".csv" not in text and "col_email" not in text and "title'" not in text
        assert plain(text) == text


def test_shipped_scales_state_the_code_defaults() -> None:
    """The numbers and words in scales.yaml are the ones an older project without them gets."""
    shipped = base().policy.scales.risk_register
    default = RegisterScales()
    assert shipped.evidence_content == default.evidence_content
    assert shipped.evidence_recipients == default.evidence_recipients


def test_an_unknown_fact_or_a_missing_recipient_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fact 'famous'"):
        RegisterScales(evidence_content=[{"id": "x", "needs": ["famous"], "severity": 2,
                                          "kind": "k", "found": "f", "harm": "h", "fix": "x"}])
    with pytest.raises(ValueError, match="needs an entry for 'internal'"):
        RegisterScales(evidence_recipients=[
            r for r in RegisterScales().evidence_recipients if r.id != "internal"])


def test_a_survey_of_public_libraries_is_not_the_public() -> None:
    """Only a recipient named as a publication is public: 'public library survey' is not."""
    f = flow("OUT", "ils", ("aggregate_count",), direction="transmit",
             recipient="Missouri State Library (annual public library survey)")
    a = run([system("ils")], [f], [identifiers_file("f.csv", "OUT", ["email"])])
    r = one(a, "OUT")
    assert "published" not in r.title and "Missouri State Library" in r.title


def test_small_cells_about_children_are_raised_once() -> None:
    """E4 and S5: small counts are severity 1, 2 when the statistics are about children."""
    flows = [flow(fid, "ils", ("aggregate_count", "age_range"), direction="transmit",
                  recipient="State Library", purpose=purpose, minors=minors,
                  audience=audience)
             for fid, purpose, minors, audience in (
                 ("KIDS", "Summer reading program counts", True, "children"),
                 ("ALL", "Circulation counts", True, "general"))]
    files = [FileScan(file=f"{f.flow_id}.csv", flow_id=f.flow_id, claims="statistics",
                      format="csv", rows=400, k=5, columns=[], small_cells=12, cells=400,
                      count_column="n", issues=[EvidenceIssue(
                          kind="small_cells", hard=False, column="n", count=12, rows=12,
                          detail="12 cells below 5.",
                          control_hint="statistics_non_identifying")]) for f in flows]
    a = run([system("ils")], flows, files)
    kids, general = one(a, "KIDS"), one(a, "ALL")
    assert (kids.severity, general.severity) == (2, 1)
    assert kids.kind == general.kind == "small_cells"
    assert "12 of 400 counts" in general.title
    assert (general.residual_band, kids.residual_band) == ("Moderate", "High")


def test_identifiers_in_a_file_held_by_a_bound_vendor_are_a_risk_not_a_release() -> None:
    """G6, G1: the system's own vendor, bound by contract, holds the file for the library, so
    an identifier beyond the declared data is a register risk, not a statute finding."""
    f = flow("VEN", "host", ("aggregate_count",), purpose="Hosted counts",
             recipient="Vendor host (hosting)")
    a = run([system("host", external=True)], [f],
            [identifiers_file("v.csv", "VEN", ["email"])])
    assert one(a, "VEN").residual_likelihood == 3
    assert not [v for v in a.gate.violations if v.flow_id == "VEN"]
    assert not [x for x in a.findings if x.flow_id == "VEN" and x.hard_gate]


def test_identifiers_in_a_file_held_by_an_unbound_vendor_are_a_statute_finding() -> None:
    """G6, G1: no contract binds the vendor, so the file was released outside the library."""
    f = flow("VEN", "host", ("aggregate_count",), purpose="Hosted counts",
             recipient="Vendor host")
    a = run([system("host", external=True, contract_binds_policy=YesNo.no)], [f],
            [identifiers_file("v.csv", "VEN", ["email"])])
    kinds = {v.kind for v in a.gate.violations if v.flow_id == "VEN"}
    assert kinds == {"statute"}


def test_two_files_on_one_flow_with_the_same_column_have_distinct_finding_ids() -> None:
    """Finding ids are keys in findings.csv and the trend view: never two alike."""
    f = flow("OUT", "ils", ("aggregate_count",), direction="transmit", recipient="Auditor")
    a = run([system("ils")], [f], [identifiers_file("jan.csv", "OUT", ["email"]),
                                   identifiers_file("feb.csv", "OUT", ["email"])])
    ids = [x.id for x in a.findings]
    assert len(ids) == len(set(ids))
    assert len([i for i in ids if i.startswith("EV-")]) == 2
