"""The wheel carries every package and resource folder (scripts/check_package.sh installs it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from conftest import ROOT

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
SKIP = {"__pycache__", "node_modules"}


def _folders(base: Path, package: str) -> set[str]:
    """Every folder under ``base`` that holds a file, as a dotted package name."""
    out = set()
    for path in base.rglob("*"):
        if path.is_file() and not SKIP & set(path.relative_to(base).parts)\
                and not path.name.startswith("."):
            rel = path.parent.relative_to(base)
            out.add(".".join([package, *rel.parts]))
    return out


def test_every_folder_of_the_package_is_listed_for_the_wheel() -> None:
    expected = _folders(ROOT / "lcopia", "lcopia")
    for package, folder in CONFIG["package-dir"].items():
        expected |= _folders(ROOT / folder, package)
    listed = set(CONFIG["packages"])
    sample_inventory = {p for p in expected if p.startswith("lcopia.starter.")}
    assert expected - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - expected == set(), "these are listed but hold no file"
    assert sample_inventory, "the starter pack is mapped from data/"


def test_every_resource_file_type_is_package_data() -> None:
    patterns = set(CONFIG["package-data"]["*"])
    missing = set()
    for base in [ROOT / "lcopia", *(ROOT / f for f in CONFIG["package-dir"].values())]:
        for path in base.rglob("*"):
            if not path.is_file() or SKIP & set(path.parts) or path.suffix == ".py"\
                    or path.suffix == ".pyc" or path.name.startswith("."):
                continue
            if f"*{path.suffix}" not in patterns and path.name not in patterns:
                missing.add(path.suffix or path.name)
    assert not missing, f"add these to [tool.setuptools.package-data]: {sorted(missing)}"
