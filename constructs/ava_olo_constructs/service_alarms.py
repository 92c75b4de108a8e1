"""The rest of the service's alarms: unhealthy targets, slow responses, CPU, memory, missing tasks.

Seed "Troubleshooting Guide" and "Issue 3: Memory/CPU Issues" as alarms instead of commands someone has to
remember to run. Names come from the caller (``ResourceNames.alarm_name``); every alarm states its period,
evaluation periods and datapoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from . import alarm_defaults as defaults
from .alarm_factory import threshold_alarm

MINUTE = Duration.minutes(1)


def running_vs_desired(cluster_name: str, service_name: str, period: Duration = MINUTE) -> dict[str, cloudwatch.Metric]:
    """Container Insights task counts of one service (``ECS/ContainerInsights``)."""

    def metric(name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=name,
            dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
            statistic="Average",
            period=period,
        )

    return {"running": metric("RunningTaskCount"), "desired": metric("DesiredTaskCount"), "pending": metric("PendingTaskCount")}


def _both(
    group: elbv2.ApplicationTargetGroup,
    alternate: Optional[elbv2.ApplicationTargetGroup],
    name: str,
    period: Duration,
    statistic: str,
) -> cloudwatch.IMetric:
    """One target group's metric, or the larger of the two groups' values each period."""
    first = getattr(group.metrics, name)(period=period, statistic=statistic)
    if alternate is None:
        return first
    second = getattr(alternate.metrics, name)(period=period, statistic=statistic)
    return cloudwatch.MathExpression(
        expression="MAX([FILL(a, 0), FILL(b, 0)])", using_metrics={"a": first, "b": second}, period=period,
        label=f"{name} (both target groups)",
    )


@dataclass(frozen=True)
class ServiceAlarmsProps:
    """:param service: the Fargate service. :param target_group: its target group. :param cluster_name /
    service_name: physical names (Container Insights dimensions). :param name: ``purpose -> alarm name``."""

    service: ecs.FargateService
    target_group: elbv2.ApplicationTargetGroup
    cluster_name: str
    service_name: str
    name: Callable[[str], str]
    #: The blue/green family's second target group: ECS swaps the serving one at every deployment, so the
    #: target-group alarms watch both (the idle one has no targets and no requests).
    alternate_target_group: Optional[elbv2.ApplicationTargetGroup] = None


class ServiceAlarms(Construct):
    """Attributes: ``unhealthy_targets``, ``slow_responses``, ``cpu``, ``memory``, ``missing_tasks`` and
    ``all`` (a list)."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        target_group = props.target_group

        sustained = dict(periods=defaults.SUSTAINED_MINUTES, missing=cloudwatch.TreatMissingData.MISSING)
        self.unhealthy_targets = threshold_alarm(
            self,
            "UnhealthyTargets",
            name=props.name("unhealthy-targets"),
            description="A target has failed its /health checks for 3 minutes. ECS rolls a new version back on this alarm.",
            metric=_both(target_group, props.alternate_target_group, "unhealthy_host_count", MINUTE, "Maximum"),
            threshold=0,
            periods=defaults.UNHEALTHY_MINUTES,
        )
        self.slow_responses = threshold_alarm(
            self,
            "SlowResponses",
            name=props.name("slow-responses"),
            description=f"p95 target response time above {defaults.P95_RESPONSE_SECONDS} s over 5 minutes (seed: slow > 2 s).",
            metric=_both(target_group, props.alternate_target_group, "target_response_time", Duration.minutes(5), "p95"),
            threshold=defaults.P95_RESPONSE_SECONDS,
        )
        self.cpu = threshold_alarm(
            self,
            "Cpu",
            name=props.name("high-cpu"),
            description="Service CPU above 80 % for 5 minutes (seed Issue 3: consider the high-load size profile).",
            metric=props.service.metric_cpu_utilization(period=MINUTE, statistic="Average"),
            threshold=defaults.UTILIZATION_PERCENT,
            **sustained,
        )
        self.memory = threshold_alarm(
            self,
            "Memory",
            name=props.name("high-memory"),
            description="Service memory above 80 % for 5 minutes (seed Issue 3: consider the high-load size profile).",
            metric=props.service.metric_memory_utilization(period=MINUTE, statistic="Average"),
            threshold=defaults.UTILIZATION_PERCENT,
            **sustained,
        )
        counts = running_vs_desired(props.cluster_name, props.service_name)
        self.missing_tasks = threshold_alarm(
            self,
            "MissingTasks",
            name=props.name("tasks-below-desired"),
            description="Fewer tasks running than desired for 5 minutes: tasks are failing to start or crashing.",
            metric=cloudwatch.MathExpression(
                expression="desired - running",
                using_metrics={"desired": counts["desired"], "running": counts["running"]},
                label="Desired minus running tasks",
                period=MINUTE,
            ),
            threshold=0,
            **sustained,
        )
        self.all = [self.unhealthy_targets, self.slow_responses, self.cpu, self.memory, self.missing_tasks]
