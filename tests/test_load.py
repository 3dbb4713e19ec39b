"""The loader accepts what spreadsheets produce and reports every real problem at once."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import yaml
from builders import rows, write_rows
from conftest import AS_OF, DATA, run_cli

from lcopia import fsio
from lcopia.errors import InventoryError
from lcopia.load import load, parse_date


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Change one cell; ``row`` as a spreadsheet numbers it (header = 1)."""
    table = rows(path)
    table[row - 1][table[0].index(column)] = value
    write_rows(path, table)


def problems_of(data: Path) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load(data, as_of=AS_OF)
    return [str(p) for p in info.value.problems]


def test_shipped_sample_validates():
    bundle = load(DATA, as_of=AS_OF)
    assert len(bundle.inventory.systems) >= 12
    assert len(bundle.inventory.flows) >= 25
    assert bundle.inventory.library.illustrative
    assert all(len(h) == 64 for h in bundle.files.values())


def test_duplicate_system_id_names_file_and_row(data_copy):
    systems = data_copy / "inventory/systems.csv"
    first_id = rows(systems)[1][0]
    set_cell(systems, 3, "system_id", first_id)
    found = problems_of(data_copy)
    assert any("inventory/systems.csv, row 3, field 'system_id'" in p and "unique" in p
               for p in found)


def test_flow_naming_a_missing_system_suggests_the_close_one(data_copy):
    flows = data_copy / "inventory/flows.csv"
    set_cell(flows, 2, "system_id", "ilss")
    found = problems_of(data_copy)
    assert any("flows.csv, row 2, field 'system_id'" in p and "did you mean 'ils'" in p
               for p in found)


def test_unknown_data_element_is_reported_with_choices(data_copy):
    flows = data_copy / "inventory/flows.csv"
    set_cell(flows, 2, "elements", "titles_borowed;card_number")
    found = problems_of(data_copy)
    assert any("field 'elements'" in p and "titles_borrowed" in p for p in found)


def test_impossible_date_is_reported(data_copy):
    systems = data_copy / "inventory/systems.csv"
    set_cell(systems, 2, "privacy_policy_reviewed", "2/30/2026")
    found = problems_of(data_copy)
    assert any("row 2, field 'privacy_policy_reviewed'" in p and "'2/30/2026'" in p
               for p in found)


def test_four_problems_are_reported_together_and_exit_2(data_copy):
    systems = data_copy / "inventory/systems.csv"
    flows = data_copy / "inventory/flows.csv"
    set_cell(systems, 3, "system_id", rows(systems)[1][0])
    set_cell(flows, 2, "system_id", "no-such-system")
    set_cell(flows, 3, "elements", "favourite_colour")
    set_cell(systems, 4, "privacy_policy_reviewed", "2026-13-01")
    result = run_cli("validate", "--data", str(data_copy))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for needle in ("systems.csv, row 3", "flows.csv, row 2", "flows.csv, row 3",
                   "systems.csv, row 4"):
        assert needle in result.stderr


def test_validate_summarises_the_sample():
    result = run_cli("validate")
    assert result.returncode == 0, result.stderr
    assert "assessment data is valid" in result.stdout
    assert "Circulation" in result.stdout or "circulation" in result.stdout


def test_spreadsheet_quirks_are_tolerated(data_copy):
    systems = data_copy / "inventory/systems.csv"
    table = rows(systems)
    col = table[0].index("external")
    table[1][col] = "Yes"
    table[2][col] = "Y" if table[2][col].lower().startswith("y") else "FALSE"
    text = "\r\n".join(",".join(f'"{c}"' for c in r) for r in table) + "\r\n,,,\r\n\r\n"
    systems.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    bundle = load(data_copy, as_of=AS_OF)
    assert bundle.inventory.systems[0].external is True


def test_us_and_iso_dates_both_read():
    assert parse_date("1/16/2024") == parse_date("2024-01-16")
    assert parse_date("2024-01-16 00:00:00") == parse_date("2024-01-16")
    assert parse_date("16/1/2024") is None
    assert parse_date("2024-02-30") is None


def test_windows_1252_is_read_with_a_warning(data_copy):
    systems = data_copy / "inventory/systems.csv"
    set_cell(systems, 2, "notes", "Café contract — signed")
    systems.write_bytes(systems.read_text(encoding="utf-8").encode("cp1252"))
    bundle = load(data_copy, as_of=AS_OF)
    assert bundle.inventory.systems[0].notes == "Café contract — signed"
    assert any("Windows-1252" in w for w in bundle.warnings)


def test_utf16_from_excel_is_read(data_copy):
    systems = data_copy / "inventory/systems.csv"
    systems.write_bytes(systems.read_text(encoding="utf-8").encode("utf-16"))
    assert load(data_copy, as_of=AS_OF).inventory.systems


def test_semicolon_separated_csv_is_read(data_copy):
    answers = data_copy / "inventory/answers.csv"
    table = rows(answers)
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(table)
    answers.write_text(buf.getvalue(), encoding="utf-8")
    assert len(load(data_copy, as_of=AS_OF).inventory.answers) == len(table) - 1


def test_binary_garbage_named_csv_is_refused(data_copy):
    (data_copy / "inventory/flows.csv").write_bytes(bytes(range(256)) * 8)
    found = problems_of(data_copy)
    assert any("flows.csv" in p and "binary" in p for p in found)


def test_empty_file_is_refused(data_copy):
    (data_copy / "inventory/answers.csv").write_text("", encoding="utf-8")
    assert any("answers.csv" in p and "empty" in p for p in problems_of(data_copy))


def test_unknown_column_gets_a_suggestion(data_copy):
    systems = data_copy / "inventory/systems.csv"
    table = rows(systems)
    table[0][table[0].index("vendor")] = "vendr"
    write_rows(systems, table)
    found = problems_of(data_copy)
    assert any("'vendr'" in p and "did you mean 'vendor'" in p for p in found)
    assert any("field 'vendor'" in p and "missing" in p for p in found)


def test_yes_no_cell_with_nonsense_is_reported(data_copy):
    set_cell(data_copy / "inventory/flows.csv", 4, "minors", "perhaps")
    assert any("flows.csv, row 4, field 'minors'" in p and "yes or no" in p
               for p in problems_of(data_copy))


def test_negative_retention_is_refused(data_copy):
    set_cell(data_copy / "inventory/flows.csv", 2, "retention_days", "-30")
    assert any("retention_days" in p and "negative" in p for p in problems_of(data_copy))


def test_future_review_date_is_refused(data_copy):
    set_cell(data_copy / "inventory/systems.csv", 2, "privacy_policy_reviewed", "2031-01-01")
    assert any("after the assessment date" in p for p in problems_of(data_copy))


def test_yaml_duplicate_key_is_refused(data_copy):
    path = data_copy / "policy/scales.yaml"
    path.write_text(path.read_text() + "\nlikelihood_base: 2\n", encoding="utf-8")
    assert any("scales.yaml" in p and "duplicate key" in p for p in problems_of(data_copy))


def test_yaml_alias_bomb_is_refused(data_copy):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"\
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
    (data_copy / "taxonomy/categories.yaml").write_text(bomb, encoding="utf-8")
    assert any("categories.yaml" in p and "aliases" in p for p in problems_of(data_copy))


def test_yaml_deep_nesting_is_refused(data_copy):
    (data_copy / "taxonomy/elements.yaml").write_text("a: " + "[" * 200 + "]" * 200,
                                                      encoding="utf-8")
    assert any("elements.yaml" in p and "nested" in p for p in problems_of(data_copy))


@pytest.mark.parametrize("text", [
    "a: 1\nb: 2\na: 3\n", "a: &x [1]\nb: *x\n", "a: " + "[" * 40 + "]" * 40,
    "a: b: c\n", "a: 'open\n", "a: [1, 2\n"])
def test_libyaml_and_pure_python_loaders_refuse_alike_on_the_same_line(text):
    refusals = []
    for loader in (fsio._StrictLoader, fsio.LOADER):
        with pytest.raises(yaml.MarkedYAMLError) as err:
            yaml.load(text, Loader=loader)
        mark = err.value.problem_mark or err.value.context_mark
        refusals.append((type(err.value), mark.line if mark else None))
    assert refusals[0] == refusals[1]


@pytest.mark.parametrize("depth", [13, 5000])
def test_deep_nesting_gets_one_message_below_and_above_libyamls_own_limit(depth):
    with pytest.raises(fsio.FileProblem, match="nested deeper than 12 levels"):
        fsio.parse_yaml("a: " + "[" * depth + "]" * depth, "taxonomy/elements.yaml")


def test_a_cached_parse_hands_out_copies_a_caller_may_change():
    text = "a:\n  b: [1, 2]\n  c: {d: 2026-11-30}\n"
    first = fsio.parse_yaml(text, "policy/x.yaml")
    first["a"]["b"].append(3)
    first["a"]["c"]["e"] = 1
    assert fsio.parse_yaml(text, "policy/x.yaml") == {
        "a": {"b": [1, 2], "c": {"d": dt.date(2026, 11, 30)}}}


def test_libyaml_and_pure_python_loaders_read_every_shipped_file_alike():
    assert fsio.LOADER is not fsio._StrictLoader  # the wheel's libyaml is in use
    files = sorted([*DATA.rglob("*.yaml"), *(DATA.parent / "lcopia").rglob("*.yaml")])
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=fsio.LOADER) == yaml.load(text, Loader=fsio._StrictLoader)


def test_unknown_scale_value_in_policy_is_refused(data_copy):
    path = data_copy / "policy/controls.yaml"
    path.write_text(path.read_text().replace("ala_priority: P1", "ala_priority: P4", 1),
                    encoding="utf-8")
    assert any("ala_priority" in p and "'P4'" in p for p in problems_of(data_copy))


def test_answer_for_a_derived_control_is_refused(data_copy):
    bundle = load(DATA, as_of=AS_OF)
    derived = next(c for c in bundle.policy.controls if c.derived_from and
                   c.applies_to == "library")
    with (data_copy / "inventory/answers.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{derived.id},library,library,implemented,,,,\n")
    assert any("is computed from the inventory" in p for p in problems_of(data_copy))


def test_answer_with_wrong_scope_is_refused(data_copy):
    bundle = load(DATA, as_of=AS_OF)
    control = next(c for c in bundle.policy.controls if c.applies_to == "system"
                   and not c.derived_from)
    with (data_copy / "inventory/answers.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{control.id},library,library,implemented,,,,\n")
    assert any(f"control {control.id} applies to each system" in p
               for p in problems_of(data_copy))


def test_missing_folder_is_a_clear_error(tmp_path):
    result = run_cli("validate", "--data", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "is not a folder" in result.stderr and "Traceback" not in result.stderr


def test_paraphrased_clause_is_refused(data_copy):
    path = data_copy / "policy/policy.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("any cost incurred by the Library", "any cost the Library has",
                                 1), encoding="utf-8")
    assert any("policy.yaml" in p and "not a verbatim quote" in p for p in problems_of(data_copy))


def test_control_mitigating_an_unknown_factor_is_refused(data_copy):
    path = data_copy / "policy/controls.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("mitigates: [broad_access]", "mitigates: [broad_acess]", 1),
                    encoding="utf-8")
    assert any("mitigates" in p and "did you mean 'broad_access'" in p
               for p in problems_of(data_copy))
