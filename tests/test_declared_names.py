"""Names the code relies on are declared (lcopia.names) and checked when the data loads."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from conftest import ROOT

from lcopia import names
from lcopia.errors import InventoryError
from lcopia.load import load


def _problems(data: Path) -> list[str]:
    with pytest.raises(InventoryError) as err:
        load(data)
    return [str(p) for p in err.value.problems]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_renaming_a_gate_rule_is_a_validate_error_naming_the_rule(data_copy: Path) -> None:
    for name in ("policy.yaml", "controls.yaml"):
        _edit(data_copy / "policy" / name, "disclosure_route", "release_route")
    found = _problems(data_copy)
    assert any(p.startswith("policy/policy.yaml, field 'gate_rules'")
               and "'disclosure_route'" in p for p in found), found


def test_renaming_a_band_id_is_a_validate_error(data_copy: Path) -> None:
    _edit(data_copy / "policy" / "scales.yaml", "{id: critical,", "{id: severe,")
    found = _problems(data_copy)
    assert any("needs a band with id 'critical'" in p for p in found), found
    assert any("risk_bands.id" in p and "'severe'" in p for p in found), found


def test_band_colour_must_be_a_hex_colour(data_copy: Path) -> None:
    _edit(data_copy / "policy" / "scales.yaml", 'colour: "#c0504d"', "colour: reddish")
    found = _problems(data_copy)
    assert any("risk_bands.critical.colour" in p and "#rrggbb" in p for p in found), found


def test_a_role_naming_no_clause_is_an_error_with_a_suggestion(data_copy: Path) -> None:
    _edit(data_copy / "policy" / "policy.yaml", "disclosure_clause: LCO-DISCLOSURE",
          "disclosure_clause: LCO-DISCLOSUR")
    found = _problems(data_copy)
    assert any("roles.disclosure_clause" in p and "did you mean 'LCO-DISCLOSURE'" in p
               for p in found), found


def test_a_missing_role_is_an_error(data_copy: Path) -> None:
    _edit(data_copy / "policy" / "policy.yaml", "  web_tracking_control: POL-26\n", "")
    found = _problems(data_copy)
    assert any("roles.web_tracking_control" in p and "needs the id of the control" in p
               for p in found), found


def test_the_sample_fills_every_declared_role_and_rule() -> None:
    bundle = load(ROOT / "data")
    assert set(bundle.policy.roles) == set(names.ROLES)
    assert set(names.GATE_RULES) <= set(bundle.policy.gate_rules)
    assert {b.id for b in bundle.policy.scales.risk_bands} == set(names.BAND_IDS)


# ----------------------------------------------------------------------------- files


def test_a_symlinked_inventory_file_is_refused_and_not_echoed(data_copy: Path,
                                                               tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: CANARY-SECRET-LINE\n", encoding="utf-8")
    lib = data_copy / "inventory" / "library.yaml"
    lib.unlink()
    lib.symlink_to(secret)
    with pytest.raises(InventoryError) as err:
        load(data_copy)
    text = str(err.value)
    assert "inventory/library.yaml" in text and "symbolic link" in text
    assert "CANARY-SECRET-LINE" not in text


def test_a_fifo_named_like_an_inventory_table_is_refused_without_blocking(
        data_copy: Path) -> None:
    flows = data_copy / "inventory" / "flows.csv"
    flows.unlink()
    os.mkfifo(flows)  # nobody writes to it: an open() for reading would block forever
    found = _problems(data_copy)
    assert any(p.startswith("inventory/flows.csv") and "named pipe" in p for p in found), found
    assert not any("flows.csv" in p and "missing" in p for p in found)


def test_a_folder_named_like_an_inventory_table_is_called_a_folder(data_copy: Path) -> None:
    systems = data_copy / "inventory" / "systems.csv"
    systems.unlink()
    systems.mkdir()
    found = _problems(data_copy)
    assert any(p.startswith("inventory/systems.csv") and "is a folder" in p for p in found)


def test_an_unreadable_file_names_the_file_and_the_fix(data_copy: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open
    target = str(data_copy / "inventory" / "answers.csv")

    def denied(path: object, *args: object, **kwargs: object) -> int:
        if str(path) == target:
            raise PermissionError(13, "Permission denied", target)
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    found = _problems(data_copy)
    assert any(p.startswith("inventory/answers.csv") and "permission denied" in p
               for p in found), found


@pytest.mark.parametrize("lookalike", ["\u0456ls", "ils\u200b", "\ufeffils", "ils/../x"])
def test_look_alike_or_path_like_ids_are_refused(data_copy: Path, lookalike: str) -> None:
    systems = data_copy / "inventory" / "systems.csv"
    lines = systems.read_text(encoding="utf-8").splitlines(keepends=True)
    extra = lines[1].replace("ils,", f"{lookalike},", 1)
    assert extra != lines[1]
    systems.write_text("".join([*lines, extra]), encoding="utf-8")
    found = _problems(data_copy)
    assert any(p.startswith("inventory/systems.csv") and "field 'system_id'" in p
               and "must use only" in p for p in found), found


def test_ids_differing_only_in_case_are_one_id(data_copy: Path) -> None:
    systems = data_copy / "inventory" / "systems.csv"
    lines = systems.read_text(encoding="utf-8").splitlines(keepends=True)
    systems.write_text("".join([*lines, lines[1].replace("ils,", "ILS,", 1)]),
                       encoding="utf-8")
    found = _problems(data_copy)
    assert any("field 'system_id'" in p and "ignoring upper and lower case" in p
               for p in found), found


def test_input_hashes_are_of_the_bytes_read(data_copy: Path) -> None:
    import hashlib

    bundle = load(data_copy)
    flows = (data_copy / "inventory" / "flows.csv").read_bytes()
    assert bundle.files["inventory/flows.csv"] == hashlib.sha256(flows).hexdigest()
    assert "policy/confidentiality-of-library-records-2024-01-16.txt" in bundle.files


# ----------------------------------------------------------------------------- structure


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lcopia"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lcopia"))
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "lcopia").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def test_the_package_has_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: {m for m in _top_level_imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    # a package's __init__ re-exporting its own submodules is not a cycle through it
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not (d.startswith(name + ".")
                                               and modules[name].name == "__init__.py")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = [*trail[trail.index(dep):], dep] if dep in trail else [node, dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def _typing_only(tree: ast.Module) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: never run, so never part of an import cycle."""
    return {id(n) for block in tree.body if isinstance(block, ast.If)
            and getattr(block.test, "id", "") == "TYPE_CHECKING"
            for n in ast.walk(block)}


def test_lcopia_imports_its_own_modules_at_the_top() -> None:
    """Imports inside functions hid an import cycle once. Only the command line (the edge,
    which keeps ``--help`` fast) imports its commands' modules lazily."""
    inside = []
    for name, path in _modules().items():
        if name == "lcopia.cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set(map(id, tree.body)) | _typing_only(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("lcopia") and id(node) not in top):
                inside.append(f"{name}: from {node.module}")
    assert not inside, inside
