"""Deployment alarms on the NEW revision's own target group, deciding within one 60-second period.

In the blue/green family (canary, linear, blue/green) ECS runs the new revision in the *other* target group
and swaps the roles at every deployment, so a static alarm cannot name "the new one". The new revision is the
one with the smaller non-zero share of requests: during test traffic and the canary it gets the test requests
or ``canary_percent`` of production, after the full shift it is the only target group with requests (the old
revision still runs, with none). Metric math picks that target group each minute:

    new = IF(reqA > 0 AND reqB > 0, the smaller of A and B, whichever has requests)

* **errors**: 5xx answered by the new revision's targets, in percent of its requests - but only when they are
  at least ``min_errors`` in the minute (a quiet hour with 1 failing request out of 3 is not a rollback);
* **unhealthy**: unhealthy targets of the new revision (while both get requests), else of either group
  (nothing else can be unhealthy then but a revision that is not serving).

With one target group (rolling) both alarms simply watch it. Period 60 s, 1 evaluation period, 1 datapoint:
each alarm decides on the first full minute of data (README "Deployment strategy": the worst-case exposure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from .alarm_factory import threshold_alarm
from .validation import PropsError, check_range

PERIOD = Duration.minutes(1)
EVALUATION_PERIODS = 1
#: A deployment alarm decides within this many seconds of its first datapoint (period x evaluation periods).
DECISION_SECONDS = 60 * EVALUATION_PERIODS
#: Error share of the new revision's requests that rolls it back. A version that fails every request reads 100.
ERROR_PERCENT = 10
#: At least this many 5xx in one minute before the share counts (quiet hours: no rollback on one unlucky error).
MIN_ERRORS = 5


def _pick(a: str, b: str, value_a: str, value_b: str, otherwise: str) -> str:
    """``value_a`` or ``value_b`` of the target group with the smaller non-zero request count, else ``otherwise``."""
    return f"IF(FILL({a}, 0) > 0 AND FILL({b}, 0) > 0, IF(FILL({a}, 0) <= FILL({b}, 0), {value_a}, {value_b}), {otherwise})"


@dataclass(frozen=True)
class RevisionAlarmsProps:
    """:param target_groups: the service's target group, and its alternate in the blue/green family (1 or 2).
    :param name: ``purpose -> alarm name``. :param error_percent: Default 10. :param min_errors: Default 5."""

    target_groups: Sequence[elbv2.ApplicationTargetGroup]
    name: Callable[[str], str]
    error_percent: float = ERROR_PERCENT
    min_errors: int = MIN_ERRORS

    def validate(self) -> None:
        check_range("target_groups", len(self.target_groups), 1, 2, "the service's target group and its alternate")
        if not 0 < self.error_percent <= 100:
            raise PropsError("error_percent", self.error_percent, "a percentage above 0, at most 100")
        check_range("min_errors", self.min_errors, 1, 100_000)


class RevisionAlarms(Construct):
    """Attributes: ``errors`` and ``unhealthy`` (the deployment alarms), ``all``."""

    def __init__(self, scope: Construct, construct_id: str, props: RevisionAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        groups = list(props.target_groups)
        m = [group.metrics for group in groups]
        metrics: dict[str, cloudwatch.IMetric] = {}
        for suffix, group_metrics in zip("AB", m):
            metrics[f"req{suffix}"] = group_metrics.request_count(period=PERIOD, statistic="Sum")
            metrics[f"err{suffix}"] = group_metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=PERIOD, statistic="Sum"
            )
            metrics[f"bad{suffix}"] = group_metrics.unhealthy_host_count(period=PERIOD, statistic="Maximum")
        if len(groups) == 2:
            errors = _pick("reqA", "reqB", "FILL(errA, 0)", "FILL(errB, 0)", "FILL(errA, 0) + FILL(errB, 0)")
            requests = _pick("reqA", "reqB", "reqA", "reqB", "FILL(reqA, 0) + FILL(reqB, 0)")
            unhealthy = _pick("reqA", "reqB", "FILL(badA, 0)", "FILL(badB, 0)", "MAX([FILL(badA, 0), FILL(badB, 0)])")
        else:
            errors, requests, unhealthy = "FILL(errA, 0)", "FILL(reqA, 0)", "FILL(badA, 0)"

        def using(*keys: str) -> dict[str, cloudwatch.IMetric]:
            return {key: metrics[key] for key in keys if key in metrics}

        new_errors = cloudwatch.MathExpression(
            expression=errors, using_metrics=using("reqA", "reqB", "errA", "errB"), period=PERIOD, label="new revision 5xx"
        )
        new_requests = cloudwatch.MathExpression(
            expression=requests, using_metrics=using("reqA", "reqB"), period=PERIOD, label="new revision requests"
        )
        self.errors = threshold_alarm(
            self,
            "Errors",
            name=props.name("new-revision-errors"),
            description=(
                f"The newest revision answered more than {props.error_percent:g}% of its requests with 5xx in one "
                f"minute (counted from {props.min_errors} errors on). A deployment alarm: ECS moves traffic back "
                "to the previous revision."
            ),
            metric=cloudwatch.MathExpression(
                expression=f"IF(errors >= {props.min_errors}, 100 * errors / requests, 0)",
                using_metrics={"errors": new_errors, "requests": new_requests},
                period=PERIOD,
                label="new revision 5xx (%)",
            ),
            threshold=props.error_percent,
            periods=EVALUATION_PERIODS,
        )
        self.unhealthy = threshold_alarm(
            self,
            "Unhealthy",
            name=props.name("new-revision-unhealthy"),
            description=(
                "A target of the newest revision failed its /health checks (1 minute). A deployment alarm: ECS "
                "moves traffic back to the previous revision."
            ),
            metric=cloudwatch.MathExpression(
                expression=unhealthy,
                using_metrics=using("reqA", "reqB", "badA", "badB"),
                period=PERIOD,
                label="new revision unhealthy targets",
            ),
            threshold=0,
            periods=EVALUATION_PERIODS,
        )
        self.all = [self.errors, self.unhealthy]
