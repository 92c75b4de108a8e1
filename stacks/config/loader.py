"""Read ``environments/<name>.json`` into a validated :class:`EnvironmentConfig`.

Every problem becomes a :class:`ConfigError` (one line: environment, field, value, what is allowed) raised
before any construct is built. Checks shared with the construct library (Fargate sizes, ports, names,
versions, log retention) are the library's own validators, so the rules live in one place.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ava_olo_constructs import validation as v
from ava_olo_constructs.connection_budget import check_connection_budget
from ava_olo_constructs.parameters import check_parameter_name
from ava_olo_constructs.waf import RateLimit
from ava_olo_constructs import web_service_defaults as service_defaults
from ava_olo_constructs.tags import check_tags

from .errors import ConfigError
from .model import DatabaseConfig, EnvironmentConfig, HttpsConfig, ImageConfig, WafConfig

#: Where the environment files live: one JSON file per environment. A new environment is a new file.
ENVIRONMENTS_DIR = Path(__file__).resolve().parents[2] / "environments"
#: The environment the main job synthesizes when no ``-c env=NAME`` is given: account-agnostic, offline.
DEFAULT_ENVIRONMENT = "sandbox"
#: ``account`` / ``region`` value meaning "what the CDK CLI resolved" (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION).
FROM_CLI = "from-cli"

#: Named task sizes (seed "Issue 3: Memory/CPU Issues").
SIZE_PROFILES = {
    "standard": (service_defaults.CPU, service_defaults.MEMORY_MIB),
    "high-load": (service_defaults.HIGH_LOAD_CPU, service_defaults.HIGH_LOAD_MEMORY_MIB),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}")
_KMS_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]{36}")
_ENV_VAR = re.compile(r"[A-Z][A-Z0-9_]*")
_REQUIRED = ("region", "availability_zones", "image")
_FILE_ONLY_KEYS = {"size_profile", "description"}


def available_environments(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


def load_environment(
    name: Optional[str],
    *,
    version: Optional[str] = None,
    environ: Mapping[str, str] = os.environ,
    directory: Path = ENVIRONMENTS_DIR,
) -> EnvironmentConfig:
    """Load and validate one environment.

    :param name: environment name (``-c env=NAME``); None means :data:`DEFAULT_ENVIRONMENT`.
    :param version: ``-c version=...``: overrides the image tag and ``APP_VERSION``.
    :param environ: where ``CDK_DEFAULT_ACCOUNT`` / ``CDK_DEFAULT_REGION`` are read for ``"from-cli"``.
    """
    name = DEFAULT_ENVIRONMENT if name is None else name
    if not directory.is_dir():
        raise ConfigError(str(name), "config_dir", str(directory), "a directory of <environment>.json files")
    known = available_environments(directory)
    if not isinstance(name, str) or name not in known:
        raise ConfigError(str(name), "env", name, f"choose one of {', '.join(known)} (files in {directory.name}/)")
    path = directory / f"{name}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(name, path.name, f"line {error.lineno}", f"valid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(name, path.name, f"byte {error.start}", "a UTF-8 encoded JSON file") from None
    if not isinstance(raw, dict):
        raise ConfigError(name, path.name, type(raw).__name__, "a JSON object of settings")
    return parse_environment(name, raw, version=version, environ=environ)


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
    fields = {f.name: f for f in dataclasses.fields(EnvironmentConfig)}
    settable = (set(fields) - {"name", "version", "az_count"}) | _FILE_ONLY_KEYS
    errors.known(raw, settable)
    for key in _REQUIRED:
        if key not in raw:
            errors.fail(key, None, "required (missing)")

    values: dict[str, Any] = {"name": name}
    region = _region(errors, raw["region"], environ)
    values["region"] = region
    values["account"] = _account(errors, raw.get("account", FROM_CLI), environ)
    values["availability_zones"] = _zones(errors, raw["availability_zones"], region)
    values["az_count"] = len(values["availability_zones"]) or raw["availability_zones"]
    values["image"] = image = _image(errors, raw["image"])
    values["version"] = image.tag
    if version is not None:
        errors.run(v.check_version, "version", version, prefix="-c ")
        values["version"] = version
        values["image"] = ImageConfig(image.repository, version)

    for key in ("project", "service_name"):
        if key in raw:
            errors.run(v.check_name, key, raw[key])
            values[key] = raw[key]
    if "task_family" in raw:
        errors.run(v.check_name, "task_family", raw["task_family"], max_length=255)
        values["task_family"] = raw["task_family"]
    for key in ("seed_names", "termination_protection", "retain_data", "load_balancer_deletion_protection"):
        if key in raw:
            if not isinstance(raw[key], bool):
                errors.fail(key, raw[key], "true or false")
            values[key] = raw[key]

    cpu, memory = SIZE_PROFILES["standard"]
    if "size_profile" in raw:
        if not isinstance(raw["size_profile"], str) or raw["size_profile"] not in SIZE_PROFILES:
            errors.fail("size_profile", raw["size_profile"], f"one of {', '.join(SIZE_PROFILES)}")
        if "cpu" in raw or "memory" in raw:
            errors.fail("size_profile", raw["size_profile"], "either size_profile or cpu/memory, not both")
        cpu, memory = SIZE_PROFILES[raw["size_profile"]]
    cpu, memory = raw.get("cpu", cpu), raw.get("memory", memory)
    errors.run(v.check_fargate_size, cpu, memory)
    values["cpu"], values["memory"] = cpu, memory

    if "container_port" in raw:
        errors.run(v.check_port, "container_port", raw["container_port"])
        values["container_port"] = raw["container_port"]

    defaults = EnvironmentConfig.__dataclass_fields__
    counts = {k: raw.get(k, defaults[k].default) for k in ("min_count", "desired_count", "max_count")}
    errors.run(v.check_task_counts, counts["min_count"], counts["desired_count"], counts["max_count"])
    values.update(counts)

    if "health_check_path" in raw:
        path = raw["health_check_path"]
        if not isinstance(path, str) or not re.fullmatch(r"/[A-Za-z0-9_\-./]*", path) or len(path) > 1024:
            errors.fail("health_check_path", path, "an absolute URL path such as /health")
        values["health_check_path"] = path
    ranges = {
        "health_check_grace_period_seconds": (0, 600, "seconds a new task gets before health checks count"),
        "deregistration_delay_seconds": (0, service_defaults.MAX_DEREGISTRATION_DELAY_SECONDS, "seconds"),
        "db_pool_size": (1, 1000, "connections per task"),
        "db_max_overflow": (0, 1000, "extra connections per task"),
        "db_pool_recycle_seconds": (1, 86400, "seconds"),
        "scaling_cpu_target_percent": (10, 90, "percent CPU the autoscaling keeps the service at"),
        "scaling_requests_per_target": (1, 1_000_000, "requests per task and minute"),
    }
    for key, (low, high, why) in ranges.items():
        if key in raw:
            errors.run(v.check_range, key, raw[key], low, high, why)
            values[key] = raw[key]
    for key in ("log_retention_days", "flow_log_retention_days"):
        if key in raw:
            errors.run(v.check_log_retention, key, raw[key])
            values[key] = raw[key]

    if "nat_gateways" in raw:
        errors.run(
            v.check_range, "nat_gateways", raw["nat_gateways"], 1, values["az_count"],
            "private tasks need egress; at most one per availability zone",
        )
        values["nat_gateways"] = raw["nat_gateways"]
    if "vpc_cidr" in raw:
        match = _CIDR.fullmatch(str(raw["vpc_cidr"]))
        if not match or any(int(o) > 255 for o in match.groups()[:4]) or not 16 <= int(match.group(5)) <= 20:
            errors.fail("vpc_cidr", raw["vpc_cidr"], "an IPv4 CIDR block from /16 to /20, e.g. 10.0.0.0/16")
        values["vpc_cidr"] = raw["vpc_cidr"]

    emails = raw.get("alarm_emails", [])
    if not isinstance(emails, list) or not all(isinstance(e, str) and _EMAIL.fullmatch(e) for e in emails):
        bad = next((e for e in emails if not (isinstance(e, str) and _EMAIL.fullmatch(e))), emails) if isinstance(emails, list) else emails
        errors.fail("alarm_emails", bad, "a list of e-mail addresses such as ops@example.com")
    values["alarm_emails"] = tuple(emails)

    tags = raw.get("tags", {})
    if not isinstance(tags, dict):
        errors.fail("tags", tags, "an object of tag key -> value")
    errors.run(check_tags, tags)
    reserved = {"Project", "Environment", "Service", "Version"} & set(tags)
    if reserved:
        errors.fail("tags", sorted(reserved)[0], "Project, Environment, Service and Version are set by the project")
    values["tags"] = dict(tags)

    values["database"] = database = _database(errors, raw.get("database", {}))
    errors.run(
        check_connection_budget,
        max_tasks=values["max_count"],
        pool_size=values.get("db_pool_size", defaults["db_pool_size"].default),
        max_overflow=values.get("db_max_overflow", defaults["db_max_overflow"].default),
        reserve=database.connection_reserve,
        max_connections=database.props().max_connections,
        database=database.props().description,
    )

    if "encryption_key_secret_arn" in raw:
        arn = raw["encryption_key_secret_arn"]
        if not isinstance(arn, str) or not _SECRET_ARN.fullmatch(arn):
            errors.fail("encryption_key_secret_arn", arn, "a complete Secrets Manager ARN (ending in -XXXXXX)")
        values["encryption_key_secret_arn"] = arn
    if "encryption_key_secret_kms_key_arn" in raw:
        arn = raw["encryption_key_secret_kms_key_arn"]
        if not isinstance(arn, str) or not _KMS_ARN.fullmatch(arn):
            errors.fail("encryption_key_secret_kms_key_arn", arn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
        if "encryption_key_secret_arn" not in raw:
            errors.fail("encryption_key_secret_kms_key_arn", arn, "only together with encryption_key_secret_arn")
        values["encryption_key_secret_kms_key_arn"] = arn
    secure = raw.get("secure_parameters", {})
    if not isinstance(secure, dict):
        errors.fail("secure_parameters", secure, 'an object {"ENV_VAR": "/ssm/parameter/name"}')
    for variable, name in secure.items():
        if not _ENV_VAR.fullmatch(variable) or variable in _RESERVED_VARIABLES:
            errors.fail("secure_parameters", variable, "UPPER_CASE variable names not set by the project itself")
        errors.run(check_parameter_name, f"secure_parameters.{variable}", name)
    values["secure_parameters"] = dict(secure)
    if "secure_parameters_kms_key_arn" in raw:
        arn = raw["secure_parameters_kms_key_arn"]
        if not isinstance(arn, str) or not _KMS_ARN.fullmatch(arn):
            errors.fail("secure_parameters_kms_key_arn", arn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
        values["secure_parameters_kms_key_arn"] = arn

    tier = raw.get("tier", "non-production")
    if tier not in TIERS:
        errors.fail("tier", tier, f"one of {', '.join(TIERS)}")
    values["tier"] = tier
    if "https" in raw:
        values["https"] = _https(errors, raw["https"])
    values["waf"] = _waf(errors, raw.get("waf", {}))
    config = EnvironmentConfig(**values)
    if tier == "production":
        _check_production_tier(errors, config)
    return config


TIERS = ("production", "non-production")
_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[a-f0-9-]{36}")
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")


def _check_production_tier(errors: _Checker, config: EnvironmentConfig) -> None:
    """What a production-tier environment may not leave out (seed: "Security Best Practices", "Database
    Best Practices"); stated as configuration rules, not as a check of the environment's name."""
    if config.https is None:
        errors.fail("https", None, "a production-tier environment must serve HTTPS: set https.domain_name and a certificate")
    for key in ("retain_data", "termination_protection", "load_balancer_deletion_protection"):
        if not getattr(config, key):
            errors.fail(key, False, "a production-tier environment must keep this true")
    if not config.database.deletion_protection:
        errors.fail("database.deletion_protection", False, "a production-tier environment must keep this true")


def _https(errors: _Checker, raw: Any) -> HttpsConfig:
    if not isinstance(raw, dict):
        errors.fail("https", raw, 'an object {"domain_name": ..., "certificate_arn" | "certificate_arn_parameter" | "hosted_zone_id": ...}')
    known = {f.name for f in dataclasses.fields(HttpsConfig)}
    errors.known(raw, known, "https.")
    domain = raw.get("domain_name")
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
        errors.fail("https.domain_name", domain, "a lower-case DNS name such as monitoring.ava-olo.example")
    sources = [key for key in ("certificate_arn", "certificate_arn_parameter", "hosted_zone_id") if key in raw]
    if len(sources) != 1:
        errors.fail("https", sources, "exactly one of certificate_arn, certificate_arn_parameter, hosted_zone_id")
    if "certificate_arn" in raw and not (isinstance(raw["certificate_arn"], str) and _CERTIFICATE_ARN.fullmatch(raw["certificate_arn"])):
        errors.fail("https.certificate_arn", raw["certificate_arn"], "an ACM certificate ARN")
    if "certificate_arn_parameter" in raw:
        errors.run(check_parameter_name, "https.certificate_arn_parameter", raw["certificate_arn_parameter"])
    if "hosted_zone_id" in raw:
        if not isinstance(raw["hosted_zone_id"], str) or not _ZONE_ID.fullmatch(raw["hosted_zone_id"]):
            errors.fail("https.hosted_zone_id", raw["hosted_zone_id"], "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
        zone = raw.get("hosted_zone_name")
        if not isinstance(zone, str) or not _DOMAIN.fullmatch(zone) or not (domain == zone or domain.endswith("." + zone)):
            errors.fail("https.hosted_zone_name", zone, f"the zone's name, of which {domain} is a part")
    elif "hosted_zone_name" in raw:
        errors.fail("https.hosted_zone_name", raw["hosted_zone_name"], "only together with https.hosted_zone_id")
    return HttpsConfig(**raw)


def _waf(errors: _Checker, raw: Any) -> WafConfig:
    if not isinstance(raw, dict):
        errors.fail("waf", raw, 'an object {"rate_limits": [...], "log_retention_days": ...}')
    errors.known(raw, ("rate_limits", "log_retention_days"), "waf.")
    values: dict[str, Any] = {}
    if "log_retention_days" in raw:
        errors.run(v.check_log_retention, "log_retention_days", raw["log_retention_days"], prefix="waf.")
        values["log_retention_days"] = raw["log_retention_days"]
    if "rate_limits" in raw:
        items = raw["rate_limits"]
        if not isinstance(items, list):
            errors.fail("waf.rate_limits", items, "a list of {name, limit, window_seconds, path_prefix}")
        limits = []
        for item in items:
            if not isinstance(item, dict) or not {"name", "limit", "window_seconds"} <= set(item) or not set(item) <= {"name", "limit", "window_seconds", "path_prefix"}:
                errors.fail("waf.rate_limits", item, "objects with name, limit, window_seconds and optionally path_prefix")
            limit = RateLimit(**item)
            errors.run(limit.validate, prefix="waf.")
            limits.append(limit)
        if len({limit.name for limit in limits}) != len(limits):
            errors.fail("waf.rate_limits", [limit.name for limit in limits], "rule names must be unique")
        values["rate_limits"] = tuple(limits)
    return WafConfig(**values)


#: Container variables the project sets itself (they cannot be redefined as secure parameters).
_RESERVED_VARIABLES = {
    "APP_VERSION", "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_RECYCLE",
    "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "ENCRYPTION_KEY",
}


def _database(errors: _Checker, raw: Any) -> DatabaseConfig:
    if not isinstance(raw, dict):
        errors.fail("database", raw, "an object of database settings")
    known = {f.name: f for f in dataclasses.fields(DatabaseConfig)}
    errors.known(raw, known, "database.")
    for key, value in raw.items():
        default = known[key].default
        if isinstance(default, bool) and not isinstance(value, bool):
            errors.fail(f"database.{key}", value, "true or false")
        if key in ("serverless_min_capacity", "serverless_max_capacity"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.fail(f"database.{key}", value, "a number of ACUs such as 0.5 or 4")
        elif isinstance(default, int) and not isinstance(default, bool) and (isinstance(value, bool) or not isinstance(value, int)):
            errors.fail(f"database.{key}", value, "a whole number")
    serverless = sorted({"serverless_min_capacity", "serverless_max_capacity"} & set(raw))
    if "instance_class" in raw and serverless:
        errors.fail(
            "database.instance_class", raw["instance_class"], f"either instance_class or {serverless[0]}, not both"
        )
    database = DatabaseConfig(**raw)
    errors.run(database.props().validate, prefix="database.")
    errors.run(v.check_range, "connection_reserve", database.connection_reserve, 0, 1000, prefix="database.")
    return database


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
    if region == FROM_CLI:
        region = environ.get("CDK_DEFAULT_REGION", "")
        if not _REGION.fullmatch(region):
            errors.fail("region", region, f'"{FROM_CLI}" needs CDK_DEFAULT_REGION set to a region such as eu-central-1')
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        errors.fail("region", region, f'an AWS region such as eu-central-1, or "{FROM_CLI}"')
    return region


def _zones(errors: _Checker, zones: Any, region: str) -> tuple[str, ...]:
    """A count gives no pinned names (empty tuple); a list gives the full AZ names."""
    if isinstance(zones, int) and not isinstance(zones, bool):
        errors.run(v.check_range, "availability_zones", zones, 2, 6, "a count of AZs; an ALB needs two")
        return ()
    if not isinstance(zones, list):
        errors.fail("availability_zones", zones, 'a count such as 2, or a list such as ["a", "b"] to pin AZs')
    full = [region + z if isinstance(z, str) and re.fullmatch(r"[a-z]", z) else z for z in zones]
    errors.run(v.check_availability_zones, "availability_zones", full, region)
    return tuple(full)


def _image(errors: _Checker, image: Any) -> ImageConfig:
    if not isinstance(image, dict):
        errors.fail("image", image, 'an object {"repository": ..., "tag": ...}')
    errors.known(image, ("repository", "tag"), "image.", "unknown setting; image has repository and tag")
    for key in ("repository", "tag"):
        if key not in image:
            errors.fail(f"image.{key}", None, "required (missing)")
    repository = image["repository"]
    if not isinstance(repository, str) or not re.fullmatch(r"[a-z0-9]([a-z0-9._\-/:]*[a-z0-9])?", repository):
        errors.fail("image.repository", repository, "an ECR repository name or registry/repository, no tag")
    errors.run(v.check_version, "image.tag", image["tag"])
    return ImageConfig(repository=repository, tag=image["tag"])
