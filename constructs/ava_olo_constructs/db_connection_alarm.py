"""``ava-olo-db-connection-failures``: the application failed to reach the database more than 10 times in 5 min.

The seed's alarm reads ``DatabaseConnectionErrors`` from ``AWS/RDS``, and RDS publishes no such metric: it
cannot see a connection the client failed to make. The client can, so a CloudWatch Logs metric filter on the
service's log group counts the failures the drivers print (:mod:`log_filter_pattern`) and publishes
``DatabaseConnectionErrors`` in the project's own namespace. Missing data (no failures logged) is not breaching.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import alarm_defaults as defaults
from .alarm_factory import threshold_alarm
from .log_filter_pattern import DB_CONNECTION_FAILURE_PATTERN


@dataclass(frozen=True)
class DatabaseConnectionFailuresAlarmProps:
    """:param log_group: the service's container log group. :param alarm_name: e.g.
    ``ava-olo-db-connection-failures``. :param namespace: metric namespace, e.g. ``ava-olo/production``.
    :param threshold: failures per period. Default 10 (seed). :param period: Default 5 minutes (seed).
    :param filter_pattern: Default :data:`log_filter_pattern.DB_CONNECTION_FAILURE_PATTERN`."""

    log_group: logs.ILogGroup
    alarm_name: str
    namespace: str
    threshold: int = defaults.DB_CONNECTION_ERRORS
    period: Duration = defaults.DB_CONNECTION_PERIOD
    filter_pattern: str = DB_CONNECTION_FAILURE_PATTERN


class DatabaseConnectionFailuresAlarm(Construct):
    """Attributes: ``metric_filter``, ``metric``, ``alarm``."""

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseConnectionFailuresAlarmProps) -> None:
        super().__init__(scope, construct_id)
        self.metric_filter = logs.MetricFilter(
            self,
            "Filter",
            log_group=props.log_group,
            filter_pattern=logs.FilterPattern.literal(props.filter_pattern),
            metric_namespace=props.namespace,
            metric_name=defaults.DB_CONNECTION_METRIC,
            metric_value="1",
            default_value=0,
        )
        self.metric = self.metric_filter.metric(statistic="Sum", period=props.period)
        self.alarm = threshold_alarm(
            self,
            "Alarm",
            name=props.alarm_name,
            description=(
                f"More than {props.threshold} database connection failures logged in "
                f"{int(props.period.to_minutes())} minutes. Seed 'Issue 2: Database Connection Errors': check "
                "the database status, the security groups and the credentials secret."
            ),
            metric=self.metric,
            threshold=props.threshold,
        )
