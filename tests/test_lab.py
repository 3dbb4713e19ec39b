"""JupyterLab, set up by `make setup`, opens the notebooks on the project's own interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB_PYTHON = ROOT / ".venv-lab" / "bin" / "python"


def _register(prefix: Path, python: str, build: Path) -> dict:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "lab_kernel.py"), str(prefix),
                           python, str(build)], capture_output=True, text=True, check=True)
    assert "kernel python3 ->" in done.stdout
    spec = prefix / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    return json.loads(spec.read_text(encoding="utf-8"))


def test_lab_kernel_runs_the_project_interpreter_with_the_makefile_settings(tmp_path):
    spec = _register(tmp_path / "lab", sys.executable, tmp_path / "build")
    assert spec["argv"][0] == str(Path(sys.executable).absolute())
    assert spec["argv"][1:3] == ["-m", "ipykernel_launcher"]
    assert spec["env"]["IPYTHONDIR"] == str((tmp_path / "build" / "ipython").resolve())
    assert spec["env"]["MPLCONFIGDIR"] == str((tmp_path / "build" / "matplotlib").resolve())


def test_lab_kernel_keeps_a_venv_python_symlink_so_the_kernel_sees_the_venv(tmp_path):
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    spec = _register(tmp_path / "lab", str(venv_python), tmp_path / "build")
    assert spec["argv"][0] == str(venv_python)


def test_lab_kernel_without_arguments_prints_usage_and_exits_2():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "lab_kernel.py")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "Usage:" in done.stderr


def test_jupyterlabs_environment_runs_notebooks_on_the_project_kernel(tmp_path):
    """`make setup` made .venv-lab; its python3 kernel is the project's interpreter (one
    notebook run proves the kernel spec, the import of lcopia and the environment)."""
    if not LAB_PYTHON.exists():
        if os.environ.get("LCOPIA_LAB_REQUIRED"):
            pytest.fail("make setup did not create .venv-lab (JupyterLab's environment)")
        pytest.skip("no .venv-lab here; `make setup` creates it (make test requires it)")
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys, lcopia\nprint(sys.prefix)")]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "JUPYTER_PREFER_ENV_PATH": "1", "IPYTHONDIR": str(tmp_path / "ipy")}
    subprocess.run([str(LAB_PYTHON), "-m", "jupyter", "execute", "--inplace",
                    "--kernel_name=python3", str(path)], capture_output=True, text=True,
                   check=True, cwd=tmp_path, env=env)
    out = nbformat.read(path, as_version=4).cells[0].outputs[0]["text"].strip()
    assert Path(out).resolve() == (ROOT / ".venv").resolve()
    lab = subprocess.run([str(LAB_PYTHON), "-c", "import jupyterlab, jupytext"],
                         capture_output=True, check=False)
    assert lab.returncode == 0
