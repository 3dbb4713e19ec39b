"""``lcopia init``: a new library's folder validates only once its placeholders are replaced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import DATA

from lcopia.errors import InventoryError, UsageError
from lcopia.load import PLACEHOLDER, load, load_rules
from lcopia.scaffold import init_project
from lcopia.scoring import assess

TODAY = dt.date(2026, 12, 1)


def test_init_creates_a_project_with_the_starter_policy_pack(tmp_path: Path) -> None:
    result = init_project(tmp_path / "mylib", today=TODAY)
    folder = result.project.root
    for rel in ("policy/policy.yaml", "taxonomy/elements.yaml", "inventory/library.yaml",
                "inventory/flows.csv", "evidence/manifest.yaml", "README.md"):
        assert rel in result.created and (folder / rel).is_file(), rel
    assert (folder / "evidence" / "web").is_dir()
    for name in ("policy.yaml", "controls.yaml", "scales.yaml"):
        assert (folder / "policy" / name).read_bytes() == (DATA / "policy" / name).read_bytes()
    policy, taxonomy = load_rules(folder)
    assert policy.controls and taxonomy.elements


def test_validate_insists_on_replacing_every_placeholder(tmp_path: Path) -> None:
    folder = init_project(tmp_path / "mylib", today=TODAY).project.root
    with pytest.raises(InventoryError) as err:
        load(folder)
    problems = [str(p) for p in err.value.problems]
    for field in ("name", "location", "privacy_officer", "director", "counsel",
                  "website_domains"):
        assert any(p.startswith(f"inventory/library.yaml, field '{field}'")
                   and "placeholder" in p for p in problems), field
    assert any("systems.csv" in p and "only the header row" in p for p in problems)


def test_a_filled_in_project_validates_and_scores(tmp_path: Path) -> None:
    folder = init_project(tmp_path / "mylib", today=TODAY).project.root
    lib = folder / "inventory" / "library.yaml"
    text = lib.read_text(encoding="utf-8")
    for old, new in ((f'"{PLACEHOLDER} your library\'s name"', "Prairie Town Library"),
                     (f'"{PLACEHOLDER} city and state"', "Prairie Town, Missouri"),
                     (f'"{PLACEHOLDER} name and role of the privacy officer"', "A. Officer"),
                     (f'"{PLACEHOLDER} name of the director"', "B. Director"),
                     (f'"{PLACEHOLDER} name of the library\'s counsel"', "C. Counsel"),
                     (f'"{PLACEHOLDER} www.your-library.org"', "prairietown.example")):
        assert old in text, old
        text = text.replace(old, new)
    lib.write_text(text, encoding="utf-8")
    systems = folder / "inventory" / "systems.csv"
    header = systems.read_text(encoding="utf-8").strip().split(",")
    row = dict.fromkeys(header, "")
    row.update(system_id="ils", name="Catalog", vendor="Library", service="ILS", kind="ils",
               external="no", holds_library_records="yes", owner="Director",
               patron_accounts="no")
    systems.write_text(",".join(header) + "\n" + ",".join(row[h] for h in header) + "\n",
                       encoding="utf-8")
    flows = folder / "inventory" / "flows.csv"
    header = flows.read_text(encoding="utf-8").strip().split(",")
    row = dict.fromkeys(header, "")
    row.update(flow_id="FL-LOANS", system_id="ils", category="circulation",
               elements="titles_borrowed;card_number", purpose="Loans", direction="store",
               recipient="Library staff", transfer="Staff client", storage="Local server",
               retention_days="30",
               retention_need_days="30", encrypted="yes", broad_access="no", minors="no",
               patrons_affected="900", is_library_record="yes", rationale="Loans")
    flows.write_text(",".join(header) + "\n" + ",".join(row[h] for h in header) + "\n",
                     encoding="utf-8")
    bundle = load(folder, as_of=TODAY)
    assert any("is the policy of Library Center of the Ozarks" in w for w in bundle.warnings)
    assessment = assess(bundle, TODAY)
    assert assessment.library == "Prairie Town Library"
    assert assessment.flows and assessment.controls


def test_init_never_overwrites_a_project(tmp_path: Path) -> None:
    folder = init_project(tmp_path / "mylib", today=TODAY).project.root
    lib = folder / "inventory" / "library.yaml"
    lib.write_text(lib.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match="already holds a project"):
        init_project(folder, today=TODAY)
    assert lib.read_text(encoding="utf-8").endswith("# mine\n")


def test_init_sample_copies_the_illustrative_library(tmp_path: Path) -> None:
    result = init_project(tmp_path / "sample", today=TODAY, sample=True)
    folder = result.project.root
    for rel in ("inventory/flows.csv", "evidence/manifest.yaml",
                "evidence/exports/circulation_stats.csv", "evidence/web/homepage-clean.har"):
        assert (folder / rel).read_bytes() == (DATA / rel).read_bytes(), rel
    assert load(folder).inventory.library.illustrative
