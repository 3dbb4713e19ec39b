"""Score every flow and system against the policy's controls: pure functions, no I/O, no clock.

Method (numbers all come from ``data/policy/scales.yaml``):

* severity 1-4 from the highest tier of a flow's data elements, raised for minors and for a
  direct identifier held with intellectual activity in one flow or system;
* likelihood 1-4 from exposure factors, less a credit per mitigating control by its answer's
  status (``unknown`` earns nothing: a gap is never a pass);
* risk = severity × likelihood, banded three times: inherent (no controls), residual
  (controls as answered) and planned (every action in the plan done);
* a PASS/FAIL compliance gate of hard rules, independent of the score (``gate``).

Modules, in the order data flows through them: ``context`` (indexes), ``facts`` (derived
checks), ``controls`` (applicability and status), ``risk`` (severity, likelihood),
``findings`` (control-level rows), ``gate`` (the legal rules), ``actions``, ``assessment``
(``assess``) and ``text`` (the terminal summary).
"""

from __future__ import annotations

from lcopia.scoring.assessment import assess, posture
from lcopia.scoring.context import SCHEMA_VERSION, Context, Evaluated, Outcome, build_context
from lcopia.scoring.controls import evaluate_controls, inapplicable_answers
from lcopia.scoring.facts import DERIVED_CHECKS, DerivedCheck
from lcopia.scoring.gate import disclosure_meets_statute, evaluate_gate, review_disclosures
from lcopia.scoring.risk import band_for, exposure_factors, likelihood_level, score_flow
from lcopia.scoring.text import assessment_text
from lcopia.scoring.thirdparty import web_flows

render_text = assessment_text  # the name cli.py imports today

__all__ = [
    "DERIVED_CHECKS",
    "SCHEMA_VERSION",
    "Context",
    "DerivedCheck",
    "Evaluated",
    "Outcome",
    "assess",
    "assessment_text",
    "band_for",
    "build_context",
    "disclosure_meets_statute",
    "evaluate_controls",
    "evaluate_gate",
    "exposure_factors",
    "inapplicable_answers",
    "likelihood_level",
    "posture",
    "render_text",
    "review_disclosures",
    "score_flow",
    "web_flows",
]
