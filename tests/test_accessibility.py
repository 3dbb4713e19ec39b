"""The Board report and the patron pages have no WCAG 2.1 A/AA violation under axe-core,
run inside the real (headless Chromium) browser on the suite's shared run of the sample.

axe-core is pinned in tests/axe/package.json; ``npm ci --prefix tests/axe`` installs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shared_run import SharedRun
from test_browser import DevTools

from lcopia import report

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

pytestmark = [
    pytest.mark.skipif(not Path(report.chromium_path()).exists(),
                       reason="Chromium is not installed (make deps)"),
    pytest.mark.skipif(not AXE.is_file(),
                       reason="axe-core is not installed (npm ci --prefix tests/axe)"),
]


def axe_violations(page: Path) -> list[dict[str, Any]]:
    """Run axe-core on a local page in headless Chromium; its WCAG A/AA violations."""
    cdp = DevTools(timeout=600)  # a hang guard only: axe walks every node of 50 pages
    try:
        target = cdp.call("Target.createTarget", url="about:blank")["targetId"]
        session = cdp.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        cdp.call("Page.enable", session)
        cdp.call("Page.navigate", session, url=page.as_uri())
        cdp.wait_for("Page.loadEventFired", cdp.timeout)  # a hang guard, as above
        cdp.call("Runtime.evaluate", session, expression=AXE.read_text(encoding="utf-8"))
        # only violations are read: axe need not gather every passing node
        script = ("axe.run(document, {runOnly: {type: 'tag', values: " + json.dumps(TAGS)
                  + "}, resultTypes: ['violations']})"
                  ".then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact,"
                  " nodes: v.nodes.map(n => n.target.join(' '))"
                  ".slice(0, 5)}))))")
        got = cdp.call("Runtime.evaluate", session, expression=script, awaitPromise=True,
                       returnByValue=True)
        if "exceptionDetails" in got:
            raise RuntimeError(json.dumps(got["exceptionDetails"])[:500])
        return json.loads(got["result"]["value"])
    finally:
        cdp.close()


@pytest.fixture
def rendered(shared_run: SharedRun) -> Path:
    """The suite's shared ``assess`` run folder (script and formula text in its inventory)."""
    return shared_run.run_dir


@pytest.mark.parametrize("name", ["board-report.html", "vendor-privacy-policies.html",
                                  "vendor-privacy-policies.es.html"])
def test_page_has_no_wcag_21_aa_violation(rendered: Path, name: str) -> None:
    assert axe_violations(rendered / name) == []


def test_axe_does_report_a_violation_when_a_page_has_one(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><html><head><title>x</title></head><body><main>'
                    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                    '<p style="color:#bbb;background:#fff">faint</p></main></body></html>')
    ids = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "html-has-lang"} <= ids
