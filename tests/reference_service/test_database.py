"""Seed "Connection Pooling" and "Database Versioning" against a real PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from .conftest import APP_VERSION, create_database, run_alembic, service_environ, start_service, used_in_this_run

SEED_TABLES = {"farmers", "fields", "conversations", "schema_versions"}

# The service's modules (Flask, SQLAlchemy, psycopg) are imported where used: every pytest-xdist worker imports this
# module to collect it, one of them runs it.


def app_engine(environ):
    """The engine the service builds from its environment (create_app, as gunicorn's worker does)."""
    from reference_service.config import Settings
    from reference_service.web import create_app

    return create_app(Settings.from_environ(environ)).config["engine"]


def backend_pid(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.fixture(scope="module", autouse=True)
def waits_start_with_the_module(request: pytest.FixtureRequest) -> None:
    """What takes time without work starts before the module's first test, if a selected test needs it: the
    recycle test's connection ages, the missing-secret task boots and exits, while the other tests run."""
    for name in ("recycling_pool", "task_missing_a_secret"):
        if used_in_this_run(request, name):
            request.getfixturevalue(name)


@pytest.fixture(scope="module")
def recycling_pool(postgres, migrated_database):
    """The recycle test's engine (``DB_POOL_RECYCLE=1``, one connection), checked out twice at once: the same
    backend, reused while younger than 1 s. Opened with the module (``waits_start_with_the_module``), its
    connection then ages while the other tests run; the recycle test, last in the module, waits only for what is
    left of the second. Yields ``(engine, first pid, pid of the second checkout, when that checkout was made)``."""
    environ = service_environ(postgres, migrated_database, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_POOL_RECYCLE="1")
    engine = app_engine(environ)
    try:
        first = backend_pid(engine)
        reused = backend_pid(engine)
        yield engine, first, reused, time.monotonic()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def task_missing_a_secret(postgres, tmp_path_factory):
    """The Dockerfile's CMD without ``DB_PASSWORD``, started with the module (``waits_start_with_the_module``):
    it boots, fails and exits while the first tests run; the missing-secret test then reads how. Yields
    ``(process, started)``."""
    environ = service_environ(postgres, "farmer_crm_app")
    del environ["DB_PASSWORD"]
    service = start_service(environ, tmp_path_factory.mktemp("missing-secret"))
    try:
        yield service, time.monotonic()
    finally:
        service.stop()


def test_pool_settings_come_from_db_pool_size_max_overflow_and_recycle(postgres, migrated_template):
    # A database of its own: the session's live service keeps connections to the shared one. Recycling after an
    # hour: a busy machine must not recycle a held connection mid-test (recycling is the last test's).
    migrated_database = "pool_check"
    create_database(postgres, migrated_database, template=migrated_template)
    environ = service_environ(postgres, migrated_database, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="1", DB_POOL_RECYCLE="3600")
    engine = app_engine(environ)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._recycle, engine.pool._pre_ping) == (2, 1, 3600, True)
        # pool_size + max_overflow connections at once, really open on the server, and not one more.
        held = [engine.connect() for _ in range(3)]
        try:
            sessions = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'reference-service' AND datname = '%s'"
            assert postgres.execute(sessions % migrated_database)[0][0] == 3
            assert engine.pool.checkedout() == 3 and engine.pool.overflow() == 1
            blocked = threading.Event()

            def fourth():
                engine.connect().close()
                blocked.set()

            threading.Thread(target=fourth, daemon=True).start()
            assert not blocked.wait(0.5), "a fourth connection must wait for the pool (size 2 + overflow 1)"
        finally:
            for connection in held:
                connection.close()
        assert blocked.wait(5), "the waiting checkout gets a returned connection"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("DB_POOL_SIZE", "twenty", "DB_POOL_SIZE='twenty': an integer from 1 to 10000"),
        ("DB_MAX_OVERFLOW", "-1", "DB_MAX_OVERFLOW='-1': an integer from 0 to 10000"),
        ("DB_HOST", "", "DB_HOST=<not set>"),
        ("ENCRYPTION_KEY", "not-a-key", "ENCRYPTION_KEY=<hidden>: key 1 of 1 is not a Fernet key"),
    ],
)
def test_a_bad_setting_stops_the_service_with_one_line_naming_it(postgres, name, value, expected):
    from reference_service.config import ConfigError, Settings
    from reference_service.web import create_app

    environ = service_environ(postgres, "farmer_crm_app", **{name: value})
    if value == "":
        del environ[name]
    with pytest.raises(ConfigError) as error:
        create_app(Settings.from_environ(environ))
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


def test_a_task_with_a_missing_secret_exits_at_once_with_one_line(task_missing_a_secret):
    service, started = task_missing_a_secret
    exit_code = service.process.wait(timeout=max(0.0, started + 30 - time.monotonic()))  # 30 s from its start
    assert exit_code != 0
    errors = [line for line in service.log_lines() if "DB_PASSWORD" in line]
    assert len(errors) == 1, service.log_lines()
    assert "configuration error: DB_PASSWORD=<not set>: required" in errors[0]


def test_alembic_upgrade_head_creates_the_seed_schema_and_records_the_version(postgres):
    create_database(postgres, "migration_check")
    environ = service_environ(postgres, "migration_check")
    result = run_alembic(environ, "upgrade", "head")  # the migration task's exact command
    assert result.returncode == 0, result.stdout + result.stderr

    tables = {row[0] for row in postgres.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", "migration_check")}
    assert SEED_TABLES | {"alembic_version"} == tables
    indexes = {row[0] for row in postgres.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'", "migration_check")}
    assert {"idx_farmers_country_status", "idx_fields_farmer_id"} <= indexes
    foreign_keys = postgres.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = 'fields'::regclass", "migration_check"
    )
    assert foreign_keys == [("fk_fields_farmer",)]
    columns = postgres.execute(
        "SELECT column_name, data_type, column_default FROM information_schema.columns "
        "WHERE table_name = 'schema_versions' ORDER BY ordinal_position", "migration_check"
    )
    assert [(c[0], c[1]) for c in columns] == [
        ("version", "character varying"), ("applied_at", "timestamp without time zone"), ("description", "text")
    ]
    assert columns[1][2] == "CURRENT_TIMESTAMP"

    rows = postgres.execute("SELECT version, description, applied_at FROM schema_versions", "migration_check")
    assert [(r[0], r[1]) for r in rows] == [(APP_VERSION, "alembic 0001: the seed's farmer-crm schema: farmers, fields, conversations, schema_versions")]

    # The next release migrates again (no new revision): its version is recorded too, the first stays.
    result = run_alembic({**environ, "APP_VERSION": "v3.2.1-hotfix-security"}, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    versions = postgres.execute("SELECT version FROM schema_versions ORDER BY applied_at", "migration_check")
    assert versions == [(APP_VERSION,), ("v3.2.1-hotfix-security",)]
    assert postgres.execute("SELECT version_num FROM alembic_version", "migration_check") == [("0001",)]


def test_the_migration_refuses_to_run_without_app_version(postgres):
    create_database(postgres, "migration_unversioned")
    environ = service_environ(postgres, "migration_unversioned")
    del environ["APP_VERSION"]
    result = run_alembic(environ, "upgrade", "head")
    assert result.returncode != 0
    assert "APP_VERSION=<not set>: required" in result.stderr
    # Nothing half-done: the upgrade and the record are one transaction.
    assert postgres.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "migration_unversioned") == [(0,)]


def test_pool_recycle_replaces_connections_older_than_db_pool_recycle(recycling_pool):
    engine, first, reused, checked_out = recycling_pool
    assert reused == first  # reused while younger than 1 s
    time.sleep(max(0.0, checked_out + 1.1 - time.monotonic()))  # at least 1.1 s after that second checkout
    assert backend_pid(engine) != first
