import shutil
from pathlib import Path

import pytest

from grid_service.configuration.files import ConfigError, read_config_dir
from grid_service.settings import DEFAULT_CONFIG_DIR
from tests.conftest import FIXTURE_CONFIG


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, target)
    return target


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        read_config_dir(directory)
    return err.value.problems


def test_shipped_configuration_is_valid_and_covers_the_work_plan():
    bundle = read_config_dir(DEFAULT_CONFIG_DIR)
    codes = {c.code for c in bundle.categories}
    for needed in (
        "illegal_construction",
        "outdoor_barbecue",
        "construction_dust",
        "street_occupation",
        "cooking_fumes",
        "straw_burning",
        "exposed_garbage",
        "illegal_small_ads",
        "small_coal_boiler",
        "road_damage",
        "safety_hazard",
    ):
        assert needed in codes
    assert any(len(r.area) > 6 for r in bundle.rules), "at least one street-specific rule"
    assert bundle.calendar.official_holidays == "CN"
    assert len(bundle.cells) > 1000 and all(c.code.startswith("230108") for c in bundle.cells)


def test_unknown_department_in_a_rule_is_named(config_copy):
    text = (config_copy / "routing.toml").read_text()
    (config_copy / "routing.toml").write_text(text.replace('department = "housing"', 'department = "parks"'))
    assert "routing.toml: rule 5: unknown department 'parks'" in problems_of(config_copy)


def test_unknown_category_and_duplicate_rule_are_named(config_copy):
    with (config_copy / "routing.toml").open("a") as f:
        f.write('\n[[rule]]\ncategory = "graffiti"\narea = ""\ndepartment = "housing"\n')
        f.write('\n[[rule]]\ncategory = "*"\narea = "230108001"\ndepartment = "housing"\n')
    problems = problems_of(config_copy)
    assert "routing.toml: rule 6: unknown category 'graffiti'" in problems
    assert any(p.startswith("routing.toml: rule 7: duplicate rule") for p in problems)


def test_bad_category_fields_are_named(config_copy):
    text = (config_copy / "categories.toml").read_text()
    (config_copy / "categories.toml").write_text(text.replace('clock = "working"', 'clock = "lunar"', 1))
    problems = problems_of(config_copy)
    assert any(p.startswith("categories.toml: category 2 (illegal_construction): clock") for p in problems)


def test_invalid_polygon_and_duplicate_cell_code_are_named(config_copy):
    grid = (config_copy / "grids" / "tiny.geojson").read_text()
    bowtie = grid.replace('"230108003001001"', '"230108001001001"', 1)
    (config_copy / "grids" / "tiny.geojson").write_text(bowtie)
    (config_copy / "grids" / "broken.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "230108009001001",'
        ' "name": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}'
    )
    problems = problems_of(config_copy)
    assert any("grids/tiny.geojson" in p and "duplicate cell code" in p for p in problems)
    assert any("grids/broken.geojson" in p and "feature 0" in p and "invalid polygon" in p for p in problems)


def test_unparseable_toml_and_missing_file_are_named(config_copy):
    (config_copy / "calendar.toml").write_text("timezone = \n")
    (config_copy / "departments.toml").unlink()
    problems = problems_of(config_copy)
    assert any(p.startswith("calendar.toml: cannot parse TOML") for p in problems)
    assert "departments.toml: file is missing" in problems


def test_calendar_problems_are_named(config_copy):
    (config_copy / "calendar.toml").write_text(
        'timezone = "Mars/Olympus"\nworking_hours = [["12:00", "08:00"]]\nworking_weekdays = ["mon"]\n'
    )
    problems = problems_of(config_copy)
    assert any("calendar.toml: timezone" in p and "Mars/Olympus" in p for p in problems)
    assert any("calendar.toml: working_hours" in p for p in problems)


def test_a_calendar_with_no_working_time_is_refused_by_name(config_copy):
    (config_copy / "calendar.toml").write_text(
        'timezone = "Asia/Shanghai"\nworking_hours = [["08:30", "17:30"]]\nworking_weekdays = []\n'
    )
    problems = problems_of(config_copy)
    assert any("calendar.toml: working_weekdays" in p for p in problems), problems


def test_the_escalation_ladder_is_optional_and_checked(config_copy):
    assert [(e.after_hours, e.to) for e in read_config_dir(config_copy).escalation] == [
        (2, "section head"),
        (24, "district command center"),
    ]
    (config_copy / "escalation.toml").write_text(
        '[[level]]\nafter_hours = 24\nto = "a"\n\n[[level]]\nafter_hours = 4\nto = "b"\n\n[[level]]\nto = "c"\n'
    )
    problems = problems_of(config_copy)
    assert "escalation.toml: level 2: after_hours must grow from one level to the next" in problems
    assert any(p.startswith("escalation.toml: level 3: after_hours:") for p in problems), problems
    (config_copy / "escalation.toml").unlink()
    assert read_config_dir(config_copy).escalation == ()


def test_the_shipped_filing_standard_and_policy(tmp_path):
    bundle = read_config_dir(DEFAULT_CONFIG_DIR)
    construction = next(c for c in bundle.categories if c.code == "illegal_construction")
    assert {c.code for c in construction.conditions} == {"stop_work", "demolish"}
    assert construction.limit_for(False, construction.condition("stop_work")) == 4
    assert construction.limit_for(False, None) == 37.5
    assert bundle.filing.policy_for("inspector", "road_damage") == "auto"
    assert bundle.filing.policy_for("public", "road_damage") == "review"
    assert bundle.filing.check_first("hotline", "road_damage") and not bundle.filing.check_first("leader", "x")


def test_filing_problems_are_named_by_file_and_item(config_copy):
    (config_copy / "filing.toml").write_text(
        '[source.public]\npolicy = "sometimes"\n\n[[override]]\nsource = "public"\ncategory = "graffiti"\n'
        "\n[steps]\naccept_minutes = -1\n"
    )
    problems = problems_of(config_copy)
    assert any(p.startswith("filing.toml: source.public.policy:") for p in problems), problems
    assert any(p.startswith("filing.toml: steps.accept_minutes:") for p in problems), problems
    (config_copy / "filing.toml").write_text('[[override]]\nsource = "public"\ncategory = "graffiti"\n')
    assert "filing.toml: override 1: unknown category 'graffiti'" in problems_of(config_copy)
    (config_copy / "filing.toml").write_text('[source.rumour]\npolicy = "auto"\n')
    assert any(p.startswith("filing.toml: source.rumour") for p in problems_of(config_copy))


def test_condition_problems_are_named(config_copy):
    text = (config_copy / "categories.toml").read_text()
    (config_copy / "categories.toml").write_text(
        text.replace('default_condition = "demolish"', 'default_condition = "paint"')
    )
    problems = problems_of(config_copy)
    assert any(
        p.startswith("categories.toml: category 2 (illegal_construction):") and "default_condition 'paint'" in p
        for p in problems
    ), problems
    (config_copy / "categories.toml").write_text(text.replace('code = "demolish"', 'code = "stop_work"'))
    assert any("condition codes must be unique" in p for p in problems_of(config_copy))
