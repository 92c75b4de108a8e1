"""The VPC every AVA OLO service runs in.

Three subnet tiers over at least two availability zones: public (ALB, NAT), private with egress (Fargate
tasks, no public IPs) and isolated (the database, no route out). VPC flow logs go to CloudWatch Logs with a
retention. Availability zones are passed in explicitly so that synthesis never needs an AWS lookup (the
project's "offline by default" rule); when they are omitted, CDK picks them (a lookup for a concrete env).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence

from aws_cdk import CfnResource, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import network_defaults as defaults
from .compliance import acknowledge
from .log_encryption import log_encryption_key
from .retention import retention_days
from .validation import PropsError, check_availability_zones, check_log_retention, check_range, is_token

#: The prefix lengths AWS accepts for a VPC's primary IPv4 block ("VPC CIDR blocks", Amazon VPC user guide).
VPC_PREFIX_LENGTHS = range(16, 29)


@dataclass(frozen=True)
class NetworkProps:
    """Props for :class:`Network`. Every field has a documented default.

    :param availability_zones: AZ names to pin (at least two). Default: none, ``az_count`` AZs are chosen by
        CloudFormation at deploy time (``Fn::GetAZs``), which works in any account and region without a lookup.
    :param az_count: how many AZs when ``availability_zones`` is not given. Default 2.
    :param nat_gateways: NAT gateways (0 to the number of AZs). Default :data:`network_defaults.NAT_GATEWAYS` (1).
    :param cidr: VPC CIDR. Default :data:`network_defaults.CIDR` (``10.0.0.0/16``).
    :param flow_log_retention_days: flow log retention. Default 90 days.
    :param flow_log_removal_policy: what happens to the flow log group on stack deletion. Default RETAIN.
    """

    availability_zones: Optional[Sequence[str]] = None
    az_count: int = defaults.AZ_COUNT
    nat_gateways: int = defaults.NAT_GATEWAYS
    cidr: str = defaults.CIDR
    flow_log_retention_days: int = defaults.FLOW_LOG_RETENTION_DAYS
    flow_log_removal_policy: RemovalPolicy = defaults.FLOW_LOG_REMOVAL_POLICY

    def validate(self, region: Optional[str]) -> None:
        if self.availability_zones is not None:
            check_availability_zones("availability_zones", self.availability_zones, region)
        else:
            check_range("az_count", self.az_count, 2, 6, "an ALB needs two availability zones")
        az_count = len(self.availability_zones) if self.availability_zones else self.az_count
        check_range("nat_gateways", self.nat_gateways, 0, az_count, "at most one per availability zone")
        check_log_retention("flow_log_retention_days", self.flow_log_retention_days)
        check_cidr("cidr", self.cidr, az_count)
        if self.nat_gateways == 0:
            raise PropsError(
                "nat_gateways", 0, "at least 1: tasks in private subnets need egress to pull images and write logs"
            )


class Network(Construct):
    """VPC with public / private-with-egress / isolated subnets and flow logs.

    Attributes: ``vpc``, ``flow_log_group``, ``log_key`` (KMS key of the flow log group).
    """

    def __init__(self, scope: Construct, construct_id: str, props: NetworkProps = NetworkProps()) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        props.validate(None if is_token(region) else region)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(props.cidr),
            availability_zones=_zones(props),
            nat_gateways=props.nat_gateways,
            # Explicit, not left to the `@aws-cdk/aws-ec2:restrictDefaultSecurityGroup` flag: an app without
            # cdk.json's flags would otherwise keep the default security group's allow-all rules.
            restrict_default_security_group=True,
            subnet_configuration=subnet_configuration(),
        )

        self.log_key = log_encryption_key(self, "LogKey", description="VPC flow logs")
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            encryption_key=self.log_key,
            retention=retention_days(props.flow_log_retention_days, "flow_log_retention_days"),
            removal_policy=props.flow_log_removal_policy,
        )
        flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self._acknowledge_inherent_findings(flow_log)

        _drop_redundant_custom_resource_dependency(Stack.of(self))

    def _acknowledge_inherent_findings(self, flow_log: ec2.FlowLog) -> None:
        for subnet in self.vpc.public_subnets:
            route = subnet.node.try_find_child("DefaultRoute")
            if route is not None:
                acknowledge(
                    route,
                    "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                    "Public subnets hold only the internet-facing load balancer and the NAT gateways, which need "
                    "this route; tasks and the database sit in private and isolated subnets without it.",
                )
        role = flow_log.node.try_find_child("IAMRole")
        if role is not None:
            acknowledge(
                role,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "CDK's generated policy lets only this role write only to the flow log group; a managed policy "
                "would add a reusable, attachable object without narrowing anything.",
            )


def subnet_configuration() -> list[ec2.SubnetConfiguration]:
    """The three subnet tiers of every :class:`Network` (one subnet of each per AZ)."""
    return [
        ec2.SubnetConfiguration(
            name="public",
            subnet_type=ec2.SubnetType.PUBLIC,
            cidr_mask=defaults.PUBLIC_SUBNET_MASK,
            # The ALB and the NAT gateways get their addresses explicitly; nothing launched here needs one.
            map_public_ip_on_launch=False,
        ),
        ec2.SubnetConfiguration(
            name="private",
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
            cidr_mask=defaults.PRIVATE_SUBNET_MASK,
        ),
        ec2.SubnetConfiguration(
            name="isolated",
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
            cidr_mask=defaults.ISOLATED_SUBNET_MASK,
        ),
    ]


@lru_cache(maxsize=256)
def _subnets_fit(cidr: str, az_count: int) -> bool:
    """Ask CDK's own allocator (what ``ec2.Vpc`` calls, offline) whether the subnets fit ``cidr``.

    A pure function of its arguments (the subnet tiers are fixed), and each answer is a round trip through
    jsii (several milliseconds): remembered per process, as the configuration is validated, then checked again
    by :class:`NetworkProps` at synthesis, and the "/N or larger" hint tries several blocks."""
    requested = [
        ec2.RequestedSubnet(availability_zone=f"az{index}", subnet_construct_id=f"{tier.name}{index}", configuration=tier)
        for tier in subnet_configuration()
        for index in range(az_count)
    ]
    try:
        ec2.IpAddresses.cidr(cidr).allocate_subnets_cidr(vpc_cidr=cidr, requested_subnets=requested)
    except RuntimeError as error:  # jsii: "SubnetCountExceedsRemainingSpace: ..."
        if "exceeds remaining space" in str(error):
            return False
        raise
    return True


def check_cidr(field: str, cidr: object, az_count: int) -> None:
    """``cidr`` must be a network address (``10.0.0.1/16`` is refused: CDK would build another network), of a
    size AWS allows for a VPC, that :func:`subnet_configuration` fits for ``az_count`` AZs."""
    if is_token(cidr) or is_token(az_count):
        return
    try:
        network = ipaddress.IPv4Network(cidr, strict=True) if isinstance(cidr, str) else None
    except ValueError as error:
        hint = "a network address (host bits zero)" if "host bits" in str(error) else "an IPv4 CIDR block"
        raise PropsError(field, cidr, f"{hint} from /16 to /28, e.g. 10.0.0.0/16") from None
    if network is None or network.prefixlen not in VPC_PREFIX_LENGTHS:
        raise PropsError(field, cidr, "an IPv4 CIDR block from /16 to /28 (AWS's VPC sizes), e.g. 10.0.0.0/16")
    if not _subnets_fit(str(network), az_count):
        fits = next(
            (p for p in range(network.prefixlen - 1, 15, -1) if _subnets_fit(str(network.supernet(new_prefix=p)), az_count)),
            16,
        )
        raise PropsError(
            field,
            cidr,
            f"a block the subnets of {az_count} AZs fit in (a /{defaults.PUBLIC_SUBNET_MASK} public, "
            f"/{defaults.PRIVATE_SUBNET_MASK} private and /{defaults.ISOLATED_SUBNET_MASK} isolated subnet per AZ): "
            f"/{fits} or larger",
        )


def _zones(props: NetworkProps) -> list[str]:
    """Pinned AZ names, or ``Fn::Select(i, Fn::GetAZs(""))`` tokens: no context lookup either way."""
    if props.availability_zones:
        return list(props.availability_zones)
    return [Fn.select(index, Fn.get_azs()) for index in range(props.az_count)]


def _drop_redundant_custom_resource_dependency(stack: Stack) -> None:
    """CDK's default-security-group custom resource (``restrictDefaultSecurityGroup``) gives its handler an
    explicit ``DependsOn`` on its role although ``Fn::GetAtt`` on the role already orders them; cfn-lint
    reports that as W3005. Removing the duplicate keeps the templates lint-clean without ignoring the rule."""
    provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
    if provider is None:
        return
    handler, role = provider.node.try_find_child("Handler"), provider.node.try_find_child("Role")
    if isinstance(handler, CfnResource) and isinstance(role, CfnResource):
        handler.remove_resource_dependency(role)
