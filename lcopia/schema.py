"""``python -m lcopia.schema``: print the JSON Schema of ``lcopia score --format json``.

The schema is versioned with the code (``SCHEMA_VERSION``) and kept in
``schema/assessment.schema.json``; a test fails when the models and the file differ, so the
documented format can never drift from what the command prints.
"""

from __future__ import annotations

import json
import sys

from lcopia.models import Assessment
from lcopia.scoring import SCHEMA_VERSION


def schema_text() -> str:
    schema = Assessment.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"lcopia-assessment-{SCHEMA_VERSION}"
    schema["description"] = (
        f"lcopia assessment, schema version {SCHEMA_VERSION}: every flow and system scored "
        "against the policy's controls (inherent, residual and planned risk), the compliance "
        "gate, findings citing clause and statute, the action plan and the disclosure review. "
        "Minor versions add fields; a major version changes or removes them.")
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_text())
