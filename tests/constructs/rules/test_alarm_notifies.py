"""AvaOlo-AlarmNotifies: every alarm has an enabled action."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from .helpers import findings, new_stack

RULE = "AvaOlo-AlarmNotifies"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def alarm(stack, name, **extra):
    cloudwatch.CfnAlarm(stack, name, comparison_operator="GreaterThanThreshold", evaluation_periods=1, threshold=1,
                        metric_name="Errors", namespace="App", period=60, statistic="Sum", **extra)


def test_alarms_that_notify_are_compliant_and_silent_ones_are_refused():
    stack = new_stack()
    alarm(stack, "Notifies", alarm_actions=[TOPIC])
    alarm(stack, "Silent")
    alarm(stack, "Disabled", alarm_actions=[TOPIC], actions_enabled=False)
    cloudwatch.CfnCompositeAlarm(stack, "CompositeSilent", alarm_rule="ALARM(a)")
    result = findings(stack, rule=RULE)
    assert set(result) == {"Silent", "Disabled", "CompositeSilent"}
