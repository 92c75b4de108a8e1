"""The shape of one environment's configuration (what ``environments/<name>.json`` may contain).

Field defaults are the seed's practices; an environment file only states what differs. Required fields (no
default): ``region``, ``availability_zones``, ``image.repository``, ``image.tag``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from aws_cdk import RemovalPolicy

from ava_olo_constructs import autoscaling, database_defaults, network_defaults, waf_defaults
from ava_olo_constructs.database import AuroraPostgresDatabaseProps
from ava_olo_constructs.waf import DEFAULT_RATE_LIMITS, RateLimit
from ava_olo_constructs import web_service_defaults as service_defaults


@dataclass(frozen=True)
class ImageConfig:
    """The container image: an ECR repository in the environment's account (name) or a full image URI
    (``registry/name``), and a release tag in the seed's ``vX.Y.Z[-desc]`` format (never ``latest``)."""

    repository: str
    tag: str

    @property
    def is_ecr_repository_name(self) -> bool:
        first = self.repository.split("/", 1)[0]
        return "." not in first and ":" not in first


@dataclass(frozen=True)
class DatabaseConfig:
    """The ``database`` object of an environment file (all optional; defaults are the seed's practices).

    :param instance_class: provisioned class such as ``r6g.large`` (production: writer + ``reader_count`` readers); absent
        means Serverless v2 between ``serverless_min_capacity`` and ``serverless_max_capacity`` ACUs.
    :param reader_count: provisioned readers, each in another AZ. Production: at least 1.
    :param connection_reserve: connections kept free for operators, migrations and rotation (budget check).
    """

    engine_version: str = database_defaults.ENGINE_VERSION
    database_name: str = database_defaults.DATABASE_NAME
    instance_class: Optional[str] = None
    reader_count: int = 0
    serverless_min_capacity: float = 0.5
    serverless_max_capacity: float = 4
    backup_retention_days: int = database_defaults.BACKUP_RETENTION_DAYS
    backup_window: str = database_defaults.BACKUP_WINDOW
    maintenance_window: str = database_defaults.MAINTENANCE_WINDOW
    deletion_protection: bool = True
    rotation_days: int = database_defaults.CREDENTIALS_ROTATION_DAYS
    log_retention_days: int = database_defaults.LOG_RETENTION_DAYS
    monitoring_interval_seconds: int = database_defaults.MONITORING_INTERVAL_SECONDS
    connection_reserve: int = database_defaults.CONNECTION_RESERVE

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


@dataclass(frozen=True)
class HttpsConfig:
    """The ``https`` object: the service's DNS name and exactly one certificate source.

    :param certificate_arn: an ACM certificate in the environment's region.
    :param certificate_arn_parameter: an SSM parameter holding that ARN, read at deploy time (keeps account-specific
        ARNs out of the repository).
    :param hosted_zone_id / hosted_zone_name: a Route 53 zone: the stack issues a DNS-validated certificate and an
        alias record for ``domain_name``.
    """

    domain_name: str
    certificate_arn: Optional[str] = None
    certificate_arn_parameter: Optional[str] = None
    hosted_zone_id: Optional[str] = None
    hosted_zone_name: Optional[str] = None


@dataclass(frozen=True)
class WafConfig:
    """The ``waf`` object. ``rate_limits``: list of ``{name, limit, window_seconds, path_prefix}``; default the
    seed's (10/min on /api/farmers, 100 per 10 min on /api/, see ``waf_defaults``)."""

    rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS
    log_retention_days: int = waf_defaults.LOG_RETENTION_DAYS


@dataclass(frozen=True)
class EnvironmentConfig:
    """One environment, validated. See ``environments/*.json`` and the README for examples.

    :param name: environment name (the file name), e.g. ``production``.
    :param account: 12-digit AWS account, or None: taken from ``CDK_DEFAULT_ACCOUNT`` at deploy time
        (file value ``"from-cli"``); synthesis then stays account-agnostic.
    :param region: AWS region (file value may be ``"from-cli"``: ``CDK_DEFAULT_REGION``).
    :param availability_zones: file value: a count (2-6; CloudFormation picks the region's first AZs at deploy
        time, works in every account) or a list of AZ names / letters (``"a"`` is joined to the region) to pin.
        Either way synthesis needs no lookup and no credentials. Here: the pinned names, or empty.
    :param az_count: how many AZs the network spans.
    :param service_name: the service, default ``monitoring-dashboards``.
    :param image: see :class:`ImageConfig`.
    :param version: the deployed version; the image tag unless ``-c version=...`` overrides both.
    :param seed_names: keep the seed's unqualified names (production only; one environment per account).
    :param tier: ``production`` or ``non-production``. A production-tier environment must serve HTTPS, retain
        data, be termination-protected and keep database deletion protection (checked by the loader).
    :param https: see :class:`HttpsConfig`; absent means plain HTTP (refused for the production tier).
    :param waf: see :class:`WafConfig`.
    :param database: see :class:`DatabaseConfig`.
    :param encryption_key_secret_arn: use an operator-created secret (full ARN) as ``ENCRYPTION_KEY`` instead of
        generating one; ``encryption_key_secret_kms_key_arn`` when that secret is encrypted with a customer-managed
        key (the tasks may then decrypt with it, via Secrets Manager only).
    :param secure_parameters: ``{"ENV_VAR": "/ssm/name"}``: SecureString parameters (created by operators, as
        CloudFormation cannot) injected as ECS secrets; ``secure_parameters_kms_key_arn`` if they use a CMK.
    """

    name: str
    region: str
    availability_zones: tuple[str, ...]
    az_count: int
    image: ImageConfig
    account: Optional[str] = None
    project: str = "ava-olo"
    service_name: str = "monitoring-dashboards"
    seed_names: bool = False
    task_family: Optional[str] = None
    container_port: int = service_defaults.CONTAINER_PORT
    cpu: int = service_defaults.CPU
    memory: int = service_defaults.MEMORY_MIB
    desired_count: int = service_defaults.DESIRED_COUNT
    min_count: int = 1
    max_count: int = 4
    health_check_path: str = service_defaults.HEALTH_CHECK_PATH
    health_check_grace_period_seconds: int = int(service_defaults.HEALTH_CHECK_GRACE_PERIOD.to_seconds())
    deregistration_delay_seconds: int = int(service_defaults.DEREGISTRATION_DELAY.to_seconds())
    log_retention_days: int = service_defaults.LOG_RETENTION_DAYS
    flow_log_retention_days: int = network_defaults.FLOW_LOG_RETENTION_DAYS
    nat_gateways: int = network_defaults.NAT_GATEWAYS
    vpc_cidr: str = network_defaults.CIDR
    db_pool_size: int = service_defaults.DB_POOL_SIZE
    db_max_overflow: int = service_defaults.DB_MAX_OVERFLOW
    db_pool_recycle_seconds: int = service_defaults.DB_POOL_RECYCLE_SECONDS
    scaling_cpu_target_percent: int = autoscaling.CPU_TARGET_PERCENT
    scaling_requests_per_target: int = autoscaling.REQUESTS_PER_TARGET
    alarm_emails: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    termination_protection: bool = False
    retain_data: bool = True
    load_balancer_deletion_protection: bool = False
    tier: str = "non-production"
    https: Optional[HttpsConfig] = None
    waf: WafConfig = field(default_factory=WafConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    encryption_key_secret_arn: Optional[str] = None
    encryption_key_secret_kms_key_arn: Optional[str] = None
    secure_parameters: Mapping[str, str] = field(default_factory=dict)
    secure_parameters_kms_key_arn: Optional[str] = None
    version: str = ""

    @property
    def removal_policy(self) -> RemovalPolicy:
        """What happens to logs, keys, secrets and buckets on stack deletion: RETAIN when ``retain_data``."""
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY

    @property
    def title(self) -> str:
        """``production`` -> ``Production`` (construct ids of the stacks: ``ProductionNetwork``)."""
        return "".join(part.capitalize() for part in self.name.split("-"))
