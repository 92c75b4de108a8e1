"""AvaOlo-LogRetention: every log group has a retention period (CloudWatch's default keeps logs forever)."""

from __future__ import annotations

from ._support import COMPLIANT, NON_COMPLIANT, NagRule, Resource, Result, as_int


def check(resource: Resource, policy) -> Result:
    days = as_int(resource, resource.get("RetentionInDays"), "RetentionInDays")
    return COMPLIANT if days else NON_COMPLIANT


RULE = NagRule(
    id="LogRetention",
    resource_types=("AWS::Logs::LogGroup",),
    info="The log group has no retention period: CloudWatch Logs keeps (and bills) its events forever.",
    explanation="Logs are kept as long as an incident review needs them and no longer; the period is a "
    "decision per environment, written down, not an accident of a default.",
    check=check,
)
