"""The ECS cluster a service runs in: one per environment, Container Insights on.

Seed "Monitoring Commands" reads ``AWS/ECS`` CPU and memory by ``ClusterName`` and ``ServiceName``; Container
Insights adds per-task metrics (running/pending counts, memory) that the seed's "Issue 3: Memory/CPU Issues"
needs. The name comes from :class:`~ava_olo_constructs.naming.ResourceNames` (``ava-olo-production``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from .validation import check_name


@dataclass(frozen=True)
class ServiceClusterProps:
    """Props for :class:`ServiceCluster`.

    :param vpc: the VPC the cluster's services run in (required).
    :param cluster_name: physical name (required), e.g. ``ava-olo-production``.
    :param container_insights: Container Insights level. Default ``ENABLED``; ``ENHANCED`` costs more.
    """

    vpc: ec2.IVpc
    cluster_name: str
    container_insights: ecs.ContainerInsights = ecs.ContainerInsights.ENABLED


class ServiceCluster(Construct):
    """An ECS cluster with Container Insights. Attribute: ``cluster``."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceClusterProps) -> None:
        super().__init__(scope, construct_id)
        check_name("cluster_name", props.cluster_name, max_length=255)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=props.vpc,
            cluster_name=props.cluster_name,
            container_insights_v2=props.container_insights,
        )
