"""The SQLAlchemy engine: ONE pool per process, sized by the platform (seed "Connection Pooling").

``pool_size`` / ``max_overflow`` / ``pool_recycle`` come from ``DB_POOL_SIZE`` / ``DB_MAX_OVERFLOW`` /
``DB_POOL_RECYCLE``; ``pool_pre_ping`` tests a pooled connection before handing it out, so after an Aurora
failover or restart the next request gets a fresh connection instead of an error. The connection budget the
construct library checks at synth (``connection_budget``) assumes exactly one such pool per task: gunicorn runs
one worker process with threads (``gunicorn.conf.py``).
"""

from __future__ import annotations

import logging

from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from .config import DatabaseSettings

log = logging.getLogger(__name__)

DRIVER = "postgresql+psycopg"


def database_url(settings: DatabaseSettings) -> URL:
    return URL.create(
        DRIVER,
        username=settings.user,
        password=settings.password,
        host=settings.host,
        port=settings.port,
        database=settings.name,
    )


def create_database_engine(settings: DatabaseSettings, **overrides) -> Engine:
    options = dict(
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_recycle=settings.pool_recycle,
        pool_pre_ping=True,
        connect_args={"connect_timeout": settings.connect_timeout, "application_name": "reference-service"},
    )
    for name, value in overrides.items():  # None removes an option (e.g. pool_size for a NullPool)
        if value is None:
            options.pop(name, None)
        else:
            options[name] = value
    return create_engine(database_url(settings), **options)


def log_database_failure(error: Exception, operation: str) -> None:
    """The one line the DB-connection metric filter counts: the driver's message, unchanged (one JSON event)."""
    log.error("database connection failed: %s", error, extra={"operation": operation})


def database_connected(engine: Engine) -> bool:
    """``SELECT 1`` through the pool. A connection-level failure is logged (and counted) and answers False."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except OperationalError as error:
        log_database_failure(error, "health check")
        return False
    except DBAPIError as error:  # e.g. an InterfaceError from a dropped socket
        if error.connection_invalidated:
            log_database_failure(error, "health check")
        else:
            log.error("health check query failed: %s", error)
        return False
