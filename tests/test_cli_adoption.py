"""A new library from the command line: init, workbook, questionnaire, and finding --data."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run_cli


def test_init_then_validate_names_the_placeholders(tmp_path: Path) -> None:
    done = run_cli("init", "mylib", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Created a new library's project in mylib" in done.stdout
    done = run_cli("validate", "--data", "mylib", cwd=tmp_path)
    assert done.returncode == 2
    assert "inventory/library.yaml, field 'name'" in done.stderr
    assert "placeholder" in done.stderr and "Traceback" not in done.stderr


def test_data_is_found_from_inside_a_project_and_from_lcopia_data(tmp_path: Path) -> None:
    assert run_cli("init", "--sample", "sample", cwd=tmp_path).returncode == 0
    inside = run_cli("validate", cwd=tmp_path / "sample" / "inventory")
    assert inside.returncode == 0, inside.stderr
    by_env = run_cli("validate", cwd=tmp_path, env={"LCOPIA_DATA": str(tmp_path / "sample")})
    assert by_env.returncode == 0, by_env.stderr
    nowhere = run_cli("validate", cwd=tmp_path)
    assert nowhere.returncode == 2 and "no data folder given and none found" in nowhere.stderr


def test_workbook_export_and_import_from_the_command_line(tmp_path: Path) -> None:
    assert run_cli("init", "--sample", "lib", cwd=tmp_path).returncode == 0
    done = run_cli("workbook", "export", "--data", "lib", "--as-of", "11/30/2026", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "inventory.xlsx").is_file()
    done = run_cli("workbook", "import", "inventory.xlsx", "--data", "lib",
                   "--as-of", "2026-11-30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Nothing changed" in done.stdout
    missing = run_cli("workbook", "import", "nope.xlsx", "--data", "lib", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.xlsx" in missing.stderr


def test_questionnaires_out_and_an_unknown_system_refused(tmp_path: Path) -> None:
    assert run_cli("init", "--sample", "lib", cwd=tmp_path).returncode == 0
    done = run_cli("questionnaire", "ils", "--data", "lib", "--out", "q",
                   "--as-of", "2026-11-30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "q").glob("*.xlsx"))) == 1
    bad = run_cli("questionnaire", "isl", "--data", "lib", "--out", "q", cwd=tmp_path)
    assert bad.returncode == 2 and "no system 'isl'" in bad.stderr
    empty = run_cli("questionnaire", "import", "--data", "lib", cwd=tmp_path)
    assert empty.returncode == 2 and "needs the returned workbooks" in empty.stderr


def test_the_repository_sample_is_found_from_the_repository_root() -> None:
    done = run_cli("validate", cwd=ROOT)
    assert done.returncode == 0, done.stderr
