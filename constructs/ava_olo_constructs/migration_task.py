"""A one-off Fargate task that migrates the database schema, started on demand (``ava-olo migrate``).

Seed "Database Best Practices" -> "Migration Strategy": back up first, prove the migration on staging, apply it
during low-traffic hours, watch it. The operator side (snapshot, staging record, window, RunTask, schema-version
record) is ``ava-olo migrate``; this construct is the infrastructure it starts:

* a Fargate **task definition only**: no ECS service, nothing runs until ``ecs:RunTask`` starts it, and it stops
  when the migration command exits (its exit code is the result);
* one container named ``migrate`` running ``alembic upgrade head`` (by default) from the service's own image,
  tagged (never a digest) so that ``ava-olo migrate --version V`` can register this task definition again with
  ``<repository>:V`` and run the release's migration *before* the service stack is updated (README "Migrations");
  CloudFormation keeps owning the revisions it registers, the extra one only ever runs that migration;
* the same database secrets as the service, as ECS secrets: the execution role may read exactly those secrets,
  and the task definition never contains their values; plain environment is for non-secret settings only
  (secret-looking names are rejected, with the same rule as :class:`~ava_olo_constructs.web_service.FargateWebService`);
* its own log stream: ``awslogs`` with the stream prefix ``migrate``, i.e. ``migrate/migrate/<task id>``, in a
  log group with a retention and a customer-managed KMS key.

Networking: RunTask does not take the subnets or the security group from the task definition, the caller passes
them. The construct therefore exposes ``security_group``, ``subnet_ids`` and ``subnets_description`` for the
stack outputs ``ava-olo migrate`` reads. Pass the service's security group (``props.security_group``) and the
migration reaches the database through the database's existing ingress rule; leave it out and the construct
creates an outbound-only group that the caller must let in (``database.allow_from(task.security_group)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .compliance import acknowledge
from .log_encryption import log_encryption_key
from .retention import retention_days
from .container_environment import check_environment_names
from .validation import PropsError, check_fargate_size, check_log_retention, check_name

#: The container's name. ``ava-olo migrate`` overrides its environment by this name and reads its exit code.
CONTAINER_NAME = "migrate"
#: awslogs stream prefix: the task's log stream is ``migrate/migrate/<task id>`` (prefix/container/task id).
STREAM_PREFIX = "migrate"
#: Alembic, the SQLAlchemy migration tool the application uses: upgrade the schema to the newest revision.
COMMAND: tuple[str, ...] = ("alembic", "upgrade", "head")
#: Seed "Issue 3: Memory/CPU Issues": the service's standard size, 512 CPU units / 1024 MiB.
CPU = 512
MEMORY_MIB = 1024
#: Same as the service's container logs: long enough to review a migration after an incident.
LOG_RETENTION_DAYS = 30
LOG_REMOVAL_POLICY = RemovalPolicy.RETAIN
#: Private subnets with a route out (NAT): the task pulls its image from ECR and reads Secrets Manager without a
#: public IP, and reaches the database in the isolated subnets over the VPC's local route.
SUBNET_TYPE = ec2.SubnetType.PRIVATE_WITH_EGRESS


@dataclass(frozen=True)
class MigrationTaskProps:
    """Props for :class:`MigrationTask`. Required: ``cluster``, ``image``.

    :param cluster: the service's ECS cluster (required); its VPC must have private-with-egress subnets.
    :param image: the service's image (required), e.g. ``ContainerImage.from_ecr_repository(repo, version)``, so
        the migration code always matches the deployed version.
    :param command: the container command. Default ``["alembic", "upgrade", "head"]``.
    :param secrets: ECS secrets, the same database secrets as the service (``DB_HOST`` ... ``DB_PASSWORD``,
        ``ENCRYPTION_KEY``). Default none. The execution role may read exactly these.
    :param secrets_encryption_key: the KMS key the secrets are encrypted with. Default none. Give it when the key
        lives in another stack: CDK's own grant does not reach such a key, so the execution role gets
        ``kms:Decrypt`` on exactly this key, and only through Secrets Manager.
    :param environment: non-secret environment. Default none. Secret-looking names (``PASSWORD``, ``SECRET``,
        ``TOKEN``, ...) are rejected: pass them as ``secrets``. ``ava-olo migrate`` adds ``APP_VERSION`` per run.
    :param security_group: the task's security group. Default: the construct creates one with no ingress and all
        outbound, and the caller must allow it into the database (``database.allow_from(task.security_group)``).
        Pass the service's security group instead and the migration reaches the database through the
        database's existing ingress rule (it then also accepts what the service accepts, e.g. the load balancer
        on the container port; nothing in the migration container listens).
    :param subnets: where ``ava-olo migrate`` starts the task. Default: the VPC's private subnets with egress
        (no public IP; image pull, secrets and logs go through NAT).
    :param log_group: the container's log group. Default: the construct creates one with ``log_retention_days``,
        ``log_removal_policy`` and a customer-managed KMS key (``log_encryption_key``).
    :param log_group_name: name of the created log group. Default: generated by CloudFormation.
    :param log_encryption_key: KMS key of the created log group. Default: the construct creates one (rotation on).
    :param log_retention_days: retention of the created log group. Default 30.
    :param log_removal_policy: the created log group on stack deletion. Default RETAIN.
    :param cpu: task CPU units. Default 512 (seed). ``memory_mib``: default 1024 (seed). Any valid Fargate pair.
    :param family: task definition family. Default: generated by CDK.
    """

    cluster: ecs.ICluster
    image: ecs.ContainerImage
    command: Sequence[str] = COMMAND
    secrets: Mapping[str, ecs.Secret] = field(default_factory=dict)
    secrets_encryption_key: Optional[kms.IKey] = None
    environment: Mapping[str, str] = field(default_factory=dict)
    security_group: Optional[ec2.ISecurityGroup] = None
    subnets: ec2.SubnetSelection = field(default_factory=lambda: ec2.SubnetSelection(subnet_type=SUBNET_TYPE))
    log_group: Optional[logs.ILogGroup] = None
    log_group_name: Optional[str] = None
    log_encryption_key: Optional[kms.IKey] = None
    log_retention_days: int = LOG_RETENTION_DAYS
    log_removal_policy: RemovalPolicy = LOG_REMOVAL_POLICY
    cpu: int = CPU
    memory_mib: int = MEMORY_MIB
    family: Optional[str] = None

    def validate(self) -> None:
        """Raise :class:`PropsError` for the first invalid field (before any resource is created)."""
        command = self.command
        if isinstance(command, (str, bytes)) or not command or not all(isinstance(p, str) and p for p in command):
            raise PropsError("command", command, 'a non-empty list of non-empty strings, e.g. ["alembic", "upgrade", "head"]')
        check_fargate_size(self.cpu, self.memory_mib, memory_field="memory_mib")
        check_environment_names(self.environment, self.secrets)
        check_log_retention("log_retention_days", self.log_retention_days)
        if self.family is not None:
            check_name("family", self.family, max_length=255)
        if self.log_group is not None and (self.log_group_name is not None or self.log_encryption_key is not None):
            raise PropsError(
                "log_group", self.log_group.node.path, "give either an existing log_group or log_group_name / log_encryption_key, not both"
            )


class MigrationTask(Construct):
    """A Fargate task definition that runs the schema migration on demand (RunTask; no service).

    Attributes: ``task_definition``, ``container`` (named :data:`CONTAINER_NAME`), ``log_group``, ``log_key``
    (None when the caller passed ``log_group``), ``security_group``, ``subnets`` (the selected subnets),
    ``subnet_ids``, ``subnets_description`` (one line for an output's description).
    """

    container_name = CONTAINER_NAME
    stream_prefix = STREAM_PREFIX

    def __init__(self, scope: Construct, construct_id: str, props: MigrationTaskProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.props = props
        vpc = props.cluster.vpc

        self.log_key: Optional[kms.IKey] = None
        if props.log_group is not None:
            self.log_group: logs.ILogGroup = props.log_group
        else:
            self.log_key = props.log_encryption_key or log_encryption_key(
                self, "LogKey", description="database migration task logs"
            )
            self.log_group = logs.LogGroup(
                self,
                "LogGroup",
                log_group_name=props.log_group_name,
                encryption_key=self.log_key,
                retention=retention_days(props.log_retention_days),
                removal_policy=props.log_removal_policy,
            )

        self.security_group: ec2.ISecurityGroup = props.security_group or ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Database migration task: no ingress; outbound to the database, ECR, Secrets Manager and logs",
            allow_all_outbound=True,
        )
        self.subnets = vpc.select_subnets(
            subnet_type=props.subnets.subnet_type,
            subnet_group_name=props.subnets.subnet_group_name,
            subnets=props.subnets.subnets,
            availability_zones=props.subnets.availability_zones,
            one_per_az=props.subnets.one_per_az,
            subnet_filters=props.subnets.subnet_filters,
        )
        self.subnet_ids: list[str] = list(self.subnets.subnet_ids)
        if not self.subnet_ids:
            raise PropsError("subnets", props.subnets.subnet_type, "the cluster's VPC has no such subnets")
        where = (
            "the private subnets with egress of the cluster's VPC"
            if props.subnets.subnet_type == SUBNET_TYPE and props.subnets.subnet_group_name is None
            else "the selected subnets"
        )
        admitted = (
            "its own security group (no ingress), which the database must admit (database.allow_from)"
            if props.security_group is None
            else "the given security group, which the database's existing ingress rule admits"
        )
        self.subnets_description = (
            f"ecs:RunTask it in {where} with assignPublicIp DISABLED and {admitted}; the image, the secrets and "
            "the logs are reached through the NAT gateway."
        )

        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDef",
            family=props.family,
            cpu=props.cpu,
            memory_limit_mib=props.memory_mib,
        )
        self.container = self.task_definition.add_container(
            CONTAINER_NAME,
            container_name=CONTAINER_NAME,
            image=props.image,
            command=list(props.command),
            essential=True,
            environment=dict(props.environment) or None,
            secrets=dict(props.secrets) or None,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=STREAM_PREFIX, log_group=self.log_group),
        )
        execution_role = self.task_definition.obtain_execution_role()
        if props.secrets_encryption_key is not None:
            # Secrets Manager decrypts on the caller's behalf: kms:Decrypt on exactly this key, via Secrets Manager only.
            execution_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[props.secrets_encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"}
                    },
                )
            )
        self._acknowledge_inherent_findings()

    def _acknowledge_inherent_findings(self) -> None:
        """Only the findings this construct causes, each on the exact resource that causes it."""
        if self.props.environment:
            acknowledge(
                self.task_definition,
                "AwsSolutions-ECS2",
                "The migration container's environment holds only non-secret settings; the construct rejects "
                "secret-looking names and passes the database credentials as ECS secrets.",
            )
        role = self.task_definition.execution_role
        assert role is not None  # obtain_execution_role() above
        if isinstance(self.props.image, (ecs.EcrImage, ecs.AssetImage)):
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions, so IAM requires Resource '*'; "
                "image pulls themselves are limited to the service's repository.",
            )
        acknowledge(
            role,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK's generated policy gives only this execution role exactly the image, log group, secrets and key "
            "the migration needs; a managed policy would add a reusable object without narrowing anything.",
        )
