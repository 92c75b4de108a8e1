"""Target-tracking autoscaling of the service between the configured minimum and maximum task counts.

Two policies: CPU (seed "Issue 3": scale before tasks saturate, not after) and requests per target (farmers'
traffic arrives in bursts, by country and time zone). Scale-out reacts in a minute; scale-in waits five so a
burst does not make the service flap. The maximum is the number the connection budget was checked against:
autoscaling can never open more database connections than the database was sized for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from aws_cdk import Duration, Names
from aws_cdk import aws_applicationautoscaling as applicationautoscaling
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


def attach_autoscaling(
    service: ecs.FargateService,
    target_groups: Sequence[elbv2.ApplicationTargetGroup],
    props: AutoScalingProps,
) -> ecs.ScalableTaskCount:
    """Attach both target-tracking policies to ``service``; returns the scalable target.

    With one target group, requests per task is ALB's ``ALBRequestCountPerTarget`` of it. With two (the ECS
    blue/green family swaps the serving target group at every deployment, so a policy bound to one of them
    would read zero after the first deployment and scale the service in), it is metric math over both:
    ``(requests A + requests B) / (healthy targets A + healthy targets B)``.
    """
    props.validate()
    scaling = service.auto_scale_task_count(min_capacity=props.min_count, max_capacity=props.max_count)
    cooldowns = dict(scale_in_cooldown=props.scale_in_cooldown, scale_out_cooldown=props.scale_out_cooldown)
    scaling.scale_on_cpu_utilization("CpuScaling", target_utilization_percent=props.cpu_target_percent, **cooldowns)
    groups = list(target_groups)
    if len(groups) == 1:
        scaling.scale_on_request_count(
            "RequestScaling", requests_per_target=props.requests_per_target, target_group=groups[0], **cooldowns
        )
        return scaling
    target = scaling.node.find_child("Target")
    assert isinstance(target, applicationautoscaling.ScalableTarget)

    cfn = applicationautoscaling.CfnScalingPolicy

    def stat(metric_id: str, group: elbv2.ApplicationTargetGroup, name: str, statistic: str):
        dimensions = [
            cfn.TargetTrackingMetricDimensionProperty(name="TargetGroup", value=group.target_group_full_name),
            cfn.TargetTrackingMetricDimensionProperty(name="LoadBalancer", value=group.first_load_balancer_full_name),
        ]
        metric = cfn.TargetTrackingMetricProperty(namespace="AWS/ApplicationELB", metric_name=name, dimensions=dimensions)
        return cfn.TargetTrackingMetricDataQueryProperty(
            id=metric_id, metric_stat=cfn.TargetTrackingMetricStatProperty(metric=metric, stat=statistic), return_data=False
        )

    metrics = []
    for suffix, group in zip("ab", groups):
        metrics.append(stat(f"req{suffix}", group, "RequestCount", "Sum"))
        metrics.append(stat(f"hosts{suffix}", group, "HealthyHostCount", "Average"))
    metrics.append(
        cfn.TargetTrackingMetricDataQueryProperty(
            id="perTask",
            expression="(FILL(reqa, 0) + FILL(reqb, 0)) / MAX([FILL(hostsa, 0) + FILL(hostsb, 0), 1])",
            label="requests per healthy task, both target groups",
            return_data=True,
        )
    )
    cfn(
        scaling,
        "RequestScaling",
        policy_name=f"{Names.unique_id(scaling)}RequestScaling",
        policy_type="TargetTrackingScaling",
        scaling_target_id=target.scalable_target_id,
        target_tracking_scaling_policy_configuration=cfn.TargetTrackingScalingPolicyConfigurationProperty(
            target_value=props.requests_per_target,
            scale_in_cooldown=int(props.scale_in_cooldown.to_seconds()),
            scale_out_cooldown=int(props.scale_out_cooldown.to_seconds()),
            customized_metric_specification=cfn.CustomizedMetricSpecificationProperty(metrics=metrics),
        ),
    )
    return scaling
