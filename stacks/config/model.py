"""The shape of one environment's configuration (what ``environments/<name>.json`` may contain), as pydantic v2
dataclasses.

Two models share one set of settings:

* :class:`EnvironmentFile` is what a file may hold (``extra="forbid"``: a typo is an error). Its JSON Schema is
  checked in as ``environments/schema/environment.schema.json`` (``python -m stacks.config``), and each
  file names it in ``"$schema"`` so editors complete and check the fields.
* :class:`EnvironmentConfig` is the resolved, immutable result the stacks read (``from-cli`` resolved, AZ letters
  expanded, size profile applied, version set). Rules that relate fields (counts, connection budget, CIDR fit,
  production tier, HTTPS) are checked here, so ``dataclasses.replace`` re-checks them too.

Field defaults are the seed's practices; an environment file only states what differs. Required fields (no
default): ``region``, ``availability_zones``, ``image.repository``, ``image.tag``. Every rule that the construct
library also enforces is the library's own check (:mod:`ava_olo_constructs.validation` and friends), called from a
validator, so the rules live in one place; the loader turns any failure into one :class:`ConfigError` line.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping, Optional

from aws_cdk import RemovalPolicy
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic import model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ArgsKwargs

from ava_olo_constructs import autoscaling, database_defaults, network_defaults, waf_defaults
from ava_olo_constructs import validation as v
from ava_olo_constructs import web_service_defaults as service_defaults
from ava_olo_constructs.connection_budget import check_connection_budget
from ava_olo_constructs.database import AuroraPostgresDatabaseProps
from ava_olo_constructs.deployment_strategy import DeploymentSettings
from ava_olo_constructs.network import check_cidr
from ava_olo_constructs.parameters import check_parameter_name
from ava_olo_constructs.tags import check_tags
from ava_olo_constructs.validation import PropsError
from ava_olo_constructs.waf import RateLimit

#: Every model refuses unknown keys (typos never pass silently) and is immutable.
STRICT = ConfigDict(extra="forbid", populate_by_name=True)
#: ``account`` / ``region`` value meaning "what the CDK CLI resolved" (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION).
FROM_CLI = "from-cli"
TIERS = ("production", "non-production")
#: Named task sizes (seed "Issue 3: Memory/CPU Issues").
SIZE_PROFILES = {
    "standard": (service_defaults.CPU, service_defaults.MEMORY_MIB),
    "high-load": (service_defaults.HIGH_LOAD_CPU, service_defaults.HIGH_LOAD_MEMORY_MIB),
}
#: ECS deployment strategies (``ecs.DeploymentStrategy``) the service may use.
STRATEGIES = ("canary", "blue_green", "linear", "rolling")


# --- The seed's policy ---------------------------------------------------------------------------------------------
# The library accepts whatever AWS accepts; this app holds its own configuration to the seed's practices (the rule
# pack, stacks/composition.POLICY, checks the same on the synthesized templates).

#: The seed's release version format ("Git Workflow Best Practices" -> "Version Tagging Strategy"):
#: ``v`` + MAJOR.MINOR.PATCH, optionally ``-`` + lowercase words joined by ``-`` (v3.2.0-schema-button-aurora).
VERSION_PATTERN = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[a-z0-9]+(-[a-z0-9]+)*)?$")
#: Seed: draining at most 30 s (ELB allows up to 3600 s).
MAX_DRAIN_SECONDS = 30
#: This project's practice (the seed names no period): database credentials rotated at most 30 days apart
#: (Secrets Manager allows up to 1000; the AvaOlo-CredentialsRotation rule checks the synthesized schedule).
MAX_ROTATION_DAYS = 30
#: Seed "Migration Strategy": "Apply during low-traffic hours. Best time: 02:00-04:00 UTC".
LOW_TRAFFIC_WINDOW = ("02:00", "04:00")
#: The seed's database (``pg_dump farmer_crm``); the library's default is generic.
DATABASE_NAME = "farmer_crm"


def check_version(field: str, version: Any) -> None:
    """The seed's release format (and so never ``latest``)."""
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise PropsError(
            field,
            version,
            "use the seed's release format vMAJOR.MINOR.PATCH[-lowercase-words], e.g. v3.2.0-schema-button-aurora",
        )


def check_low_traffic_window(field: str, window: Any, *, weekly: bool) -> None:
    """The seed's window: at least 30 minutes, inside 02:00-04:00 UTC (one day)."""
    from ava_olo_constructs.database import window_minutes

    low, high = (int(t[:2]) * 60 + int(t[3:]) for t in LOW_TRAFFIC_WINDOW)
    example = database_defaults.MAINTENANCE_WINDOW if weekly else database_defaults.BACKUP_WINDOW
    try:
        start, end = window_minutes(field, window, weekly=weekly)
    except PropsError:
        start = end = None
    if start is None or end is None or not low <= start < end <= high or end - start < 30:
        raise PropsError(
            field, window, f"at least 30 minutes inside the low-traffic window {'-'.join(LOW_TRAFFIC_WINDOW)} UTC, e.g. {example}"
        )


def _check(function: Callable[..., None], *args: Any, **kwargs: Any) -> Any:
    """A before-validator running a library check on the raw value (``function(field, value, *args)``)."""

    def run(value: Any, info: Any) -> Any:
        function(info.field_name, value, *args, **kwargs)
        return value

    return BeforeValidator(run)


def _pattern(regex: str, allowed: str) -> Any:
    compiled = re.compile(regex)

    def run(value: Any, info: Any) -> Any:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise PropsError(info.field_name, value, allowed)
        return value

    return BeforeValidator(run)


def _boolean(value: Any, info: Any) -> Any:
    if not isinstance(value, bool):
        raise PropsError(info.field_name, value, "true or false")
    return value


Bool = Annotated[StrictBool, BeforeValidator(_boolean)]
Name = Annotated[StrictStr, Field(pattern=v.NAME_PATTERN.pattern, max_length=32), _check(v.check_name)]
Port = Annotated[StrictInt, Field(ge=1, le=65535), _check(v.check_port)]
Retention = Annotated[StrictInt, Field(json_schema_extra={"enum": list(v.LOG_RETENTION_DAYS)}), _check(v.check_log_retention)]
Version = Annotated[StrictStr, Field(pattern=VERSION_PATTERN.pattern), _check(check_version)]


def _range(low: int, high: int, why: str = "") -> Any:
    return Annotated[StrictInt, Field(ge=low, le=high), _check(v.check_range, low, high, why)]


#: Whole-number settings and their limits (the library's check_range names them in the error line).
Minutes = _range(0, 1440, "minutes")
MinCount = _range(1, 1000, "at least one task keeps the service up")
TaskCount = _range(1, 1000)
GracePeriod = _range(0, 600, "seconds a new task gets before health checks count")
DrainSeconds = _range(0, MAX_DRAIN_SECONDS, "seconds")
RotationDays = _range(1, MAX_ROTATION_DAYS, f"days: this project rotates credentials at least every {MAX_ROTATION_DAYS} days")
PoolSize = _range(1, 1000, "connections per task")
PoolOverflow = _range(0, 1000, "extra connections per task")
RecycleSeconds = _range(1, 86400, "seconds")
CpuTarget = _range(10, 90, "percent CPU the autoscaling keeps the service at")
RequestsPerTarget = _range(1, 1_000_000, "requests per task and minute")


def _arn(kind: str, regex: str, allowed: str) -> Any:
    return Annotated[StrictStr, Field(pattern=f"^{regex}$", description=kind), _pattern(regex, allowed)]


SecretArn = _arn(
    "Secrets Manager secret ARN",
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}",
    "a complete Secrets Manager ARN (ending in -XXXXXX)",
)
KmsKeyArn = _arn(
    "KMS key ARN",
    r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]{36}",
    "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
)
CertificateArn = _arn(
    "ACM certificate ARN", r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[a-f0-9-]{36}", "an ACM certificate ARN"
)
_DOMAIN = r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
Domain = Annotated[
    StrictStr,
    Field(json_schema_extra={"pattern": r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", "maxLength": 253}),
    _pattern(_DOMAIN, "a lower-case DNS name such as monitoring.ava-olo.example"),
]


def _arn_region(arn: str) -> str:
    return arn.split(":")[3]


# ------------------------------------------------------------------------------------------------ regions, AZs


@lru_cache(maxsize=1)
def known_regions() -> tuple[str, ...]:
    """The regions aws-cdk-lib's region facts know (``aws_cdk.region_info``): offline, versioned with the CDK."""
    from aws_cdk.region_info import RegionInfo

    return tuple(sorted(region.name for region in RegionInfo.regions))


def check_region(field_name: str, region: Any) -> None:
    if not isinstance(region, str) or region not in known_regions():
        raise PropsError(
            field_name, region, f"an AWS region aws-cdk-lib knows, such as eu-central-1 or us-east-1, or \"{FROM_CLI}\""
        )


@lru_cache(maxsize=1)
def _zone_names() -> Mapping[str, tuple[str, ...]]:
    """Availability zone names per region from cfn-lint's bundled data (AWS's CloudFormation linter, pinned in
    requirements.txt). botocore and aws-cdk-lib carry no AZ list; only pinned AZ names need it.

    cfn-lint keeps them as one literal, ``AVAILABILITY_ZONES`` in ``cfnlint/helpers.py``. That literal is read
    from the installed file (``ast.literal_eval``, no code runs) instead of imported: ``import cfnlint.helpers``
    first imports the whole linter (its rules, sympy among them), ~0.4 s for one dict."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("cfnlint")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed (requirements.txt): its AZ data checks pinned availability zones")
    helpers = Path(list(spec.submodule_search_locations)[0]) / "helpers.py"
    for node in ast.parse(helpers.read_text(encoding="utf-8"), str(helpers)).body:
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == ["AVAILABILITY_ZONES"]:
            return {region: tuple(zones) for region, zones in ast.literal_eval(node.value).items()}
    raise RuntimeError(f"{helpers} no longer defines AVAILABILITY_ZONES as a literal; update stacks/config/model.py")


def check_zones(field_name: str, zones: Any, region: str) -> None:
    """Pinned AZ names: two or more distinct names of ``region`` that exist there (cfn-lint's AZ data). Which
    letters an account has is per account; a count (``Fn::GetAZs`` at deploy time) never needs pinning."""
    v.check_availability_zones(field_name, zones, region)
    known = _zone_names().get(region)
    for zone in zones:
        if known is None:
            raise PropsError(
                field_name, zone, f"a count such as 2: no AZ names are known offline for {region}; CloudFormation picks them"
            )
        if zone not in known:
            raise PropsError(
                field_name, zone, f"an availability zone of {region}: one of {', '.join(known)} (or a count such as 2)"
            )


# ------------------------------------------------------------------------------------------------ image

#: ECR repository names ("Creating a private repository", Amazon ECR user guide; also AWS::ECR::Repository).
ECR_REPOSITORY_NAME = r"(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
#: A registry host (``123456789012.dkr.ecr.eu-central-1.amazonaws.com``, ``ghcr.io``, ``localhost:5000``).
REGISTRY_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?"
_REPOSITORY = re.compile(rf"(?:{REGISTRY_HOST}/)?{ECR_REPOSITORY_NAME}")


def check_repository(field_name: str, repository: Any) -> None:
    """An ECR repository name, or ``registry/name``; never a tag (``:latest``) or digest (``@sha256:``): the
    tag is ``image.tag`` (a release version), so a tag here would bypass that rule."""
    allowed = "an ECR repository name (lower-case, e.g. ava-olo-monitoring-dashboards) or registry/repository, without :tag or @digest (the tag is image.tag)"
    if not isinstance(repository, str) or "@" in repository:
        raise PropsError(field_name, repository, allowed)
    first, _, rest = repository.partition("/")
    is_registry = bool(rest) and ("." in first or ":" in first or first == "localhost")
    if not (_REPOSITORY.fullmatch(repository) and (is_registry or re.fullmatch(ECR_REPOSITORY_NAME, repository))):
        raise PropsError(field_name, repository, allowed)


@dataclass(frozen=True, config=STRICT)
class ImageConfig:
    """The container image: an ECR repository in the environment's account (name) or a full image URI
    (``registry/name``), and a release tag in the seed's ``vX.Y.Z[-desc]`` format (never ``latest``)."""

    repository: Annotated[
        StrictStr,
        Field(json_schema_extra={"pattern": f"^(?:{REGISTRY_HOST}/)?{ECR_REPOSITORY_NAME.removeprefix('(?=.{2,256}$)')}$"}),
        _check(check_repository),
    ]
    tag: Version

    @property
    def is_ecr_repository_name(self) -> bool:
        first = self.repository.split("/", 1)[0]
        return "." not in first and ":" not in first


# ------------------------------------------------------------------------------------------------ database


def _raw_keys(data: Any, defaults: Mapping[str, Any] = {}) -> set[str]:
    """The settings a file states (keys of its object); for a constructor call (``dataclasses.replace`` passes
    every field), the ones that differ from their defaults."""
    if isinstance(data, ArgsKwargs):
        return {k for k, value in (data.kwargs or {}).items() if k not in defaults or value != defaults[k]}
    return set(data) if isinstance(data, Mapping) else set()


_DATABASE_DEFAULTS = {"instance_class": None, "serverless_min_capacity": 0.5, "serverless_max_capacity": 4}


def _acus(value: Any, info: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PropsError(info.field_name, value, "a number of ACUs such as 0.5 or 4")
    return value


def _whole(value: Any, info: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PropsError(info.field_name, value, "a whole number")
    return value


Capacity = Annotated[float, BeforeValidator(_acus)]
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]


@dataclass(frozen=True, config=STRICT)
class DatabaseConfig:
    """The ``database`` object of an environment file (all optional; defaults are the seed's practices).

    :param instance_class: provisioned class such as ``r6g.large`` (production: writer + ``reader_count`` readers); absent
        means Serverless v2 between ``serverless_min_capacity`` and ``serverless_max_capacity`` ACUs.
    :param reader_count: provisioned readers, each in another AZ. Production: at least 1.
    :param connection_reserve: connections kept free for operators, migrations and rotation (budget check).
    """

    engine_version: StrictStr = database_defaults.ENGINE_VERSION
    database_name: StrictStr = DATABASE_NAME
    instance_class: Optional[StrictStr] = None
    reader_count: WholeNumber = 0
    serverless_min_capacity: Capacity = 0.5
    serverless_max_capacity: Capacity = 4
    backup_retention_days: WholeNumber = database_defaults.BACKUP_RETENTION_DAYS
    backup_window: StrictStr = database_defaults.BACKUP_WINDOW
    maintenance_window: StrictStr = database_defaults.MAINTENANCE_WINDOW
    deletion_protection: Bool = True
    rotation_days: RotationDays = database_defaults.CREDENTIALS_ROTATION_DAYS
    log_retention_days: WholeNumber = database_defaults.LOG_RETENTION_DAYS
    monitoring_interval_seconds: WholeNumber = database_defaults.MONITORING_INTERVAL_SECONDS
    connection_reserve: Annotated[WholeNumber, _check(v.check_range, 0, 1000)] = database_defaults.CONNECTION_RESERVE

    @model_validator(mode="before")
    @classmethod
    def _one_sizing(cls, data: Any) -> Any:
        given = _raw_keys(data, _DATABASE_DEFAULTS)
        serverless = sorted({"serverless_min_capacity", "serverless_max_capacity"} & given)
        if "instance_class" in given and serverless:
            raw = data.kwargs if isinstance(data, ArgsKwargs) else data
            raise PropsError("instance_class", raw["instance_class"], f"either instance_class or {serverless[0]}, not both")
        return data

    @model_validator(mode="after")
    def _library_rules(self) -> "DatabaseConfig":
        check_low_traffic_window("backup_window", self.backup_window, weekly=False)
        check_low_traffic_window("maintenance_window", self.maintenance_window, weekly=True)
        self.props().validate()
        return self

    def props(self, **placement: Any) -> AuroraPostgresDatabaseProps:
        """The library's props for these settings; ``placement`` adds what configuration does not hold (vpc,
        cluster_identifier, secret_name, removal policies). The loader validates with placeholders for those."""
        placement.setdefault("vpc", None)  # validation never looks at the VPC
        placement.setdefault("cluster_identifier", "validation")
        placement.setdefault("secret_name", "validation")
        return AuroraPostgresDatabaseProps(
            engine_version=self.engine_version,
            database_name=self.database_name,
            instance_class=self.instance_class,
            reader_count=self.reader_count,
            serverless_min_capacity=self.serverless_min_capacity,
            serverless_max_capacity=self.serverless_max_capacity,
            backup_retention_days=self.backup_retention_days,
            backup_window=self.backup_window,
            maintenance_window=self.maintenance_window,
            deletion_protection=self.deletion_protection,
            rotation_days=self.rotation_days,
            log_retention_days=self.log_retention_days,
            monitoring_interval_seconds=self.monitoring_interval_seconds,
            **placement,
        )


# ------------------------------------------------------------------------------------------------ https, waf


@dataclass(frozen=True, config=STRICT)
class HttpsConfig:
    """The ``https`` object: the service's DNS name and exactly one certificate source.

    :param certificate_arn: an ACM certificate in the environment's region.
    :param certificate_arn_parameter: an SSM parameter holding that ARN, read at deploy time (keeps account-specific
        ARNs out of the repository); e.g. ``/ava-olo/staging/certificate-arn``.
    :param hosted_zone_id / hosted_zone_name: a Route 53 zone: the stack issues a DNS-validated certificate and an
        alias record for ``domain_name``.
    """

    domain_name: Domain
    certificate_arn: Optional[CertificateArn] = None
    certificate_arn_parameter: Optional[
        Annotated[StrictStr, Field(json_schema_extra={"pattern": r"^(/[A-Za-z0-9_.\-]+)+$"}), _check(check_parameter_name)]
    ] = None
    hosted_zone_id: Optional[
        Annotated[
            StrictStr,
            Field(pattern=r"^Z[A-Z0-9]{1,31}$"),
            _pattern(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"),
        ]
    ] = None
    hosted_zone_name: Optional[StrictStr] = None

    @model_validator(mode="after")
    def _one_source(self) -> "HttpsConfig":
        sources = [k for k in ("certificate_arn", "certificate_arn_parameter", "hosted_zone_id") if getattr(self, k)]
        if len(sources) != 1:
            # field "https" itself: reported by the loader at the object's own path
            raise PropsError("", sources, "exactly one of certificate_arn, certificate_arn_parameter, hosted_zone_id")
        zone = self.hosted_zone_name
        if self.hosted_zone_id:
            domain = self.domain_name
            if not isinstance(zone, str) or not re.fullmatch(_DOMAIN, zone) or not (domain == zone or domain.endswith("." + zone)):
                raise PropsError("hosted_zone_name", zone, f"the zone's name, of which {domain} is a part")
        elif zone is not None:
            raise PropsError("hosted_zone_name", zone, "only together with https.hosted_zone_id")
        return self


def _rate_limits(items: Any, info: Any) -> Any:
    if isinstance(items, tuple) and all(isinstance(item, RateLimit) for item in items):
        limits = list(items)
    elif not isinstance(items, list):
        raise PropsError("rate_limits", items, "a list of {name, limit, window_seconds, path_prefix}")
    else:
        limits = []
        for item in items:
            if not isinstance(item, dict) or not {"name", "limit", "window_seconds"} <= set(item) or not set(item) <= {
                "name", "limit", "window_seconds", "path_prefix"
            }:
                raise PropsError("rate_limits", item, "objects with name, limit, window_seconds and optionally path_prefix")
            limits.append(RateLimit(**item))
    for limit in limits:
        limit.validate()
    if len({limit.name for limit in limits}) != len(limits):
        raise PropsError("rate_limits", [limit.name for limit in limits], "rule names must be unique")
    return tuple(limits)


@dataclass(frozen=True, config=STRICT)
class WafConfig:
    """The ``waf`` object. ``rate_limits``: list of ``{name, limit, window_seconds, path_prefix}``; default the
    seed's (10/min on /api/farmers, 100 per 10 min on /api/, see ``waf_defaults``)."""

    rate_limits: Annotated[tuple[RateLimit, ...], BeforeValidator(_rate_limits)] = tuple(
        RateLimit(name=name, path_prefix=path, limit=limit, window_seconds=window)
        for name, path, limit, window in waf_defaults.SEED_RATE_LIMITS
    )
    log_retention_days: Retention = waf_defaults.LOG_RETENTION_DAYS


def _tenths(value: float, info: Any) -> float:
    if abs(value * 10 - round(value * 10)) > 1e-9:
        raise PropsError(info.field_name, value, "a multiple of 0.1 from 0.1 to 100 (ECS canary percent)")
    return value


def _number(value: Any, info: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PropsError(info.field_name, value, "a number")
    return value


StrictFloatOrInt = Annotated[float, BeforeValidator(_number)]


@dataclass(frozen=True, config=STRICT)
class DeploymentConfig:
    """The ``deployment`` object: how ECS replaces tasks. ``None`` means the library's default
    (``web_service_defaults``); ``strategy`` defaults to ``canary`` for the production tier, ``rolling`` otherwise.

    :param canary_percent: share of traffic the canary gets (ECS: multiples of 0.1 from 0.1 to 100).
    :param canary_bake_minutes: minutes the canary runs before the rest follows (ECS: 0-1440).
    :param bake_minutes: minutes both versions are kept after the shift, for a fast rollback (ECS: 0-1440).
    """

    strategy: Optional[Literal["canary", "blue_green", "linear", "rolling"]] = None
    canary_percent: Optional[Annotated[StrictFloatOrInt, Field(ge=0.1, le=100), AfterValidator(_tenths)]] = None
    canary_bake_minutes: Optional[Minutes] = None
    bake_minutes: Optional[Minutes] = None

    def settings(self) -> DeploymentSettings:
        """The library's :class:`DeploymentSettings`; a setting left out (None) keeps the library's default."""
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}
        return DeploymentSettings(**given)


def default_strategy(tier: str) -> str:
    return "canary" if tier == "production" else "rolling"


# ------------------------------------------------------------------------------------------------ the environment

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_ENV_VAR = re.compile(r"[A-Z][A-Z0-9_]*")
#: Container variables the project sets itself (they cannot be redefined as secure parameters).
RESERVED_VARIABLES = {
    "APP_VERSION", "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_RECYCLE",
    "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "ENCRYPTION_KEY",
}
RESERVED_TAGS = ("Project", "Environment", "Service", "Version")


def _emails(emails: Any, info: Any) -> Any:
    if not isinstance(emails, (list, tuple)):
        raise PropsError("alarm_emails", emails, "a list of e-mail addresses such as ops@example.com")
    for email in emails:
        if not (isinstance(email, str) and _EMAIL.fullmatch(email)):
            raise PropsError("alarm_emails", email, "a list of e-mail addresses such as ops@example.com")
    return tuple(emails)


def _tags(tags: Any, info: Any) -> Any:
    if not isinstance(tags, Mapping):
        raise PropsError("tags", tags, "an object of tag key -> value")
    check_tags(tags)
    reserved = set(RESERVED_TAGS) & set(tags)
    if reserved:
        raise PropsError("tags", sorted(reserved)[0], "Project, Environment, Service and Version are set by the project")
    return dict(tags)


def _secure_parameters(secure: Any, info: Any) -> Any:
    if not isinstance(secure, Mapping):
        raise PropsError("secure_parameters", secure, 'an object {"ENV_VAR": "/ssm/parameter/name"}')
    for variable, name in secure.items():
        if not _ENV_VAR.fullmatch(variable) or variable in RESERVED_VARIABLES:
            raise PropsError("secure_parameters", variable, "UPPER_CASE variable names not set by the project itself")
        check_parameter_name(f"secure_parameters.{variable}", name)
    return dict(secure)


def _health_check_path(path: Any, info: Any) -> Any:
    if not isinstance(path, str) or not re.fullmatch(r"/[A-Za-z0-9_\-./]*", path) or len(path) > 1024:
        raise PropsError("health_check_path", path, "an absolute URL path such as /health")
    return path


def _tier(value: Any, info: Any) -> Any:
    if value not in TIERS:
        raise PropsError("tier", value, f"one of {', '.join(TIERS)}")
    return value


Count = WholeNumber


def _size_profile(value: Any, info: Any) -> Any:
    if not isinstance(value, str) or value not in SIZE_PROFILES:
        raise PropsError("size_profile", value, f"one of {', '.join(SIZE_PROFILES)}")
    return value


@dataclass(frozen=True, config=STRICT, kw_only=True)
class _Settings:
    """The settings a file states and the resolved configuration keeps unchanged."""

    project: Name = "ava-olo"
    service_name: Name = "monitoring-dashboards"
    seed_names: Bool = False
    task_family: Optional[
        Annotated[StrictStr, Field(pattern=v.NAME_PATTERN.pattern, max_length=255), _check(v.check_name, max_length=255)]
    ] = None
    container_port: Port = service_defaults.CONTAINER_PORT
    desired_count: TaskCount = service_defaults.DESIRED_COUNT
    min_count: MinCount = 1
    max_count: TaskCount = 4
    health_check_path: Annotated[
        StrictStr, Field(pattern=r"^/[A-Za-z0-9_\-./]*$", max_length=1024), BeforeValidator(_health_check_path)
    ] = service_defaults.HEALTH_CHECK_PATH
    health_check_grace_period_seconds: GracePeriod = int(
        service_defaults.HEALTH_CHECK_GRACE_PERIOD.to_seconds()
    )
    deregistration_delay_seconds: DrainSeconds = int(
        service_defaults.DEREGISTRATION_DELAY.to_seconds()
    )
    log_retention_days: Retention = service_defaults.LOG_RETENTION_DAYS
    flow_log_retention_days: Retention = network_defaults.FLOW_LOG_RETENTION_DAYS
    nat_gateways: Count = network_defaults.NAT_GATEWAYS
    vpc_cidr: StrictStr = network_defaults.CIDR
    db_pool_size: PoolSize = service_defaults.DB_POOL_SIZE
    db_max_overflow: PoolOverflow = service_defaults.DB_MAX_OVERFLOW
    db_pool_recycle_seconds: RecycleSeconds = service_defaults.DB_POOL_RECYCLE_SECONDS
    scaling_cpu_target_percent: CpuTarget = (
        autoscaling.CPU_TARGET_PERCENT
    )
    scaling_requests_per_target: RequestsPerTarget = autoscaling.REQUESTS_PER_TARGET
    alarm_emails: Annotated[tuple[StrictStr, ...], BeforeValidator(_emails)] = ()
    tags: Annotated[Mapping[str, str], BeforeValidator(_tags)] = field(default_factory=dict)
    termination_protection: Bool = False
    retain_data: Bool = True
    load_balancer_deletion_protection: Bool = False
    tier: Annotated[Literal["production", "non-production"], BeforeValidator(_tier)] = "non-production"
    https: Optional[HttpsConfig] = None
    allow_plain_http: Bool = False
    waf: WafConfig = field(default_factory=WafConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    encryption_key_secret_arn: Optional[SecretArn] = None
    encryption_key_secret_kms_key_arn: Optional[KmsKeyArn] = None
    secure_parameters: Annotated[Mapping[str, str], BeforeValidator(_secure_parameters)] = field(default_factory=dict)
    secure_parameters_kms_key_arn: Optional[KmsKeyArn] = None


def _file_region(value: Any, info: Any) -> Any:
    if value != FROM_CLI:
        check_region("region", value)
    return value


def _file_account(value: Any, info: Any) -> Any:
    if value != FROM_CLI and not (isinstance(value, str) and re.fullmatch(r"\d{12}", value)):
        raise PropsError("account", value, f'a 12-digit AWS account id, or "{FROM_CLI}"')
    return value


def _file_zones(zones: Any, info: Any) -> Any:
    if isinstance(zones, int) and not isinstance(zones, bool):
        v.check_range("availability_zones", zones, 2, 6, "a count of AZs; an ALB needs two")
        return zones
    if not isinstance(zones, list) or not all(isinstance(zone, str) for zone in zones):
        raise PropsError(
            "availability_zones", zones, 'a count such as 2, or a list such as ["a", "b"] to pin AZs'
        )
    return zones


_ZONES_SCHEMA = {
    "oneOf": [
        {"type": "integer", "minimum": 2, "maximum": 6, "description": "how many AZs; CloudFormation picks them"},
        {"type": "array", "items": {"type": "string", "pattern": "^([a-z]|[a-z]{2}(-[a-z]+)+-\\d[a-z])$"}, "minItems": 2},
    ]
}


#: Top-level settings whose default is "none": a file leaves them out rather than writing null.
_NOT_NULL = (
    "task_family", "https", "encryption_key_secret_arn", "encryption_key_secret_kms_key_arn",
    "secure_parameters_kms_key_arn", "size_profile", "cpu", "memory", "description", "$schema",
)


@dataclass(frozen=True, config=STRICT, kw_only=True)
class EnvironmentFile(_Settings):
    """What ``environments/<name>.json`` may hold; its JSON Schema is ``environments/schema/environment.schema.json``.

    :param region: an AWS region, or ``"from-cli"`` (``CDK_DEFAULT_REGION``).
    :param account: a 12-digit account, or ``"from-cli"`` (``CDK_DEFAULT_ACCOUNT``; absent keeps synthesis
        account-agnostic). Default ``"from-cli"``.
    :param availability_zones: a count (2-6; CloudFormation picks the region's first AZs at deploy time with
        ``Fn::GetAZs``, works in every account) or a list of AZ names / letters (``"a"`` is joined to the region).
    :param size_profile: ``standard`` (512/1024) or ``high-load`` (1024/2048); or ``cpu`` and ``memory``.
    """

    region: Annotated[
        StrictStr, BeforeValidator(_file_region), Field(json_schema_extra=lambda schema: schema.update(enum=[FROM_CLI, *known_regions()]))
    ]
    availability_zones: Annotated[Any, BeforeValidator(_file_zones), Field(json_schema_extra=_ZONES_SCHEMA)]
    image: ImageConfig
    schema: Optional[StrictStr] = Field(default=None, alias="$schema", description="this file's JSON Schema")
    description: Optional[StrictStr] = None
    account: Annotated[StrictStr, Field(pattern=r"^(from-cli|\d{12})$"), BeforeValidator(_file_account)] = FROM_CLI
    size_profile: Optional[
        Annotated[StrictStr, BeforeValidator(_size_profile), Field(json_schema_extra={"enum": list(SIZE_PROFILES)})]
    ] = None
    cpu: Optional[StrictInt] = None
    memory: Optional[StrictInt] = None

    @model_validator(mode="before")
    @classmethod
    def _profile_or_size(cls, data: Any) -> Any:
        if isinstance(data, Mapping):  # a file's object (not a constructor call, which passes every field)
            for key in _NOT_NULL:
                if key in data and data[key] is None:
                    raise PropsError(key, None, "a value: leave the setting out to get the default")
        given = _raw_keys(data, {"size_profile": None, "cpu": None, "memory": None})
        if "size_profile" in given and given & {"cpu", "memory"}:
            raw = data.kwargs if isinstance(data, ArgsKwargs) else data
            raise PropsError("size_profile", raw["size_profile"], "either size_profile or cpu/memory, not both")
        return data


@dataclass(frozen=True, config=STRICT, kw_only=True)
class EnvironmentConfig(_Settings):
    """One environment, validated. See ``environments/*.json`` and the README for examples.

    :param name: environment name (the file name), e.g. ``production``.
    :param account: 12-digit AWS account, or None: taken from ``CDK_DEFAULT_ACCOUNT`` at deploy time
        (file value ``"from-cli"``); synthesis then stays account-agnostic.
    :param region: AWS region (file value may be ``"from-cli"``: ``CDK_DEFAULT_REGION``).
    :param availability_zones: the pinned AZ names, or empty (a count: ``Fn::GetAZs`` picks at deploy time).
    :param az_count: how many AZs the network spans.
    :param service_name: the service, default ``monitoring-dashboards``.
    :param image: see :class:`ImageConfig`.
    :param version: the deployed version; the image tag unless ``-c version=...`` overrides both.
    :param seed_names: keep the seed's unqualified names (production tier only; one environment per account).
    :param tier: ``production`` or ``non-production``. A production-tier environment must serve HTTPS, retain
        data, be termination-protected and keep database deletion protection.
    :param https: see :class:`HttpsConfig`. Required wherever real data lives (``retain_data`` or the production
        tier); plain HTTP only with ``allow_plain_http: true`` in an environment that retains no data.
    :param waf: see :class:`WafConfig`. ``database``: see :class:`DatabaseConfig`. ``deployment``: see
        :class:`DeploymentConfig` (``strategy`` resolved).
    :param encryption_key_secret_arn: use an operator-created secret (full ARN) as ``ENCRYPTION_KEY`` instead of
        generating one; ``encryption_key_secret_kms_key_arn`` when that secret is encrypted with a customer-managed
        key (the tasks may then decrypt with it, via Secrets Manager only).
    :param secure_parameters: ``{"ENV_VAR": "/ssm/name"}``: SecureString parameters (created by operators, as
        CloudFormation cannot) injected as ECS secrets; ``secure_parameters_kms_key_arn`` if they use a CMK.
    """

    name: Annotated[
        StrictStr,
        _pattern(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", "lower-case letters, digits and single hyphens, at most 20 characters"),
        Field(max_length=20),
    ]
    region: Annotated[StrictStr, _check(check_region)]
    availability_zones: tuple[StrictStr, ...]
    az_count: StrictInt
    image: ImageConfig
    account: Optional[Annotated[StrictStr, _pattern(r"\d{12}", "a 12-digit AWS account id")]] = None
    cpu: StrictInt = service_defaults.CPU
    memory: StrictInt = service_defaults.MEMORY_MIB
    version: StrictStr = ""

    @model_validator(mode="after")
    def _relations(self) -> "EnvironmentConfig":
        if len(self.name) > 20:
            raise PropsError("name", self.name, "lower-case letters, digits and single hyphens, at most 20 characters")
        if self.availability_zones:
            check_zones("availability_zones", list(self.availability_zones), self.region)
        v.check_fargate_size(self.cpu, self.memory)
        v.check_task_counts(self.min_count, self.desired_count, self.max_count)
        v.check_range(
            "nat_gateways", self.nat_gateways, 1, self.az_count,
            "private tasks need egress; at most one per availability zone",
        )
        check_cidr("vpc_cidr", self.vpc_cidr, self.az_count)
        props = self.database.props()
        check_connection_budget(
            max_tasks=self.max_count,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            reserve=self.database.connection_reserve,
            max_connections=props.max_connections,
            database=props.description,
        )
        if self.encryption_key_secret_kms_key_arn and not self.encryption_key_secret_arn:
            raise PropsError(
                "encryption_key_secret_kms_key_arn",
                self.encryption_key_secret_kms_key_arn,
                "only together with encryption_key_secret_arn",
            )
        self._check_https()
        if self.seed_names and self.tier != "production":
            raise PropsError(
                "seed_names", True, "only in the production tier (the seed's names are production's: its alarms, "
                "secrets and cluster); other environments get names qualified by the environment",
            )
        if self.tier == "production":
            self._check_production_tier()
        return self

    def _check_https(self) -> None:
        holds_data = self.retain_data or self.tier == "production"
        if self.https is not None:
            if self.allow_plain_http:
                raise PropsError("allow_plain_http", True, "either https or allow_plain_http, not both")
            arn = self.https.certificate_arn
            if arn and _arn_region(arn) != self.region:
                raise PropsError(
                    "https.certificate_arn", arn,
                    f"an ACM certificate in the environment's region {self.region} (a load balancer uses only "
                    "certificates of its own region)",
                )
        elif self.tier == "production":
            raise PropsError(
                "https", None, "a production-tier environment must serve HTTPS: set https.domain_name and a certificate"
            )
        elif holds_data:
            raise PropsError(
                "https", None, "an environment that holds real data (retain_data true) must serve HTTPS: set "
                "https.domain_name and a certificate (e.g. certificate_arn_parameter)",
            )
        elif not self.allow_plain_http:
            raise PropsError(
                "https", None, "https.domain_name and a certificate, or \"allow_plain_http\": true (only where "
                "retain_data is false)",
            )
        if self.allow_plain_http and holds_data:
            raise PropsError(
                "allow_plain_http", True, "only in a non-production environment that holds no real data "
                "(retain_data false); this one must serve HTTPS",
            )

    def _check_production_tier(self) -> None:
        """What a production-tier environment may not leave out (seed: "Security Best Practices", "Database
        Best Practices"); stated as configuration rules, not as a check of the environment's name."""
        for key in ("retain_data", "termination_protection", "load_balancer_deletion_protection"):
            if not getattr(self, key):
                raise PropsError(key, False, "a production-tier environment must keep this true")
        if not self.database.deletion_protection:
            raise PropsError("database.deletion_protection", False, "a production-tier environment must keep this true")

    @property
    def removal_policy(self) -> RemovalPolicy:
        """What happens to logs, keys, secrets and buckets on stack deletion: kept when ``retain_data``, as
        RETAIN_ON_UPDATE_OR_DELETE (CloudFormation ``RetainExceptOnCreate``): retained on deletion and replacement,
        but removed when the stack's FIRST create fails, so that fixed names (log groups, secrets) do not make the
        retry fail with "already exists"."""
        return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if self.retain_data else RemovalPolicy.DESTROY

    @property
    def title(self) -> str:
        """``production`` -> ``Production`` (construct ids of the stacks: ``ProductionNetwork``)."""
        return "".join(part.capitalize() for part in self.name.split("-"))


#: File keys that only the file has (the resolved config derives or drops them).
FILE_ONLY = {f.name for f in dataclasses.fields(EnvironmentFile)} - {f.name for f in dataclasses.fields(EnvironmentConfig)}
