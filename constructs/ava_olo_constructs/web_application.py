"""A web service with its database: everything the AVA OLO app gets, from one construct.

:class:`WebApplication` composes the library's constructs the way the project's own stacks do:

* the Fargate service behind its ALB (:class:`FargateWebService`, its props passed through unchanged);
* its Aurora PostgreSQL database (:class:`AuroraPostgresDatabase`), created here or given (another stack);
* the database's credentials as ECS secrets without a ``Data`` -> ``Service`` dependency cycle
  (:class:`DatabaseSecrets`), and port 5432 opened from the service alone (the rule lives in this stack);
* a redeploy right after each credentials rotation (:class:`RedeployOnSecretRotation`);
* the connection budget checked at synth (:class:`ConnectionBudget`): every task's full pool, at the autoscaling
  maximum, during a deployment, must fit into ``max_connections``;
* a WAF web ACL (:class:`WebApplicationFirewall`), the seed's alarms (``high-error-rate``,
  ``db-connection-failures``, service and database alarms) and the deployment alarms to an encrypted topic,
  target-tracking autoscaling and a dashboard. Alarm-based rollback (``DeploymentConfiguration.Alarms`` with
  ``Rollback``, on top of the circuit breaker) is :class:`FargateWebService`'s own: its built-in
  :class:`RevisionAlarms` get this application's names (``names.alarm_name``).
* optionally (``migration=True``) a one-off schema-migration task of the same image, secrets and security group
  (:class:`MigrationTask`), and (``parameters=True``) the non-secret settings as SSM parameters under
  ``names.parameter_prefix`` (:class:`ServiceParameters`).

Every physical name comes from :class:`ResourceNames` (project, environment, service), so two applications
with their own databases never collide; the construct refuses, at synth, a name another ``WebApplication`` of
the same App already uses in the same account and region.

Same stack::

    WebApplication(stack, "Orders", WebApplicationProps(names=names, service=FargateWebServiceProps(...)))

Database in a ``Data`` stack, service in a ``Service`` stack (no cycle: ``Service`` depends on ``Data`` only)::

    db = AuroraPostgresDatabase(data, "Database", AuroraPostgresDatabaseProps(
        vpc=vpc, cluster_identifier=names.database_identifier(), secret_name=names.database_secret_name))
    WebApplication(service_stack, "Orders", WebApplicationProps(names=names, service=..., database=db))
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import database_defaults
from .alerts import AlertTopic, AlertTopicProps
from .autoscaling import AutoScalingProps
from .connection_budget import ConnectionBudget
from .dashboard import ServiceDashboard, ServiceDashboardProps
from .database import AuroraPostgresDatabase, AuroraPostgresDatabaseProps
from .database_alarms import DatabaseAlarms, DatabaseAlarmsProps
from .db_connection_alarm import DatabaseConnectionFailuresAlarm, DatabaseConnectionFailuresAlarmProps
from .error_rate_alarm import HighErrorRateAlarm, HighErrorRateAlarmProps
from .log_encryption import log_encryption_key
from .migration_task import MigrationTask, MigrationTaskProps
from .naming import ResourceNames
from .parameters import ServiceParameters, ServiceParametersProps
from .rotation_redeploy import RedeployOnSecretRotation, RedeployOnSecretRotationProps
from .service_alarms import ServiceAlarms, ServiceAlarmsProps
from .service_secrets import DatabaseSecrets, DatabaseSecretsProps
from .validation import PropsError, check_range, is_token
from .waf import DEFAULT_RATE_LIMITS, RateLimit, WebApplicationFirewall, WebApplicationFirewallProps
from . import waf_defaults
from .web_service import FargateWebService, FargateWebServiceProps

#: Autoscaling when the caller gives none: 1 to 4 tasks (the default Serverless v2 maximum of 4 ACU is sized for
#: 4 tasks x 2 during a deployment with the default pool, see connection_budget).
DEFAULT_SCALING = AutoScalingProps(min_count=1, max_count=4)

#: ``ResourceNames.role_name`` purposes of the migration task's task and execution roles (``migration=True``).
MIGRATION_TASK_ROLE, MIGRATION_EXECUTION_ROLE = "migrate-task", "migrate-execution"


@dataclass(frozen=True)
class WebApplicationProps:
    """Props for :class:`WebApplication`. Required: ``names``, ``service``.

    :param names: the application's :class:`ResourceNames` (project, environment, service); every physical
        name derives from it.
    :param service: the web service, passed to :class:`FargateWebService` as is (cluster, image, version, size,
        health checks, rollout, deployment alarms). Filled in when left at their defaults: ``log_group_name``
        (``names.log_group_name``), ``task_family`` (``names.task_family``), ``log_encryption_key`` (one key for
        the service's and the WAF's logs), ``alarm_name`` (``names.alarm_name``: the deployment alarms are
        ``<project>-<environment>-<service>-new-revision-errors`` / ``-unhealthy``), ``autoscaling``
        (``scaling``; give it there, not here). ``secrets`` are merged with the database's (``DB_HOST``,
        ``DB_PORT``, ``DB_NAME``, ``DB_USER``, ``DB_PASSWORD``); use ``service_name=names.service_name``. Alarm
        rollback: ``service.revision_alarms`` (default True) and ``service.deployment_alarms`` (more alarms).
    :param database: the application's database, when it lives elsewhere (a ``Data`` stack). Default none: the
        construct creates one from ``database_props``.
    :param database_props: props of the database created here. Default: the library's defaults with the
        cluster's VPC, ``names.database_identifier()`` and ``names.database_secret_name``. Not with ``database``.
    :param extra_secrets: more whole-value secrets for the container, e.g. ``{"ENCRYPTION_KEY": secret}``, from
        any stack (see :class:`DatabaseSecretsProps`). Default none.
    :param extra_key_arns: KMS keys of imported ``extra_secrets``. Default none.
    :param scaling: autoscaling bounds and targets; ``max_count`` is what the connection budget is checked
        against. Default :data:`DEFAULT_SCALING` (1 to 4 tasks, CPU 60 %, 600 requests per task and minute).
    :param connection_reserve: connections kept free for operators, migrations and rotation. Default 10.
    :param alarm_emails: e-mail subscribers of the alarm topic. Default none.
    :param firewall: a WAF web ACL on the load balancer. Default True.
    :param rate_limits: the web ACL's rate-based rules. Default the library's (one flood ceiling per IP on
        every path, :data:`waf_defaults.RATE_LIMITS`); path-specific limits are the caller's policy.
    :param firewall_log_retention_days: Default 90.
    :param redeploy_on_rotation: force a new deployment after each credentials rotation. Default True.
    :param dashboard: a CloudWatch dashboard. Default True. ``runbook``: its markdown header; default the
        ``describe-services`` / ``logs tail`` commands with this application's names.
    :param migration: a one-off schema-migration task (:class:`MigrationTask`, run with ``RunTask``, never a
        service) of the service's image, secrets, security group (so it reaches the database through the same
        single ingress rule), CPU and memory; family ``<task_family>-migrate``, log group
        ``<log_group_name>-migrate`` with the service's log key, retention and removal policy; its task and
        execution roles named ``names.role_name("migrate-task")`` / ``("migrate-execution")`` so that a deploy
        role may pass exactly these. Default False.
    :param parameters: publish the non-secret settings as SSM ``String`` parameters under
        ``names.parameter_prefix`` (:class:`ServiceParameters`): ``version``, ``service-url``, ``db-pool-size``,
        ``db-max-overflow``, ``db-pool-recycle``, ``db-endpoint``, ``db-reader-endpoint``, ``db-name``,
        ``db-credentials-secret``. Default False.
    :param extra_parameters: more parameters (key -> value) under the same prefix; only with ``parameters``.
        Default none.
    :param service_overrides / task_definition_overrides: escape hatch to native CloudFormation properties the
        props do not expose, e.g. ``{"EnableExecuteCommand": True}``: applied with ``add_property_override``
        (dotted paths allowed). Default none. Everything else is reachable through the attributes
        (``web_service.service`` is the underlying ``ecs.FargateService``).
    """

    names: ResourceNames
    service: FargateWebServiceProps
    database: Optional[AuroraPostgresDatabase] = None
    database_props: Optional[AuroraPostgresDatabaseProps] = None
    extra_secrets: Mapping[str, secretsmanager.ISecret] = field(default_factory=dict)
    extra_key_arns: Sequence[str] = ()
    scaling: AutoScalingProps = DEFAULT_SCALING
    connection_reserve: int = database_defaults.CONNECTION_RESERVE
    alarm_emails: Sequence[str] = ()
    firewall: bool = True
    rate_limits: Sequence[RateLimit] = DEFAULT_RATE_LIMITS
    firewall_log_retention_days: int = waf_defaults.LOG_RETENTION_DAYS
    redeploy_on_rotation: bool = True
    dashboard: bool = True
    runbook: Optional[str] = None
    migration: bool = False
    parameters: bool = False
    extra_parameters: Mapping[str, str] = field(default_factory=dict)
    service_overrides: Mapping[str, Any] = field(default_factory=dict)
    task_definition_overrides: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not isinstance(self.names, ResourceNames):
            raise PropsError("names", type(self.names).__name__, "a ResourceNames(environment=..., service=...)")
        if not isinstance(self.service, FargateWebServiceProps):
            raise PropsError("service", type(self.service).__name__, "a FargateWebServiceProps")
        if self.database is not None and self.database_props is not None:
            raise PropsError("database_props", "given with database", "give an existing database or props for a new one")
        if self.service.autoscaling is not None and self.service.autoscaling != self.scaling:
            raise PropsError(
                "service.autoscaling", "given", "leave it unset and give scaling (the connection budget is checked against it)"
            )
        if self.extra_parameters and not self.parameters:
            raise PropsError("extra_parameters", sorted(self.extra_parameters), "only together with parameters=True")
        self.scaling.validate()
        self.service.validate()
        if not is_token(self.connection_reserve):
            check_range("connection_reserve", self.connection_reserve, 0, 5000)
        desired = self.service.desired_count
        if not is_token(desired) and not self.scaling.min_count <= desired <= self.scaling.max_count:
            raise PropsError(
                "service.desired_count",
                desired,
                f"must lie between scaling.min_count {self.scaling.min_count} and max_count {self.scaling.max_count}",
            )

    def database_props_or_default(self) -> AuroraPostgresDatabaseProps:
        return self.database_props or AuroraPostgresDatabaseProps(
            vpc=self.service.cluster.vpc,
            cluster_identifier=self.names.database_identifier(),
            secret_name=self.names.database_secret_name,
        )

    def connection_budget(self, max_connections: int, database: str) -> ConnectionBudget:
        pool = self.service.connection_pool
        return ConnectionBudget(
            max_tasks=self.scaling.max_count,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            reserve=self.connection_reserve,
            max_connections=max_connections,
            database=database,
            field="scaling.max_count",
            max_healthy_percent=self.service.max_healthy_percent,
        )


class WebApplication(Construct):
    """A web service with its database, alarms, rollback, WAF, autoscaling and dashboard (see the module doc).

    Attributes: ``names``, ``web_service`` (:class:`FargateWebService`), ``service`` (the ``ecs.FargateService``),
    ``database`` (:class:`AuroraPostgresDatabase`), ``secrets`` (:class:`DatabaseSecrets`; ``secrets.secrets``
    also suits a migration task), ``log_key``, ``firewall``, ``topic``, ``alarms`` (purpose -> alarm),
    ``scaling``, ``dashboard``, ``redeploy``, ``migration`` (:class:`MigrationTask` or None), ``parameters``
    (:class:`ServiceParameters` or None) and ``props``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: WebApplicationProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.props = props
        self.names = names = props.names

        # Fail before creating anything: the connection budget and the physical names.
        if props.database is not None:
            max_connections, description = props.database.max_connections, props.database.props.description
        else:
            database_props = props.database_props_or_default()
            database_props.validate()
            max_connections, description = database_props.max_connections, database_props.description
        props.connection_budget(max_connections, description).check()
        self._claim_names()

        self.log_key = props.service.log_encryption_key or log_encryption_key(
            self, "LogKey", description=f"{props.service.service_name}: service and WAF logs"
        )
        self.database = props.database or AuroraPostgresDatabase(self, "Database", props.database_props_or_default())
        self.secrets = DatabaseSecrets(
            self,
            "DatabaseSecrets",
            DatabaseSecretsProps(
                database=self.database, extra_secrets=props.extra_secrets, extra_key_arns=props.extra_key_arns
            ),
        )
        service_props = dataclasses.replace(
            props.service,
            log_group_name=props.service.log_group_name or names.log_group_name,
            task_family=props.service.task_family or names.task_family,
            log_encryption_key=self.log_key,
            secrets={**self.secrets.secrets, **props.service.secrets},
            alarm_name=props.service.alarm_name or names.alarm_name,
            autoscaling=props.scaling,
        )
        self.web_service = FargateWebService(self, "WebService", service_props)
        self.service = self.web_service.service
        self._keep_security_group_description()
        self.database.allow_from(self.service)  # the ingress rule lands in this stack
        self.secrets.grant_read(self.web_service.task_definition.obtain_execution_role())

        self.redeploy = None
        if props.redeploy_on_rotation:
            assert self.database.secret is not None
            self.redeploy = RedeployOnSecretRotation(
                self,
                "RedeployOnRotation",
                RedeployOnSecretRotationProps(
                    secret_arn=self.database.secret.secret_arn, service=self.service, log_encryption_key=self.log_key
                ),
            )
        self.firewall = None
        if props.firewall:
            self.firewall = WebApplicationFirewall(
                self,
                "Firewall",
                WebApplicationFirewallProps(
                    name=names.dashboard_name,
                    resource_arn=self.web_service.load_balancer.load_balancer_arn,
                    log_encryption_key=self.log_key,
                    rate_limits=props.rate_limits,
                    log_retention_days=props.firewall_log_retention_days,
                    log_removal_policy=props.service.log_removal_policy,
                ),
            )
        self.scaling = self.web_service.scaling
        self._observe()
        self.dashboard = self._dashboard() if props.dashboard else None
        self.migration = self._migration() if props.migration else None
        self.parameters = self._parameters() if props.parameters else None
        self._apply_overrides()

    # --- migration task and SSM parameters ------------------------------------------------------------------
    def _migration(self) -> MigrationTask:
        names, web = self.names, self.web_service
        service = web.props
        migration = MigrationTask(
            self,
            "Migration",
            MigrationTaskProps(
                cluster=service.cluster,
                image=service.image,
                secrets=service.secrets,
                secrets_encryption_key=self.database.kms_key,
                security_group=web.service_security_group,
                log_encryption_key=self.log_key,
                log_group_name=f"{service.log_group_name}-migrate",
                log_retention_days=service.log_retention_days,
                log_removal_policy=service.log_removal_policy,
                family=f"{service.task_family}-migrate",
                cpu=service.cpu,
                memory_mib=service.memory_mib,
            ),
        )
        definition = migration.task_definition
        for role, purpose in ((definition.task_role, MIGRATION_TASK_ROLE),
                              (definition.obtain_execution_role(), MIGRATION_EXECUTION_ROLE)):
            role.node.default_child.role_name = names.role_name(purpose)  # type: ignore[union-attr]
        # Keys of the extra secrets other than the database's (MigrationTask grants that one itself).
        other_keys = [arn for arn in self.secrets.key_arns if arn != self.database.kms_key.key_arn]
        if other_keys:
            definition.obtain_execution_role().add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=other_keys,
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"}},
                )
            )
        return migration

    def _parameters(self) -> ServiceParameters:
        service, database = self.web_service.props, self.database
        pool = service.connection_pool
        values = {
            "version": service.app_version,
            "service-url": self.web_service.url,
            "db-pool-size": str(pool.pool_size),
            "db-max-overflow": str(pool.max_overflow),
            "db-pool-recycle": str(pool.recycle_seconds),
            "db-endpoint": database.cluster.cluster_endpoint.hostname,
            "db-reader-endpoint": database.cluster.cluster_read_endpoint.hostname,
            "db-name": database.props.database_name,
            "db-credentials-secret": database.props.secret_name,
            **self.props.extra_parameters,
        }
        return ServiceParameters(self, "Parameters", ServiceParametersProps(prefix=self.names.parameter_prefix, values=values))

    # --- alarms and rollback --------------------------------------------------------------------------------
    def _observe(self) -> None:
        names, web, props = self.names, self.web_service, self.props
        self.topic = AlertTopic(
            self,
            "Alerts",
            AlertTopicProps(
                topic_name=names.alarm_topic_name,
                emails=props.alarm_emails,
                key_removal_policy=props.service.log_removal_policy,
            ),
        ).topic
        high_error_rate = HighErrorRateAlarm(
            self,
            "HighErrorRate",
            HighErrorRateAlarmProps(load_balancer=web.load_balancer, alarm_name=names.alarm_name("high-error-rate")),
        ).alarm
        self.db_connection_failures = DatabaseConnectionFailuresAlarm(
            self,
            "DatabaseConnectionFailures",
            DatabaseConnectionFailuresAlarmProps(
                log_group=web.log_group,
                alarm_name=names.alarm_name("db-connection-failures"),
                namespace=names.metric_namespace,
            ),
        )
        self.service_alarms = ServiceAlarms(
            self,
            "ServiceAlarms",
            ServiceAlarmsProps(
                service=self.service,
                target_group=web.target_group,
                cluster_name=self._cluster_name,
                service_name=props.service.service_name,
                name=names.alarm_name,
                alternate_target_group=web.alternate_target_group,
            ),
        )
        self.database_alarms = DatabaseAlarms(
            self,
            "DatabaseAlarms",
            DatabaseAlarmsProps(
                cluster=self.database.cluster,
                max_connections=self.database.max_connections,
                memory_bytes=self.database.props.memory_bytes,
                name=names.alarm_name,
                local_storage_alarm=self.database.props.instance_class is not None,
            ),
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {
            "high-error-rate": high_error_rate,
            "db-connection-failures": self.db_connection_failures.alarm,
            "unhealthy-targets": self.service_alarms.unhealthy_targets,
        }
        revision = web.revision_alarms  # the deployment alarms (FargateWebService enables their rollback)
        if revision is not None:
            self.alarms.update({"new-revision-errors": revision.errors, "new-revision-unhealthy": revision.unhealthy})
        #: Every alarm of the application; each one notifies the topic.
        self.all_alarms: list[cloudwatch.Alarm] = [
            high_error_rate, self.db_connection_failures.alarm, *self.service_alarms.all, *self.database_alarms.all,
            *(revision.all if revision is not None else []),
        ]
        for alarm in self.all_alarms:
            AlertTopic.notify(alarm, self.topic)

    @property
    def _cluster_name(self) -> str:
        """The cluster's physical name for metric dimensions: the literal one it was created with when known (no
        cross-stack reference needed), else its ``cluster_name`` attribute."""
        cluster = self.props.service.cluster
        cfn = cluster.node.default_child
        if isinstance(cfn, ecs.CfnCluster) and isinstance(cfn.cluster_name, str) and not Token.is_unresolved(cfn.cluster_name):
            return cfn.cluster_name
        return cluster.cluster_name

    def _dashboard(self) -> cloudwatch.Dashboard:
        names, web = self.names, self.web_service
        return ServiceDashboard(
            self,
            "Dashboard",
            ServiceDashboardProps(
                dashboard_name=names.dashboard_name,
                service=self.service,
                cluster_name=self._cluster_name,
                service_name=self.props.service.service_name,
                load_balancer=web.load_balancer,
                target_group=web.target_group,
                alternate_target_group=web.alternate_target_group,
                alarms=self.all_alarms,
                database=self.database.cluster,
                extra_metrics=[self.db_connection_failures.metric],
                runbook=self.props.runbook if self.props.runbook is not None else self._runbook(),
            ),
        ).dashboard

    def _runbook(self) -> str:
        names, region = self.names, Stack.of(self).region
        service = self.props.service.service_name
        cluster = self._cluster_name
        return "\n".join(
            [
                f"### {service} ({names.environment})",
                "```",
                f"aws ecs describe-services --region {region} --cluster {cluster} --services {service}",
                f"aws logs tail {self.web_service.props.log_group_name} --region {region} --follow",
                "```",
            ]
        )

    def _keep_security_group_description(self) -> None:
        """CDK describes the tasks' security group by its construct path, and a changed ``GroupDescription``
        replaces the group. Under the id ``Default`` (which CDK leaves out of logical IDs), keep the description
        the same constructs get at stack level, so that a stack adopting WebApplication replaces nothing."""
        group = self.web_service.service_security_group.node.default_child
        if not isinstance(group, ec2.CfnSecurityGroup) or group.group_description != group.node.path.rsplit("/", 1)[0]:
            return
        parts = group.node.path.split("/")[:-1]
        group.group_description = "/".join(part for part in parts if part != "Default")

    def _apply_overrides(self) -> None:
        for construct, overrides in (
            (self.service, self.props.service_overrides),
            (self.web_service.task_definition, self.props.task_definition_overrides),
        ):
            resource = construct.node.default_child
            for path, value in overrides.items():
                resource.add_property_override(path, value)  # type: ignore[union-attr]

    # --- physical names -------------------------------------------------------------------------------------
    def _claim_names(self) -> None:
        """Refuse a physical name another WebApplication of this App already uses in the same account and
        region (CloudFormation would fail the second stack's deploy, or worse, both would own one resource)."""
        stack = Stack.of(self)
        names, service = self.names, self.props.service
        database = self.props.database
        database_props = database.props if database is not None else self.props.database_props_or_default()
        database_owner = database.node.path if database is not None else f"{self.node.path}/Database"
        claims = [
            ("names.service", "ECS service", service.service_name, self.node.path),
            ("names.service", "log group", service.log_group_name or names.log_group_name, self.node.path),
            ("names.service", "alarm topic", names.alarm_topic_name, self.node.path),
            ("names.service", "dashboard and web ACL", names.dashboard_name, self.node.path),
            ("names.service", "alarm", names.alarm_name("high-error-rate"), self.node.path),
            ("database", "cluster identifier", database_props.cluster_identifier, database_owner),
            ("database", "credentials secret", database_props.secret_name, database_owner),
        ]
        taken = _CLAIMED.setdefault(self.node.root, {})
        for field_name, kind, name, owner in claims:
            if Token.is_unresolved(name):
                continue
            key = (stack.account, stack.region, kind, name)
            if taken.setdefault(key, owner) != owner:
                raise PropsError(
                    field_name, name, f"the {kind} name is already used by {taken[key]} in the same account and region"
                )


#: App -> {(account, region, kind, name): construct path} of the names WebApplications have claimed.
_CLAIMED: "weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str, str], str]]" = weakref.WeakKeyDictionary()
