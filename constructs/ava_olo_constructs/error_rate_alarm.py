"""``ava-olo-high-error-rate``: more than 5 % of requests failed with a 5xx over 5 minutes.

The seed's alarm uses ``--metric-name ErrorRate --namespace AWS/ApplicationELB``, and that metric does not
exist. The rate is computed with metric math from the load balancer's counters instead:

    error % = 100 x (HTTPCode_Target_5XX_Count + HTTPCode_ELB_5XX_Count) / (RequestCount + HTTPCode_ELB_5XX_Count)

``RequestCount`` only counts requests for which the load balancer could choose a target, so requests it
rejected itself (for example 503 when no target is healthy) are added to the denominator: a total outage reads
100 %, not "no data". No traffic reads 0 % (``FILL(..., 0)``, and missing data is not breaching): a quiet night
in one country is not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from . import alarm_defaults as defaults
from .alarm_factory import threshold_alarm

EXPRESSION = (
    "IF((FILL(requests, 0) + FILL(elb5xx, 0)) > 0, "
    "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0)), 0)"
)


def error_rate_metric(load_balancer: elbv2.IApplicationLoadBalancer, period: Duration) -> cloudwatch.MathExpression:
    """The 5xx rate in percent (also used by the dashboard)."""
    metrics = load_balancer.metrics
    return cloudwatch.MathExpression(
        expression=EXPRESSION,
        using_metrics={
            "requests": metrics.request_count(period=period, statistic="Sum"),
            "target5xx": metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=period, statistic="Sum"),
            "elb5xx": metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=period, statistic="Sum"),
        },
        label="5xx error rate (%)",
        period=period,
    )


@dataclass(frozen=True)
class HighErrorRateAlarmProps:
    """:param load_balancer: the ALB to watch. :param alarm_name: e.g. ``ava-olo-high-error-rate``.
    :param threshold_percent: Default 5 (seed). :param period: Default 5 minutes (seed); one period, one datapoint."""

    load_balancer: elbv2.IApplicationLoadBalancer
    alarm_name: str
    threshold_percent: float = defaults.ERROR_RATE_PERCENT
    period: Duration = defaults.ERROR_RATE_PERIOD


class HighErrorRateAlarm(Construct):
    """Attribute: ``alarm``."""

    def __init__(self, scope: Construct, construct_id: str, props: HighErrorRateAlarmProps) -> None:
        super().__init__(scope, construct_id)
        self.alarm = threshold_alarm(
            self,
            "Alarm",
            name=props.alarm_name,
            description=(
                f"More than {props.threshold_percent}% of requests answered 5xx over "
                f"{int(props.period.to_minutes())} minutes (target + load balancer 5xx / requests). Check "
                "the service's logs and the last deployment; ECS rolls a new version back on this alarm."
            ),
            metric=error_rate_metric(props.load_balancer, props.period),
            threshold=props.threshold_percent,
        )
