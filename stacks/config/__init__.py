"""Typed, validated per-environment settings: the only place that knows about environments.

``load_environment("production")`` reads ``environments/production.json``, validates it with the pydantic models
of :mod:`.model` and returns an immutable :class:`EnvironmentConfig`, or raises :class:`ConfigError` with one
line naming the field, the value and what is allowed. Nothing else in the project reads configuration files.
``python -m stacks.config`` rewrites the JSON Schema the files name in ``"$schema"``.

Importing this package loads neither the models nor the construct library they validate with (aws-cdk-lib):
the models' names below are imported on first use, so that app.py can report a missing environment file before
paying for them (see :mod:`.files`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .files import DEFAULT_ENVIRONMENT, ENVIRONMENTS_DIR, SCHEMA_FILE, available_environments, load_environment

if TYPE_CHECKING:
    from .loader import environment_schema
    from .model import DatabaseConfig, DeploymentConfig, EnvironmentConfig, EnvironmentFile, HttpsConfig, ImageConfig, WafConfig

#: Names exported from the modules that load the construct library, imported when first asked for.
_ON_FIRST_USE = {
    **dict.fromkeys(
        ("DatabaseConfig", "DeploymentConfig", "EnvironmentConfig", "EnvironmentFile", "HttpsConfig", "ImageConfig", "WafConfig"),
        ".model",
    ),
    "environment_schema": ".loader",
}


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_ON_FIRST_USE[name], __name__), name)
    globals()[name] = value
    return value


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
