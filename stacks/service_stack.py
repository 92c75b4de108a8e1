"""``<Env>Service``: the ECS cluster, the Fargate service behind its ALB, and the stack outputs operators use.

Stateless: it can be recreated without touching data (the database lives in the data stack). The
outputs are what the seed's runbook needs: the ALB URL for ``/health`` and ``/version``, the cluster and the
service names for ``aws ecs describe-services``, the log group for ``aws logs tail``.
"""

from __future__ import annotations

from typing import Any, Optional

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ava_olo_constructs import (
    AuroraPostgresDatabase,
    AutoScalingProps,
    ConnectionPoolSettings,
    FargateWebServiceProps,
    ResourceNames,
    ServiceCluster,
    ServiceClusterProps,
    WebApplication,
    SecureParameterSecrets,
    SecureParameterSecretsProps,
    WebApplicationProps,
)
from ava_olo_constructs.web_application import MIGRATION_EXECUTION_ROLE, MIGRATION_TASK_ROLE

from .config import EnvironmentConfig
from .service_observability import runbook


def https_certificate(
    scope: Construct, config: EnvironmentConfig
) -> tuple[Optional[acm.ICertificate], Optional[route53.IHostedZone]]:
    """The certificate (and hosted zone) from ``config.https``; (None, None) for plain HTTP. No lookups: an
    ARN, an SSM parameter resolved at deploy time, or a zone given by id and name."""
    https = config.https
    if https is None:
        return None, None
    if https.certificate_arn:
        return acm.Certificate.from_certificate_arn(scope, "Certificate", https.certificate_arn), None
    if https.certificate_arn_parameter:
        arn = ssm.StringParameter.value_for_string_parameter(scope, https.certificate_arn_parameter)
        return acm.Certificate.from_certificate_arn(scope, "Certificate", arn), None
    zone = route53.HostedZone.from_hosted_zone_attributes(
        scope, "Zone", hosted_zone_id=https.hosted_zone_id, zone_name=https.hosted_zone_name
    )
    certificate = acm.Certificate(
        scope, "Certificate", domain_name=https.domain_name, validation=acm.CertificateValidation.from_dns(zone)
    )
    return certificate, zone


__all__ = ["MIGRATION_EXECUTION_ROLE", "MIGRATION_TASK_ROLE", "ServiceStack", "names_for"]


def names_for(config: EnvironmentConfig) -> ResourceNames:
    return ResourceNames(
        environment=config.name, service=config.service_name, project=config.project, seed_names=config.seed_names
    )


def container_image(scope: Construct, config: EnvironmentConfig) -> ecs.ContainerImage:
    """An ECR repository of the environment's own account (by name), or any registry's full image URI."""
    if config.image.is_ecr_repository_name:
        repository = ecr.Repository.from_repository_name(scope, "ImageRepository", config.image.repository)
        return ecs.ContainerImage.from_ecr_repository(repository, config.image.tag)
    return ecs.ContainerImage.from_registry(f"{config.image.repository}:{config.image.tag}")


class ServiceStack(Stack):
    """The environment's :class:`WebApplication` (under the id ``Default``, which CDK leaves out of logical IDs,
    so every resource keeps the ID it had at stack level) on its own cluster, with the database of the data
    stack, and the outputs operators use.

    Attributes: ``names``, ``cluster``, ``application``, ``web_service``, ``migration``, ``parameters``,
    ``log_key``, ``firewall``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        database: AuroraPostgresDatabase,
        encryption_key_secret: secretsmanager.ISecret,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.names = names = names_for(config)
        certificate, zone = https_certificate(self, config)
        image = container_image(self, config)
        secure = SecureParameterSecrets(self, "SecureParameters", SecureParameterSecretsProps(
            names=config.secure_parameters, kms_key_arn=config.secure_parameters_kms_key_arn)).secrets
        self.cluster = ServiceCluster(
            self, "Cluster", ServiceClusterProps(vpc=vpc, cluster_name=names.cluster_name)
        ).cluster
        self.application = WebApplication(
            self,
            "Default",
            WebApplicationProps(
                names=names,
                service=FargateWebServiceProps(
                    cluster=self.cluster,
                    image=image,
                    service_name=names.service_name,
                    app_version=config.version,
                    log_group_name=names.log_group_name,
                    task_family=config.task_family or names.task_family,
                    container_port=config.container_port,
                    cpu=config.cpu,
                    memory_mib=config.memory,
                    desired_count=config.desired_count,
                    health_check_path=config.health_check_path,
                    health_check_grace_period=Duration.seconds(config.health_check_grace_period_seconds),
                    deregistration_delay=Duration.seconds(config.deregistration_delay_seconds),
                    log_retention_days=config.log_retention_days,
                    # Kept on delete and replacement; removed again only if the first create fails (fixed name).
                    log_removal_policy=config.removal_policy,
                    deployment=config.deployment.settings(),
                    connection_pool=ConnectionPoolSettings(
                        pool_size=config.db_pool_size,
                        max_overflow=config.db_max_overflow,
                        recycle_seconds=config.db_pool_recycle_seconds,
                    ),
                    load_balancer_deletion_protection=config.load_balancer_deletion_protection,
                    secrets=secure,
                    certificate=certificate,
                    allow_plain_http=config.allow_plain_http,
                    domain_name=config.https.domain_name if config.https else None,
                    domain_zone=zone,
                ),
                database=database,
                extra_secrets={"ENCRYPTION_KEY": encryption_key_secret},
                extra_key_arns=[config.encryption_key_secret_kms_key_arn] if config.encryption_key_secret_kms_key_arn else [],
                scaling=AutoScalingProps(
                    min_count=config.min_count,
                    max_count=config.max_count,
                    cpu_target_percent=config.scaling_cpu_target_percent,
                    requests_per_target=config.scaling_requests_per_target,
                ),
                connection_reserve=config.database.connection_reserve,
                alarm_emails=config.alarm_emails,
                rate_limits=config.waf.rate_limits,
                firewall_log_retention_days=config.waf.log_retention_days,
                runbook=runbook(config, names),
                migration=True,
                parameters=True,
            ),
        )
        application = self.application
        self.web_service, self.log_key, self.firewall = application.web_service, application.log_key, application.firewall
        self.migration, self.parameters = application.migration, application.parameters
        assert self.migration is not None

        CfnOutput(self, "ServiceUrl", value=self.web_service.url,
                  description="Base URL of the service: GET /health and /version here.")
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name,
                  description="aws ecs describe-services --cluster <this> --services <ServiceName>")
        CfnOutput(self, "ServiceName", value=self.web_service.service.service_name,
                  description="The ECS service name.")
        CfnOutput(self, "TargetGroupArn", value=self.web_service.target_group.target_group_arn,
                  description="aws elbv2 describe-target-health --target-group-arn <this>")
        CfnOutput(self, "MigrationTaskDefinitionArn", value=self.migration.task_definition.task_definition_arn,
                  description="ava-olo migrate runs this task (RunTask), never a service")
        CfnOutput(self, "MigrationSubnetIds", value=Fn.join(",", self.migration.subnet_ids),
                  description=self.migration.subnets_description)
        CfnOutput(self, "MigrationSecurityGroupId", value=self.migration.security_group.security_group_id,
                  description="the migration task's security group (the service's: same database ingress)")
        CfnOutput(self, "MigrationLogGroupName", value=self.migration.log_group.log_group_name,
                  description="migration logs, stream migrate/migrate/<task id>")
        CfnOutput(self, "LogGroupName", value=self.web_service.log_group.log_group_name,
                  description="aws logs tail <this> --follow")
