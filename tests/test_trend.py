"""The year-on-year view reads earlier runs and traces risks by their stable ids."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import AS_OF, DATA

from lcopia.pipeline import compute
from lcopia.trend import build_trend, change_lines, risk_history, summary_rows, system_rows


def _run(reports: Path, name: str, as_of: str, risks: list[dict], *, library: str = "Lib",
         gate: str = "FAIL", kinds: tuple[str, ...] = ("statute",)) -> None:
    folder = reports / name
    folder.mkdir(parents=True)
    assessment = {"as_of": as_of, "library": library,
                  "gate": {"result": gate, "violations": [{"kind": k} for k in kinds]},
                  "risks": risks,
                  "systems": [{"system_id": "ils", "name": "Catalog",
                               "residual_total": sum(r["residual_risk"] for r in risks),
                               "residual_risk": max((r["residual_risk"] for r in risks),
                                                    default=0)}]}
    (folder / "results.json").write_text(json.dumps({"assessment": assessment}),
                                         encoding="utf-8")


def _risk(rid: str, band: str, risk: int, due: str | None = None) -> dict:
    return {"id": rid, "title": rid, "residual_band": band, "residual_risk": risk, "due": due,
            "systems": ["ils"]}


def test_no_earlier_run_gives_an_empty_trend(tmp_path: Path) -> None:
    trend = build_trend(tmp_path / "reports")
    assert trend.empty and summary_rows(trend) == []


def test_opened_closed_overdue_and_worse_between_runs(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _run(reports, "2025-11-30", "2025-11-30",
         [_risk("R-a", "High", 8, "2026-03-01"), _risk("R-b", "Critical", 12, "2027-01-01"),
          _risk("R-c", "Low", 2, "2026-01-15")])
    _run(reports, "2026-11-30", "2026-11-30",
         [_risk("R-a", "Critical", 12), _risk("R-b", "Critical", 12), _risk("R-d", "Low", 1)],
         kinds=("statute", "practice", "practice"))
    trend = build_trend(reports)
    step = trend.steps[0]
    assert step.opened == ["R-d"] and step.closed == ["R-c"]
    assert step.overdue == ["R-a"], "R-a was due 2026-03-01 and is still open"
    assert step.worse == ["R-a"]
    rows = summary_rows(trend)
    assert rows[1]["Critical"] == 2 and rows[1]["Gate (practice)"] == 2
    assert rows[1]["Opened"] == 1 and rows[0]["Opened"] is None
    assert risk_history(trend, "R-c") == [(trend.points[0].as_of, "Low"),
                                          (trend.points[1].as_of, None)]
    assert system_rows(trend) == [{"System": "Catalog", "2025-11-30": 12, "2026-11-30": 12}]
    lines = change_lines(trend)
    assert lines[0] == "2025-11-30 to 2026-11-30: opened 1, closed 1, overdue 1, worse 1"
    assert "  closed: R-c" in lines


def test_superseded_failed_and_foreign_runs_are_left_out(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _run(reports, "2026-11-30", "2026-11-30", [_risk("R-a", "High", 8)])
    _run(reports, "2026-11-30.superseded-1", "2026-11-30", [_risk("R-x", "High", 8)])
    _run(reports, "failed-20261130T1200", "2026-11-30", [])
    _run(reports, "2025-11-30", "2025-11-30", [], library="Another Library")
    (reports / "2024-11-30").mkdir()
    (reports / "2024-11-30" / "results.json").write_text("{cut", encoding="utf-8")
    trend = build_trend(reports, library="Lib")
    assert [p.folder for p in trend.points] == ["2026-11-30"]
    assert any("Another Library" in s for s in trend.skipped)
    assert any("not valid JSON" in s for s in trend.skipped)


def test_a_run_before_the_risk_register_is_shown_with_what_it_holds(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    folder = reports / "2025-11-30"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"assessment": {
        "as_of": "2025-11-30", "library": "Lib", "gate": {"result": "FAIL", "violations": [
            {"rule": "disclosure_route"}]}, "systems": []}}), encoding="utf-8")
    _run(reports, "2026-11-30", "2026-11-30", [_risk("R-a", "High", 8)])
    trend = build_trend(reports)
    assert trend.points[0].risks is None
    assert summary_rows(trend)[0]["High"] is None
    assert trend.steps[0].opened == [] and trend.steps[0].closed == []


def test_a_real_results_file_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "reports" / AS_OF.isoformat()
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(compute(DATA, AS_OF).model_dump_json(),
                                         encoding="utf-8")
    point = build_trend(tmp_path / "reports").points[0]
    assert point.as_of == AS_OF and point.gate in ("PASS", "FAIL")
    assert point.system_totals
