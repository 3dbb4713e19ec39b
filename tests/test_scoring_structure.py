"""The scoring package's seams: the loader's list of fact checks is the scorer's list."""

from __future__ import annotations

import ast
from pathlib import Path

from lcopia.names import DERIVED_CHECK_SCOPES
from lcopia.scoring import DERIVED_CHECKS

PACKAGE = Path(__file__).resolve().parent.parent / "lcopia"


def test_derived_check_names_match_the_checks_and_their_scopes() -> None:
    assert {k: v.applies_to for k, v in DERIVED_CHECKS.items()} == DERIVED_CHECK_SCOPES


def test_load_never_imports_scoring() -> None:
    tree = ast.parse((PACKAGE / "load.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m and m.startswith("lcopia.scoring") for m in imported)


def test_scoring_imports_are_at_module_top() -> None:
    for path in sorted((PACKAGE / "scoring").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
                assert not inner, f"{path.name}:{node.name} imports inside a function"
