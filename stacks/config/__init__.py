"""Typed, validated per-environment settings: the only place that knows about environments.

``load_environment("production")`` reads ``environments/production.json``, validates it with the pydantic models
of :mod:`.model` and returns an immutable :class:`EnvironmentConfig`, or raises :class:`ConfigError` with one
line naming the field, the value and what is allowed. Nothing else in the project reads configuration files.
``python -m stacks.config`` rewrites the JSON Schema the files name in ``"$schema"``.
"""

from .errors import ConfigError
from .loader import (
    DEFAULT_ENVIRONMENT,
    ENVIRONMENTS_DIR,
    SCHEMA_FILE,
    available_environments,
    environment_schema,
    load_environment,
)
from .model import DatabaseConfig, DeploymentConfig, EnvironmentConfig, EnvironmentFile, HttpsConfig, ImageConfig, WafConfig

__all__ = [
    "ConfigError",
    "DEFAULT_ENVIRONMENT",
    "DatabaseConfig",
    "DeploymentConfig",
    "ENVIRONMENTS_DIR",
    "EnvironmentConfig",
    "EnvironmentFile",
    "HttpsConfig",
    "ImageConfig",
    "SCHEMA_FILE",
    "WafConfig",
    "available_environments",
    "environment_schema",
    "load_environment",
]
