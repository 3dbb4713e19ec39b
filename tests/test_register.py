"""The sample's register: few distinct risks, every Critical backed, counts that agree."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from lcopia.models import Assessment
from lcopia.pipeline import compute

DATA = Path(__file__).resolve().parent.parent / "data"
AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def sample() -> Assessment:
    return compute(DATA, AS_OF).assessment


def test_the_sample_register_is_a_register_not_a_checklist(sample: Assessment) -> None:
    assert 10 <= len(sample.risks) <= 25  # rubric R4


def test_each_risk_is_distinct_with_one_action_owner_and_date(sample: Assessment) -> None:
    actions = [r.action for r in sample.risks]
    assert len(set(actions)) == len(actions)
    assert len({r.id for r in sample.risks}) == len(sample.risks)
    assert all(r.owner and r.due and r.due > AS_OF for r in sample.risks)  # R3
    assert [a.risk_id for a in sample.actions] == [r.id for r in sample.risks]


def test_every_critical_is_backed_by_the_gate_or_observed_evidence(sample: Assessment) -> None:
    crit = [r for r in sample.risks if r.residual_band == "Critical"]
    assert crit
    assert all(r.gate_kind or r.observed for r in crit), [r.id for r in crit]  # R2


def test_the_register_leads_with_what_happened(sample: Assessment) -> None:
    top = {r.kind for r in sample.risks[:5]}
    assert {"disclosure", "web_tracker"} <= top  # R5
    assert any(r.kind == "export_identifiers" and r.observed for r in sample.risks)


def test_every_control_row_feeds_a_risk_that_lists_it(sample: Assessment) -> None:
    by_id = {r.id: r for r in sample.risks}
    for f in sample.findings:
        assert f.risk_id in by_id, f.id
        assert f.id in by_id[f.risk_id].control_results
        assert f.band == by_id[f.risk_id].residual_band
    listed = [c for r in sample.risks for c in r.control_results]
    assert sorted(listed) == sorted(f.id for f in sample.findings)


def test_every_gate_violation_links_to_a_risk_of_its_kind(sample: Assessment) -> None:
    by_id = {r.id: r for r in sample.risks}
    for v in sample.gate.violations:
        assert v.risk_id in by_id and v.kind
        assert by_id[v.risk_id].gate_kind is not None


def test_counts_agree_with_the_lists(sample: Assessment) -> None:
    c = sample.counts
    bands = Counter(r.residual_band for r in sample.risks)
    assert c["risks"] == len(sample.risks) == len(sample.actions)
    for band in ("Critical", "High", "Moderate", "Low"):
        assert c[f"risks_{band.lower()}"] == bands[band]
    kinds = Counter(v.kind for v in sample.gate.violations)
    for kind in ("statute", "policy", "practice"):
        assert c[f"gate_{kind}"] == kinds[kind]
    assert c["gate_violations"] == len(sample.gate.violations) == sum(kinds.values())
    assert c["findings"] == len(sample.findings)
    assert c["findings_critical"] == sum(f.band == "Critical" for f in sample.findings)
    assert c["systems_inventoried"] + c["web_parties"] == c["systems"] == len(sample.systems)
    assert str(c["risks"]) in sample.posture


def test_rankings_sort_by_risk(sample: Assessment) -> None:
    assert [r.rank for r in sample.risks] == list(range(1, len(sample.risks) + 1))
    residual = [r.residual_risk for r in sample.risks]
    assert residual == sorted(residual, reverse=True)
    worst = [s.residual_risk for s in sample.systems]
    assert worst == sorted(worst, reverse=True)


def test_planned_is_never_worse_than_residual_nor_residual_than_inherent(
        sample: Assessment) -> None:
    for r in sample.risks:
        assert r.planned_risk <= r.residual_risk <= r.inherent_risk, r.id
        assert r.residual_risk <= r.severity * r.residual_likelihood, r.id


def test_titles_are_plain_words_without_ids(sample: Assessment) -> None:
    for r in sample.risks:
        assert "@" not in r.title and "FL-" not in r.title and "POL-" not in r.title, r.title
        assert "_" not in r.title, r.title


def test_every_finding_row_in_findings_csv_names_the_risk_that_lists_it(shared_run) -> None:
    """The checklist stays in the spreadsheet (R4): each control row points to its risk, and
    the register lists that row among its control results."""
    run = shared_run.run_dir
    with (run / "findings.csv").open(encoding="utf-8-sig", newline="") as fh:
        findings = list(csv.DictReader(fh))
    with (run / "risk-register.csv").open(encoding="utf-8-sig", newline="") as fh:
        listed = {r["id"]: r["control_results"] for r in csv.DictReader(fh)}
    assert findings and all(f["risk_id"] in listed for f in findings)
    assert all(f["id"] in listed[f["risk_id"]] for f in findings)
