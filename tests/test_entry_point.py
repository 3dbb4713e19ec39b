"""Smoke tests of the real entry point, ``python -m lcopia``, each in a new process.

Every other CLI test calls ``lcopia.cli.main`` in-process (``conftest.run_cli``); these few
prove that the installed command turns the same outcomes into the same exit codes and streams:
0 on success, 1 for a failed gate under ``--strict``, 2 for a user mistake, never a traceback.
"""

from __future__ import annotations

from conftest import AS_OF, run_entry_point


def test_entry_point_validates_the_sample_and_exits_0():
    result = run_entry_point("validate")
    assert result.returncode == 0, result.stderr
    assert "assessment data is valid" in result.stdout
    assert "Traceback" not in result.stderr


def test_entry_point_exits_1_when_the_gate_fails_under_strict(data_copy):
    # The sample's inventory alone fails the gate; the copy leaves out the evidence files.
    result = run_entry_point("score", "--data", str(data_copy), "--as-of", AS_OF.isoformat(),
                             "--strict")
    assert result.returncode == 1, result.stderr
    assert "Compliance gate: FAIL" in result.stdout
    assert "compliance gate FAILED" in result.stderr and "Traceback" not in result.stderr


def test_entry_point_refuses_a_broken_file_with_exit_2_and_no_traceback(data_copy):
    (data_copy / "inventory/systems.csv").write_bytes(b"")
    result = run_entry_point("validate", "--data", str(data_copy))
    assert result.returncode == 2
    assert "inventory/systems.csv" in result.stderr and "is empty" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_entry_point_refuses_an_impossible_option_with_exit_2(tmp_path):
    result = run_entry_point("score", "--as-of", "30/11/2026", cwd=tmp_path)
    assert result.returncode == 2
    assert "write it as YYYY-MM-DD" in result.stderr and "Traceback" not in result.stderr


def test_entry_point_without_a_command_prints_help_and_exits_2():
    result = run_entry_point()
    assert result.returncode == 2
    assert "usage: lcopia" in result.stderr and "Traceback" not in result.stderr
