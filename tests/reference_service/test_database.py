"""Seed "Connection Pooling" and "Database Versioning" against a real PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from reference_service.config import ConfigError, Settings
from reference_service.web import create_app

from .conftest import APP_VERSION, create_database, run_alembic, service_environ, start_service

SEED_TABLES = {"farmers", "fields", "conversations", "schema_versions"}


def app_engine(environ):
    """The engine the service builds from its environment (create_app, as gunicorn's worker does)."""
    return create_app(Settings.from_environ(environ)).config["engine"]


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_pool_settings_come_from_db_pool_size_max_overflow_and_recycle(postgres, migrated_template):
    # A database of its own: the session's live service keeps connections to the shared one. Recycling after an
    # hour: a busy machine must not recycle a held connection mid-test (recycling is the next test's).
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


def test_pool_recycle_replaces_connections_older_than_db_pool_recycle(postgres, migrated_database):
    engine = app_engine(service_environ(postgres, migrated_database, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_POOL_RECYCLE="1"))
    try:
        first = backend_pid(engine)
        assert backend_pid(engine) == first  # reused while younger than 1 s
        time.sleep(1.1)
        assert backend_pid(engine) != first
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
    environ = service_environ(postgres, "farmer_crm_app", **{name: value})
    if value == "":
        del environ[name]
    with pytest.raises(ConfigError) as error:
        create_app(Settings.from_environ(environ))
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


def test_a_task_with_a_missing_secret_exits_at_once_with_one_line(postgres, tmp_path):
    environ = service_environ(postgres, "farmer_crm_app")
    del environ["DB_PASSWORD"]
    service = start_service(environ, tmp_path)
    try:
        exit_code = service.process.wait(timeout=30)
    finally:
        service.stop()
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
