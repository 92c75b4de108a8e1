"""The ``farmer-crm`` database: Aurora PostgreSQL, encrypted, private, backed up in the low-traffic window.

* Storage, Performance Insights, log exports and the credentials secret are encrypted with a customer-managed
  KMS key with rotation on.
* Isolated subnets only, not publicly accessible; port 5432 is opened per caller with :meth:`allow_from`.
* Provisioned writer + readers pinned to different AZs (production), or Serverless v2 with a low minimum.
* Backups and maintenance inside 02:00-04:00 UTC without overlapping (seed "Migration Strategy"), tags copied
  to snapshots; deletion protection and a SNAPSHOT/RETAIN removal policy so no update or stack deletion loses
  data.
* Parameter group: ``rds.force_ssl``, ``log_min_duration_statement = 2000`` (seed: slow > 2 s), connection
  logging; PostgreSQL logs exported to CloudWatch Logs with a retention; IAM authentication; enhanced monitoring.
* Credentials generated in Secrets Manager (JSON with ``host``, ``port``, ``dbname``, ``username``,
  ``password``) and rotated automatically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from aws_cdk import Duration, RemovalPolicy, Resource, Token
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import database_defaults as defaults
from .compliance import acknowledge
from .log_encryption import allow_cloudwatch_logs
from .connection_budget import database_memory_bytes, estimate_max_connections
from .retention import retention_days
from .validation import PropsError, check_log_retention, check_name, check_range

_ENGINE_VERSION = re.compile(r"(?P<major>1[6-9])\.(?P<minor>\d+)")
_WINDOW = re.compile(r"(?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)")
_WEEKLY_WINDOW = re.compile(r"(?P<day>mon|tue|wed|thu|fri|sat|sun):(?P<start>\d\d:\d\d)-(?P=day):(?P<end>\d\d:\d\d)")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(clock)
    return int(hours) * 60 + int(minutes)


def window_minutes(field: str, window: str, *, weekly: bool) -> tuple[int, int]:
    """``"02:00-02:30"`` (or ``"sun:03:00-sun:03:30"``) -> minutes after midnight, checked to lie inside the
    seed's low-traffic window and to last at least 30 minutes (RDS's minimum)."""
    pattern = _WEEKLY_WINDOW if weekly else _WINDOW
    example = defaults.MAINTENANCE_WINDOW if weekly else defaults.BACKUP_WINDOW
    match = pattern.fullmatch(window) if isinstance(window, str) else None
    try:
        start, end = (_minutes(match["start"]), _minutes(match["end"])) if match else (None, None)
    except ValueError:
        start = end = None
    low, high = (_minutes(t) for t in defaults.LOW_TRAFFIC_WINDOW)
    if start is None or end is None or not low <= start < end <= high or end - start < 30:
        raise PropsError(
            field,
            window,
            f"at least 30 minutes inside the low-traffic window {'-'.join(defaults.LOW_TRAFFIC_WINDOW)} UTC, "
            f"e.g. {example}",
        )
    return start, end


@dataclass(frozen=True)
class AuroraPostgresDatabaseProps:
    """Props for :class:`AuroraPostgresDatabase`. Required: ``vpc``, ``cluster_identifier``, ``secret_name``.

    :param vpc: VPC with isolated subnets (the database never gets a route to the internet).
    :param cluster_identifier: e.g. ``farmer-crm`` (production) or ``farmer-crm-dev``.
    :param secret_name: credentials secret, e.g. ``ava-olo/database/credentials``.
    :param engine_version: Aurora PostgreSQL ``MAJOR.MINOR``. Default :data:`database_defaults.ENGINE_VERSION`.
    :param database_name: Default ``farmer_crm``.
    :param instance_class: provisioned writer/reader class such as ``r6g.large``. Default none: Serverless v2.
    :param reader_count: provisioned readers, each in a different AZ from the writer. Default 0.
    :param serverless_min_capacity / serverless_max_capacity: ACUs when no instance class. Default 0.5 / 4
        (4 ACU leave room for the default 4 tasks x 2 during a deployment, see connection_budget).
    :param availability_zones: AZs to place writer and readers in, in order. Default: the VPC's.
    :param backup_retention_days: Default 14. ``backup_window``: default ``02:00-02:30`` UTC.
    :param maintenance_window: Default ``sun:03:00-sun:03:30`` UTC.
    :param deletion_protection: Default True.
    :param removal_policy: cluster on deletion/replacement. Default SNAPSHOT (RETAIN also allowed; never DESTROY).
    :param secret_removal_policy: the credentials secret. Default RETAIN.
    :param rotation_days: automatic credentials rotation. Default 30.
    :param log_retention_days: exported PostgreSQL logs. Default 30.
    :param monitoring_interval_seconds: enhanced monitoring. Default 60.
    :param backup_plan_retention_days: AWS Backup recovery points (daily, 02:00 UTC). Default 35.
    """

    vpc: ec2.IVpc
    cluster_identifier: str
    secret_name: str
    engine_version: str = defaults.ENGINE_VERSION
    database_name: str = defaults.DATABASE_NAME
    instance_class: Optional[str] = None
    reader_count: int = 0
    serverless_min_capacity: float = 0.5
    serverless_max_capacity: float = 4
    availability_zones: Optional[Sequence[str]] = None
    backup_retention_days: int = defaults.BACKUP_RETENTION_DAYS
    backup_window: str = defaults.BACKUP_WINDOW
    maintenance_window: str = defaults.MAINTENANCE_WINDOW
    deletion_protection: bool = True
    removal_policy: RemovalPolicy = defaults.REMOVAL_POLICY
    secret_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    rotation_days: int = defaults.CREDENTIALS_ROTATION_DAYS
    log_retention_days: int = defaults.LOG_RETENTION_DAYS
    monitoring_interval_seconds: int = defaults.MONITORING_INTERVAL_SECONDS
    backup_plan_retention_days: int = defaults.BACKUP_PLAN_RETENTION_DAYS

    def validate(self) -> None:
        check_name("cluster_identifier", self.cluster_identifier, max_length=63)
        if not isinstance(self.database_name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.database_name):
            raise PropsError("database_name", self.database_name, "lower-case letters, digits and _, starting with a letter")
        if not isinstance(self.secret_name, str) or not re.fullmatch(r"[A-Za-z0-9/_+=.@-]{1,512}", self.secret_name):
            raise PropsError("secret_name", self.secret_name, "letters, digits and /_+=.@-")
        if not isinstance(self.engine_version, str) or not _ENGINE_VERSION.fullmatch(self.engine_version):
            raise PropsError("engine_version", self.engine_version, "a current Aurora PostgreSQL MAJOR.MINOR, e.g. 17.9")
        if self.instance_class is not None:
            estimate_max_connections(instance_class=self.instance_class)  # validates the class
            check_range("reader_count", self.reader_count, 0, 15)
        else:
            if self.reader_count:
                raise PropsError("reader_count", self.reader_count, "readers need an instance_class (provisioned)")
            for name in ("serverless_min_capacity", "serverless_max_capacity"):
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 256 or (value * 2) % 1:
                    raise PropsError(name, value, "ACUs from 0 to 256 in steps of 0.5")
            if self.serverless_max_capacity < max(1, self.serverless_min_capacity):
                raise PropsError(
                    "serverless_max_capacity",
                    self.serverless_max_capacity,
                    f"at least 1 ACU and at least the minimum ({self.serverless_min_capacity})",
                )
        check_range("backup_retention_days", self.backup_retention_days, 1, 35, "RDS's limits")
        backup = window_minutes("backup_window", self.backup_window, weekly=False)
        maintenance = window_minutes("maintenance_window", self.maintenance_window, weekly=True)
        if backup[0] < maintenance[1] and maintenance[0] < backup[1]:
            raise PropsError(
                "maintenance_window", self.maintenance_window, f"must not overlap the backup window {self.backup_window}"
            )
        if self.removal_policy not in (RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN):
            raise PropsError("removal_policy", self.removal_policy, "SNAPSHOT or RETAIN: never delete data without a snapshot")
        check_range("rotation_days", self.rotation_days, 1, 30, "the seed's practice: rotate at least monthly")
        check_log_retention("log_retention_days", self.log_retention_days)
        check_range("backup_plan_retention_days", self.backup_plan_retention_days, 7, 3650)
        if self.monitoring_interval_seconds not in (1, 5, 10, 15, 30, 60):
            raise PropsError("monitoring_interval_seconds", self.monitoring_interval_seconds, "one of 1, 5, 10, 15, 30, 60")

    @property
    def max_connections(self) -> int:
        """The writer's default ``max_connections`` (estimate, see :mod:`connection_budget`)."""
        if self.instance_class is not None:
            return estimate_max_connections(instance_class=self.instance_class)
        return estimate_max_connections(serverless_max_capacity=self.serverless_max_capacity)

    @property
    def memory_bytes(self) -> int:
        """Memory of the writer (instance class, or the Serverless v2 maximum)."""
        if self.instance_class is not None:
            return database_memory_bytes(instance_class=self.instance_class)
        return database_memory_bytes(serverless_max_capacity=self.serverless_max_capacity)

    @property
    def description(self) -> str:
        if self.instance_class is not None:
            return f"db.{self.instance_class.removeprefix('db.')}"
        return f"Serverless v2 at {self.serverless_max_capacity} ACU"


class AuroraPostgresDatabase(Construct):
    """Attributes: ``cluster``, ``secret``, ``kms_key``, ``parameter_group``, ``security_group``,
    ``max_connections`` (estimate) and ``props``."""

    def __init__(self, scope: Construct, construct_id: str, props: AuroraPostgresDatabaseProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.props = props
        self.max_connections = props.max_connections
        major, _ = props.engine_version.split(".")
        engine = rds.DatabaseClusterEngine.aurora_postgres(
            version=rds.AuroraPostgresEngineVersion.of(props.engine_version, major)
        )

        self.kms_key = kms.Key(
            self,
            "Key",
            description=f"{props.cluster_identifier}: storage, snapshots, logs insights and credentials",
            enable_key_rotation=True,
            # Snapshots taken on deletion are encrypted with this key: it must outlive the cluster.
            removal_policy=RemovalPolicy.RETAIN,
        )
        allow_cloudwatch_logs(self.kms_key)  # the exported PostgreSQL logs are encrypted with it too
        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description=f"{props.cluster_identifier}: TLS only, slow statements > 2 s and connections logged",
            parameters=dict(defaults.PARAMETERS),
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"{props.cluster_identifier}: PostgreSQL from the service only",
            allow_all_outbound=False,
        )

        zones = list(props.availability_zones or props.vpc.availability_zones)
        instance_options = dict(
            enable_performance_insights=True,
            performance_insight_encryption_key=self.kms_key,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            preferred_maintenance_window=props.maintenance_window,
        )
        if props.instance_class is not None:
            instance_type = ec2.InstanceType(props.instance_class.removeprefix("db."))
            writer = rds.ClusterInstance.provisioned(
                "Writer", instance_type=instance_type, availability_zone=zones[0], **instance_options
            )
            readers = [
                rds.ClusterInstance.provisioned(
                    f"Reader{index}",
                    instance_type=instance_type,
                    availability_zone=zones[index % len(zones)],
                    promotion_tier=1,
                    **instance_options,
                )
                for index in range(1, props.reader_count + 1)
            ]
            capacity = {}
        else:
            writer = rds.ClusterInstance.serverless_v2("Writer", **instance_options)
            readers = []
            capacity = dict(
                serverless_v2_min_capacity=props.serverless_min_capacity,
                serverless_v2_max_capacity=props.serverless_max_capacity,
            )

        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            cluster_identifier=props.cluster_identifier,
            default_database_name=props.database_name,
            credentials=rds.Credentials.from_generated_secret(
                defaults.MASTER_USERNAME,
                secret_name=props.secret_name,
                encryption_key=self.kms_key,
                exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\",
            ),
            writer=writer,
            readers=readers,
            vpc=props.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.security_group],
            port=defaults.PORT,
            parameter_group=self.parameter_group,
            storage_encrypted=True,
            storage_encryption_key=self.kms_key,
            iam_authentication=True,
            backup=rds.BackupProps(
                retention=Duration.days(props.backup_retention_days), preferred_window=props.backup_window
            ),
            preferred_maintenance_window=props.maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=props.deletion_protection,
            removal_policy=props.removal_policy,
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(props.monitoring_interval_seconds),
            **capacity,
        )
        # The exported PostgreSQL log group, created here (instead of with ``cloudwatch_logs_retention``, which
        # adds a Lambda to set the retention) so that it is a stateful resource of this stack with a retention
        # and a removal policy. RDS writes to it once the cluster exists.
        self.log_group = logs.LogGroup(
            self,
            "PostgresLogs",
            log_group_name=f"/aws/rds/cluster/{props.cluster_identifier}/postgresql",
            encryption_key=self.kms_key,
            retention=retention_days(props.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if props.removal_policy == RemovalPolicy.RETAIN else RemovalPolicy.DESTROY,
        )
        self.cluster.node.add_dependency(self.log_group)
        monitoring_role = self.cluster.node.try_find_child("MonitoringRole")
        if monitoring_role is not None:
            acknowledge(
                monitoring_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
                "AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy RDS documents for enhanced monitoring; "
                "it only allows writing the RDSOSMetrics log group.",
            )
        self.secret = self.cluster.secret
        generated_secret = self.cluster.node.try_find_child("Secret")  # the secret itself, not its attachment
        if isinstance(generated_secret, Resource):
            generated_secret.apply_removal_policy(props.secret_removal_policy)
        self.rotation = self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(props.rotation_days),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self._pin_rotation_ingress_port()
        self._rotate_in_low_traffic_window(props.rotation_days)
        self.backup_plan = self._backup_plan(props)

    def _pin_rotation_ingress_port(self) -> None:
        """The rotation function's ingress rule takes its port from the cluster's endpoint attribute (a
        deploy-time value); the port is fixed by these props, so write it down. Reviewers and cdk-nag's port
        rules then see 5432 instead of an unresolved token."""
        for child in self.security_group.node.children:
            if isinstance(child, ec2.CfnSecurityGroupIngress) and Token.is_unresolved(child.from_port):
                child.from_port = defaults.PORT
                child.to_port = defaults.PORT

    def _rotate_in_low_traffic_window(self, days: int) -> None:
        """Rotate every ``days`` days inside the seed's low-traffic window (02:00-04:00 UTC) instead of at a
        random time of day: the service is redeployed onto the new password right after (rotation_redeploy)."""
        low, high = (_minutes(t) for t in defaults.LOW_TRAFFIC_WINDOW)
        for child in self.node.find_all():
            if isinstance(child, secretsmanager.CfnRotationSchedule):
                child.rotation_rules = secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                    schedule_expression=f"cron(0 {low // 60} 1/{days} * ? *)",
                    duration=f"{(high - low) // 60}h",
                )

    def _backup_plan(self, props: AuroraPostgresDatabaseProps) -> backup.BackupPlan:
        """Daily AWS Backup recovery points in the seed's low-traffic window, kept beyond the point-in-time
        window ("Always backup before changes"), in a vault encrypted with the database key."""
        vault = backup.BackupVault(
            self,
            "BackupVault",
            encryption_key=self.kms_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        low, _ = defaults.LOW_TRAFFIC_WINDOW
        hour, minute = low.split(":")
        plan = backup.BackupPlan(
            self,
            "BackupPlan",
            backup_plan_name=f"{props.cluster_identifier}-daily",  # plan names are unique per account and region
            backup_vault=vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="daily-in-low-traffic-window",
                    schedule_expression=events.Schedule.cron(hour=str(int(hour)), minute=str(int(minute))),
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(3),
                    delete_after=Duration.days(props.backup_plan_retention_days),
                )
            ],
        )
        selection = plan.add_selection(
            "Cluster", resources=[backup.BackupResource.from_rds_database_cluster(self.cluster)]
        )
        acknowledge(
            self.cluster,
            "NIST.800.53.R5-RDSInBackupPlan",
            "Aurora stores data in the cluster volume, and AWS Backup protects Aurora per cluster: the plan selects "
            "this cluster, so its instances, which hold no data of their own, cannot and need not be selected.",
        )
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy AWS Backup documents for taking "
            "backups; the role is assumable only by the backup service and selects only this cluster.",
        )
        return plan
    def allow_from(self, peer: ec2.IConnectable) -> None:
        """Open PostgreSQL's port to ``peer`` (the service's security group), and to nothing else.

        The ingress rule is created in the peer's stack when the peer lives in another one, so the database
        stack never depends on its callers. (The peer's egress is its own business: Fargate tasks usually allow
        all outbound.)"""
        port = ec2.Port.tcp(defaults.PORT)
        for database_group in self.cluster.connections.security_groups:
            for peer_group in peer.connections.security_groups:
                # remote_rule=True: the rule is created beside the peer's security group (the caller's stack).
                database_group.add_ingress_rule(peer_group, port, "PostgreSQL from the service", True)
