"""The Board of Trustees' report: sections, charts, HTML/PDF rendering, exports, changes.

``from lcopia import report`` keeps giving every name the notebook, the runner and the tests
used before the package split; each lives in the module named after its job:

- :mod:`lcopia.report.common`   the Section type, dates, Jinja2 templates, band classes
- :mod:`lcopia.report.sections` one builder per Board report section
- :mod:`lcopia.report.charts`   matplotlib figures with alt text and a table equivalent
- :mod:`lcopia.report.changes`  changes since an earlier assessment
- :mod:`lcopia.report.exports`  findings CSV/JSON, action-plan.xlsx, vendor privacy list
- :mod:`lcopia.report.render`   offline HTML (code hidden) and the PDF through Chromium
"""

from lcopia.report import charts
from lcopia.report.board import (
    board_summary,
    consultation,
    limitations,
    measures,
    necessity,
    next_review,
    patron_harm,
    plain,
    processing_description,
    residual_acceptance,
    risk_register,
)
from lcopia.report.changes import _snapshot, changes_since, read_previous
from lcopia.report.common import (
    BAND_ORDER,
    KIND_LABEL,
    NB_TEMPLATE,
    YESNO,
    Section,
    band_class,
    band_css,
    css_string,
    first_sentence,
    fmt_date,
    load_results,
    read_template,
    render_template,
    templates_dir,
)
from lcopia.report.exports import (
    ACTION_COLUMNS,
    FINDING_COLUMNS,
    FORMULA_START,
    neutralise,
    vendor_page,
    vendor_rows,
    write_exports,
)
from lcopia.report.plan import action_groups
from lcopia.report.render import (
    CHROMIUM_TIMEOUT,
    chromium_flags,
    chromium_path,
    fill_contents,
    html_to_pdf,
    notebook_to_html,
    outline_pages,
    render_board_report,
)
from lcopia.report.sections import (
    accompanying_files,
    action_plan,
    contents,
    counsel_questions,
    cover,
    disclosures_summary,
    evidence_summary,
    executive_summary,
    finding_groups,
    findings_table,
    inventory_matrix,
    provenance,
    risk_map,
    scope_and_method,
    sign_off,
    system_scorecards,
    web_tracking,
)

__all__ = [
    "ACTION_COLUMNS",
    "BAND_ORDER",
    "CHROMIUM_TIMEOUT",
    "FINDING_COLUMNS",
    "FORMULA_START",
    "KIND_LABEL",
    "NB_TEMPLATE",
    "YESNO",
    "Section",
    "_snapshot",
    "accompanying_files",
    "action_groups",
    "action_plan",
    "band_class",
    "band_css",
    "board_summary",
    "changes_since",
    "charts",
    "chromium_flags",
    "chromium_path",
    "consultation",
    "contents",
    "counsel_questions",
    "cover",
    "css_string",
    "disclosures_summary",
    "evidence_summary",
    "executive_summary",
    "fill_contents",
    "finding_groups",
    "findings_table",
    "first_sentence",
    "fmt_date",
    "html_to_pdf",
    "inventory_matrix",
    "limitations",
    "load_results",
    "measures",
    "necessity",
    "neutralise",
    "next_review",
    "notebook_to_html",
    "outline_pages",
    "patron_harm",
    "plain",
    "processing_description",
    "provenance",
    "read_previous",
    "read_template",
    "render_board_report",
    "render_template",
    "residual_acceptance",
    "risk_map",
    "risk_register",
    "scope_and_method",
    "sign_off",
    "system_scorecards",
    "templates_dir",
    "vendor_page",
    "vendor_rows",
    "web_tracking",
    "write_exports",
]
