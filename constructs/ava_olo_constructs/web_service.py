"""A Fargate service behind an internet-facing Application Load Balancer, deployed the seed's way.

Built on ``aws_ecs_patterns.ApplicationLoadBalancedFargateService`` (the well-kept AWS pattern) and tuned by
:mod:`~ava_olo_constructs.web_service_defaults`:

* rolling deploys with the new task beside the old one (100 % / 200 %) and a circuit breaker that rolls back
  ("ECS Deployment Timeline", phases 4 and 6; "If task keeps restarting, rollback");
* target group health checks on ``/health`` every 30 s, 2 successes to be healthy (phase 5), and a 30 s
  deregistration delay instead of ELB's 300 s;
* container logs to ``/ecs/<service>`` with a retention ("Monitoring Commands");
* ``APP_VERSION`` for the ``/version`` endpoint and the seed's connection-pool settings in the environment
  ("Performance Best Practices" -> "Connection Pooling"); secrets only ever as ECS secrets ("Security Best
  Practices");
* ALB in public subnets, tasks in private subnets without public IPs, only ALB -> task on the container port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from . import web_service_defaults as defaults
from .access_logs import AccessLogBucket, AccessLogBucketProps
from .compliance import acknowledge, ignore_lint_check
from .container_environment import check_environment_names
from .log_encryption import log_encryption_key
from .retention import retention_days
from .validation import (
    PropsError,
    check_fargate_size,
    check_log_retention,
    check_name,
    check_port,
    check_range,
    check_version,
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
    :param desired_count: Default 2.
    :param health_check_path: Default ``/health``. ``health_check_interval``: default 30 s.
    :param healthy_threshold: Default 2. ``unhealthy_threshold``: default 3. ``health_check_timeout``: default 10 s.
    :param healthy_http_codes: Default ``200``.
    :param health_check_grace_period: Default 60 s (container start + first successful check).
    :param deregistration_delay: Default 30 s; at most 30 s.
    :param min_healthy_percent / max_healthy_percent: Default 100 / 200.
    :param log_retention_days: Default 30. ``log_removal_policy``: default RETAIN.
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
    :param load_balancer_deletion_protection: Default False; production stacks turn it on.
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

    def validate(self) -> None:
        """Raise :class:`PropsError` for the first invalid field (before any resource is created)."""
        check_name("service_name", self.service_name, max_length=255)
        check_version("app_version", self.app_version)
        check_name("container_name", self.container_name, max_length=255)
        check_port("container_port", self.container_port)
        check_port("listener_port", self.listener_port)
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
        check_range(
            "deregistration_delay",
            _seconds(self.deregistration_delay),
            0,
            defaults.MAX_DEREGISTRATION_DELAY_SECONDS,
            "seconds; longer draining stretches the seed's health/traffic-switch phase",
        )
        check_range("health_check_grace_period", _seconds(self.health_check_grace_period), 0, 2147483647)
        check_range("min_healthy_percent", self.min_healthy_percent, 100, 100, "the old task serves until the new one is healthy")
        check_range("max_healthy_percent", self.max_healthy_percent, 200, 400, "room for the new tasks beside the old")
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


def _listener_options(props: FargateWebServiceProps) -> dict:
    if props.certificate is None:
        return dict(listener_port=props.listener_port, protocol=elbv2.ApplicationProtocol.HTTP)
    return dict(
        listener_port=defaults.HTTPS_PORT,
        protocol=elbv2.ApplicationProtocol.HTTPS,
        certificate=props.certificate,
        ssl_policy=props.ssl_policy,
        redirect_http=True,
        domain_name=props.domain_name if props.domain_zone else None,
        domain_zone=props.domain_zone,
    )


def _seconds(duration: Duration) -> int:
    return int(duration.to_seconds())


class FargateWebService(Construct):
    """Fargate service + ALB + target group with the seed's deployment practices.

    Attributes: ``service``, ``task_definition``, ``container``, ``target_group``, ``load_balancer``,
    ``listener``, ``log_group``, ``log_key``, ``access_log_bucket``, ``service_security_group``,
    ``load_balancer_security_group``, ``url`` and ``pattern``
    (the underlying ``ApplicationLoadBalancedFargateService``, for anything not wrapped here).
    """

    def __init__(self, scope: Construct, construct_id: str, props: FargateWebServiceProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.props = props
        vpc = props.cluster.vpc

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

        environment = {"APP_VERSION": props.app_version, **props.connection_pool.environment(), **props.environment}
        self.pattern = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=props.cluster,
            service_name=props.service_name,
            cpu=props.cpu,
            memory_limit_mib=props.memory_mib,
            desired_count=props.desired_count,
            load_balancer=self.load_balancer,
            open_listener=True,
            **_listener_options(props),
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            min_healthy_percent=props.min_healthy_percent,
            max_healthy_percent=props.max_healthy_percent,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=defaults.CIRCUIT_BREAKER_ROLLBACK),
            health_check_grace_period=props.health_check_grace_period,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=props.image,
                container_name=props.container_name,
                container_port=props.container_port,
                family=props.task_family,
                environment=environment,
                secrets=dict(props.secrets) or None,
                log_driver=ecs.LogDrivers.aws_logs(stream_prefix=props.service_name, log_group=self.log_group),
            ),
        )

        self.service = self.pattern.service
        self.task_definition = self.pattern.task_definition
        self.container = self.task_definition.default_container
        self.listener = self.pattern.listener
        self.target_group = self.pattern.target_group
        self.service_security_group = self.service.connections.security_groups[0]
        self.load_balancer_security_group = self.load_balancer.connections.security_groups[0]

        self.target_group.configure_health_check(
            path=props.health_check_path,
            interval=props.health_check_interval,
            timeout=props.health_check_timeout,
            healthy_threshold_count=props.healthy_threshold,
            unhealthy_threshold_count=props.unhealthy_threshold,
            healthy_http_codes=props.healthy_http_codes,
        )
        self.target_group.set_attribute(
            "deregistration_delay.timeout_seconds", str(_seconds(props.deregistration_delay))
        )
        ignore_lint_check(
            self.service,
            "W3005",
            "The pattern makes the service depend on the listener (ECS needs it first), which also renders a "
            "DependsOn on the target group the service already references; the duplicate is harmless.",
        )
        self._acknowledge_inherent_findings()

    @property
    def url(self) -> str:
        """``https://<domain>`` (or ``https://<alb dns>``) with a certificate, else ``http://<alb dns>``."""
        host = self.props.domain_name or self.load_balancer.load_balancer_dns_name
        return f"{'https' if self.props.certificate else 'http'}://{host}"

    def _acknowledge_inherent_findings(self) -> None:
        """Findings that follow from what this construct is; each is acknowledged on the exact resource."""
        if self.props.certificate is None:
            reason = (
                "The caller chose plain HTTP deliberately (allow_plain_http) because this environment has no "
                "certificate yet; configuration refuses that for production, which always serves HTTPS."
            )
            acknowledge(self.listener, "NIST.800.53.R5-ALBHttpToHttpsRedirection", reason)
            acknowledge(self.listener, "NIST.800.53.R5-ELBv2ACMCertificateRequired", reason)
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
                "The caller turned deletion protection off for an environment that is torn down routinely; the "
                "load balancer holds no data and is recreated from the template, and production keeps it on.",
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
