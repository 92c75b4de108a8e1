"""The service's settings, read from the environment exactly as the infrastructure injects it.

What the platform sets (``FargateWebService`` and ``stacks/service_stack.py``):

* plain environment: ``APP_VERSION`` (the deployed version, for ``/version`` and ``/health``) and the seed's pool,
  ``DB_POOL_SIZE`` / ``DB_MAX_OVERFLOW`` / ``DB_POOL_RECYCLE``;
* ECS secrets (Secrets Manager JSON fields of the database's generated credentials): ``DB_HOST``, ``DB_PORT``,
  ``DB_NAME``, ``DB_USER``, ``DB_PASSWORD``; and ``ENCRYPTION_KEY`` (Fernet keys, comma-separated during a
  rotation: ``NEW,OLD``).

Optional, the service's own: ``SERVICE_NAME`` (``/version``'s ``service``; default ``monitoring-dashboards``, the
seed's), ``DEPLOYMENT_TIME`` (default: when the process started), ``DB_CONNECT_TIMEOUT`` (seconds, default 5: a
``/health`` check must answer within the target group's 10 s timeout), ``SLOW_OPERATION_SECONDS`` (seed
"Performance Monitoring", default 2).

A missing or malformed variable stops the service at start with ONE line naming it, its value and what is
allowed: a task that cannot work must fail its first health check, not its first farmer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Optional

#: Seed "Connection Pooling" defaults (the same as the construct's ``ConnectionPool``).
DEFAULT_POOL_SIZE = 20
DEFAULT_MAX_OVERFLOW = 30
DEFAULT_POOL_RECYCLE = 300
DEFAULT_DB_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 5
#: Seed "Performance Monitoring": log operations slower than 2 seconds.
DEFAULT_SLOW_OPERATION_SECONDS = 2.0
DEFAULT_SERVICE_NAME = "monitoring-dashboards"


class ConfigError(ValueError):
    """One line: the variable, its value and what is allowed."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        shown = "<not set>" if value is None else ("<hidden>" if _secret(name) else repr(value))
        super().__init__(f"{name}={shown}: {allowed}")
        self.name = name


def _secret(name: str) -> bool:
    return any(fragment in name for fragment in ("PASSWORD", "KEY", "SECRET", "TOKEN"))


def utc_timestamp(moment: Optional[datetime] = None) -> str:
    """The seed's timestamp format: ``2025-07-26T16:45:00Z``."""
    return (moment or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    user: str
    password: str
    pool_size: int = DEFAULT_POOL_SIZE
    max_overflow: int = DEFAULT_MAX_OVERFLOW
    pool_recycle: int = DEFAULT_POOL_RECYCLE
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "DatabaseSettings":
        return cls(
            host=_required(environ, "DB_HOST"),
            port=_integer(environ, "DB_PORT", DEFAULT_DB_PORT, 1, 65535),
            name=_required(environ, "DB_NAME"),
            user=_required(environ, "DB_USER"),
            password=_required(environ, "DB_PASSWORD"),
            pool_size=_integer(environ, "DB_POOL_SIZE", DEFAULT_POOL_SIZE, 1, 10_000),
            max_overflow=_integer(environ, "DB_MAX_OVERFLOW", DEFAULT_MAX_OVERFLOW, 0, 10_000),
            pool_recycle=_integer(environ, "DB_POOL_RECYCLE", DEFAULT_POOL_RECYCLE, 1, 86_400),
            connect_timeout=_integer(environ, "DB_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT, 1, 120),
        )


@dataclass(frozen=True)
class Settings:
    version: str
    service: str
    deployment_time: str
    encryption_keys: tuple[str, ...]
    database: DatabaseSettings
    slow_operation_seconds: float = DEFAULT_SLOW_OPERATION_SECONDS

    @classmethod
    def from_environ(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        environ = os.environ if environ is None else environ
        keys = tuple(part.strip() for part in _required(environ, "ENCRYPTION_KEY").split(","))
        if not all(keys):
            raise ConfigError("ENCRYPTION_KEY", keys, "Fernet keys separated by commas (NEW,OLD), none empty")
        slow = environ.get("SLOW_OPERATION_SECONDS", str(DEFAULT_SLOW_OPERATION_SECONDS))
        try:
            slow_seconds = float(slow)
        except ValueError:
            slow_seconds = -1.0
        if not slow_seconds > 0:
            raise ConfigError("SLOW_OPERATION_SECONDS", slow, "a positive number of seconds, e.g. 2")
        return cls(
            version=_required(environ, "APP_VERSION"),
            service=environ.get("SERVICE_NAME") or DEFAULT_SERVICE_NAME,
            deployment_time=environ.get("DEPLOYMENT_TIME") or utc_timestamp(),
            encryption_keys=keys,
            database=DatabaseSettings.from_environ(environ),
            slow_operation_seconds=slow_seconds,
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if value is None or not value.strip():
        raise ConfigError(name, value, "required (the service stack injects it)")
    return value.strip()


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, raw, f"an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(name, raw, f"an integer from {low} to {high}")
    return value
