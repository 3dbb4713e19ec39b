"""Hygiene of every notebook template: one typed, documented parameters cell; no outputs;
kernelspec python3; nothing but calls into the package (no functions, classes or loops)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
BIN = Path(sys.executable).parent
PARAMETER_LINE = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_]*): (?P<type>str|int|float|bool) = (?P<default>.+?)"
    r"  # (?P<help>\S.*)$")
LOGIC = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While,
         ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)
ids = [p.stem for p in NOTEBOOKS]


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _parameter_lines(nb: dict) -> list[str]:
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    return [line for line in _source(cell).splitlines() if line.strip()]


def test_every_assessment_notebook_is_present() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {"01_inventory", "02_system", "03_evidence",
                                          "04_board_report"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_kernelspec_is_python3(path: Path) -> None:
    assert _nb(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_exactly_one_parameters_cell_of_typed_documented_literals(path: Path) -> None:
    nb = _nb(path)
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0]["cell_type"] == "code"
    lines = _parameter_lines(nb)
    assert lines, "the parameters cell declares nothing"
    for line in lines:
        m = PARAMETER_LINE.match(line)
        assert m, f"{path.name}: not `name: type = default  # help`: {line!r}"
        value = ast.literal_eval(m["default"])  # a literal, never computed from another one
        assert type(value).__name__ == m["type"], line
        assert "#" not in m["default"], f"papermill cuts a default at '#': {line!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_parameter_runs_on_the_sample_by_default(path: Path) -> None:
    defaults = {PARAMETER_LINE.match(x)["name"]: ast.literal_eval(PARAMETER_LINE.match(x)[
        "default"]) for x in _parameter_lines(_nb(path))}
    assert (NOTEBOOK_DIR / defaults["data_dir"] / "inventory").is_dir()
    assert defaults["run_dir"] == ""  # standalone runs write nothing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_outputs_or_execution_counts_are_committed(path: Path) -> None:
    for cell in _nb(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_first_code_cell_sets_the_inline_backend(path: Path) -> None:
    first = next(c for c in _nb(path)["cells"] if c["cell_type"] == "code")
    assert "%matplotlib inline" in _source(first)  # MPLBACKEND=Agg would drop every figure


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_code_cells_only_call_the_package(path: Path) -> None:
    for cell in _nb(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(x for x in _source(cell).splitlines()
                         if not x.lstrip().startswith(("%", "!")))
        found = [type(n).__name__ for n in ast.walk(ast.parse(code)) if isinstance(n, LOGIC)]
        assert not found, f"{path.name}: logic belongs in the package, found {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_is_nbstripout_clean(path: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "nbstripout"), "--verify", "--extra-keys",
         "metadata.papermill cell.metadata.papermill", str(path)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_papermill_help_lists_every_parameter_with_its_help(path: Path) -> None:
    from click.testing import CliRunner
    from papermill.cli import papermill

    # papermill's own command, run in this process: `papermill --help-notebook PATH`
    done = CliRunner().invoke(papermill, ["--help-notebook", str(path)])
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())
    for line in _parameter_lines(_nb(path)):
        m = PARAMETER_LINE.match(line)
        assert f"{m['name']}: {m['type']}" in text
        assert " ".join(m["help"].split()) in text
