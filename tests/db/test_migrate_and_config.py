import datetime as dt
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from grid_service.configuration.files import ConfigError, read_config_dir
from grid_service.db import config_store
from grid_service.db.migrate import NoMigrations, migrate, migration_files
from grid_service.db.pool import connect
from grid_service.db.rows import Disputes
from tests.conftest import FIXTURE_CONFIG, with_database


async def test_migrations_are_recorded_in_the_database_and_applied_once(pg_admin_url):
    name = f"gs_m_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await connect(with_database(pg_admin_url, name))
        first = await migrate(conn)
        second = await migrate(conn)
        recorded = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations ORDER BY version")]
        functions = [r["name"] for r in await conn.fetch("SELECT name FROM schema_functions ORDER BY name")]
        await conn.close()
        assert (
            first
            == [p.name for _, p in migration_files()] + [f"functions/{f}" for f in functions]
            == [
                *recorded,
                *(f"functions/{f}" for f in functions),
            ]
        )
        assert "intake_batch.sql" in functions
        assert second == []
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrate_fails_loudly_where_there_are_no_migrations(db, tmp_path):
    with pytest.raises(NoMigrations, match="no migrations"):
        await migrate(db, tmp_path / "missing", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoMigrations):
        await migrate(db, tmp_path / "empty", tmp_path)


def test_the_migrations_and_the_default_configuration_are_package_data():
    from importlib import resources

    package = resources.files("grid_service")
    assert sorted(p.name for p in (package / "db" / "sql" / "migrations").iterdir() if p.name.endswith(".sql"))
    assert (package / "db" / "sql" / "functions" / "intake_batch.sql").is_file()
    assert read_config_dir(Path(str(package / "default_config"))).cells


async def test_the_event_log_refuses_updates_and_deletes(client, tokens, db):
    from tests.api.helpers import report
    from tests.conftest import bearer

    await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE events SET note = 'x'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM events")


async def test_cases_and_reports_are_never_deleted(client, tokens, db):
    from tests.api.helpers import report
    from tests.conftest import bearer

    await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    with pytest.raises(asyncpg.RaiseError, match="never deleted"):
        await db.execute("DELETE FROM reports")
    with pytest.raises(asyncpg.RaiseError, match="never deleted"):
        await db.execute("DELETE FROM cases")
    assert await db.fetchval("SELECT count(*) FROM reports") == await db.fetchval("SELECT count(*) FROM cases") == 1


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, target)
    return target


async def snapshot(db):
    return await config_store.read_snapshot(db, snap_m=30)


async def test_reloading_an_unchanged_grid_keeps_its_version(db):
    before = await snapshot(db)
    await config_store.store_bundle(db, read_config_dir(FIXTURE_CONFIG))
    after = await snapshot(db)
    assert after.grid_version == before.grid_version
    assert after.generation == before.generation + 1


async def test_a_changed_grid_is_a_new_version_and_open_cases_keep_their_cell(db, client, tokens, config_copy):
    from tests.api.helpers import IN_CELL_1, report
    from tests.conftest import bearer

    accepted = await (
        await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    ).json()
    grid_file = config_copy / "grids" / "tiny.geojson"
    grid_file.write_text(grid_file.read_text().replace("一号网格", "一号网格(新)"))
    await config_store.store_bundle(db, read_config_dir(config_copy))
    fresh = await snapshot(db)
    assert fresh.grid_version == 2 and fresh.grid.get("230108001001001").name == "一号网格(新)"
    case = await (await client.get(f"/api/v1/cases/{accepted['case_id']}", headers=bearer(tokens["viewer"]))).json()
    assert case["grid"] == {"code": "230108001001001", "name": "一号网格"}


async def test_an_invalid_directory_changes_nothing(db, config_copy):
    before = await db.fetch("SELECT * FROM routing_rules ORDER BY id")
    (config_copy / "routing.toml").write_text('[[rule]]\ncategory = "*"\narea = ""\ndepartment = "nobody"\n')
    with pytest.raises(ConfigError):
        await config_store.store_bundle(db, read_config_dir(config_copy))
    assert await db.fetch("SELECT * FROM routing_rules ORDER BY id") == before


async def test_a_failure_while_storing_rolls_everything_back(db, config_copy):
    before_generation = await config_store.current_generation(db)
    before_rules = await db.fetchval("SELECT count(*) FROM routing_rules")
    text = (config_copy / "departments.toml").read_text()
    (config_copy / "departments.toml").write_text(text.replace('name = "住房和城乡建设局"', 'name = "新名称"'))
    # Something the validator cannot know about: the database refuses the changed cell's new name.
    await db.execute("ALTER TABLE grid_cells ADD CONSTRAINT refuse CHECK (name <> '五号网格(新)')")
    grid_file = config_copy / "grids" / "tiny.geojson"
    grid_file.write_text(grid_file.read_text().replace("五号网格", "五号网格(新)"))
    bundle = read_config_dir(config_copy)
    with pytest.raises(asyncpg.CheckViolationError):
        await config_store.store_bundle(db, bundle)
    assert await config_store.current_generation(db) == before_generation
    assert await db.fetchval("SELECT count(*) FROM routing_rules") == before_rules
    assert await db.fetchval("SELECT name FROM departments WHERE code = 'housing'") == "住房和城乡建设局"
    assert await db.fetchval("SELECT count(*) FROM grid_versions") == 1


async def test_dropped_categories_become_inactive_and_are_refused(db, client, tokens, config_copy):

    text = (config_copy / "categories.toml").read_text()
    start = text.index('[[category]]\ncode = "exposed_garbage"')
    (config_copy / "categories.toml").write_text(text[:start])
    routing = (config_copy / "routing.toml").read_text()
    (config_copy / "routing.toml").write_text(
        routing.replace('category = "exposed_garbage"', 'category = "*"').replace(
            'area = "230108002"\ndepartment = "sanitation"', 'area = "230108"\ndepartment = "sanitation"'
        )
    )
    await config_store.store_bundle(db, read_config_dir(config_copy))
    assert await db.fetchval("SELECT active FROM categories WHERE code = 'exposed_garbage'") is False
    fresh = await snapshot(db)
    assert "exposed_garbage" not in fresh.categories


async def test_a_function_definition_is_applied_again_only_when_it_changes(db, tmp_path):
    functions = tmp_path / "functions"
    functions.mkdir()
    definition = functions / "answer.sql"
    definition.write_text("CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 41';")
    assert await migrate(db, functions=functions) == ["functions/answer.sql"]
    assert await migrate(db, functions=functions) == []
    definition.write_text("CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42';")
    assert await migrate(db, functions=functions) == ["functions/answer.sql"]
    assert await db.fetchval("SELECT answer()") == 42


async def test_the_event_log_takes_exactly_the_event_types_the_domain_knows(db):
    import re as regex

    from grid_service.domain.enums import EventType

    definition = await db.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_type_known'"
    )
    assert set(regex.findall(r"'(case\.[a-z_]+)'", definition)) == {t.value for t in EventType}
    case_id = await db.fetchval("SELECT id FROM cases LIMIT 1")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO events (case_id, type, at, data) VALUES ($1, 'case.teleported', now(), '{}')",
            case_id or uuid.uuid4(),
        )


async def fields_of_type(db, name: str) -> list[str]:
    columns = await db.fetch(
        "SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid"
        " WHERE t.typname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        name,
    )
    return [c["attname"] for c in columns]


async def test_the_intake_record_is_the_same_in_python_and_in_sql(db):
    """IntakeItem (db/reports.py) and the composite type intake_item must list the same fields in the
    same order: asyncpg sends the tuple positionally."""
    from grid_service.db.reports import IntakeItem

    assert await fields_of_type(db, "intake_item") == list(IntakeItem._fields)


async def test_a_case_change_and_its_events_are_the_same_in_python_and_in_sql(db):
    """db/case_changes.py sends each change and event as a tuple of CHANGE_FIELDS and EVENT_FIELDS,
    by position, as the composite types case_change and case_event (the disputes as rows.Disputes
    lists them, the events as NewEvent does)."""
    from grid_service.db import case_changes

    assert await fields_of_type(db, "case_change") == list(case_changes.CHANGE_FIELDS)
    assert await fields_of_type(db, "case_event") == list(case_changes.EVENT_FIELDS)
    # Each text field given its own name as its value: a field sent in another field's place shows.
    now = dt.datetime.now(dt.UTC)
    change = case_changes.CaseChange(
        status="status",
        pending_reason="pending_reason",
        department="department",
        dispatched_at=now,
        deadline_at=now,
        warn_at=now,
        rework_count=0,
        routing_rule_id=None,
        routing_rule=None,
        at=now,
        disputes=Disputes(ruled_department="ruled_department", suspended_from="suspended_from"),
        public_reply="public_reply",
        category="category",
        condition="condition",
        resolution="resolution",
    )
    event = case_changes.NewEvent("type", "actor", "note", {}, "department")
    changes, events = case_changes.parameters([case_changes.Guarded(uuid.uuid4(), change, "expected_status", [event])])
    [sent] = changes
    texts = {
        name: value for name, value in zip(case_changes.CHANGE_FIELDS, sent, strict=True) if isinstance(value, str)
    }
    assert texts == {name: name for name in texts} and len(texts) == 10
    [logged] = events
    named = dict(zip(case_changes.EVENT_FIELDS, logged, strict=True))
    assert named["of"] == 1 and all(named[name] == name for name in ("type", "actor", "note", "department"))


async def test_an_older_release_leaves_a_newer_release_s_functions_alone(db, tmp_path):
    """A rolling upgrade: the new release migrated the database and replaced a function; an old
    worker starting (or restarted by its supervisor) must not put its own definition back."""
    functions = tmp_path / "functions"
    functions.mkdir()
    (functions / "answer.sql").write_text(
        "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42';"
    )
    assert await migrate(db, functions=functions) == ["functions/answer.sql"]
    newest = await db.fetchval("SELECT max(version) FROM schema_migrations")
    await db.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_a_newer_release.sql')", newest + 1
    )
    (functions / "answer.sql").write_text(
        "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 41';"
    )
    assert await migrate(db, functions=functions) == []
    assert await db.fetchval("SELECT answer()") == 42
