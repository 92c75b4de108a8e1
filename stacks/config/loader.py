"""Validate the settings of ``environments/<name>.json`` into an :class:`EnvironmentConfig`.

The pydantic models in :mod:`.model` do the checking (their validators call the construct library's own checks,
so the rules live in one place); :mod:`.files` finds and reads the file (refusing duplicate keys) first. This
module resolves ``from-cli``, AZ letters, the size profile and ``-c version``, and turns the first validation
failure into one :class:`ConfigError` line: environment, field, value, what is allowed. Nothing is synthesized.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Callable, Mapping, Optional

from pydantic import TypeAdapter, ValidationError

from ava_olo_constructs import validation as v

from .errors import ConfigError
from .model import (
    check_version,
    FROM_CLI,
    SIZE_PROFILES,
    TIERS,  # noqa: F401  (re-exported: loader.TIERS)
    DatabaseConfig,
    DeploymentConfig,
    EnvironmentConfig,
    EnvironmentFile,
    HttpsConfig,
    ImageConfig,
    WafConfig,
    _Settings,
    check_region,
    default_strategy,
)

_ACCOUNT = re.compile(r"^\d{12}$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_FILE = TypeAdapter(EnvironmentFile)
_CONFIG = TypeAdapter(EnvironmentConfig)
#: Nested objects of a file, for naming their known settings in an "unknown setting" line.
_NESTED = {"image": ImageConfig, "database": DatabaseConfig, "https": HttpsConfig, "waf": WafConfig, "deployment": DeploymentConfig}
_SHARED = [f.name for f in dataclasses.fields(_Settings)]


def parse_environment(
    name: str,
    raw: Mapping[str, Any],
    *,
    version: Optional[str] = None,
    environ: Mapping[str, str] = os.environ,
) -> EnvironmentConfig:
    """Validate a raw settings mapping (what a JSON file holds) for environment ``name``."""
    errors = _Checker(name)
    if not _ENV_NAME.fullmatch(name) or len(name) > 20:
        errors.fail("env", name, "lower-case letters, digits and single hyphens, at most 20 characters")
    file = errors.validate(_FILE, raw)

    values: dict[str, Any] = {key: getattr(file, key) for key in _SHARED}
    region = _region(errors, file.region, environ)
    zones = file.availability_zones
    pinned = () if isinstance(zones, int) else tuple(region + z if re.fullmatch(r"[a-z]", z) else z for z in zones)
    cpu, memory = SIZE_PROFILES[file.size_profile or "standard"]
    image = file.image
    if version is not None:
        errors.run(check_version, "version", version, prefix="-c ")
        image = ImageConfig(repository=image.repository, tag=version)
    deployment = file.deployment
    if deployment.strategy is None:
        deployment = DeploymentConfig(**{**_asdict(deployment), "strategy": default_strategy(file.tier)})
    values.update(
        name=name,
        region=region,
        account=_account(errors, file.account, environ),
        availability_zones=pinned,
        az_count=len(pinned) or zones,
        image=image,
        version=image.tag,
        cpu=file.cpu if file.cpu is not None else cpu,
        memory=file.memory if file.memory is not None else memory,
        deployment=deployment,
    )
    return errors.validate(_CONFIG, values)


def _asdict(instance: Any) -> dict[str, Any]:
    return {f: getattr(instance, f) for f in instance.__dataclass_fields__}


class _Checker:
    """Turns the library's :class:`PropsError` into :class:`ConfigError` for this environment."""

    def __init__(self, environment: str) -> None:
        self.environment = environment

    def fail(self, field: str, value: Any, allowed: str) -> None:
        raise ConfigError(self.environment, field, value, allowed)

    def known(self, raw: Mapping[str, Any], settable: Any, prefix: str = "", allowed: str = "") -> None:
        """Reject the first key of ``raw`` that is not in ``settable`` (typos never pass silently)."""
        for key in raw:
            if key not in settable:
                self.fail(
                    f"{prefix}{key}",
                    raw[key],
                    allowed or f"unknown setting; known settings are {', '.join(sorted(settable))}",
                )

    def run(self, check: Callable[..., Any], *args: Any, prefix: str = "", **kwargs: Any) -> None:
        try:
            check(*args, **kwargs)
        except v.PropsError as error:
            raise ConfigError(self.environment, prefix + error.field, error.value, error.allowed) from None

    def validate(self, adapter: TypeAdapter, data: Any) -> Any:
        """``adapter.validate_python(data)``, its first error as one :class:`ConfigError` line."""
        try:
            return adapter.validate_python(data)
        except ValidationError as error:
            raise self.config_error(error) from None
        except v.PropsError as error:  # raised outside pydantic's wrapping (e.g. a nested dataclass' __init__)
            raise ConfigError(self.environment, error.field, error.value, error.allowed) from None

    def config_error(self, error: ValidationError) -> ConfigError:
        problems = error.errors(include_url=False)
        # A misspelt key explains the other errors (a required field "missing"): report it first.
        problems.sort(key=lambda p: p["type"] not in ("extra_forbidden", "unexpected_keyword_argument"))
        problem = problems[0]
        loc = [str(part) for part in problem["loc"]]
        cause = (problem.get("ctx") or {}).get("error")
        if isinstance(cause, v.PropsError):
            # A field validator reports its own field (loc ends with it); a model validator its model's path.
            own = cause.field.split(".")[0] if cause.field else ""
            prefix = loc[:-1] if loc and own == loc[-1] else loc
            field = ".".join([*prefix, cause.field] if cause.field else prefix)
            return ConfigError(self.environment, field, cause.value, cause.allowed)
        field = ".".join(loc)
        kind = problem["type"]
        if kind in ("missing", "missing_argument", "missing_keyword_only_argument"):
            return ConfigError(self.environment, field, None, "required (missing)")
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            model = _NESTED.get(loc[-2]) if len(loc) > 1 else EnvironmentFile
            known = sorted("$schema" if f == "schema" else f for f in (model or EnvironmentFile).__dataclass_fields__)
            listed = ", ".join(known[:-1]) + " and " + known[-1]
            return ConfigError(self.environment, field, problem["input"], f"unknown setting; known settings are {listed}")
        objects = {
            "image": 'an object {"repository": ..., "tag": ...}',
            "https": 'an object {"domain_name": ..., "certificate_arn" | "certificate_arn_parameter" | "hosted_zone_id": ...}',
            "waf": 'an object {"rate_limits": [...], "log_retention_days": ...}',
            "database": "an object of database settings",
            "deployment": 'an object {"strategy": ..., "canary_percent": ..., "canary_bake_minutes": ..., "bake_minutes": ...}',
        }
        if kind in ("dataclass_type", "dataclass_exact_type", "dict_type") and loc and loc[-1] in objects:
            return ConfigError(self.environment, field, problem["input"], objects[loc[-1]])
        allowed = {
            "bool_type": "true or false",
            "int_type": "a whole number",
            "string_type": "a string",
            "dataclass_type": "an object of settings",
            "dataclass_exact_type": "an object of settings",
            "dict_type": "an object of settings",
        }.get(kind) or problem["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
        return ConfigError(self.environment, field, problem["input"], allowed)


def _account(errors: _Checker, account: Any, environ: Mapping[str, str]) -> Optional[str]:
    if account == FROM_CLI:
        account = environ.get("CDK_DEFAULT_ACCOUNT") or None
        if account is not None and not _ACCOUNT.fullmatch(account):
            errors.fail("account", account, "CDK_DEFAULT_ACCOUNT must be a 12-digit AWS account id")
        return account
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        errors.fail("account", account, f'a 12-digit AWS account id, or "{FROM_CLI}"')
    return account


def _region(errors: _Checker, region: Any, environ: Mapping[str, str]) -> str:
    """A region aws-cdk-lib's region facts know; ``from-cli`` reads ``CDK_DEFAULT_REGION``."""
    if region == FROM_CLI:
        region = environ.get("CDK_DEFAULT_REGION", "")
        try:
            check_region("region", region)
        except v.PropsError:
            errors.fail("region", region, f'"{FROM_CLI}" needs CDK_DEFAULT_REGION set to a region such as eu-central-1')
    errors.run(check_region, "region", region)
    return region




def environment_schema() -> dict[str, Any]:
    """The JSON Schema of an environment file, from :class:`EnvironmentFile` (every object closed to unknown keys,
    as the models are)."""
    schema = _FILE.json_schema(by_alias=True)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for child in node.values():
                close(child)
        elif isinstance(node, list):
            for child in node:
                close(child)

    close(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "environment.schema.json",
        "title": "AVA OLO environment",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(environment_schema(), indent=2, sort_keys=True) + "\n"
