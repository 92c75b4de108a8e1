"""Alembic environment: the migration task's ``alembic upgrade head`` (MigrationTask, started by ``ava-olo migrate``).

* The connection comes from the same variables as the service's (``DB_HOST`` ... ``DB_PASSWORD``, ECS secrets of
  the migration task) - nothing in alembic.ini.
* After the upgrade, when the database is at the head revision, the deployed version is recorded in the seed's
  ``schema_versions`` table (seed "Database Versioning"): ``APP_VERSION``, which ``ava-olo migrate`` passes to the
  task for every run, with the Alembic revision in ``description``. Re-running for the same version refreshes
  ``applied_at``. This is the database's own record; ``ava-olo migrate`` keeps the SSM ``schema-version``
  parameter, the operators' record, in step with it.
* When ``ENCRYPTION_KEY`` lists several keys (a rotation, README "Rotating ENCRYPTION_KEY"), every stored phone
  number is then re-encrypted under the first key, in the same transaction.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import pool, text

from reference_service.config import ConfigError, DatabaseSettings
from reference_service.crypto import FarmerDataManager, reencrypt_phone_numbers
from reference_service.db import create_database_engine

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = None


def _record_schema_version(connection, head: str) -> None:
    version = os.environ.get("APP_VERSION", "").strip()
    if not version:
        raise ConfigError("APP_VERSION", None, "required: the migration records it in schema_versions (ava-olo migrate sets it)")
    script = ScriptDirectory.from_config(config).get_revision(head)
    description = f"alembic {head}: {script.doc}" if script is not None and script.doc else f"alembic {head}"
    connection.execute(
        text(
            "INSERT INTO schema_versions (version, description) VALUES (:version, :description) "
            "ON CONFLICT (version) DO UPDATE SET applied_at = CURRENT_TIMESTAMP, description = EXCLUDED.description"
        ),
        {"version": version, "description": description},
    )


def run_migrations_online() -> None:
    settings = DatabaseSettings.from_environ(os.environ)
    engine = create_database_engine(settings, poolclass=pool.NullPool, pool_size=None, max_overflow=None)
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
            current = set(context.get_context().get_current_heads())
            if current == heads and len(heads) == 1:
                _record_schema_version(connection, next(iter(heads)))
                keys = [k.strip() for k in os.environ.get("ENCRYPTION_KEY", "").split(",") if k.strip()]
                if len(keys) > 1:
                    count = reencrypt_phone_numbers(connection, FarmerDataManager(keys))
                    print(f"re-encrypted {count} phone numbers under the first ENCRYPTION_KEY key", flush=True)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: the migration records the schema version in the database")
run_migrations_online()
