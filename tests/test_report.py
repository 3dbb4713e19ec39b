"""The Board report: escaped sections, inert spreadsheets, the vendor list, the diff, and the
rendered HTML/PDF of the shipped sample (run through the real notebook)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import subprocess
import zipfile
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import openpyxl
import pytest
import report_fixtures as fx
from shared_run import HOSTILE_NAME, SharedRun

from lcopia import report
from lcopia.errors import LcopiaError, UsageError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/steal","click me")'
HAS_CHROMIUM = Path(report.chromium_path()).exists()
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason="Chromium is not installed "
                                    "(make deps installs the Debian chromium package)")
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="pdftotext (poppler-utils) is not installed")

BUILDERS = [report.cover, report.executive_summary, report.scope_and_method,
            report.inventory_matrix, report.risk_map, report.system_scorecards,
            report.findings_table, report.action_plan, report.counsel_questions,
            report.disclosures_summary, report.web_tracking, report.evidence_summary,
            report.changes_since, report.sign_off]


class _Refs(HTMLParser):
    """Every tag and every URL-bearing attribute in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.heading_levels: list[int] = []
        self.imgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            if k in {"src", "href", "action", "data", "poster", "srcset", "formaction"} and v:
                self.urls.append((tag, k, v))
        if re.fullmatch(r"h[1-6]", tag):
            self.heading_levels.append(int(tag[1]))
        if tag == "img":
            self.imgs.append(dict(attrs))


def _refs(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    return p


# --------------------------------------------------------------------------- sections


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_a_system_named_script_is_escaped_in_every_section(builder) -> None:
    r = fx.results(ils_name=SCRIPT, finding_title=SCRIPT)
    html = builder(r)._repr_html_()
    assert "<script" not in html.lower()
    if builder in {report.system_scorecards, report.inventory_matrix, report.findings_table}:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_sections_repr_as_stable_text_without_a_memory_address() -> None:
    text = repr(report.executive_summary(fx.results()))
    assert "0x" not in text and "Executive summary" in text


def test_executive_summary_states_gate_counts_and_ranked_actions() -> None:
    html = report.executive_summary(fx.results()).html
    assert "FAIL" in html and "Non-compliant" in html
    # the headline counts risks (data flows), not findings: one flow of each band here
    assert re.search(r"at critical risk</span><span class=\"value\">1<", html)
    assert re.search(r"at high risk</span><span class=\"value\">1<", html)
    first = html.index("Add the confidentiality clause")
    assert first < html.index("Turn on anonymization") < html.index("Configure a 60-day")


def test_cover_says_draft_until_both_signatures_and_the_board_resolution() -> None:
    r = fx.results()
    assert ">DRAFT<" in report.cover(r).html
    lib = r.bundle.inventory.library.model_copy(update={
        "signed_privacy_officer": dt.date(2026, 12, 2), "signed_director": dt.date(2026, 12, 3),
        "board_resolution_date": dt.date(2026, 12, 10), "residual_risks_accepted": True})
    inv = r.bundle.inventory.model_copy(update={"library": lib})
    signed = r.model_copy(update={"bundle": r.bundle.model_copy(update={"inventory": inv})})
    html = report.cover(signed).html
    assert ">FINAL<" in html and "December 10, 2026" in html
    assert "yes, by resolution of December 10, 2026" in report.sign_off(signed).html


def test_page_footer_text_from_the_inventory_cannot_break_out_of_the_style_element() -> None:
    assert report.css_string('Ozarks</style><script>"') == (
        '"Ozarks\\00003c\\00002fstyle\\00003e\\00003cscript\\00003e\\000022"')


def test_counsel_questions_quote_the_policy_and_the_statute() -> None:
    html = report.counsel_questions(fx.results()).html
    assert "Question 1: The policy&#39;s court-order test is looser" in html
    assert "proper showing of good cause" in html and "RSMo 182.817.1(2)" in html


def test_disclosure_summary_gives_counts_and_outcomes_but_no_request_ids() -> None:
    html = report.disclosures_summary(fx.results()).html
    assert "2 requests" in html and "Law enforcement" in html and "Refused" in html
    assert "D-1" not in html and "D-2" not in html


def test_provenance_reads_the_manifest_or_says_plainly_that_there_is_none(tmp_path) -> None:
    r = fx.results()
    plain = report.provenance("", r).html
    assert "recorded only when the report is produced with the lcopia assess command" in plain
    (tmp_path / "manifest.json").write_text(json.dumps({
        "as_of": "2026-11-30", "policy_version": "2024-01-16", "lcopia_version": "0.1.0",
        "inputs": {"inventory/systems.csv": "f" * 64}, "packages": {"pandas": "3.1.1"}}))
    html = report.provenance(tmp_path, r).html
    assert "f" * 64 in html and "3.1.1" in html and "recorded only" not in html
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(LcopiaError, match="manifest is not readable"):
        report.provenance(tmp_path, r)


# --------------------------------------------------------------------------- changes


def test_first_assessment_says_there_is_nothing_to_compare() -> None:
    assert "first assessment" in report.changes_since(fx.results(), "").html


def test_changes_since_lists_opened_and_closed_findings_and_system_movement(tmp_path) -> None:
    last_year = fx.results(finding_title="Circulation history kept indefinitely")
    report.write_exports(last_year, tmp_path)
    data = json.loads((tmp_path / "findings.json").read_text())
    data["findings"] = [f for f in data["findings"] if f["id"] != "POL-27@F-events"]
    data["findings"].append({**data["findings"][0], "id": "POL-99@ils",
                             "title": "Old problem since fixed"})
    data["systems"][0]["residual_risk"] = 16  # events: 16 then, 9 now
    data["as_of"] = "2025-11-30"
    (tmp_path / "findings.json").write_text(json.dumps(data))
    html = report.changes_since(fx.results(), tmp_path).html
    assert "November 30, 2025" in html
    assert "1 finding opened, 1 closed" in html
    assert "Event rosters kept a year" in html and "Old problem since fixed" in html
    assert re.search(r"Events Calendar</th><td class=\"num\">16 [^<]*</td>.*Lower", html)


def test_previous_folder_without_findings_json_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError, match=r"no findings\.json"):
        report.changes_since(fx.results(), tmp_path)


# --------------------------------------------------------------------------- exports


def test_formula_payload_is_inert_in_the_xlsx_and_the_csv(tmp_path) -> None:
    r = fx.results(owner=FORMULA, ils_name="+SUM(1,2)")
    paths = report.write_exports(r, tmp_path)
    assert [p.name for p in paths] == ["findings.csv", "findings.json", "action-plan.xlsx",
                                       "vendor-privacy-policies.html", "risk-register.csv",
                                       "vendor-privacy-policies.es.html"]
    wb = openpyxl.load_workbook(tmp_path / "action-plan.xlsx")
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'" + FORMULA in texts and "'+SUM(1,2)" in texts
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@"))]
    with zipfile.ZipFile(tmp_path / "action-plan.xlsx") as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert not any(b"<f>" in s or b"<f " in s for s in sheets)
    rows = list(csv.reader((tmp_path / "findings.csv").open(encoding="utf-8-sig")))
    owners = {row[rows[0].index("owner")] for row in rows[1:]}
    assert "'" + FORMULA in owners and FORMULA not in owners


def test_action_plan_sheet_has_a_bold_frozen_header_and_real_dates(tmp_path) -> None:
    report.write_exports(fx.results(), tmp_path)
    ws = openpyxl.load_workbook(tmp_path / "action-plan.xlsx")["Action items"]
    header = [c.value for c in ws[1]]
    assert header[:8] == ["Plan no.", "Rank", "Finding ids", "Control", "Subject", "Action",
                          "Owner", "Due date"]
    assert "ALA priority" in header and "Residual risk" in header and "Band" in header
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
    assert ws["H2"].value.date() == dt.date(2026, 12, 30) and ws["I2"].value == 12


def test_exports_are_byte_identical_for_the_same_assessment(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    report.write_exports(fx.results(), a)
    report.write_exports(fx.results(), b)
    for name in ("findings.csv", "findings.json", "action-plan.xlsx",
                 "vendor-privacy-policies.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_findings_json_is_sorted_and_round_trips(tmp_path) -> None:
    report.write_exports(fx.results(), tmp_path)
    text = (tmp_path / "findings.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert [f["id"] for f in data["findings"]][:2] == ["POL-12@ils", "POL-23@F-circ"]
    assert data["schema"] == "lcopia.findings/1" and data["as_of"] == "2026-11-30"


def test_vendor_list_links_only_web_addresses_and_quotes_the_promise(tmp_path) -> None:
    r = fx.results(events_url="javascript:alert(1)", events_name=SCRIPT)
    page = report.vendor_page(r)
    refs = _refs(page)
    links = [v for t, k, v in refs.urls if t == "a"
             and v not in {"vendor-privacy-policies.html", "vendor-privacy-policies.es.html"}]
    assert links == ["https://ils.example/privacy"]
    assert 'rel="noopener noreferrer"' in page
    assert "javascript:alert(1)" in page  # shown as text, never as a link
    assert "<script" not in page.lower() and not [t for t in refs.tags if t in {"link", "img"}]
    assert ("to obtain a list of the privacy policies for all currently contracted third "
            "party vendors with access to Library records") in page
    assert "Not yet reviewed" in page and "(review due)" in page
    assert "Circulation" in page and "Events" in page


# --------------------------------------------------------------------------- notebook


def test_notebook_template_is_thin_committed_without_outputs_with_one_parameters_cell() -> None:
    nb = nbformat.read(ROOT / "notebooks/04_board_report.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for line in params[0].source.splitlines():
        assert re.fullmatch(r'\w+: str = "[^"#]*"  # .+', line), line
    assert "%matplotlib inline" in code[0].source
    for c in code:
        assert not re.search(r"^\s*(def|class|for|while|import os)\b", c.source, re.M), c.source


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def hostile_run(shared_run: SharedRun) -> Path:
    """The suite's shared ``assess`` run folder: the shipped sample with its first system
    named HOSTILE_NAME (a formula, a script and an outside address), run through the real
    notebooks and rendered to HTML and PDF."""
    return shared_run.run_dir


def test_run_folder_holds_the_report_the_vendor_list_and_the_exports(hostile_run) -> None:
    for name in ("board-report.html", "vendor-privacy-policies.html", "findings.csv",
                 "findings.json", "action-plan.xlsx"):
        assert (hostile_run / name).stat().st_size > 1000, name


def test_board_html_fetches_nothing_from_anywhere(hostile_run) -> None:
    html = (hostile_run / "board-report.html").read_text(encoding="utf-8")
    refs = _refs(html)
    assert not [t for t in refs.tags if t in {"script", "link", "iframe", "object", "embed"}]
    for tag, attr, url in refs.urls:
        if tag == "a":
            assert not re.match(r"[a-z][a-z0-9+.-]*:", url, re.I) or url.startswith(
                ("http://", "https://")), url
            assert not url.startswith(("http://", "https://")), f"external link {url}"
        else:
            assert url.startswith("data:"), (tag, attr, url)
    assert not re.search(r"@import|url\((?!\s*['\"]?data:)", html)
    assert not re.search(r"https?://", re.sub(r"(?s)<a [^>]*>.*?</a>", "", html).replace(
        "http://evil", ""))


def test_board_html_contains_no_code(hostile_run) -> None:
    page = (hostile_run / "board-report.html").read_text(encoding="utf-8")
    html = re.sub(r"(?s)<style[^>]*>.*?</style>", "", page)
    refs = _refs(html)
    assert not [t for t in refs.tags if t in {"pre", "code", "textarea"}]
    for marker in ("jp-InputArea", "highlight-ipynb", "In&nbsp;[", "Out[", "Traceback",
                   "report.cover(", "from lcopia", "results =", "%matplotlib",
                   "jp-OutputPrompt", "(section of the Board report)", "data_dir:"):
        assert marker not in html, marker


def test_board_html_escapes_the_hostile_system_name_and_is_accessible(hostile_run) -> None:
    html = (hostile_run / "board-report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "=1+2 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert escape(HOSTILE_NAME, quote=False) in html
    refs = _refs(html)
    assert refs.heading_levels.count(1) == 1 and refs.heading_levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(refs.heading_levels, refs.heading_levels[1:],
                                          strict=False))
    assert refs.imgs and all(len(i.get("alt") or "") > 30 for i in refs.imgs)
    assert html.count("<th") > 100 and '<html lang="en">' in html


def test_no_requester_name_from_the_disclosure_register_reaches_the_report(hostile_run) -> None:
    from lcopia.load import load

    bundle = load(ROOT / "data", as_of=dt.date(2026, 11, 30))
    html = (hostile_run / "board-report.html").read_text(encoding="utf-8")
    import html as h

    for d in bundle.inventory.disclosures:
        assert h.escape(d.requester) not in html and d.requester not in html


def test_hostile_name_is_inert_in_the_sample_action_plan(hostile_run) -> None:
    wb = openpyxl.load_workbook(hostile_run / "action-plan.xlsx")
    texts = [c.value for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert "'" + HOSTILE_NAME in texts
    assert not [c for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


@needs_chromium
@needs_poppler
def test_pdf_has_every_section_page_numbers_and_a_cover(hostile_run) -> None:
    pdf = hostile_run / "board-report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")
    assert "DRAFT" in pages[0] and "Library Center of the Ozarks" in pages[0]
    assert "Page" not in pages[0]
    assert "For the Board" in pages[1]  # the contents page lists it, page 3 starts it
    body = "\f".join(pages[2:])
    positions, at = [], 0
    for title in (
        "For the Board", "Risk register", "Description of the processing",
        "Necessity and proportionality", "Risks to patrons", "Measures", "Action plan",
        "Residual risk and acceptance", "Gaps between the policy and the statute",
        "Requests for library records", "Third parties on the library's web pages",
        "Consultation and the Privacy Officer", "Limitations of the evidence",
        "Changes since the last assessment", "Sign-off and next review",
        "How risk is scored", "What the library holds", "Risk map", "System scorecards",
        "Findings by control", "Provenance"):
        at = body.find(title, at)  # each section is found after the one before it
        positions.append(at)
    assert -1 not in positions
    n = len([p for p in pages if p.strip()])
    assert f"Page 2 of {n}" in pages[1] and f"Page {n} of {n}" in pages[n - 1]
    for marker in ("from lcopia", "import lcopia", "report.cover(", "%matplotlib", "In [",
                   "results = "):
        assert marker not in text, marker


@needs_chromium
def test_pdf_failure_is_reported_not_silently_ignored(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LCOPIA_CHROMIUM", "/bin/true")  # exits 0, writes nothing
    html = tmp_path / "x.html"
    html.write_text("<html><head></head><body>x</body></html>")
    with pytest.raises(LcopiaError, match="wrote no PDF"):
        report.html_to_pdf(html, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


@needs_chromium
@needs_poppler
@pytest.mark.parametrize(("paper", "size"), [("A4", r"\(A4\)"), ("Letter", r"612 x 792")])
def test_pdf_paper_size_follows_the_option(hostile_run, tmp_path, paper, size) -> None:
    pdf = report.html_to_pdf(hostile_run / "vendor-privacy-policies.html",
                             tmp_path / f"{paper}.pdf", paper=paper)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(rf"Page size:.*{size}", info), info


# --------------------------------------------------------------------------- shipped sample


@pytest.fixture(scope="module")
def sample():
    from lcopia.pipeline import results

    return results(ROOT / "data", dt.date(2026, 11, 30))


def test_sample_groups_account_for_every_finding_and_action(sample) -> None:
    groups = report.finding_groups(sample)
    assert sum(g["n"] for g in groups) == len(sample.assessment.findings)
    assert [g["risk"] for g in groups] == sorted((g["risk"] for g in groups), reverse=True)
    actions = report.action_groups(sample)
    assert sum(g["n"] for g in actions) == len(sample.assessment.actions)
    assert [g["rank"] for g in actions] == list(range(1, len(actions) + 1))


def test_sample_vendor_list_is_exactly_the_external_systems_holding_records(sample) -> None:
    expected = sorted(s.vendor for s in sample.bundle.inventory.systems
                      if s.external and s.holds_library_records)
    assert sorted(r["vendor"] for r in report.vendor_rows(sample)) == expected


def test_sample_summary_fits_the_headline_facts(sample) -> None:
    html = report.executive_summary(sample).html
    a = sample.assessment
    assert (">FAIL<" in html) == (a.gate.result == "FAIL")
    critical = sum(1 for f in a.flows if f.residual_band == "Critical")
    assert f'at critical risk</span><span class="value">{critical}<' in html
    assert html.count("<li><strong>") <= 8  # at most 3 gate lines and 5 actions
