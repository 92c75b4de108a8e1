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
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ava_olo_constructs import (
    AuroraPostgresDatabase,
    ConnectionPoolSettings,
    FargateWebService,
    FargateWebServiceProps,
    ResourceNames,
    ServiceCluster,
    ServiceClusterProps,
    ServiceParameters,
    WebApplicationFirewall,
    WebApplicationFirewallProps,
    secure_parameter_secrets,
)
from ava_olo_constructs.log_encryption import log_encryption_key
from ava_olo_constructs.migration_task import MigrationTask, MigrationTaskProps
from ava_olo_constructs.rotation_redeploy import RedeployOnSecretRotation

from .config import EnvironmentConfig
from .service_observability import add_observability


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


def database_secrets(
    scope: Construct, database: AuroraPostgresDatabase, encryption_key: secretsmanager.ISecret
) -> dict[str, ecs.Secret]:
    """The container's database connection and ENCRYPTION_KEY, as ECS secrets (JSON fields of the generated
    credentials secret). ECS resolves them at task start; the task definition never contains the values.

    The secrets and their KMS key live in the data stack. They are referenced here by ARN so that the read
    grants land in this stack's execution-role policy (exact secret ARNs, kms:Decrypt via Secrets Manager) rather
    than in the data stack's key policy, which would make the data stack depend on the service stack.
    """
    assert database.secret is not None, "the database construct always generates its credentials secret"
    key = kms.Key.from_key_arn(scope, "DatabaseKey", database.kms_key.key_arn)
    credentials = secretsmanager.Secret.from_secret_attributes(
        scope, "DatabaseCredentials", secret_complete_arn=database.secret.secret_full_arn, encryption_key=key
    )
    if isinstance(encryption_key, secretsmanager.Secret):  # generated in the data stack (else: imported ARN)
        encryption_key = secretsmanager.Secret.from_secret_attributes(
            scope, "EncryptionKeySecret", secret_complete_arn=encryption_key.secret_full_arn, encryption_key=key
        )
    fields = {"DB_HOST": "host", "DB_PORT": "port", "DB_NAME": "dbname", "DB_USER": "username", "DB_PASSWORD": "password"}
    secrets = {variable: ecs.Secret.from_secrets_manager(credentials, field) for variable, field in fields.items()}
    secrets["ENCRYPTION_KEY"] = ecs.Secret.from_secrets_manager(encryption_key)
    return secrets


class ServiceStack(Stack):
    """Attributes: ``names``, ``cluster``, ``web_service``, ``migration``, ``parameters``, ``observability``."""

    def _decrypt_secrets(self, key_arns: list[str]) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=key_arns,
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}},
        )

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
        self.log_key = log_encryption_key(self, "LogKey", description=f"{names.service_name}: service and WAF logs")
        certificate, zone = https_certificate(self, config)
        secrets = database_secrets(self, database, encryption_key_secret)
        image = container_image(self, config)
        secrets.update(
            secure_parameter_secrets(
                self, config.secure_parameters, kms_key_arn=config.secure_parameters_kms_key_arn
            )
        )
        self.cluster = ServiceCluster(
            self, "Cluster", ServiceClusterProps(vpc=vpc, cluster_name=names.cluster_name)
        ).cluster

        self.web_service = FargateWebService(
            self,
            "WebService",
            FargateWebServiceProps(
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
                log_removal_policy=config.removal_policy,
                connection_pool=ConnectionPoolSettings(
                    pool_size=config.db_pool_size,
                    max_overflow=config.db_max_overflow,
                    recycle_seconds=config.db_pool_recycle_seconds,
                ),
                load_balancer_deletion_protection=config.load_balancer_deletion_protection,
                secrets=secrets,
                certificate=certificate,
                allow_plain_http=certificate is None,
                domain_name=config.https.domain_name if config.https else None,
                domain_zone=zone,
                log_encryption_key=self.log_key,
            ),
        )
        self.firewall = WebApplicationFirewall(
            self,
            "Firewall",
            WebApplicationFirewallProps(
                name=names.dashboard_name,
                resource_arn=self.web_service.load_balancer.load_balancer_arn,
                log_encryption_key=self.log_key,
                rate_limits=config.waf.rate_limits,
                log_retention_days=config.waf.log_retention_days,
                log_removal_policy=config.removal_policy,
            ),
        )
        database.allow_from(self.web_service.service)
        RedeployOnSecretRotation(
            self,
            "RedeployOnRotation",
            secret_arn=database.secret.secret_arn,
            service=self.web_service.service,
            log_encryption_key=self.log_key,
        )
        # The secrets are encrypted with the data stack's KMS key (and an operator's ENCRYPTION_KEY secret
        # possibly with a key of its own). Secrets Manager decrypts on the caller's behalf, so the execution
        # role needs kms:Decrypt on exactly those keys, and only via Secrets Manager. (CDK drops this grant
        # silently for a key referenced across stacks, hence explicit.)
        self.secret_keys = [database.kms_key.key_arn]
        if config.encryption_key_secret_kms_key_arn:
            self.secret_keys.append(config.encryption_key_secret_kms_key_arn)
        self.web_service.task_definition.obtain_execution_role().add_to_principal_policy(
            self._decrypt_secrets(self.secret_keys)
        )

        # Schema migrations run as a one-off task of the same image and secrets (``ava-olo migrate``), from
        # the service's security group, so they reach the database through the same single ingress rule.
        self.migration = MigrationTask(
            self,
            "Migration",
            MigrationTaskProps(
                cluster=self.cluster,
                image=image,
                secrets=secrets,
                secrets_encryption_key=database.kms_key,
                security_group=self.web_service.service_security_group,
                log_encryption_key=self.log_key,
                log_group_name=f"{names.log_group_name}-migrate",
                log_retention_days=config.log_retention_days,
                log_removal_policy=config.removal_policy,
                family=f"{config.task_family or names.task_family}-migrate",
                cpu=config.cpu,
                memory_mib=config.memory,
            ),
        )

        if config.encryption_key_secret_kms_key_arn:
            self.migration.task_definition.obtain_execution_role().add_to_principal_policy(
                self._decrypt_secrets([config.encryption_key_secret_kms_key_arn])
            )

        self.observability = add_observability(
            self, config=config, names=names, web_service=self.web_service, database=database
        )

        CfnOutput(self, "ServiceUrl", value=self.web_service.url,
                  description="Base URL of the service: GET /health and /version here.")
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name,
                  description="aws ecs describe-services --cluster <this> --services <ServiceName>")
        CfnOutput(self, "ServiceName", value=self.web_service.service.service_name,
                  description="The ECS service name.")
        service_url = self.web_service.url
        self.parameters = ServiceParameters(
            self,
            "Parameters",
            prefix=names.parameter_prefix,
            values={
                "version": config.version,
                "service-url": service_url,
                "db-pool-size": str(config.db_pool_size),
                "db-max-overflow": str(config.db_max_overflow),
                "db-pool-recycle": str(config.db_pool_recycle_seconds),
                "db-endpoint": database.cluster.cluster_endpoint.hostname,
                "db-reader-endpoint": database.cluster.cluster_read_endpoint.hostname,
                "db-name": config.database.database_name,
                "db-credentials-secret": database.props.secret_name,
            },
        )
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
