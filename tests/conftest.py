"""Shared fixtures: the shipped sample data, and a scratch copy a test may break."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
AS_OF = dt.date(2026, 11, 30)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the sample's policy, taxonomy and inventory (no evidence files)."""
    dest = tmp_path / "data"
    for sub in ("policy", "taxonomy", "inventory"):
        shutil.copytree(DATA / sub, dest / sub)
    return dest


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m lcopia`` as a user would, capturing both streams."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    return subprocess.run([sys.executable, "-m", "lcopia", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def load_script(relative: str) -> ModuleType:
    """Import a repository script (``scripts/…``, ``benchmarks/…``) that is not a package."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
