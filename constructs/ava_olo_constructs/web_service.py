"""A Fargate service behind an internet-facing Application Load Balancer, deployed the seed's way.

Built on the L2 ``aws_ecs.FargateService`` with the load balancer, listeners and target groups wired here
(``ecs_patterns`` does not expose ECS's deployment strategies, aws-cdk #35467; README "Choices"), tuned by
:mod:`~ava_olo_constructs.web_service_defaults`:

* the ECS deployment strategy of :class:`~ava_olo_constructs.deployment_strategy.DeploymentSettings`: in the
  blue/green family (canary by default) an alternate target group, a production listener rule and a test
  listener rule on a separate port, a bake time and the pre-traffic check as a lifecycle hook; ``rolling``
  keeps the 100 % / 200 % in-place replacement. The circuit breaker rolls back in every strategy;
* deployment alarms with rollback in every strategy (``DeploymentConfiguration.Alarms``): the new revision's own
  error rate and unhealthy targets (:class:`~ava_olo_constructs.revision_alarms.RevisionAlarms`, 60 s periods),
  plus any alarms the caller adds; a canary without them would have nothing to roll it back;
* an explicit stop timeout for the web container (30 s): ECS sends SIGTERM, then SIGKILL after it, and the
  application's graceful shutdown (the reference service's gunicorn ``graceful_timeout`` 25 s) relies on it;
* target group health checks on ``/health`` every 30 s, 2 successes to be healthy (phase 5), and a 30 s
  deregistration delay instead of ELB's 300 s;
* container logs to ``/ecs/<service>`` with a retention ("Monitoring Commands");
* ``APP_VERSION`` for the ``/version`` endpoint and the seed's connection-pool settings in the environment
  ("Performance Best Practices" -> "Connection Pooling"); secrets only ever as ECS secrets ("Security Best
  Practices");
* no ``DesiredCount`` in the template once autoscaling manages the count (every stack update would otherwise
  scale the service back to it);
* ALB in public subnets, tasks in private subnets without public IPs, only ALB -> task on the container port.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import web_service_defaults as defaults
from .access_logs import AccessLogBucket, AccessLogBucketProps
from .alerts import AlertTopic
from .autoscaling import AutoScalingProps, attach_autoscaling
from .compliance import acknowledge, ignore_lint_check
from .container_environment import check_environment_names
from .deployment_strategy import DeploymentSettings
from .log_encryption import log_encryption_key
from .pre_traffic_hook import PreTrafficCheck, PreTrafficCheckProps, nat_public_ips
from .retention import retention_days
from .revision_alarms import RevisionAlarms, RevisionAlarmsProps
from .validation import (
    PropsError,
    check_fargate_size,
    check_log_retention,
    check_name,
    check_port,
    check_range,
    check_version,
    is_token,
)


@dataclass(frozen=True)
class ConnectionPoolSettings:
    """The application's SQLAlchemy pool, passed as ``DB_POOL_SIZE`` / ``DB_MAX_OVERFLOW`` / ``DB_POOL_RECYCLE``.

    Seed "Connection Pooling": ``pool_size`` 20, ``max_overflow`` 30, ``pool_recycle`` 300 s. The database
    configuration checks ``2 x max tasks x (pool_size + max_overflow)`` against the connection limit (connection_budget).
    """

    pool_size: int = defaults.DB_POOL_SIZE
    max_overflow: int = defaults.DB_MAX_OVERFLOW
    recycle_seconds: int = defaults.DB_POOL_RECYCLE_SECONDS

    def validate(self) -> None:
        check_range("pool_size", self.pool_size, 1, 1000)
        check_range("max_overflow", self.max_overflow, 0, 1000)
        check_range("recycle_seconds", self.recycle_seconds, 1, 86400)

    def environment(self) -> dict[str, str]:
        return {
            "DB_POOL_SIZE": str(self.pool_size),
            "DB_MAX_OVERFLOW": str(self.max_overflow),
            "DB_POOL_RECYCLE": str(self.recycle_seconds),
        }


@dataclass(frozen=True)
class FargateWebServiceProps:
    """Props for :class:`FargateWebService`. Required: ``cluster``, ``image``, ``service_name``, ``app_version``.

    :param cluster: ECS cluster (its VPC must have public and private-with-egress subnets).
    :param image: container image, e.g. ``ContainerImage.from_ecr_repository(repo, "v3.2.0")``.
    :param service_name: ECS service name, e.g. ``monitoring-dashboards``.
    :param app_version: deployed version in the seed's format; becomes ``APP_VERSION`` for ``/version``.
    :param log_group_name: container log group. Default ``/ecs/<service_name>``.
    :param task_family: task definition family. Default: CDK-generated.
    :param container_name: Default ``web``.
    :param container_port: Default 8080.
    :param cpu: task CPU units. Default 512 (seed). ``memory_mib``: default 1024 (seed).
    :param desired_count: Default 2. Rendered only without ``autoscaling``: with it, CloudFormation creates the
        service with its default of 1 task and Application Auto Scaling raises it to ``autoscaling.min_count`` as
        soon as the scalable target registers (same stack operation); later updates never touch the count.
    :param autoscaling: target-tracking bounds and targets. Default none (the count stays ``desired_count``).
    :param deployment: the ECS strategy and its settings. Default a canary (5 %, 10 min, bake 15 min).
    :param test_listener_port: the test listener of the blue/green family. Default 8443.
    :param test_listener_sources: CIDRs allowed on the test port. Default: the VPC's NAT gateways' Elastic IPs
        (``/32``), the source address of the pre-traffic check. Required (at least one) in the blue/green family
        when the VPC has no NAT gateways created in this app (an imported VPC, or egress by other means).
    :param revision_alarms: the built-in deployment alarms (:class:`RevisionAlarms`: the new revision's 5xx share
        and unhealthy targets, 60 s periods), watched by ECS with rollback in every strategy. Default True. With
        False only ``deployment_alarms`` are watched (none: no alarm rollback, which the
        ``AvaOlo-ServiceDeploymentSafety`` rule refuses for the blue/green family).
    :param alarm_name: ``purpose -> alarm name`` of the built-in alarms (purposes ``new-revision-errors`` and
        ``new-revision-unhealthy``), e.g. ``ResourceNames.alarm_name``. Default ``<service_name>-<purpose>``.
    :param alarm_topic: SNS topic the built-in deployment alarms notify (ALARM and OK). Default none: the alarms
        still roll back, but tell nobody (``AvaOlo-AlarmNotifies`` refuses that) unless the caller adds actions
        itself (``revision_alarms.all``, as :class:`WebApplication` does).
    :param deployment_alarms: more alarms ECS watches during a deployment (any in ALARM rolls back), e.g. your
        own :class:`RevisionAlarms` with other thresholds when ``revision_alarms`` is False. Default none.
    :param stop_timeout: seconds between ECS's SIGTERM and SIGKILL for the web container: the application's
        graceful shutdown must finish within it (the reference service's gunicorn ``graceful_timeout`` is 25 s).
        Default 30 s (ECS's own default, set explicitly); Fargate allows 2-120 s.
    :param health_check_path: Default ``/health``. ``health_check_interval``: default 30 s.
    :param healthy_threshold: Default 2. ``unhealthy_threshold``: default 3. ``health_check_timeout``: default 10 s.
    :param healthy_http_codes: Default ``200``.
    :param health_check_grace_period: Default 60 s (container start + first successful check).
    :param deregistration_delay: Default 30 s (ELB's own default is 300 s); ELB allows 0-3600 s.
    :param min_healthy_percent / max_healthy_percent: Default 100 / 200; ECS allows 0-100 / 100-200, the maximum
        above the minimum. (The rule pack's policy, not the construct, holds a team to 100 / 200.)
    :param log_retention_days: Default 30. ``log_removal_policy``: default RETAIN_ON_UPDATE_OR_DELETE (kept on
        delete and replacement, removed when the first create fails so the fixed name can be created again).
    :param connection_pool: Default the seed's 20 / 30 / 300.
    :param environment: extra non-secret environment. Default none. Secret-looking names are rejected.
    :param secrets: ECS secrets (Secrets Manager / SSM SecureString). Default none.
    :param certificate: ACM certificate: HTTPS on 443 with ``ssl_policy`` and HTTP redirected to it. Default none.
    :param allow_plain_http: serve plain HTTP on ``listener_port`` when there is no certificate. Default False:
        without a certificate the caller must say so explicitly (and the construct acknowledges the findings).
    :param domain_name / domain_zone: the service's DNS name (an alias record is created when a zone is given).
    :param ssl_policy: Default ``RECOMMENDED_TLS`` (TLS 1.3 + 1.2).
    :param listener_port: plain-HTTP listener port when there is no certificate. Default 80.
    :param log_encryption_key: KMS key of the log group. Default: the construct creates one (rotation on).
    :param load_balancer_deletion_protection: Default False. A stateless load balancer with deletion protection
        turns a failed first create into ROLLBACK_FAILED (CloudFormation cannot delete it); the stack's
        termination protection guards it instead. Turn it on where a stack must never remove it.
    :param idle_timeout: ALB idle timeout. Default 60 s.
    :param access_log_expiration_days: days the ALB access logs are kept. Default 90.
    :param access_log_removal_policy: the access-log bucket on stack deletion. Default RETAIN.
    """

    cluster: ecs.ICluster
    image: ecs.ContainerImage
    service_name: str
    app_version: str
    log_group_name: Optional[str] = None
    task_family: Optional[str] = None
    container_name: str = defaults.CONTAINER_NAME
    container_port: int = defaults.CONTAINER_PORT
    cpu: int = defaults.CPU
    memory_mib: int = defaults.MEMORY_MIB
    desired_count: int = defaults.DESIRED_COUNT
    health_check_path: str = defaults.HEALTH_CHECK_PATH
    health_check_interval: Duration = defaults.HEALTH_CHECK_INTERVAL
    healthy_threshold: int = defaults.HEALTHY_THRESHOLD
    unhealthy_threshold: int = defaults.UNHEALTHY_THRESHOLD
    health_check_timeout: Duration = defaults.HEALTH_CHECK_TIMEOUT
    healthy_http_codes: str = defaults.HEALTHY_HTTP_CODES
    health_check_grace_period: Duration = defaults.HEALTH_CHECK_GRACE_PERIOD
    deregistration_delay: Duration = defaults.DEREGISTRATION_DELAY
    min_healthy_percent: int = defaults.MIN_HEALTHY_PERCENT
    max_healthy_percent: int = defaults.MAX_HEALTHY_PERCENT
    log_retention_days: int = defaults.LOG_RETENTION_DAYS
    log_removal_policy: RemovalPolicy = defaults.LOG_REMOVAL_POLICY
    connection_pool: ConnectionPoolSettings = field(default_factory=ConnectionPoolSettings)
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, ecs.Secret] = field(default_factory=dict)
    listener_port: int = defaults.LISTENER_PORT
    certificate: Optional[acm.ICertificate] = None
    allow_plain_http: bool = False
    domain_name: Optional[str] = None
    domain_zone: Optional[route53.IHostedZone] = None
    ssl_policy: elbv2.SslPolicy = defaults.SSL_POLICY
    log_encryption_key: Optional[kms.IKey] = None
    load_balancer_deletion_protection: bool = False
    idle_timeout: Duration = defaults.IDLE_TIMEOUT
    access_log_expiration_days: int = defaults.ACCESS_LOG_EXPIRATION_DAYS
    access_log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    autoscaling: Optional[AutoScalingProps] = None
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)
    test_listener_port: int = defaults.TEST_LISTENER_PORT
    test_listener_sources: Optional[Sequence[str]] = None
    revision_alarms: bool = True
    alarm_name: Optional[Callable[[str], str]] = None
    alarm_topic: Optional[sns.ITopic] = None
    deployment_alarms: Sequence[cloudwatch.IAlarm] = ()
    stop_timeout: Duration = defaults.STOP_TIMEOUT

    def validate(self) -> None:
        """Raise :class:`PropsError` for the first invalid field (before any resource is created)."""
        check_name("service_name", self.service_name, max_length=255)
        check_version("app_version", self.app_version)
        check_name("container_name", self.container_name, max_length=255)
        check_port("container_port", self.container_port)
        check_port("listener_port", self.listener_port)
        check_port("test_listener_port", self.test_listener_port)
        if self.test_listener_port in (self.listener_port, defaults.HTTPS_PORT):
            raise PropsError("test_listener_port", self.test_listener_port, "a port other than the production listener's")
        self.deployment.validate("deployment.")
        if self.autoscaling is not None:
            self.autoscaling.validate()
        check_fargate_size(self.cpu, self.memory_mib, memory_field="memory_mib")
        check_range("desired_count", self.desired_count, 1, 1000)
        if not self.health_check_path.startswith("/"):
            raise PropsError("health_check_path", self.health_check_path, "an absolute path such as /health")
        check_range("healthy_threshold", self.healthy_threshold, 2, 10, "ELB's limits")
        check_range("unhealthy_threshold", self.unhealthy_threshold, 2, 10, "ELB's limits")
        interval = _seconds(self.health_check_interval)
        timeout = _seconds(self.health_check_timeout)
        check_range("health_check_interval", interval, 5, 300, "seconds, ELB's limits")
        check_range("health_check_timeout", timeout, 2, 120, "seconds, ELB's limits")
        if timeout >= interval:
            raise PropsError("health_check_timeout", timeout, f"must be shorter than the interval ({interval} s)")
        check_range("deregistration_delay", _seconds(self.deregistration_delay), *defaults.DEREGISTRATION_DELAY_LIMITS_SECONDS, "seconds, ELB's limits")
        check_range("health_check_grace_period", _seconds(self.health_check_grace_period), 0, 2147483647)
        check_range("min_healthy_percent", self.min_healthy_percent, *defaults.MIN_HEALTHY_PERCENT_LIMITS, "ECS's limits")
        check_range("max_healthy_percent", self.max_healthy_percent, *defaults.MAX_HEALTHY_PERCENT_LIMITS, "ECS's limits")
        if not is_token(self.min_healthy_percent) and not is_token(self.max_healthy_percent):
            if self.max_healthy_percent <= self.min_healthy_percent:
                raise PropsError(
                    "max_healthy_percent", self.max_healthy_percent,
                    f"must be above min_healthy_percent {self.min_healthy_percent} (ECS could not replace a task)",
                )  # fmt: skip
        check_range("stop_timeout", _seconds(self.stop_timeout), 2, 120, "seconds, Fargate's limits")
        self._check_test_listener_sources()
        check_log_retention("log_retention_days", self.log_retention_days)
        check_range("access_log_expiration_days", self.access_log_expiration_days, 1, 3650)
        self.connection_pool.validate()
        check_environment_names(self.environment, self.secrets)
        reserved = set(self.connection_pool.environment()) | {"APP_VERSION"}
        clash = sorted(reserved & (set(self.environment) | set(self.secrets)))
        if clash:
            raise PropsError("environment", clash[0], "set by the construct itself (APP_VERSION, DB_POOL_*)")
        if self.certificate is None and not self.allow_plain_http:
            raise PropsError(
                "certificate", None, "an ACM certificate for HTTPS, or allow_plain_http=True to serve plain HTTP deliberately"
            )

    def _check_test_listener_sources(self) -> None:
        if not self.deployment.shifts_traffic:
            return
        if self.test_listener_sources is None:
            vpc = getattr(self.cluster, "vpc", None)
            if vpc is not None and not nat_public_ips(vpc):
                raise PropsError(
                    "test_listener_sources",
                    None,
                    f"required for the {self.deployment.strategy} strategy when the VPC has no NAT gateways created "
                    "in this app: give the CIDRs the pre-traffic check calls the test listener from (e.g. your NAT "
                    "gateways' addresses as /32)",
                )
            return
        sources = list(self.test_listener_sources)
        if not sources:
            raise PropsError("test_listener_sources", sources, "at least one CIDR the pre-traffic check calls from")
        for cidr in sources:
            if is_token(cidr):
                continue
            try:
                ipaddress.IPv4Network(cidr)
            except ValueError:
                raise PropsError("test_listener_sources", cidr, "an IPv4 network such as 203.0.113.7/32") from None

    def built_in_alarm_name(self, purpose: str) -> str:
        """The name of a built-in deployment alarm (``alarm_name``, else ``<service_name>-<purpose>``)."""
        return self.alarm_name(purpose) if self.alarm_name is not None else f"{self.service_name}-{purpose}"


def _seconds(duration: Duration) -> int:
    return int(duration.to_seconds())


#: Purposes of the built-in deployment alarms (:class:`RevisionAlarms`), in the order ECS lists them.
DEPLOYMENT_ALARM_PURPOSES = ("new-revision-errors", "new-revision-unhealthy")

#: The AWS-managed policy ECS's blue/green family needs to move listener rules between target groups.
LOAD_BALANCER_INFRASTRUCTURE_POLICY = "service-role/AmazonECSInfrastructureRolePolicyForLoadBalancers"


class FargateWebService(Construct):
    """Fargate service + ALB + target group(s) with the seed's deployment practices.

    Attributes: ``service``, ``task_definition``, ``container``, ``target_group``, ``alternate_target_group``
    (None for rolling), ``target_groups``, ``load_balancer``, ``listener``, ``test_listener`` (None for
    rolling), ``pre_traffic_check`` (None for rolling), ``scaling`` (None without autoscaling),
    ``revision_alarms`` (None when turned off), ``deployment_alarms`` (every alarm ECS watches), ``log_group``,
    ``log_key``, ``access_log_bucket``, ``service_security_group``, ``load_balancer_security_group``, ``url``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: FargateWebServiceProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.props = props
        vpc = props.cluster.vpc
        deployment = props.deployment

        self.log_key = props.log_encryption_key or log_encryption_key(
            self, "LogKey", description=f"{props.service_name}: container logs"
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=self.log_key,
            log_group_name=props.log_group_name or f"/ecs/{props.service_name}",
            retention=retention_days(props.log_retention_days),
            removal_policy=props.log_removal_policy,
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.DEFENSIVE,
            idle_timeout=props.idle_timeout,
            deletion_protection=props.load_balancer_deletion_protection,
        )
        self.access_log_bucket = AccessLogBucket(
            self,
            "AccessLogs",
            AccessLogBucketProps(
                expiration_days=props.access_log_expiration_days, removal_policy=props.access_log_removal_policy
            ),
        ).bucket
        self.load_balancer.log_access_logs(self.access_log_bucket, prefix=props.service_name)

        # The service's own scope keeps the logical ids of the ecs_patterns layout this replaced
        # (WebService/Service/TaskDef, WebService/Service/Service): the named service is updated, not replaced.
        service_scope = Construct(self, "Service")
        self.task_definition = ecs.FargateTaskDefinition(
            service_scope, "TaskDef", cpu=props.cpu, memory_limit_mib=props.memory_mib, family=props.task_family
        )
        environment = {"APP_VERSION": props.app_version, **props.connection_pool.environment(), **props.environment}
        self.container = self.task_definition.add_container(
            props.container_name,
            image=props.image,
            environment=environment,
            secrets=dict(props.secrets) or None,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=props.service_name, log_group=self.log_group),
            port_mappings=[ecs.PortMapping(container_port=props.container_port)],
            stop_timeout=props.stop_timeout,
        )
        self.service = ecs.FargateService(
            service_scope,
            "Service",
            cluster=props.cluster,
            task_definition=self.task_definition,
            service_name=props.service_name,
            desired_count=None if props.autoscaling is not None else props.desired_count,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            min_healthy_percent=props.min_healthy_percent,
            max_healthy_percent=props.max_healthy_percent,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=defaults.CIRCUIT_BREAKER_ROLLBACK),
            health_check_grace_period=props.health_check_grace_period,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            **deployment.service_options(),
        )
        self.service_security_group = self.service.connections.security_groups[0]
        self.load_balancer_security_group = self.load_balancer.connections.security_groups[0]

        self.target_group = self._target_group("TargetGroup")
        self.listener = self._production_listener()
        self.alternate_target_group: Optional[elbv2.ApplicationTargetGroup] = None
        self.test_listener: Optional[elbv2.ApplicationListener] = None
        self.pre_traffic_check: Optional[PreTrafficCheck] = None
        target = self.service.load_balancer_target(container_name=props.container_name, container_port=props.container_port)
        if deployment.shifts_traffic:
            self.alternate_target_group = self._target_group("AlternateTargetGroup")
            groups = [self.target_group, self.alternate_target_group]
            production_rule = self._forward_rule("ProductionRule", self.listener, groups)
            self.test_listener = self._test_listener()
            test_rule = self._forward_rule("TestRule", self.test_listener, groups)
            self.deployment_role = iam.Role(
                self,
                "DeploymentRole",
                assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
                description="ECS moves the listener rules between the target groups during deployments",
                managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(LOAD_BALANCER_INFRASTRUCTURE_POLICY)],
            )
            target = self.service.load_balancer_target(
                container_name=props.container_name,
                container_port=props.container_port,
                alternate_target=ecs.AlternateTarget(
                    "AlternateTarget",
                    alternate_target_group=self.alternate_target_group,
                    production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(production_rule),
                    test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(test_rule),
                    role=self.deployment_role,
                ),
            )
            self._add_pre_traffic_check()
            ignore_lint_check(
                self.service,
                "W3005",
                "CDK makes the service depend on whatever attaches its target group to the load balancer (ECS needs "
                "that first); here those are the listener rules the service also references, a harmless duplicate.",
            )
        else:
            self.listener.add_target_groups("Forward", target_groups=[self.target_group])
        target.attach_to_application_target_group(self.target_group)
        self.target_groups = [g for g in (self.target_group, self.alternate_target_group) if g is not None]
        if props.domain_zone is not None and props.domain_name:
            route53.ARecord(
                service_scope,
                "DNS",
                zone=props.domain_zone,
                record_name=props.domain_name,
                target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.load_balancer)),
            )
        self.scaling = (
            attach_autoscaling(self.service, self.target_groups, props.autoscaling) if props.autoscaling else None
        )
        self._enable_deployment_alarms()
        self._acknowledge_inherent_findings()

    def _enable_deployment_alarms(self) -> None:
        """ECS rolls back (a traffic shift in the blue/green family) when a deployment alarm fires."""
        props = self.props
        self.revision_alarms: Optional[RevisionAlarms] = None
        names: list[str] = []
        if props.revision_alarms:
            self.revision_alarms = RevisionAlarms(
                self,
                "RevisionAlarms",
                RevisionAlarmsProps(target_groups=self.target_groups, name=props.built_in_alarm_name),
            )
            # Plain-string names; the service is created after its alarms so that ECS never references an alarm
            # that does not exist yet.
            names += [props.built_in_alarm_name(purpose) for purpose in DEPLOYMENT_ALARM_PURPOSES]
            self.service.node.add_dependency(*self.revision_alarms.all)
            if props.alarm_topic is not None:
                for alarm in self.revision_alarms.all:
                    AlertTopic.notify(alarm, props.alarm_topic)
        names += [alarm.alarm_name for alarm in props.deployment_alarms]  # a Ref: the dependency comes with it
        #: The alarms ECS watches during a deployment (built-in first, then ``deployment_alarms``).
        self.deployment_alarms: list[cloudwatch.IAlarm] = [
            *(self.revision_alarms.all if self.revision_alarms else []), *props.deployment_alarms
        ]
        if names:
            self.service.enable_deployment_alarms(names, behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM)

    def _target_group(self, construct_id: str) -> elbv2.ApplicationTargetGroup:
        props = self.props
        return elbv2.ApplicationTargetGroup(
            self,
            construct_id,
            vpc=self.props.cluster.vpc,
            port=props.container_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=props.deregistration_delay,
            health_check=elbv2.HealthCheck(
                path=props.health_check_path,
                interval=props.health_check_interval,
                timeout=props.health_check_timeout,
                healthy_threshold_count=props.healthy_threshold,
                unhealthy_threshold_count=props.unhealthy_threshold,
                healthy_http_codes=props.healthy_http_codes,
            ),
        )

    def _listener_settings(self) -> dict:
        props = self.props
        if props.certificate is None:
            return dict(protocol=elbv2.ApplicationProtocol.HTTP)
        return dict(protocol=elbv2.ApplicationProtocol.HTTPS, certificates=[props.certificate], ssl_policy=props.ssl_policy)

    def _production_listener(self) -> elbv2.ApplicationListener:
        props = self.props
        port = defaults.HTTPS_PORT if props.certificate is not None else props.listener_port
        listener = self.load_balancer.add_listener(
            "PublicListener",
            port=port,
            open=True,
            default_action=(
                elbv2.ListenerAction.fixed_response(404, content_type="text/plain", message_body="Not found")
                if props.deployment.shifts_traffic
                else None
            ),
            **self._listener_settings(),
        )
        if props.certificate is not None:
            self.load_balancer.add_listener(
                "PublicRedirectListener",
                port=props.listener_port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=True,
                default_action=elbv2.ListenerAction.redirect(
                    port=str(defaults.HTTPS_PORT), protocol="HTTPS", permanent=True
                ),
            )
        return listener

    def _test_listener(self) -> elbv2.ApplicationListener:
        """The test listener: ECS points it at the new revision before any production traffic; only the NAT
        gateways' addresses (where the pre-traffic check comes from) may reach it."""
        props = self.props
        listener = self.load_balancer.add_listener(
            "TestListener",
            port=props.test_listener_port,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(404, content_type="text/plain", message_body="Not found"),
            **self._listener_settings(),
        )
        # validate() has refused an empty list and a VPC without NAT gateways (no sources to default to).
        sources = list(props.test_listener_sources) if props.test_listener_sources is not None else [
            f"{ip}/32" for ip in nat_public_ips(props.cluster.vpc)
        ]
        # One ingress resource per address (not inline in the security group): the NAT addresses are only known
        # at deploy time, so the rules are acknowledged exactly where cdk-nag cannot read them.
        for index, cidr in enumerate(sources, start=1):
            ingress = ec2.CfnSecurityGroupIngress(
                self,
                f"TestListenerFromNat{index}",
                group_id=self.load_balancer_security_group.security_group_id,
                ip_protocol="tcp",
                from_port=props.test_listener_port,
                to_port=props.test_listener_port,
                cidr_ip=cidr,
                description="test listener: the pre-traffic check, from a NAT gateway's address",
            )
            for rule in ("NIST.800.53.R5-EC2RestrictedCommonPorts", "NIST.800.53.R5-EC2RestrictedSSH", "AwsSolutions-EC23"):
                acknowledge(
                    ingress,
                    rule,
                    f"This rule opens only the test listener's port {props.test_listener_port} to one NAT gateway "
                    "address (/32), which CloudFormation resolves at deploy time, so cdk-nag cannot read the "
                    "address; it is never open to 0.0.0.0/0, SSH or another common port.",
                )
        return listener

    def _forward_rule(
        self, construct_id: str, listener: elbv2.ApplicationListener, groups: list[elbv2.ApplicationTargetGroup]
    ) -> elbv2.ApplicationListenerRule:
        """Every path to the serving target group (weight 100) and its alternate (weight 0); ECS changes the
        weights during a deployment. The rule stays the same template after template, so that CloudFormation
        never resets the weights ECS set."""
        return elbv2.ApplicationListenerRule(
            self,
            construct_id,
            listener=listener,
            priority=1,
            conditions=[elbv2.ListenerCondition.path_patterns(["/*"])],
            action=elbv2.ListenerAction.weighted_forward(
                [elbv2.WeightedTargetGroup(target_group=groups[0], weight=100),
                 elbv2.WeightedTargetGroup(target_group=groups[1], weight=0)]
            ),
        )

    def _add_pre_traffic_check(self) -> None:
        props = self.props
        base = props.domain_name or self.load_balancer.load_balancer_dns_name
        scheme = "https" if props.certificate else "http"
        self.pre_traffic_check = PreTrafficCheck(
            self,
            "PreTrafficCheck",
            PreTrafficCheckProps(
                vpc=props.cluster.vpc,
                test_url=f"{scheme}://{base}:{props.test_listener_port}",
                expected_version=props.app_version,
                log_encryption_key=self.log_key,
                log_retention_days=props.log_retention_days,
                log_removal_policy=props.log_removal_policy,
                log_group_name=f"{props.log_group_name or f'/ecs/{props.service_name}'}-pre-traffic-check",
                test_port=props.test_listener_port,
            ),
        )
        self.service.add_lifecycle_hook(self.pre_traffic_check.hook)

    @property
    def url(self) -> str:
        """``https://<domain>`` (or ``https://<alb dns>``) with a certificate, else ``http://<alb dns>``."""
        host = self.props.domain_name or self.load_balancer.load_balancer_dns_name
        return f"{'https' if self.props.certificate else 'http'}://{host}"

    def _acknowledge_inherent_findings(self) -> None:
        """Findings that follow from what this construct is; each is acknowledged on the exact resource."""
        if self.props.certificate is None:
            reason = (
                "The caller chose plain HTTP explicitly (allow_plain_http) for a service without a certificate; "
                "the AVA OLO configuration allows that only where no real data is kept (retain_data false)."
            )
            for listener in (self.listener, self.test_listener):
                if listener is not None:
                    acknowledge(listener, "NIST.800.53.R5-ALBHttpToHttpsRedirection", reason)
                    acknowledge(listener, "NIST.800.53.R5-ELBv2ACMCertificateRequired", reason)
        else:
            redirect = self.load_balancer.node.try_find_child("PublicRedirectListener")
            if redirect is not None:
                acknowledge(
                    redirect,
                    "NIST.800.53.R5-ELBv2ACMCertificateRequired",
                    "This plain-HTTP listener's only action is a permanent redirect to HTTPS on port 443; it serves "
                    "no content, so it has no certificate to present.",
                )
        if self.task_definition.execution_role is not None:
            acknowledge(
                self.task_definition.execution_role,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "CDK's generated policy gives only this execution role exactly the image, log group, secrets and "
                "key it needs; a managed policy would add a reusable object without narrowing anything.",
            )
        if not self.props.load_balancer_deletion_protection:
            acknowledge(
                self.load_balancer,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                "Deletion protection is off so that a failed first create can roll back instead of ending in "
                "ROLLBACK_FAILED; the load balancer holds no data, is recreated from the template, and the stack's "
                "termination protection keeps it from being deleted with the stack.",
            )
        if self.alternate_target_group is not None:
            acknowledge(
                self.deployment_role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{LOAD_BALANCER_INFRASTRUCTURE_POLICY}]",
                "ECS's blue/green, canary and linear deployments use this AWS-maintained policy to move listener "
                "rules between the two target groups; AWS updates it as ECS's needs change, which a copy would not.",
            )
        bucket = self.access_log_bucket
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketLoggingEnabled",
            "This bucket only receives load balancer access logs; logging access to it would need another log "
            "bucket that in turn needs one, and reads of it are audited by CloudTrail instead.",
        )
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "Elastic Load Balancing writes access logs only to buckets encrypted with S3-managed keys (SSE-S3), "
            "per its access-log documentation; the bucket is encrypted, private and TLS-only.",
        )
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Access logs are operational records kept 90 days for incident review; a second-region copy would "
            "double their cost without protecting any farmer data.",
        )
        acknowledge(
            self.load_balancer_security_group,
            "AwsSolutions-EC23",
            "The load balancer is the service's public entry point for farmers everywhere, so its listener "
            "accepts any address; the tasks behind it accept traffic only from this security group.",
        )
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The container environment holds only non-secret settings (APP_VERSION and the connection-pool "
            "sizes); the construct rejects secret-looking names and passes credentials as ECS secrets.",
        )
        if self.task_definition.execution_role is not None:
            acknowledge(
                self.task_definition.execution_role,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions, so IAM requires Resource '*'; "
                "image pulls themselves are limited to the service's repository.",
            )
