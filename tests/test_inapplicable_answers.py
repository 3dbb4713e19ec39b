"""An answer for a control that does not apply to its target is reported, not dropped."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli


def test_an_answer_for_a_control_that_does_not_apply_is_reported(data_copy: Path) -> None:
    answers = data_copy / "inventory" / "answers.csv"
    # POL-25 (paper destroyed on schedule) applies to paper systems only, not to the ILS
    with answers.open("a", encoding="utf-8") as fh:
        fh.write("POL-25,system,ils,implemented,Shredding log,Circulation Manager,,\n")
    done = run_cli("validate", "--data", str(data_copy))
    assert done.returncode == 0, done.stderr
    assert "POL-25 does not apply to ils, so this answer has no effect" in done.stderr


def test_the_sample_has_no_answer_without_effect() -> None:
    done = run_cli("validate")
    assert done.returncode == 0 and "has no effect" not in done.stderr
