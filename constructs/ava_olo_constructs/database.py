"""An application database: Aurora PostgreSQL, encrypted, private, backed up in the low-traffic window.

* Storage, Performance Insights, log exports and the credentials secret are encrypted with a customer-managed
  KMS key with rotation on.
* Isolated subnets only, not publicly accessible; port 5432 is opened per caller with :meth:`allow_from`.
* Provisioned writer + readers pinned to different AZs (production), or Serverless v2 with a low minimum.
* Backups and maintenance by default inside 02:00-04:00 UTC without overlapping (seed "Migration Strategy"; any
  window RDS accepts may be passed), tags copied
  to snapshots; deletion protection and a SNAPSHOT/RETAIN removal policy so no update or stack deletion loses
  data.
* Parameter group: ``rds.force_ssl``, ``log_min_duration_statement = 2000`` (seed: slow > 2 s), connection
  logging; PostgreSQL logs exported to CloudWatch Logs with a retention; IAM authentication; enhanced monitoring.
* Credentials generated in Secrets Manager (JSON with ``host``, ``port``, ``dbname``, ``username``,
  ``password``) and rotated automatically.
"""

from __future__ import annotations

import datetime
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
from .validation import (
    SECRETS_MANAGER_MAX_ROTATION_DAYS,
    PropsError,
    check_log_retention,
    check_name,
    check_range,
    is_token,
)

_ENGINE_VERSION = re.compile(r"(?P<major>1[6-9])\.(?P<minor>\d+)")
_WINDOW = re.compile(r"(?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY_WINDOW = re.compile(
    r"(?P<day>mon|tue|wed|thu|fri|sat|sun):(?P<start>\d\d:\d\d)-(?P<end_day>mon|tue|wed|thu|fri|sat|sun):(?P<end>\d\d:\d\d)"
)
_DAY, _WEEK = 24 * 60, 7 * 24 * 60


#: Removal policies that never delete the cluster's data without a snapshot.
_KEEPING = (RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, RemovalPolicy.RETAIN)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(clock)
    return int(hours) * 60 + int(minutes)


def window_minutes(field: str, window: str, *, weekly: bool) -> tuple[int, int]:
    """``"02:00-02:30"`` (or ``"sun:03:00-sun:03:30"``) -> ``(start, end)`` in minutes after midnight of the
    window's first day (``end`` past 1440 when the window runs into the next day). RDS's rules: ``hh24:mi-hh24:mi``
    (``ddd:hh24:mi-ddd:hh24:mi`` weekly) in UTC, at least 30 minutes; a window may run past midnight."""
    pattern = _WEEKLY_WINDOW if weekly else _WINDOW
    example = defaults.MAINTENANCE_WINDOW if weekly else defaults.BACKUP_WINDOW
    match = pattern.fullmatch(window) if isinstance(window, str) else None
    try:
        start, end = (_minutes(match["start"]), _minutes(match["end"])) if match else (None, None)
    except ValueError:
        start = end = None
    if start is not None and end is not None:
        period = _WEEK if weekly else _DAY
        if weekly:
            start_week = _DAYS.index(match["day"]) * _DAY + start
            end_week = _DAYS.index(match["end_day"]) * _DAY + end
            length = (end_week - start_week) % period
        else:
            length = (end - start) % period
        if length >= 30:
            return start, start + length
    allowed = "ddd:hh24:mi-ddd:hh24:mi" if weekly else "hh24:mi-hh24:mi"
    raise PropsError(field, window, f"an RDS window {allowed} in UTC of at least 30 minutes, e.g. {example}")


def _week_interval(window: str, *, weekly: bool) -> tuple[int, int]:
    start, end = window_minutes("window", window, weekly=weekly)
    offset = _DAYS.index(window[:3]) * _DAY if weekly else 0
    return offset + start, offset + end


def windows_overlap(backup_window: str, maintenance_window: str) -> bool:
    """True if the daily backup window meets the weekly maintenance window on any day (RDS refuses that)."""
    b_start, b_end = _week_interval(backup_window, weekly=False)
    m_start, m_end = _week_interval(maintenance_window, weekly=True)
    for day in range(-1, 8):
        for shift in (-_WEEK, 0, _WEEK):
            if b_start + day * _DAY < m_end + shift and m_start + shift < b_end + day * _DAY:
                return True
    return False


def _maintenance_minutes_of_day(maintenance_window: str) -> set[int]:
    start, end = window_minutes("maintenance_window", maintenance_window, weekly=True)
    return {minute % _DAY for minute in range(start, end)}


def rotation_days_of_month(rotation_days: int) -> list[int]:
    """Days of the month on which to rotate so that no two rotations are more than ``rotation_days`` apart.

    A cron schedule cannot say "every 30 days" (``1/30`` fires on day 1 AND day 31, then day 1 again), and a
    ``rate()`` schedule's window always opens at midnight UTC, outside the seed's low-traffic window. So the
    days are spread evenly over the month, within days 1-28 (every month has them), with the longest gap,
    across the month's end (31-day months), at most ``rotation_days``: 30 -> days 1 and 17 (gaps of at most 16);
    7 -> 1, 7, 13, 19, 25. Where no such spread exists (a few days), every day: ``[]`` (cron ``*``)."""
    for count in range(max(2, -(-31 // rotation_days)), 29):
        lower = -(-(31 - rotation_days) // (count - 1))  # the gap across the month's end fits
        upper = min(rotation_days, 27 // (count - 1))  # every day exists in February; no gap too long
        if lower <= upper:
            spacing = max(lower, min(upper, round(31 / count)))
            return [1 + i * spacing for i in range(count)]
    return []


def _longest_months(months: int) -> int:
    """The most days ``months`` consecutive calendar months can span (over a leap-year cycle)."""
    starts = [(year, month) for year in range(2028, 2032) for month in range(1, 13)]
    return max(
        (datetime.date(year + (month - 1 + months) // 12, (month - 1 + months) % 12 + 1, 1) - datetime.date(year, month, 1)).days
        for year, month in starts
    )


def rotation_cron_fields(rotation_days: int) -> tuple[str, str]:
    """``(day-of-month, month)`` fields of the rotation cron: no two rotations more than ``rotation_days`` apart.

    Up to 30 days: the days of :func:`rotation_days_of_month`, every month. From 31 days on (Secrets Manager
    allows up to 1000): day 1 of the months ``1/k`` (January, then every k-th month; the cron starts again each
    January, so a k that does not divide 12 leaves one shorter gap), k the most months whose longest span still
    fits (31 -> every month, 62 -> every 2 months, 92 -> every 3, 366 or more -> every January 1st: a cron cannot
    count years, so a longer period rotates yearly, i.e. more often than it must, never less)."""
    if rotation_days <= 30:
        return ",".join(str(d) for d in rotation_days_of_month(rotation_days)) or "*", "*"
    step = max(k for k in range(1, 13) if _longest_months(k) <= rotation_days)
    return "1", "*" if step == 1 else f"1/{step}"


def rotation_window(maintenance_window: str) -> tuple[int, int]:
    """``(start hour, hours)``: the longest whole-hour stretch of the low-traffic window (02:00-04:00 UTC by
    default) that does not overlap the maintenance window's time of day (the rotation days fall on every weekday,
    so the weekday is ignored). When the maintenance window leaves no whole hour there, the first free whole hour
    after it (one hour); when it leaves none all day, the hour it ends in."""
    low, high = (_minutes(t) for t in defaults.LOW_TRAFFIC_WINDOW)
    blocked = _maintenance_minutes_of_day(maintenance_window)
    free = [not blocked & set(range(hour * 60, hour * 60 + 60)) for hour in range(24)]
    best, run_start, run = (0, 0), None, 0
    for hour in range(-(-low // 60), high // 60):
        if free[hour]:
            run_start, run = (hour, 1) if run == 0 else (run_start, run + 1)
            if run > best[1]:
                best = (run_start, run)
        else:
            run = 0
    if best[1]:
        return best
    _, end = window_minutes("maintenance_window", maintenance_window, weekly=True)
    first = -(-end // 60)
    for step in range(24):
        if free[(first + step) % 24]:
            return (first + step) % 24, 1
    return (end // 60) % 24, 1


@dataclass(frozen=True)
class AuroraPostgresDatabaseProps:
    """Props for :class:`AuroraPostgresDatabase`. Required: ``vpc``, ``cluster_identifier``, ``secret_name``.

    :param vpc: VPC with isolated subnets (the database never gets a route to the internet).
    :param cluster_identifier: e.g. ``farmer-crm`` (production) or ``farmer-crm-dev``.
    :param secret_name: credentials secret, e.g. ``ava-olo/database/credentials``.
    :param engine_version: Aurora PostgreSQL ``MAJOR.MINOR``. Default :data:`database_defaults.ENGINE_VERSION`.
    :param database_name: Default ``app`` (generic; AVA OLO passes ``farmer_crm``).
    :param instance_class: provisioned writer/reader class such as ``r6g.large``. Default none: Serverless v2.
    :param reader_count: provisioned readers, each in a different AZ from the writer. Default 0.
    :param serverless_min_capacity / serverless_max_capacity: ACUs when no instance class. Default 0.5 / 4
        (4 ACU leave room for the default 4 tasks x 2 during a deployment, see connection_budget).
    :param availability_zones: AZs to place writer and readers in, in order. Default: the VPC's.
    :param backup_retention_days: Default 14. ``backup_window``: default ``02:00-02:30`` UTC; any
        ``hh24:mi-hh24:mi`` of at least 30 minutes RDS accepts.
    :param maintenance_window: Default ``sun:03:00-sun:03:30`` UTC; any ``ddd:hh24:mi-ddd:hh24:mi`` of at least
        30 minutes that does not overlap the backup window (RDS refuses an overlap).
    :param deletion_protection: Default True.
    :param removal_policy: cluster on deletion/replacement. Default SNAPSHOT; RETAIN_ON_UPDATE_OR_DELETE
        (``RetainExceptOnCreate``: kept, except that a failed first create removes the then empty cluster, so the
        retry does not fail on the fixed identifier; its instances and subnet group follow it) or RETAIN; never
        DESTROY. With deletion protection on, RDS refuses that rollback's delete: see the README's first deploy.
    :param secret_removal_policy: the credentials secret. Default RETAIN.
    :param rotation_days: the most days between two automatic credentials rotations, 1-1000 (Secrets Manager's
        range). Default 30 (the app's policy; the library refuses only what Secrets Manager refuses). The schedule
        is a cron inside the low-traffic window (:func:`rotation_cron_fields`).
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
    #: The master user in the generated credentials. Default ``<database_name>_admin`` (``app_admin``).
    master_username: Optional[str] = None

    @property
    def master_user(self) -> str:
        name = self.master_username or f"{self.database_name[:57]}_admin"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", name) or name == "rdsadmin":
            raise PropsError("master_username", name, "1-63 letters, digits and _, starting with a letter, not rdsadmin")
        return name

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
        # A window given as a token (a CfnParameter) is only known at deploy time: RDS checks it then.
        if not is_token(self.backup_window):
            window_minutes("backup_window", self.backup_window, weekly=False)
        if not is_token(self.maintenance_window):
            window_minutes("maintenance_window", self.maintenance_window, weekly=True)
        if not (is_token(self.backup_window) or is_token(self.maintenance_window)) and windows_overlap(
            self.backup_window, self.maintenance_window
        ):
            raise PropsError(
                "maintenance_window", self.maintenance_window, f"must not overlap the backup window {self.backup_window}"
            )
        if self.removal_policy not in _KEEPING:
            raise PropsError(
                "removal_policy", self.removal_policy,
                "SNAPSHOT, RETAIN_ON_UPDATE_OR_DELETE or RETAIN: never delete data without a snapshot",
            )  # fmt: skip
        check_range(
            "rotation_days", self.rotation_days, 1, SECRETS_MANAGER_MAX_ROTATION_DAYS, "Secrets Manager's limits"
        )
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
            # Snapshots taken on deletion are encrypted with this key: it must outlive the cluster (unnamed, so
            # a retained key never blocks a retry of a failed first create).
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
                props.master_user,
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
            # Kept with the cluster's data; RetainExceptOnCreate: a failed first create deletes it (see the module).
            removal_policy=RemovalPolicy.DESTROY if props.removal_policy == RemovalPolicy.SNAPSHOT else RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.cluster.node.add_dependency(self.log_group)
        if props.removal_policy == RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE:
            # CDK retains the instances and subnet group only for RETAIN; keep them with the cluster here too.
            for child in self.cluster.node.find_all():
                if isinstance(child, (rds.CfnDBInstance, rds.CfnDBSubnetGroup)):
                    child.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
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
        self._rotate_in_low_traffic_window(props.rotation_days, props.maintenance_window, writer_scope=self.cluster)
        self.backup_plan = self._backup_plan(props)

    def _pin_rotation_ingress_port(self) -> None:
        """The rotation function's ingress rule takes its port from the cluster's endpoint attribute (a
        deploy-time value); the port is fixed by these props, so write it down. Reviewers and cdk-nag's port
        rules then see 5432 instead of an unresolved token."""
        for child in self.security_group.node.children:
            if isinstance(child, ec2.CfnSecurityGroupIngress) and Token.is_unresolved(child.from_port):
                child.from_port = defaults.PORT
                child.to_port = defaults.PORT

    def _rotate_in_low_traffic_window(self, days: int, maintenance_window: str, *, writer_scope: Construct) -> None:
        """Rotate at most ``days`` days apart (:func:`rotation_cron_fields`), inside the seed's low-traffic window
        (02:00-04:00 UTC) but never during the maintenance window (:func:`rotation_window`; a maintenance window
        given as a token is unknown at synth, so then the whole low-traffic window), and only once the
        writer instance exists: the first rotation starts when the schedule is created (it connects to the
        cluster's endpoint), so the schedule depends on the writer. The service is redeployed onto the new
        password right after (rotation_redeploy)."""
        if is_token(maintenance_window):  # only known at deploy time: the whole low-traffic window
            low, high = (_minutes(t) for t in defaults.LOW_TRAFFIC_WINDOW)
            start_hour, hours = -(-low // 60), max(1, (high - -(-low // 60) * 60) // 60)
        else:
            start_hour, hours = rotation_window(maintenance_window)
        month_days, months = rotation_cron_fields(days)
        writer = writer_scope.node.try_find_child("Writer")
        for child in self.node.find_all():
            if isinstance(child, secretsmanager.CfnRotationSchedule):
                child.rotation_rules = secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                    schedule_expression=f"cron(0 {start_hour} {month_days} {months} ? *)",
                    duration=f"{hours}h",
                )
                if writer is not None:
                    child.node.add_dependency(writer)

    def _backup_plan(self, props: AuroraPostgresDatabaseProps) -> backup.BackupPlan:
        """Daily AWS Backup recovery points in the seed's low-traffic window, kept beyond the point-in-time
        window ("Always backup before changes"), in a vault encrypted with the database key."""
        vault = backup.BackupVault(
            self,
            "BackupVault",
            encryption_key=self.kms_key,
            # Fixed name (backup vaults are named): RetainExceptOnCreate, so a failed first create removes the
            # (then empty) vault and the retry does not fail with "already exists".
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
