"""AvaOlo-TargetGroupHealthCheck: a target group checks an explicit path, at most every 30 s, and takes a
target in after at most 2 successes (seed "ECS Deployment Timeline", phase 5)."""

from __future__ import annotations

from ._support import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, NagRule, Resource, Result, as_int, known

HTTP = ("HTTP", "HTTPS")


def check(resource: Resource, policy) -> Result:
    if str(known(resource, resource.get("TargetType", default="instance"), "TargetType")).lower() == "lambda":
        return NOT_APPLICABLE  # ELB health checks of Lambda targets are off unless asked for
    if resource.get("HealthCheckEnabled") is False or str(resource.get("HealthCheckEnabled")).lower() == "false":
        return NON_COMPLIANT
    protocol = known(resource, resource.get("HealthCheckProtocol") or resource.get("Protocol"), "HealthCheckProtocol")
    if protocol in HTTP or resource.get("ProtocolVersion") == "GRPC" or protocol is None:
        if not known(resource, resource.get("HealthCheckPath"), "HealthCheckPath"):
            return NON_COMPLIANT
    interval = as_int(resource, resource.get("HealthCheckIntervalSeconds"), "HealthCheckIntervalSeconds")
    healthy = as_int(resource, resource.get("HealthyThresholdCount"), "HealthyThresholdCount")
    if interval is None or healthy is None:
        return NON_COMPLIANT  # ELB's defaults differ by load balancer type; say what you mean
    if interval > policy.health_check_interval_seconds or healthy > policy.healthy_threshold_count:
        return NON_COMPLIANT
    return COMPLIANT


RULE = NagRule(
    id="TargetGroupHealthCheck",
    resource_types=("AWS::ElasticLoadBalancingV2::TargetGroup",),
    info="The target group's health check has no explicit path, or its interval or healthy threshold is unset or "
    "longer than the policy allows.",
    explanation="A new task should take traffic as soon as it is healthy and no sooner: an explicit health-check "
    "path (e.g. /health) and at most interval x healthy threshold (policy default 30 s x 2) before it does.",
    check=check,
)
