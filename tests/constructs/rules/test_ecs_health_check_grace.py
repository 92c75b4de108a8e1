"""AvaOlo-ServiceHealthCheckGracePeriod: load-balanced services give new tasks a grace period."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs

from .helpers import findings, new_stack

RULE = "AvaOlo-ServiceHealthCheckGracePeriod"
TARGETS = [ecs.CfnService.LoadBalancerProperty(container_name="web", container_port=8080,
                                               target_group_arn="arn:aws:elasticloadbalancing:::targetgroup/t/1")]


def test_grace_period_behind_a_load_balancer_is_compliant_and_none_is_refused():
    stack = new_stack()
    ecs.CfnService(stack, "WithGrace", load_balancers=TARGETS, health_check_grace_period_seconds=60)
    ecs.CfnService(stack, "WithoutGrace", load_balancers=TARGETS)
    ecs.CfnService(stack, "Worker")  # no load balancer: nothing to be killed by
    assert set(findings(stack, rule=RULE)) == {"WithoutGrace"}
