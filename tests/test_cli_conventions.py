"""Command-line and packaging conventions another library expects (issue 19, item 6):
``--version``, defaults and examples in ``--help``, a progress bar only on a terminal, global
``-q``/``-v``, a license, a changelog, complete package metadata, no unused or Linux-only
imports, and a browser found on every platform."""

from __future__ import annotations

import ast
import io
import re
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import ROOT

import lcopia
from lcopia import run
from lcopia.cli import build_parser, main

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def test_version_prints_the_package_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"lcopia {lcopia.__version__}"


def test_version_has_one_source() -> None:
    assert "version" in PROJECT.get("dynamic", [])
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "lcopia.__version__"}


def _help(*args: str) -> str:
    out = io.StringIO()
    parser = build_parser()
    target = parser
    if args:
        sub = next(a for a in parser._actions if a.dest == "command")
        target = sub.choices[args[0]]  # type: ignore[union-attr]
    target.print_help(out)
    return out.getvalue()


def _flat(text: str) -> str:
    """Help text with argparse's line wrapping undone."""
    return re.sub(r"\s+", " ", text)


def test_help_shows_defaults_and_examples() -> None:
    text = _flat(_help("assess"))
    assert "(default: reports)" in text and "(default: 2)" in text
    assert "$LCOPIA_DATA" in text and "(default: 600)" in text
    assert "examples:" in text and "lcopia assess --previous" in text
    assert "default: None" not in text and "default: False" not in text
    for command in ("validate", "score", "scan", "web"):
        assert "examples:" in _help(command), command


def test_main_help_documents_exit_codes_and_the_browser_variable() -> None:
    text = _help()
    assert "exit codes:" in text and re.search(r"^\s+3\s", text, re.M)
    assert "LCOPIA_CHROMIUM" in text and "macOS" in _flat(text) and "Windows" in text


@pytest.mark.parametrize("argv", [["-v", "validate"], ["validate", "-v"],
                                  ["-q", "score"], ["score", "--quiet"], ["-vv", "assess"]])
def test_quiet_and_verbose_work_before_or_after_the_command(argv) -> None:
    args = build_parser().parse_args(argv)
    assert args.verbose or args.quiet


def test_verbose_counts() -> None:
    assert build_parser().parse_args(["-vv", "score"]).verbose == 2
    assert build_parser().parse_args(["score"]).verbose == 0


@pytest.fixture
def captured_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake(**kwargs: Any) -> Any:
        seen.update(kwargs)
        return SimpleNamespace(summary=lambda: "done", steps={"total": 1.0})

    monkeypatch.setattr(run, "run_assessment", fake)
    return seen


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_bar_when_stderr_is_not_a_terminal(captured_run, capsys) -> None:
    assert main(["assess"]) == 0
    assert captured_run["progress"] is False


def test_progress_bar_on_a_terminal_unless_quiet(captured_run, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert main(["assess"]) == 0
    assert captured_run["progress"] is True
    assert main(["-q", "assess"]) == 0
    assert captured_run["progress"] is False


def test_verbose_assess_prints_step_timings(captured_run, capsys) -> None:
    assert main(["assess", "-v"]) == 0
    assert "total: 1.00 s" in capsys.readouterr().err


# ----------------------------------------------------------------------------- packaging


def test_licence_is_mit_and_declared() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "lcopia contributors" in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_changelog_follows_keep_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text and "## [Unreleased]" in text
    assert re.search(r"^## \[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}$", text, re.M)
    for heading in ("### Added", "### Changed", "### Removed"):
        assert heading in text


def test_pyproject_has_full_metadata() -> None:
    assert PROJECT["readme"] == "README.md" and (ROOT / "README.md").is_file()
    assert PROJECT["authors"] == [{"name": "lcopia contributors"}]
    assert any(c.startswith("Programming Language :: Python :: 3.11")
               for c in PROJECT["classifiers"])
    assert {"test", "lab"} <= set(PROJECT["optional-dependencies"])
    assert any(d.startswith("jupyterlab") for d in PROJECT["optional-dependencies"]["lab"])
    assert any(d.startswith("pytest") for d in PROJECT["optional-dependencies"]["test"])


def test_every_dependency_has_a_lower_bound() -> None:
    deps = PROJECT["dependencies"] + [d for extra in PROJECT["optional-dependencies"].values()
                                      for d in extra]
    for dep in deps:
        assert ">=" in dep, dep


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_dependency_that_nothing_imports() -> None:
    used = set().union(*(_imported_modules(p) for p in (ROOT / "lcopia").rglob("*.py")))
    names = {re.split(r"[<>=!~\[ ;]", d)[0].lower().replace("-", "_")
             for d in PROJECT["dependencies"]}
    # installed for what they run, not imported: the kernel, and PyYAML imports as yaml
    not_imported = {"ipykernel"}
    module = {"pyyaml": "yaml"}
    for name in names - not_imported:
        assert module.get(name, name) in {u.lower() for u in used}, name
    assert "duckdb" not in (ROOT / "requirements.txt").read_text(encoding="utf-8")


LINUX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource", "posix", "tty", "pty"}


def test_no_linux_only_import_at_module_level() -> None:
    for path in (ROOT / "lcopia").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only; a guarded import inside a function is fine
            names: set[str] = set()
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module.split(".")[0]}
            assert not names & LINUX_ONLY, f"{path.name}: {names & LINUX_ONLY}"


def test_lock_refuses_a_second_holder(tmp_path) -> None:
    with (run._locked(tmp_path), pytest.raises(lcopia.errors.UsageError, match="another"),
          run._locked(tmp_path)):
        pass
    with run._locked(tmp_path):  # released on exit
        pass


# ----------------------------------------------------------------------------- browser


def test_browser_variable_wins(monkeypatch) -> None:
    monkeypatch.setenv("LCOPIA_CHROMIUM", "/opt/my/chrome")
    assert run.find_browser() == "/opt/my/chrome"


def test_browser_found_on_the_path_under_other_names(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "google-chrome"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.delenv("LCOPIA_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run.find_browser() == str(fake)


def test_browser_found_in_the_macos_application_folder(tmp_path, monkeypatch) -> None:
    app = tmp_path / "Applications" / "Google Chrome.app" / "Contents" / "MacOS"
    app.mkdir(parents=True)
    (app / "Google Chrome").write_text("", encoding="utf-8")
    monkeypatch.delenv("LCOPIA_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    assert run.find_browser() == str(app / "Google Chrome")


def test_browser_found_in_windows_program_files(tmp_path, monkeypatch) -> None:
    edge = tmp_path / "Microsoft" / "Edge" / "Application"
    edge.mkdir(parents=True)
    (edge / "msedge.exe").write_text("", encoding="utf-8")
    monkeypatch.delenv("LCOPIA_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "platform", "win32")
    for var in ("PROGRAMFILES", "PROGRAMFILES(X86)"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    assert run.find_browser() == str(edge / "msedge.exe")
