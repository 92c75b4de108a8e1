"""Target-tracking autoscaling of the service between the configured minimum and maximum task counts.

Two policies: CPU (seed "Issue 3": scale before tasks saturate, not after) and requests per target (farmers'
traffic arrives in bursts, by country and time zone). Scale-out reacts in a minute; scale-in waits five so a
burst does not make the service flap. The maximum is the number the connection budget was checked against:
autoscaling can never open more database connections than the database was sized for.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from .validation import PropsError, check_range

CPU_TARGET_PERCENT = 60
REQUESTS_PER_TARGET = 600  # per minute and task: 10 requests per second
SCALE_OUT_COOLDOWN = Duration.seconds(60)
SCALE_IN_COOLDOWN = Duration.seconds(300)


@dataclass(frozen=True)
class AutoScalingProps:
    """:param min_count / max_count: task bounds (required). :param cpu_target_percent: Default 60.
    :param requests_per_target: ALB requests per task and minute. Default 600.
    :param scale_out_cooldown / scale_in_cooldown: Default 60 s / 300 s."""

    min_count: int
    max_count: int
    cpu_target_percent: int = CPU_TARGET_PERCENT
    requests_per_target: int = REQUESTS_PER_TARGET
    scale_out_cooldown: Duration = SCALE_OUT_COOLDOWN
    scale_in_cooldown: Duration = SCALE_IN_COOLDOWN

    def validate(self) -> None:
        check_range("min_count", self.min_count, 1, 1000)
        check_range("max_count", self.max_count, 1, 1000)
        if self.max_count < self.min_count:
            raise PropsError("max_count", self.max_count, f"at least min_count ({self.min_count})")
        check_range("cpu_target_percent", self.cpu_target_percent, 10, 90)
        check_range("requests_per_target", self.requests_per_target, 1, 1_000_000)


def enable_autoscaling(
    service: ecs.FargateService, target_group: elbv2.ApplicationTargetGroup, props: AutoScalingProps
) -> ecs.ScalableTaskCount:
    """Attach both target-tracking policies to ``service``; returns the scalable target."""
    props.validate()
    scaling = service.auto_scale_task_count(min_capacity=props.min_count, max_capacity=props.max_count)
    cooldowns = dict(scale_in_cooldown=props.scale_in_cooldown, scale_out_cooldown=props.scale_out_cooldown)
    scaling.scale_on_cpu_utilization("CpuScaling", target_utilization_percent=props.cpu_target_percent, **cooldowns)
    scaling.scale_on_request_count(
        "RequestScaling", requests_per_target=props.requests_per_target, target_group=target_group, **cooldowns
    )
    return scaling
