"""AvaOlo-DeregistrationDelay: draining takes at most 30 s (ELB's default is 300 s)."""

from __future__ import annotations

from ._support import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, NagRule, Resource, Result, as_int, known

ATTRIBUTE = "deregistration_delay.timeout_seconds"


def check(resource: Resource, policy) -> Result:
    if str(known(resource, resource.get("TargetType", default="instance"), "TargetType")).lower() == "lambda":
        return NOT_APPLICABLE
    attributes = known(resource, resource.get("TargetGroupAttributes", default=[]), "TargetGroupAttributes")
    for attribute in attributes:
        if isinstance(attribute, dict) and attribute.get("Key") == ATTRIBUTE:
            seconds = as_int(resource, attribute.get("Value"), ATTRIBUTE)
            return COMPLIANT if seconds is not None and seconds <= policy.max_deregistration_delay_seconds else NON_COMPLIANT
    return NON_COMPLIANT  # unset: ELB drains for 300 s on every deployment


RULE = NagRule(
    id="DeregistrationDelay",
    resource_types=("AWS::ElasticLoadBalancingV2::TargetGroup",),
    info="The target group's deregistration delay is unset (ELB default 300 s) or longer than the policy allows.",
    explanation="Draining waits for in-flight requests; short web requests finish in seconds, and every extra "
    "second of draining is added to each deployment and each scale-in (policy default 30 s).",
    check=check,
)
