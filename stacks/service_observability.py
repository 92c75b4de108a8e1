"""The service stack's alarms, alarm topic, dashboard, autoscaling and alarm-based rollback.

Seed "Monitoring and Alerting" (the two named alarms), "Monitoring Commands" (the dashboard), "Troubleshooting
Guide" (alarms instead of manual checks) and "What NOT to Do" #1 (no panicked force-restarts: a bad version
is rolled back by ECS itself when the error-rate or unhealthy-target alarm fires during its deployment).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from constructs import Construct

from ava_olo_constructs import (
    AlertTopic,
    AuroraPostgresDatabase,
    AutoScalingProps,
    DatabaseAlarms,
    DatabaseAlarmsProps,
    DatabaseConnectionFailuresAlarm,
    DatabaseConnectionFailuresAlarmProps,
    FargateWebService,
    HighErrorRateAlarm,
    HighErrorRateAlarmProps,
    ResourceNames,
    ServiceAlarms,
    ServiceAlarmsProps,
    ServiceDashboard,
    ServiceDashboardProps,
    enable_autoscaling,
    notify,
)

from .config import EnvironmentConfig

#: The alarms ECS watches during a deployment; either one in ALARM rolls the new version back.
DEPLOYMENT_ALARM_PURPOSES = ("high-error-rate", "unhealthy-targets")


@dataclass
class Observability:
    topic: sns.ITopic
    high_error_rate: cloudwatch.Alarm
    db_connection_failures: cloudwatch.Alarm
    service_alarms: ServiceAlarms
    database_alarms: DatabaseAlarms
    dashboard: cloudwatch.Dashboard

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        return [self.high_error_rate, self.db_connection_failures, *self.service_alarms.all, *self.database_alarms.all]


def add_observability(
    scope: Construct,
    *,
    config: EnvironmentConfig,
    names: ResourceNames,
    web_service: FargateWebService,
    database: AuroraPostgresDatabase,
) -> Observability:
    service = web_service.service
    topic = AlertTopic(
        scope,
        "Alerts",
        topic_name=names.alarm_topic_name,
        emails=config.alarm_emails,
        key_removal_policy=config.removal_policy,
    ).topic
    high_error_rate = HighErrorRateAlarm(
        scope,
        "HighErrorRate",
        HighErrorRateAlarmProps(load_balancer=web_service.load_balancer, alarm_name=names.alarm_name("high-error-rate")),
    ).alarm
    db_connection_failures = DatabaseConnectionFailuresAlarm(
        scope,
        "DatabaseConnectionFailures",
        DatabaseConnectionFailuresAlarmProps(
            log_group=web_service.log_group,
            alarm_name=names.alarm_name("db-connection-failures"),
            namespace=names.metric_namespace,
        ),
    )
    service_alarms = ServiceAlarms(
        scope,
        "ServiceAlarms",
        ServiceAlarmsProps(
            service=service,
            target_group=web_service.target_group,
            cluster_name=names.cluster_name,
            service_name=names.service_name,
            name=names.alarm_name,
        ),
    )
    database_alarms = DatabaseAlarms(
        scope,
        "DatabaseAlarms",
        DatabaseAlarmsProps(
            cluster=database.cluster,
            max_connections=database.max_connections,
            memory_bytes=database.props.memory_bytes,
            name=names.alarm_name,
            local_storage_alarm=database.props.instance_class is not None,
        ),
    )
    result = Observability(
        topic=topic,
        high_error_rate=high_error_rate,
        db_connection_failures=db_connection_failures.alarm,
        service_alarms=service_alarms,
        database_alarms=database_alarms,
        dashboard=None,  # type: ignore[arg-type]  # set below, once the alarms exist
    )
    for alarm in result.alarms:
        notify(alarm, topic)

    # Alarm-based rollback, in addition to the circuit breaker: names are plain strings (they are configured),
    # and the service is created after the alarms so ECS never references an alarm that does not exist yet.
    service.enable_deployment_alarms(
        [names.alarm_name(purpose) for purpose in DEPLOYMENT_ALARM_PURPOSES],
        behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
    )
    service.node.add_dependency(high_error_rate, service_alarms.unhealthy_targets)

    enable_autoscaling(
        service,
        web_service.target_group,
        AutoScalingProps(
            min_count=config.min_count,
            max_count=config.max_count,
            cpu_target_percent=config.scaling_cpu_target_percent,
            requests_per_target=config.scaling_requests_per_target,
        ),
    )

    result.dashboard = ServiceDashboard(
        scope,
        "Dashboard",
        ServiceDashboardProps(
            dashboard_name=names.dashboard_name,
            service=service,
            cluster_name=names.cluster_name,
            service_name=names.service_name,
            load_balancer=web_service.load_balancer,
            target_group=web_service.target_group,
            alarms=result.alarms,
            database=database.cluster,
            extra_metrics=[db_connection_failures.metric],
            runbook=runbook(config, names),
        ),
    ).dashboard
    return result


def runbook(config: EnvironmentConfig, names: ResourceNames) -> str:
    """The seed's "Quick Reference Commands" with this environment's names (no hard-coded production names)."""
    region = config.region
    return "\n".join(
        [
            f"### {names.service_name} ({config.name}) - deployments take 12-17 minutes: monitor, don't interfere",
            "```",
            f"aws ecs describe-services --region {region} --cluster {names.cluster_name} --services {names.service_name}",
            f"aws logs tail {names.log_group_name} --region {region} --follow",
            f"aws ssm get-parameter --region {region} --name {names.parameter_prefix}/service-url   # then curl <url>/health and /version",
            "```",
        ]
    )
