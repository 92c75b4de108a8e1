"""AvaOlo-ServiceDeploymentSafety: rolling 100/200 with circuit breaker + rollback, or a traffic-shifting strategy
(CANARY/LINEAR/BLUE_GREEN) with alarm-based rollback."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ecs as ecs

from ava_olo_constructs import AvaOloChecksProps

from .helpers import findings, new_stack

RULE = "AvaOlo-ServiceDeploymentSafety"
BREAKER = ecs.CfnService.DeploymentCircuitBreakerProperty(enable=True, rollback=True)
ALARMS = ecs.CfnService.DeploymentAlarmsProperty(alarm_names=["high-error-rate"], enable=True, rollback=True)


def service(stack, name, controller=None, **config):
    ecs.CfnService(
        stack, name, task_definition="arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
        deployment_configuration=ecs.CfnService.DeploymentConfigurationProperty(**config) if config else None,
        deployment_controller=ecs.CfnService.DeploymentControllerProperty(type=controller) if controller else None,
    )


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    service(stack, "Rolling", minimum_healthy_percent=100, maximum_percent=200, deployment_circuit_breaker=BREAKER)
    service(stack, "Canary", strategy="CANARY", alarms=ALARMS)
    service(stack, "BlueGreen", strategy="BLUE_GREEN", alarms=ALARMS)
    service(stack, "CodeDeploy", controller="CODE_DEPLOY")
    service(stack, "Below100", minimum_healthy_percent=50, maximum_percent=200, deployment_circuit_breaker=BREAKER)
    service(stack, "NoBreaker", minimum_healthy_percent=100, maximum_percent=200)
    service(stack, "BreakerWithoutRollback", minimum_healthy_percent=100, maximum_percent=200,
            deployment_circuit_breaker=ecs.CfnService.DeploymentCircuitBreakerProperty(enable=True, rollback=False))
    service(stack, "EcsDefaults")
    service(stack, "CanaryWithoutAlarms", strategy="CANARY")
    service(stack, "LinearAlarmsNoRollback", strategy="LINEAR",
            alarms=ecs.CfnService.DeploymentAlarmsProperty(alarm_names=["a"], enable=True, rollback=False))
    return stack


def test_rolling_100_200_with_circuit_breaker_or_canary_with_alarm_rollback_is_compliant(stack):
    result = findings(stack)
    for construct in ("Rolling", "Canary", "BlueGreen", "CodeDeploy"):
        assert RULE not in result.get(construct, set()), construct


def test_capacity_loss_or_no_automatic_rollback_is_refused(stack):
    result = findings(stack)
    for construct in ("Below100", "NoBreaker", "BreakerWithoutRollback", "EcsDefaults", "CanaryWithoutAlarms",
                      "LinearAlarmsNoRollback"):
        assert RULE in result.get(construct, set()), construct


def test_minimum_healthy_percent_is_a_policy_parameter(stack):
    assert RULE not in findings(stack, AvaOloChecksProps(min_healthy_percent=50)).get("Below100", set())
