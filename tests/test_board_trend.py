"""The Board report's year-on-year section: every earlier run found, then this one."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import AS_OF, DATA

from lcopia.pipeline import Results, compute
from lcopia.report import year_on_year
from lcopia.report.board import trend_view
from lcopia.report.language import plain
from lcopia.trend import build_trend, summary_rows

BANDS = ("Critical", "High", "Moderate", "Low")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    dest = tmp_path_factory.mktemp("trend") / "data"
    for sub in ("policy", "taxonomy", "inventory"):
        shutil.copytree(DATA / sub, dest / sub)
    return compute(dest, AS_OF)


def _earlier(reports: Path, results: Results, as_of: str, *, drop: int = 0,
             library: str | None = None, late: int = 0) -> dict:
    """An earlier run's results.json: this run's, dated earlier, ``drop`` risks fewer, the
    first ``late`` of them due before this run."""
    a = json.loads(results.assessment.model_dump_json())
    a["as_of"] = as_of
    a["risks"] = a["risks"][drop:]
    for r in a["risks"][:late]:
        r["due"] = "2026-01-15"
    if library:
        a["library"] = library
    folder = reports / as_of
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"assessment": a}), encoding="utf-8")
    return a


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]*"', "", markup)))


def _table(page: str, caption: str) -> list[list[str]]:
    body = page.split(caption, 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def _board_clean(page: str) -> None:
    text = _text(page)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "no ISO dates in Board text"
    assert not re.search(r"\bR-[a-z]", text) and ".json" not in text and "/" not in text


def test_the_first_assessment_says_there_is_nothing_to_compare(results: Results,
                                                              tmp_path: Path) -> None:
    page = year_on_year(results, tmp_path / "reports" / "run").html
    assert "This is the first assessment on record" in page
    _board_clean(page)


def test_one_earlier_run_is_compared_with_this_one(results: Results, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _earlier(reports, results, "2025-11-30", drop=2)
    page = year_on_year(results, reports / "run").html
    rows = _table(page, "Risks by band at each assessment")
    assert [r[0] for r in rows[1:]] == ["November 30, 2025",
                                        "November 30, 2026 (this assessment)"]
    earlier = summary_rows(build_trend(reports))[0]
    assert rows[1][1:5] == [str(earlier[b]) for b in BANDS], "the trend notebook's numbers"
    counts = results.assessment.counts
    assert rows[2][1:5] == [str(counts.get(f"risks_{b.lower()}", 0)) for b in BANDS], \
        "this run's numbers are results.json's"
    assert rows[2][5:7] == ["2", "0"], "the two risks missing a year ago were opened"
    assert "1 earlier assessment was found" in page and "<img" in page
    _board_clean(page)


def test_two_earlier_runs_give_every_step_and_leave_out_other_runs(results: Results,
                                                                  tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _earlier(reports, results, "2024-11-30", drop=4)
    _earlier(reports, results, "2025-11-30", drop=1)
    _earlier(reports, results, "2023-11-30", library="Another Library")
    _earlier(reports, results, AS_OF.isoformat())  # a same-day run being replaced
    trend = trend_view(results, reports)
    assert [p.as_of.year for p in trend.points] == [2024, 2025, 2026]
    assert [len(s.opened) for s in trend.steps] == [3, 1]
    page = year_on_year(results, reports / "run").html
    rows = _table(page, "Risks by band at each assessment")
    assert len(rows) == 4 and rows[1][5:] == ["–", "–", "–"]
    gate = _table(page, "The compliance gate at each assessment")
    assert gate[3][1] == ("Fail" if results.assessment.gate.result == "FAIL" else "Pass")
    assert "2 earlier assessments were found" in page
    _board_clean(page)


def test_overdue_actions_are_named_in_plain_words(results: Results, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    a = _earlier(reports, results, "2025-11-30", late=2)
    page = year_on_year(results, reports / "run").html
    rows = _table(page, "Risks by band at each assessment")
    assert rows[2][7] == "2"
    listed = _text(page.split("Actions past their due date", 1)[1])
    assert all(plain(r["title"]) in listed for r in a["risks"][:2])
    _board_clean(page)


def test_a_systems_risk_is_the_same_measure_as_in_the_changes_table(results: Results,
                                                                    tmp_path: Path) -> None:
    """One measure of a system's risk for the Board: its highest flow risk and band, as in
    the changes table, never a sum on another scale."""
    reports = tmp_path / "reports"
    a = _earlier(reports, results, "2025-11-30")
    moved = a["systems"][0]
    moved["residual_risk"] = 1  # a year ago this system was at the bottom of the scale
    (reports / "2025-11-30" / "results.json").write_text(
        json.dumps({"assessment": a}), encoding="utf-8")
    page = year_on_year(results, reports / "run").html
    rows = _table(page, "Systems whose risk moved")
    now = next(s for s in results.assessment.systems if s.system_id == moved["system_id"])
    row = next(r for r in rows if r and r[0] == now.name)
    cells = [" ".join(c.split()) for c in row[1:]]
    assert cells == ["1 Low", f"{now.residual_risk} {now.residual_band}"]
