"""``<Env>Network``: the VPC, its subnets, NAT gateways and flow logs. Changes rarely; shared by the others."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from ava_olo_constructs import Network, NetworkProps

from .config import EnvironmentConfig


class NetworkStack(Stack):
    """Attributes: ``network`` (the construct) and ``vpc``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = Network(
            self,
            "Network",
            NetworkProps(
                availability_zones=config.availability_zones or None,
                az_count=config.az_count,
                nat_gateways=config.nat_gateways,
                cidr=config.vpc_cidr,
                flow_log_retention_days=config.flow_log_retention_days,
                flow_log_removal_policy=config.removal_policy,
            ),
        )
        self.vpc = self.network.vpc
