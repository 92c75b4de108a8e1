"""AvaOlo-LogRetention: every log group has a retention period."""

from __future__ import annotations

from aws_cdk import CfnResource
from aws_cdk import aws_logs as logs

from .helpers import findings, new_stack

RULE = "AvaOlo-LogRetention"


def test_log_groups_with_retention_are_compliant_and_without_are_refused():
    stack = new_stack()
    logs.LogGroup(stack, "L2Default")  # CDK's L2 default: two years
    logs.CfnLogGroup(stack, "Good", retention_in_days=30)
    logs.CfnLogGroup(stack, "Forever")
    logs.LogGroup(stack, "L2Infinite", retention=logs.RetentionDays.INFINITE)
    CfnResource(stack, "RawForever", type="AWS::Logs::LogGroup", properties={})
    result = findings(stack)
    assert "Good" not in result and "L2Default" not in result
    assert {c for c, rules in result.items() if RULE in rules} == {"Forever", "L2Infinite", "RawForever"}
