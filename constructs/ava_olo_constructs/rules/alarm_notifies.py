"""AvaOlo-AlarmNotifies: every CloudWatch alarm tells someone (seed "Monitoring & Alerts": alarms go to the
team's topic). An alarm without ``AlarmActions``, or with ``ActionsEnabled: false``, changes state unseen."""

from __future__ import annotations

from ._support import COMPLIANT, NON_COMPLIANT, NagRule, Resource, Result, known


def check(resource: Resource, policy) -> Result:
    if resource.get("ActionsEnabled") is False or str(resource.get("ActionsEnabled")).lower() == "false":
        return NON_COMPLIANT
    actions = known(resource, resource.get("AlarmActions", default=[]), "AlarmActions") or []
    return COMPLIANT if len(actions) > 0 else NON_COMPLIANT


RULE = NagRule(
    id="AlarmNotifies",
    resource_types=("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"),
    info="The CloudWatch alarm has no alarm action (or its actions are disabled): nobody is told when it fires.",
    explanation="An alarm is only as good as the person it reaches: send it to an SNS topic (email, chat, "
    "paging) so that 'Monitor, don't interfere' still means someone looks.",
    check=check,
)
