"""AvaOlo-DeregistrationDelay: draining <= 30 s; ELB's 300 s default is refused."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from ava_olo_constructs import AvaOloChecksProps

from .helpers import findings, new_stack

RULE = "AvaOlo-DeregistrationDelay"


def attribute(seconds: str):
    return [elbv2.CfnTargetGroup.TargetGroupAttributeProperty(key="deregistration_delay.timeout_seconds", value=seconds)]


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    elbv2.CfnTargetGroup(stack, "Good", port=80, protocol="HTTP", vpc_id="vpc-1", target_group_attributes=attribute("30"))
    elbv2.CfnTargetGroup(stack, "TooLong", port=80, protocol="HTTP", vpc_id="vpc-1", target_group_attributes=attribute("120"))
    elbv2.CfnTargetGroup(stack, "ElbDefault", port=80, protocol="HTTP", vpc_id="vpc-1")
    elbv2.CfnTargetGroup(stack, "Lambda", target_type="lambda")
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["us-east-1a"])
    elbv2.ApplicationTargetGroup(stack, "L2Good", vpc=vpc, port=80, deregistration_delay=Duration.seconds(15))
    return stack


def test_draining_of_at_most_30_seconds_is_compliant(stack):
    result = findings(stack)
    for construct in ("Good", "Lambda", "L2Good"):
        assert RULE not in result.get(construct, set()), construct


def test_longer_draining_or_elb_default_of_300_seconds_is_refused(stack):
    result = findings(stack)
    assert RULE in result["TooLong"] and RULE in result["ElbDefault"]


def test_maximum_is_a_policy_parameter(stack):
    assert RULE not in findings(stack, AvaOloChecksProps(max_deregistration_delay_seconds=120)).get("TooLong", set())
