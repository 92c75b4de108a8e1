"""One CloudWatch dashboard per environment: the seed's "Monitoring Commands" as one page.

Running vs desired tasks (``describe-services ... runningCount/desiredCount``), CPU and memory
(``get-metric-statistics CPUUtilization``), requests, the 5xx rate and p95 latency (``curl /health``), database
connections and CPU, and the state of every alarm. A text widget keeps the runbook commands beside the graphs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_rds as rds
from constructs import Construct

from .error_rate_alarm import error_rate_metric
from .service_alarms import running_vs_desired

FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True)
class ServiceDashboardProps:
    """:param dashboard_name: e.g. ``ava-olo-production-monitoring-dashboards``. :param runbook: markdown
    shown at the top (the runbook commands with this environment's names). :param database: optional."""

    dashboard_name: str
    service: ecs.FargateService
    cluster_name: str
    service_name: str
    load_balancer: elbv2.IApplicationLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    alarms: Sequence[cloudwatch.IAlarm]
    #: The blue/green family's second target group (ECS swaps the serving one): plotted beside the first.
    alternate_target_group: elbv2.ApplicationTargetGroup | None = None
    runbook: str = ""
    database: rds.IDatabaseCluster | None = None
    extra_metrics: Sequence[cloudwatch.IMetric] = field(default_factory=tuple)


class ServiceDashboard(Construct):
    """Attribute: ``dashboard``."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceDashboardProps) -> None:
        super().__init__(scope, construct_id)
        counts = running_vs_desired(props.cluster_name, props.service_name)
        groups = [g for g in (props.target_group, props.alternate_target_group) if g is not None]
        rows: list[list[cloudwatch.IWidget]] = []
        if props.runbook:
            rows.append([cloudwatch.TextWidget(markdown=props.runbook, width=24, height=5)])
        rows.append(
            [
                cloudwatch.GraphWidget(
                    title="Tasks: running vs desired (deployments show as running > desired)",
                    left=[counts["running"], counts["desired"], counts["pending"]],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title="CPU and memory (%)",
                    left=[
                        props.service.metric_cpu_utilization(period=Duration.minutes(1)),
                        props.service.metric_memory_utilization(period=Duration.minutes(1)),
                    ],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title="Targets: healthy / unhealthy",
                    left=[m for g in groups for m in (g.metrics.healthy_host_count(), g.metrics.unhealthy_host_count())],
                    width=8,
                ),
            ]
        )
        rows.append(
            [
                cloudwatch.GraphWidget(
                    title="Requests", left=[props.load_balancer.metrics.request_count(period=FIVE_MINUTES)], width=8
                ),
                cloudwatch.GraphWidget(
                    title="5xx error rate (%) - alarm above 5", left=[error_rate_metric(props.load_balancer, FIVE_MINUTES)], width=8
                ),
                cloudwatch.GraphWidget(
                    title="p95 response time (s) - alarm above 2",
                    left=[g.metrics.target_response_time(statistic="p95", period=FIVE_MINUTES) for g in groups],
                    width=8,
                ),
            ]
        )
        database_row: list[cloudwatch.IWidget] = []
        if props.database is not None:
            database_row += [
                cloudwatch.GraphWidget(
                    title="Database connections", left=[props.database.metric_database_connections()], width=8
                ),
                cloudwatch.GraphWidget(title="Database CPU (%)", left=[props.database.metric_cpu_utilization()], width=8),
            ]
        if props.extra_metrics:
            database_row.append(cloudwatch.GraphWidget(title="Application", left=list(props.extra_metrics), width=8))
        if database_row:
            rows.append(database_row)
        rows.append([cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(props.alarms), width=24)])
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=props.dashboard_name, widgets=rows, default_interval=Duration.hours(3)
        )
