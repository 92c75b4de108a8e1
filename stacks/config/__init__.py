"""Typed, validated per-environment settings: the only place that knows about environments.

``load_environment("production")`` reads ``environments/production.json``, checks every field and returns an
immutable :class:`EnvironmentConfig`, or raises :class:`ConfigError` with one line naming the field, the value
and what is allowed. Nothing else in the project reads configuration files.
"""

from .errors import ConfigError
from .loader import DEFAULT_ENVIRONMENT, ENVIRONMENTS_DIR, available_environments, load_environment
from .model import EnvironmentConfig, ImageConfig

__all__ = [
    "ConfigError",
    "DEFAULT_ENVIRONMENT",
    "ENVIRONMENTS_DIR",
    "EnvironmentConfig",
    "ImageConfig",
    "available_environments",
    "load_environment",
]
