"""AvaOlo-TargetGroupHealthCheck: explicit path, interval <= 30 s, healthy threshold <= 2 (policy defaults)."""

from __future__ import annotations

import pytest
from aws_cdk import CfnResource
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from ava_olo_constructs import AvaOloChecksProps

from .helpers import findings, new_stack

RULE = "AvaOlo-TargetGroupHealthCheck"


@pytest.fixture(scope="module")
def found():
    stack = new_stack()
    good = dict(port=80, protocol="HTTP", vpc_id="vpc-1", health_check_path="/health",
                health_check_interval_seconds=30, healthy_threshold_count=2)
    elbv2.CfnTargetGroup(stack, "Good", **good)
    elbv2.CfnTargetGroup(stack, "NoPath", **{**good, "health_check_path": None})
    elbv2.CfnTargetGroup(stack, "SlowInterval", **{**good, "health_check_interval_seconds": 60})
    elbv2.CfnTargetGroup(stack, "FiveSuccesses", **{**good, "healthy_threshold_count": 5})
    elbv2.CfnTargetGroup(stack, "ElbDefaults", port=80, protocol="HTTP", vpc_id="vpc-1", health_check_path="/health")
    elbv2.CfnTargetGroup(stack, "Disabled", **{**good, "health_check_enabled": False})
    elbv2.CfnTargetGroup(stack, "Lambda", target_type="lambda")
    elbv2.CfnTargetGroup(stack, "Tcp", port=5432, protocol="TCP", vpc_id="vpc-1",
                         health_check_interval_seconds=10, healthy_threshold_count=2)
    # Not built from L1 classes at all: the rule reads CloudFormation properties.
    CfnResource(stack, "RawGood", type="AWS::ElasticLoadBalancingV2::TargetGroup", properties={
        "Protocol": "HTTP", "HealthCheckPath": "/healthz", "HealthCheckIntervalSeconds": 15, "HealthyThresholdCount": 2})
    CfnResource(stack, "RawBad", type="AWS::ElasticLoadBalancingV2::TargetGroup", properties={"Protocol": "HTTP"})
    return findings(stack), stack


def test_health_check_with_explicit_path_every_30_s_and_2_successes_is_compliant(found):
    result, _ = found
    for construct in ("Good", "Lambda", "Tcp", "RawGood"):
        assert RULE not in result.get(construct, set()), construct


def test_missing_path_slow_interval_high_threshold_elb_defaults_or_disabled_check_is_refused(found):
    result, _ = found
    for construct in ("NoPath", "SlowInterval", "FiveSuccesses", "ElbDefaults", "Disabled", "RawBad"):
        assert RULE in result.get(construct, set()), construct


def test_interval_and_threshold_are_policy_parameters(found):
    _, stack = found
    relaxed = findings(stack, AvaOloChecksProps(health_check_interval_seconds=60, healthy_threshold_count=5))
    assert RULE not in relaxed.get("SlowInterval", set()) and RULE not in relaxed.get("FiveSuccesses", set())
    assert RULE in relaxed.get("NoPath", set())
