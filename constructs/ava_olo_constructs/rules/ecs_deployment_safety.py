"""AvaOlo-ServiceDeploymentSafety: an ECS service rolls out without losing capacity and rolls back by itself.

Rolling (ECS's default strategy): minimum healthy >= 100 %, maximum >= 200 % and the deployment circuit breaker
with rollback. CANARY, LINEAR and BLUE_GREEN (ECS native strategies): alarm-based rollback with at least one
alarm. Services deployed by CodeDeploy or an external controller are not ECS's to roll back: not applicable.
"""

from __future__ import annotations

from ._support import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, NagRule, Resource, Result, as_int, is_true, known

TRAFFIC_SHIFTING = ("CANARY", "LINEAR", "BLUE_GREEN")


def check(resource: Resource, policy) -> Result:
    controller = known(resource, resource.get("DeploymentController", "Type", default="ECS"), "DeploymentController")
    if controller != "ECS":
        return NOT_APPLICABLE
    config = known(resource, resource.get("DeploymentConfiguration", default={}), "DeploymentConfiguration") or {}
    strategy = known(resource, config.get("Strategy", "ROLLING"), "DeploymentConfiguration.Strategy")
    if strategy in TRAFFIC_SHIFTING:
        alarms = config.get("Alarms") or {}
        names = known(resource, alarms.get("AlarmNames", []), "Alarms.AlarmNames")
        safe = is_true(alarms.get("Enable")) and is_true(alarms.get("Rollback")) and len(names) > 0
        return COMPLIANT if safe else NON_COMPLIANT
    breaker = config.get("DeploymentCircuitBreaker") or {}
    if not (is_true(breaker.get("Enable")) and is_true(breaker.get("Rollback"))):
        return NON_COMPLIANT
    if known(resource, resource.get("SchedulingStrategy", default="REPLICA"), "SchedulingStrategy") == "DAEMON":
        return COMPLIANT  # one task per instance: ECS stops the old one first by design
    minimum = as_int(resource, config.get("MinimumHealthyPercent"), "MinimumHealthyPercent")
    maximum = as_int(resource, config.get("MaximumPercent"), "MaximumPercent")
    if minimum is None or maximum is None:
        return NON_COMPLIANT
    return COMPLIANT if minimum >= policy.min_healthy_percent and maximum >= policy.max_percent else NON_COMPLIANT


RULE = NagRule(
    id="ServiceDeploymentSafety",
    resource_types=("AWS::ECS::Service",),
    info="The ECS service's deployment can lose capacity or cannot roll back by itself: a rolling deployment "
    "needs explicit minimum/maximum percent (policy default 100/200) and the circuit breaker with rollback; "
    "CANARY, LINEAR and BLUE_GREEN need alarm-based rollback with at least one alarm.",
    explanation="The old tasks keep serving until the new ones are healthy, and a release that keeps failing "
    "(circuit breaker) or raises an alarm goes back to the last good version without a human.",
    check=check,
)
