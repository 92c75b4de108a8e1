"""AvaOlo-ServiceHealthCheckGracePeriod: an ECS service behind a load balancer gives new tasks an explicit
grace period before failed health checks count (ECS's default is 0 s: a task that needs a few seconds to boot
is killed and replaced in a loop)."""

from __future__ import annotations

from ._support import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, NagRule, Resource, Result, as_int, known


def check(resource: Resource, policy) -> Result:
    if not known(resource, resource.get("LoadBalancers", default=[]), "LoadBalancers"):
        return NOT_APPLICABLE
    seconds = as_int(resource, resource.get("HealthCheckGracePeriodSeconds"), "HealthCheckGracePeriodSeconds")
    return COMPLIANT if seconds else NON_COMPLIANT


RULE = NagRule(
    id="ServiceHealthCheckGracePeriod",
    resource_types=("AWS::ECS::Service",),
    info="The load-balanced ECS service has no health-check grace period (ECS's default is 0 s).",
    explanation="Image pull and application start take time; without a grace period the load balancer's first "
    "failed checks stop a task that was about to become healthy (seed: 60 s).",
    check=check,
)
