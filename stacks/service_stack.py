"""``<Env>Service``: the ECS cluster, the Fargate service behind its ALB, and the stack outputs operators use.

Stateless: it can be recreated without touching data (the database lives in its own stack, issue 3). The
outputs are what the seed's runbook needs: the ALB URL for ``/health`` and ``/version``, the cluster and the
service names for ``aws ecs describe-services``, the log group for ``aws logs tail``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ava_olo_constructs import (
    ConnectionPoolSettings,
    FargateWebService,
    FargateWebServiceProps,
    ResourceNames,
    ServiceCluster,
    ServiceClusterProps,
)

from .config import EnvironmentConfig


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
    """Attributes: ``names``, ``cluster``, ``web_service``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, vpc: ec2.IVpc, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.names = names = names_for(config)
        self.cluster = ServiceCluster(
            self, "Cluster", ServiceClusterProps(vpc=vpc, cluster_name=names.cluster_name)
        ).cluster

        self.web_service = FargateWebService(
            self,
            "WebService",
            FargateWebServiceProps(
                cluster=self.cluster,
                image=container_image(self, config),
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
                log_removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
                connection_pool=ConnectionPoolSettings(
                    pool_size=config.db_pool_size,
                    max_overflow=config.db_max_overflow,
                    recycle_seconds=config.db_pool_recycle_seconds,
                ),
                load_balancer_deletion_protection=config.load_balancer_deletion_protection,
            ),
        )

        alb = self.web_service.load_balancer
        CfnOutput(self, "ServiceUrl", value=f"http://{alb.load_balancer_dns_name}",
                  description="Base URL of the service: GET /health and /version here.")
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name,
                  description="aws ecs describe-services --cluster <this> --services <ServiceName>")
        CfnOutput(self, "ServiceName", value=self.web_service.service.service_name,
                  description="The ECS service name.")
        CfnOutput(self, "LogGroupName", value=self.web_service.log_group.log_group_name,
                  description="aws logs tail <this> --follow")
