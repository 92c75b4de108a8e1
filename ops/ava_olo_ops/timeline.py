"""Expected ECS rolling-deployment timeline, computed from a synthesized CloudFormation template.

The seed ("ECS Deployment Timeline") says a deploy takes 12-17 minutes and asks people not to panic. This module
turns that advice into numbers that follow from the template's actual settings, for any ``AWS::ECS::Service``
whose ``LoadBalancers[].TargetGroupArn`` is ``{"Ref": <AWS::ElasticLoadBalancingV2::TargetGroup>}``.

Pure logic: no AWS calls, no CDK import. Every absent property falls back to the AWS default, and the result says
which defaults were used. Everything that is not in the template (image pull, application start, build) is an
:class:`Assumptions` field.

Model (all figures in seconds):

* task start      = image pull + app start                                    (assumptions)
* grace           = HealthCheckGracePeriodSeconds; not added: it runs from the moment the task is started, in
                    parallel with the application start and the health checks, and only *suppresses unhealthy*
                    verdicts; it never delays a healthy one
* health checks   = HealthCheckIntervalSeconds x HealthyThresholdCount
* draining        = target group attribute ``deregistration_delay.timeout_seconds``
* completion      = the old task's stop timeout (largest ``StopTimeout`` of its containers, AWS default 30 s): the
                    time ECS allows between SIGTERM and SIGKILL, a worst case
* one wave        = task start + health checks + draining + completion; a rollout is ``waves`` waves with
                    waves = ceil(DesiredCount / (surge + unavailable)), surge = floor(desired x MaximumPercent / 100)
                    - desired, unavailable = desired - ceil(desired x MinimumHealthyPercent / 100)
* health + draining = interval x healthy threshold + deregistration delay (the seed's "slow" part)

Worst-case automatic rollback of a bad version:

* deployment alarms (Enable and Rollback true): task start + health checks (a bad version's request metrics only
  breach once it receives traffic) + the slowest alarm's evaluation window (period x max(EvaluationPeriods,
  DatapointsToAlarm)) + the rollback deployment;
* circuit breaker (Enable and Rollback true): ceil(threshold / parallel new tasks) rounds x (task start + grace +
  interval x unhealthy threshold) + the rollback deployment; threshold = min(max(ceil(0.5 x desired), 3), 200) (the
  documented default, ``BOUNDED_PERCENT`` 50; ``ThresholdConfiguration`` is honoured when present);
* rollback deployment = a rollout of the previous task definition until the bad tasks are drained:
  waves x (task start + health checks + draining) + (waves - 1) x completion.

Sources: Amazon ECS API reference, ServiceDeploymentCircuitBreaker.threshold ("minimum threshold of 3 and a
maximum threshold of 200 ... 0.5 * desired task count",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html), its
ThresholdConfiguration (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ThresholdConfiguration.html)
and the developer guide pages "How the Amazon ECS deployment circuit breaker detects failures"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html) and "How CloudWatch
alarms detect Amazon ECS deployment failures"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "DEFAULTS",
    "AlarmInfo",
    "AlarmRollback",
    "Assumptions",
    "CircuitBreakerRollback",
    "NO_ROLLBACK_SENTENCE",
    "Phase",
    "ServiceTimeline",
    "TemplateError",
    "circuit_breaker_threshold",
    "ecs_services",
    "format_duration",
    "render",
    "timelines",
    "to_json_dict",
]

SERVICE_TYPE = "AWS::ECS::Service"
TARGET_GROUP_TYPE = "AWS::ElasticLoadBalancingV2::TargetGroup"
ALARM_TYPE = "AWS::CloudWatch::Alarm"
TASK_DEFINITION_TYPE = "AWS::ECS::TaskDefinition"
DEREGISTRATION_KEY = "deregistration_delay.timeout_seconds"

#: AWS defaults applied when a property is absent from the template.
DEFAULTS: dict[str, int] = {
    "HealthCheckIntervalSeconds": 30,
    "HealthyThresholdCount": 5,
    "UnhealthyThresholdCount": 2,
    DEREGISTRATION_KEY: 300,
    "HealthCheckGracePeriodSeconds": 0,
    "DesiredCount": 1,
    "MinimumHealthyPercent": 100,
    "MaximumPercent": 200,
    "StopTimeout": 30,
}

#: Circuit breaker: documented default threshold configuration and bounds.
CIRCUIT_BREAKER_DEFAULT_TYPE = "BOUNDED_PERCENT"
CIRCUIT_BREAKER_DEFAULT_PERCENT = 50
CIRCUIT_BREAKER_MIN = 3
CIRCUIT_BREAKER_MAX = 200

NO_ROLLBACK_SENTENCE = "no automatic rollback: a human must roll back (seed Issue 1)"

ALARMS_SOURCE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html"
CIRCUIT_BREAKER_SOURCE = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html"


class TemplateError(ValueError):
    """The template cannot be analysed (not a template, no ECS service behind a target group, bad value)."""


@dataclass(frozen=True)
class Assumptions:
    """What the template cannot tell: seconds spent outside the resources it declares."""

    image_pull_seconds: int = 30  #: pulling the image onto the Fargate task (size, registry, network)
    app_start_seconds: int = 30  #: from container start until the app answers the health check
    build_seconds: int = 0  #: CI build and image push before CloudFormation starts (outside the template)

    def __post_init__(self) -> None:
        for name in ("image_pull_seconds", "app_start_seconds", "build_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: int  #: seconds this phase adds to the total (0 for the grace period, which overlaps)
    formula: str


@dataclass(frozen=True)
class AlarmInfo:
    name: str  #: the alarm name as listed by the service (or a description of the intrinsic)
    logical_id: str | None  #: the AWS::CloudWatch::Alarm resource, when found in the template
    known: bool  #: False: not evaluable from this template (see ``reason``)
    kind: str  #: "simple", "metric math" or "unknown"
    period_seconds: int | None
    evaluation_periods: int | None
    datapoints_to_alarm: int | None
    seconds_to_alarm: int | None  #: period x max(EvaluationPeriods, DatapointsToAlarm)
    reason: str = ""


@dataclass(frozen=True)
class AlarmRollback:
    alarms: tuple[AlarmInfo, ...]
    alarm_seconds: int | None  #: slowest known alarm; None when no listed alarm is known
    detection_seconds: int | None  #: task start + health checks + alarm_seconds
    rollback_deployment_seconds: int
    total_seconds: int | None
    formula: str


@dataclass(frozen=True)
class CircuitBreakerRollback:
    threshold: int  #: failed tasks before ECS marks the deployment FAILED
    threshold_formula: str
    parallel_tasks: int  #: new tasks ECS keeps in flight at once (surge + unavailable, at least 1)
    failure_rounds: int  #: ceil(threshold / parallel_tasks)
    seconds_per_failed_task: int  #: task start + grace + interval x unhealthy threshold
    detection_seconds: int
    rollback_deployment_seconds: int
    total_seconds: int
    formula: str


@dataclass(frozen=True)
class ServiceTimeline:
    service: str  #: logical id of the AWS::ECS::Service
    target_group: str  #: logical id of the target group the timeline uses (the slowest when several)
    # Settings as used (template value, or the AWS default listed in ``defaults_used``).
    desired_count: int
    minimum_healthy_percent: int
    maximum_percent: int
    health_check_interval_seconds: int
    healthy_threshold_count: int
    unhealthy_threshold_count: int
    health_check_timeout_seconds: int | None  #: informational: it is shorter than the interval, adds nothing
    deregistration_delay_seconds: int
    health_check_grace_period_seconds: int
    stop_timeout_seconds: int
    defaults_used: tuple[str, ...]  #: "Name = value" for every property that fell back to an AWS default
    # The timeline.
    phases: tuple[Phase, ...]
    task_start_seconds: int
    health_check_seconds: int
    draining_seconds: int
    completion_seconds: int
    health_and_draining_seconds: int  #: interval x healthy threshold + deregistration delay
    health_and_draining_formula: str  #: e.g. "30 s × 2 + 30 s = 90 s"
    waves: int
    wave_seconds: int
    rollout_seconds: int  #: waves x wave_seconds (what CloudFormation waits for)
    total_seconds: int  #: build + rollout
    # Automatic rollback of a bad version.
    alarm_rollback: AlarmRollback | None
    circuit_breaker_rollback: CircuitBreakerRollback | None
    sooner_rollback: str | None  #: "deployment alarms", "circuit breaker", "either (equal)" or None
    rollback_seconds: int | None  #: worst case of the sooner mechanism; None: no estimable automatic rollback
    automatic_rollback: bool  #: False: a human must roll back
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------------------------
# Reading values
# --------------------------------------------------------------------------------------------------------------


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (
        next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")
    )


def _as_int(value: Any, where: str) -> int | None:
    """An integer from a template value; None for an intrinsic function (unresolvable here)."""
    if isinstance(value, bool):
        raise TemplateError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    if isinstance(value, dict):
        return None
    raise TemplateError(f"{where}: expected a number, got {value!r}")


def _as_bool(value: Any, where: str) -> bool | None:
    """A boolean from a template value; None for an intrinsic function."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, dict):
        return None
    raise TemplateError(f"{where}: expected true or false, got {value!r}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise TemplateError(f"{where}: expected an object, got {type(value).__name__}")


class _Reader:
    """Reads integer settings, applies AWS defaults and remembers which ones it used."""

    def __init__(self) -> None:
        self.defaults: list[str] = []
        self.notes: list[str] = []

    def integer(self, props: dict[str, Any], key: str, where: str, default_key: str | None = None) -> int:
        default = DEFAULTS[default_key or key]
        if props.get(key) is None:
            self.defaults.append(f"{key} = {default} (AWS default; absent on {where})")
            return default
        value = _as_int(props[key], f"{where}.{key}")
        if value is None:
            self.defaults.append(f"{key} = {default} (AWS default; {where} sets it with an intrinsic function)")
            return default
        if value < 0:
            raise TemplateError(f"{where}.{key}: must not be negative, got {value}")
        return value


def _resources(template: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError("not a CloudFormation template: no top-level 'Resources' object")
    resources = template["Resources"]
    return {k: v for k, v in resources.items() if isinstance(v, dict)}


def _props(resource: dict[str, Any], where: str) -> dict[str, Any]:
    return _mapping(resource.get("Properties"), f"{where}.Properties")


def ecs_services(template: dict[str, Any]) -> list[str]:
    """Logical ids of every AWS::ECS::Service in the template, in template order."""
    return [k for k, v in _resources(template).items() if v.get("Type") == SERVICE_TYPE]


def _target_groups_of(service_props: dict[str, Any], resources: dict[str, dict[str, Any]]) -> list[str]:
    found: list[str] = []
    load_balancers = service_props.get("LoadBalancers")
    if not isinstance(load_balancers, list):
        return found
    for entry in load_balancers:
        if not isinstance(entry, dict):
            continue
        arn = entry.get("TargetGroupArn")
        if isinstance(arn, dict) and set(arn) == {"Ref"} and isinstance(arn["Ref"], str):
            target = resources.get(arn["Ref"])
            if target is not None and target.get("Type") == TARGET_GROUP_TYPE and arn["Ref"] not in found:
                found.append(arn["Ref"])
    return found


# --------------------------------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------------------------------


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def circuit_breaker_threshold(
    desired_count: int, threshold_type: str = CIRCUIT_BREAKER_DEFAULT_TYPE, value: int = CIRCUIT_BREAKER_DEFAULT_PERCENT
) -> int:
    """Failed tasks before the ECS deployment circuit breaker fails the deployment.

    Default (``BOUNDED_PERCENT`` 50): min(max(ceil(0.5 x desired), 3), 200), per the ECS API reference
    (ServiceDeploymentCircuitBreaker.threshold: minimum 3, maximum 200, "0.5 * desired task count").
    ``UNBOUNDED_PERCENT``: ceil(value% x desired), at least 1. ``COUNT``: value.
    """
    if desired_count < 0 or value < 0:
        raise ValueError("desired_count and value must not be negative")
    if threshold_type == "COUNT":
        return max(value, 1)
    percent_of_desired = _ceil_div(value * desired_count, 100)
    if threshold_type == "UNBOUNDED_PERCENT":
        return max(percent_of_desired, 1)
    if threshold_type == "BOUNDED_PERCENT":
        return min(max(percent_of_desired, CIRCUIT_BREAKER_MIN), CIRCUIT_BREAKER_MAX)
    raise ValueError(f"unknown circuit breaker threshold type {threshold_type!r}")


def _alarm_window(name: str, logical_id: str, props: dict[str, Any]) -> AlarmInfo:
    where = f"{logical_id}"

    def unknown(reason: str, kind: str = "unknown") -> AlarmInfo:
        return AlarmInfo(name, logical_id, False, kind, None, None, None, None, reason)

    raw_evaluation = props.get("EvaluationPeriods")
    evaluation = _as_int(raw_evaluation, f"{where}.EvaluationPeriods") if raw_evaluation is not None else None
    if evaluation is None:
        return unknown("EvaluationPeriods is absent or an intrinsic function")
    datapoints = evaluation
    if props.get("DatapointsToAlarm") is not None:
        datapoints = _as_int(props["DatapointsToAlarm"], f"{where}.DatapointsToAlarm")
        if datapoints is None:
            return unknown("DatapointsToAlarm is an intrinsic function")
    metrics = props.get("Metrics")
    if metrics is not None:
        kind = "metric math"
        if not isinstance(metrics, list):
            return unknown("Metrics is not a list", kind)
        periods: list[int] = []
        for index, metric in enumerate(metrics):
            if not isinstance(metric, dict):
                continue
            stat = metric.get("MetricStat")
            candidates = [metric.get("Period")]
            if isinstance(stat, dict):
                candidates.append(stat.get("Period"))
            for candidate in candidates:
                if candidate is None:
                    continue
                period = _as_int(candidate, f"{where}.Metrics[{index}].Period")
                if period is None:
                    return unknown(f"Metrics[{index}] period is an intrinsic function", kind)
                periods.append(period)
        if not periods:
            return unknown("no period in Metrics[].MetricStat.Period or Metrics[].Period", kind)
        period = max(periods)
    else:
        kind = "simple"
        if props.get("Period") is None:
            return unknown("Period is absent", kind)
        period = _as_int(props["Period"], f"{where}.Period")
        if period is None:
            return unknown("Period is an intrinsic function", kind)
    return AlarmInfo(name, logical_id, True, kind, period, evaluation, datapoints, period * max(evaluation, datapoints))


def _deployment_alarms(names: Any, resources: dict[str, dict[str, Any]], where: str) -> tuple[AlarmInfo, ...]:
    by_name: dict[str, str] = {}
    intrinsic_named: list[str] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != ALARM_TYPE:
            continue
        alarm_name = _props(resource, logical_id).get("AlarmName")
        if isinstance(alarm_name, str):
            by_name.setdefault(alarm_name, logical_id)
        else:
            intrinsic_named.append(logical_id)
    if not isinstance(names, list):
        return (AlarmInfo("(AlarmNames)", None, False, "unknown", None, None, None, None,
                          f"{where}.AlarmNames is not a literal list"),)
    alarms: list[AlarmInfo] = []
    for entry in names:
        if isinstance(entry, str):
            logical_id = by_name.get(entry)
            if logical_id is None:
                reason = "no AWS::CloudWatch::Alarm in this template has this literal AlarmName"
                if intrinsic_named:
                    reason += f" (alarms whose AlarmName is an intrinsic cannot be matched: {', '.join(intrinsic_named)})"
                alarms.append(AlarmInfo(entry, None, False, "unknown", None, None, None, None, reason))
                continue
            alarms.append(_alarm_window(entry, logical_id, _props(resources[logical_id], logical_id)))
        elif isinstance(entry, dict) and set(entry) == {"Ref"} and resources.get(str(entry["Ref"]), {}).get("Type") == ALARM_TYPE:
            logical_id = str(entry["Ref"])  # Ref of an alarm is its name
            alarms.append(_alarm_window(f"Ref {logical_id}", logical_id, _props(resources[logical_id], logical_id)))
        else:
            alarms.append(AlarmInfo(repr(entry), None, False, "unknown", None, None, None, None,
                                    "the alarm name is an intrinsic function: cannot tell which alarm it is"))
    return tuple(alarms)


def format_duration(seconds: int) -> str:
    """``450 s (7 min 30 s)``; seconds alone below a minute."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        human = f"{minutes} min" + (f" {rest} s" if rest else "")
    else:
        hours, minutes = divmod(minutes, 60)
        human = f"{hours} h {minutes} min" + (f" {rest} s" if rest else "")
    return f"{seconds} s ({human})"


# --------------------------------------------------------------------------------------------------------------
# The timeline of one service
# --------------------------------------------------------------------------------------------------------------


def _stop_timeout(service_props: dict[str, Any], resources: dict[str, dict[str, Any]], reader: _Reader) -> int:
    default = DEFAULTS["StopTimeout"]
    ref = service_props.get("TaskDefinition")
    logical_id = ref.get("Ref") if isinstance(ref, dict) and set(ref) == {"Ref"} else None
    task_definition = resources.get(logical_id) if isinstance(logical_id, str) else None
    if task_definition is None or task_definition.get("Type") != TASK_DEFINITION_TYPE:
        reader.defaults.append(f"StopTimeout = {default} (AWS default; task definition not in this template)")
        return default
    containers = _props(task_definition, logical_id).get("ContainerDefinitions")
    if not isinstance(containers, list) or not containers:
        reader.defaults.append(f"StopTimeout = {default} (AWS default; {logical_id} has no literal ContainerDefinitions)")
        return default
    values: list[int] = []
    defaulted = False
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            continue
        if isinstance(container.get("HealthCheck"), dict):
            name = container.get("Name") if isinstance(container.get("Name"), str) else f"#{index}"
            reader.notes.append(
                f"container {name} has a container HealthCheck: ECS also waits for it to report HEALTHY "
                "(not modelled; it usually overlaps the load balancer checks)"
            )
        raw = container.get("StopTimeout")
        value = _as_int(raw, f"{logical_id}.ContainerDefinitions[{index}].StopTimeout") if raw is not None else None
        if value is None:
            defaulted = True
            value = default
        values.append(value)
    if defaulted:
        reader.defaults.append(f"StopTimeout = {default} (AWS default; absent on a container of {logical_id})")
    return max(values) if values else default


def _target_group_settings(logical_id: str, resources: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], _Reader]:
    reader = _Reader()
    props = _props(resources[logical_id], logical_id)
    interval = reader.integer(props, "HealthCheckIntervalSeconds", logical_id)
    healthy = reader.integer(props, "HealthyThresholdCount", logical_id)
    unhealthy = reader.integer(props, "UnhealthyThresholdCount", logical_id)
    timeout = _as_int(props["HealthCheckTimeoutSeconds"], f"{logical_id}.HealthCheckTimeoutSeconds") if props.get(
        "HealthCheckTimeoutSeconds") is not None else None
    attributes = props.get("TargetGroupAttributes")
    deregistration_props: dict[str, Any] = {}
    if isinstance(attributes, list):
        for attribute in attributes:
            if isinstance(attribute, dict) and attribute.get("Key") == DEREGISTRATION_KEY:
                deregistration_props[DEREGISTRATION_KEY] = attribute.get("Value")
    elif attributes is not None:
        reader.notes.append(f"{logical_id}.TargetGroupAttributes is not a literal list")
    deregistration = reader.integer(deregistration_props, DEREGISTRATION_KEY, f"{logical_id}.TargetGroupAttributes")
    if interval <= 0 or healthy <= 0 or unhealthy <= 0:
        raise TemplateError(f"{logical_id}: health check interval and thresholds must be positive")
    settings = {
        "interval": interval,
        "healthy": healthy,
        "unhealthy": unhealthy,
        "timeout": timeout,
        "deregistration": deregistration,
    }
    return settings, reader


def _service_timeline(
    logical_id: str, resources: dict[str, dict[str, Any]], assumptions: Assumptions
) -> ServiceTimeline:
    service_props = _props(resources[logical_id], logical_id)
    target_groups = _target_groups_of(service_props, resources)
    if not target_groups:
        raise TemplateError(
            f"service {logical_id} is not behind an {TARGET_GROUP_TYPE} of this template "
            "(no LoadBalancers[].TargetGroupArn {\"Ref\": ...})"
        )
    # Several target groups: the deployment waits for all of them; use the slowest.
    per_group = {tg: _target_group_settings(tg, resources) for tg in target_groups}
    target_group = max(
        target_groups,
        key=lambda tg: per_group[tg][0]["interval"] * per_group[tg][0]["healthy"] + per_group[tg][0]["deregistration"],
    )
    tg, reader = per_group[target_group]
    if len(target_groups) > 1:
        others = ", ".join(t for t in target_groups if t != target_group)
        reader.notes.append(f"service is in several target groups; the timeline uses the slowest, {target_group} (others: {others})")

    config = _mapping(service_props.get("DeploymentConfiguration"), f"{logical_id}.DeploymentConfiguration")
    desired = reader.integer(service_props, "DesiredCount", logical_id)
    minimum = reader.integer(config, "MinimumHealthyPercent", f"{logical_id}.DeploymentConfiguration")
    maximum = reader.integer(config, "MaximumPercent", f"{logical_id}.DeploymentConfiguration")
    grace = reader.integer(service_props, "HealthCheckGracePeriodSeconds", logical_id)
    stop_timeout = _stop_timeout(service_props, resources, reader)

    controller = _mapping(service_props.get("DeploymentController"), f"{logical_id}.DeploymentController").get("Type", "ECS")
    rolling = controller == "ECS"
    if not rolling:
        reader.notes.append(
            f"DeploymentController {controller!r}: this timeline models an ECS rolling update; the deployment "
            "circuit breaker and deployment alarms do not apply"
        )
    strategy = config.get("Strategy")
    if isinstance(strategy, str) and strategy not in ("ROLLING",):
        reader.notes.append(f"DeploymentConfiguration.Strategy {strategy!r}: timings differ from the rolling update modelled here")

    # Waves of the rolling update.
    counted_desired = desired
    if desired == 0:
        counted_desired = 1
        reader.notes.append("DesiredCount 0: a deployment replaces no task; the timeline shows one task for reference")
    max_total = counted_desired * maximum // 100
    min_healthy = _ceil_div(counted_desired * minimum, 100)
    surge = max(0, max_total - counted_desired)
    unavailable = max(0, counted_desired - min_healthy)
    batch = surge + unavailable
    if batch == 0:
        reader.notes.append(
            f"MinimumHealthyPercent {minimum} and MaximumPercent {maximum} leave no room to start or stop a task "
            f"for DesiredCount {counted_desired}: ECS cannot make progress; the figures assume one task at a time"
        )
        batch = 1
    waves = _ceil_div(counted_desired, batch)

    # Phases.
    task_start = assumptions.image_pull_seconds + assumptions.app_start_seconds
    health = tg["interval"] * tg["healthy"]
    draining = tg["deregistration"]
    completion = stop_timeout
    wave = task_start + health + draining + completion
    rollout = waves * wave
    total = assumptions.build_seconds + rollout
    health_and_draining = health + draining
    health_and_draining_formula = f"{tg['interval']} s × {tg['healthy']} + {draining} s = {health_and_draining} s"

    if grace:
        grace_formula = (
            f"grace {grace} s starts with the task and runs alongside task start and health checks; it only "
            "suppresses unhealthy verdicts, so it adds nothing to a healthy rollout"
        )
    else:
        grace_formula = "no grace period (0 s): failed checks count from the first one"
    phases = (
        Phase("Build (outside CloudFormation)", assumptions.build_seconds, f"--build-seconds {assumptions.build_seconds} (assumption)"),
        Phase(
            "1. Task start",
            task_start,
            f"image pull {assumptions.image_pull_seconds} s + app start {assumptions.app_start_seconds} s (assumptions)",
        ),
        Phase("2. Health-check grace", 0, grace_formula),
        Phase("3. Health checks until healthy", health, f"interval {tg['interval']} s × healthy threshold {tg['healthy']}"),
        Phase("4. Traffic switch / draining", draining, f"deregistration delay {draining} s (old task drains)"),
        Phase("5. Completion", completion, f"old task stop timeout {completion} s (SIGTERM to SIGKILL, worst case)"),
    )

    # A healthy task killed before it is ready.
    unhealthy_after = max(grace, tg["interval"] * tg["unhealthy"])
    if assumptions.app_start_seconds >= unhealthy_after:
        reader.notes.append(
            f"app start {assumptions.app_start_seconds} s >= max(grace {grace} s, interval × unhealthy threshold "
            f"{tg['interval'] * tg['unhealthy']} s): ECS may replace a healthy new task before it answers; "
            "raise HealthCheckGracePeriodSeconds"
        )

    # Rollback deployment: the previous task definition rolled out again, until the bad tasks are drained.
    rollback_deployment = waves * (task_start + health + draining) + (waves - 1) * completion
    if waves > 1:
        rollback_deployment_formula = f"{waves} × ({task_start} + {health} + {draining}) + {waves - 1} × {completion}"
    else:
        rollback_deployment_formula = f"task start {task_start} + health {health} + draining {draining}"

    # Deployment alarms.
    alarm_rollback: AlarmRollback | None = None
    alarms_config = config.get("Alarms")
    if alarms_config is not None and rolling:
        alarms_config = _mapping(alarms_config, f"{logical_id}.DeploymentConfiguration.Alarms")
        enable = _as_bool(alarms_config.get("Enable", False), f"{logical_id}.DeploymentConfiguration.Alarms.Enable")
        rollback = _as_bool(alarms_config.get("Rollback", False), f"{logical_id}.DeploymentConfiguration.Alarms.Rollback")
        if enable is None or rollback is None:
            reader.notes.append("deployment alarms: Enable or Rollback is an intrinsic function; not counted as automatic rollback")
        elif enable and not rollback:
            reader.notes.append("deployment alarms fail the deployment but Rollback is false: no automatic rollback from them")
        elif enable and rollback:
            alarms = _deployment_alarms(alarms_config.get("AlarmNames"), resources, f"{logical_id}.DeploymentConfiguration.Alarms")
            known = [a.seconds_to_alarm for a in alarms if a.known and a.seconds_to_alarm is not None]
            unknown = [a for a in alarms if not a.known]
            if unknown:
                reader.notes.append(
                    "deployment alarms not evaluable from this template (left out of the estimate): "
                    + "; ".join(f"{a.name}: {a.reason}" for a in unknown)
                )
            if known:
                alarm_seconds = max(known)
                detection = task_start + health + alarm_seconds
                alarm_rollback = AlarmRollback(
                    alarms, alarm_seconds, detection, rollback_deployment, detection + rollback_deployment,
                    f"task start {task_start} + health checks {health} + alarm {alarm_seconds} "
                    f"+ rollback deployment {rollback_deployment} ({rollback_deployment_formula})",
                )
            else:
                alarm_rollback = AlarmRollback(
                    alarms, None, None, rollback_deployment, None,
                    "cannot estimate: none of the deployment alarms is evaluable from this template",
                )

    # Circuit breaker.
    breaker_rollback: CircuitBreakerRollback | None = None
    breaker = config.get("DeploymentCircuitBreaker")
    if breaker is not None and rolling:
        breaker = _mapping(breaker, f"{logical_id}.DeploymentConfiguration.DeploymentCircuitBreaker")
        where = f"{logical_id}.DeploymentConfiguration.DeploymentCircuitBreaker"
        enable = _as_bool(breaker.get("Enable", False), f"{where}.Enable")
        rollback = _as_bool(breaker.get("Rollback", False), f"{where}.Rollback")
        if enable is None or rollback is None:
            reader.notes.append("circuit breaker: Enable or Rollback is an intrinsic function; not counted as automatic rollback")
        elif enable and not rollback:
            reader.notes.append("the circuit breaker fails the deployment but Rollback is false: no automatic rollback from it")
        elif enable and rollback:
            threshold_config = _mapping(breaker.get("ThresholdConfiguration"), f"{where}.ThresholdConfiguration")
            threshold_type = threshold_config.get("Type", CIRCUIT_BREAKER_DEFAULT_TYPE)
            threshold_value = CIRCUIT_BREAKER_DEFAULT_PERCENT
            if threshold_config.get("Value") is not None:
                threshold_value = _as_int(threshold_config["Value"], f"{where}.ThresholdConfiguration.Value")
            if not isinstance(threshold_type, str) or threshold_value is None:
                raise TemplateError(f"{where}.ThresholdConfiguration: Type and Value must be literals")
            try:
                threshold = circuit_breaker_threshold(desired, threshold_type, threshold_value)
            except ValueError as exc:
                raise TemplateError(f"{where}.ThresholdConfiguration: {exc}") from None
            if threshold_type == "BOUNDED_PERCENT":
                threshold_formula = (
                    f"min(max(ceil({threshold_value / 100:g} × {desired}), {CIRCUIT_BREAKER_MIN}), {CIRCUIT_BREAKER_MAX})"
                    f" = {threshold}"
                )
            elif threshold_type == "UNBOUNDED_PERCENT":
                threshold_formula = f"max(ceil({threshold_value / 100:g} × {desired}), 1) = {threshold}"
            else:
                threshold_formula = f"COUNT {threshold_value} = {threshold}"
            parallel = batch
            rounds = _ceil_div(threshold, parallel)
            per_failed = task_start + grace + tg["interval"] * tg["unhealthy"]
            detection = rounds * per_failed
            breaker_rollback = CircuitBreakerRollback(
                threshold, threshold_formula, parallel, rounds, per_failed, detection, rollback_deployment,
                detection + rollback_deployment,
                f"{rounds} round(s) × (task start {task_start} + grace {grace} + {tg['interval']} × "
                f"{tg['unhealthy']} unhealthy) + rollback deployment {rollback_deployment} ({rollback_deployment_formula})",
            )

    candidates = []
    if alarm_rollback is not None and alarm_rollback.total_seconds is not None:
        candidates.append(("deployment alarms", alarm_rollback.total_seconds))
    if breaker_rollback is not None:
        candidates.append(("circuit breaker", breaker_rollback.total_seconds))
    sooner: str | None = None
    rollback_seconds: int | None = None
    if candidates:
        rollback_seconds = min(seconds for _, seconds in candidates)
        winners = [name for name, seconds in candidates if seconds == rollback_seconds]
        sooner = winners[0] if len(winners) == 1 else "either (equal)"

    return ServiceTimeline(
        service=logical_id,
        target_group=target_group,
        desired_count=desired,
        minimum_healthy_percent=minimum,
        maximum_percent=maximum,
        health_check_interval_seconds=tg["interval"],
        healthy_threshold_count=tg["healthy"],
        unhealthy_threshold_count=tg["unhealthy"],
        health_check_timeout_seconds=tg["timeout"],
        deregistration_delay_seconds=draining,
        health_check_grace_period_seconds=grace,
        stop_timeout_seconds=stop_timeout,
        defaults_used=tuple(reader.defaults),
        phases=phases,
        task_start_seconds=task_start,
        health_check_seconds=health,
        draining_seconds=draining,
        completion_seconds=completion,
        health_and_draining_seconds=health_and_draining,
        health_and_draining_formula=health_and_draining_formula,
        waves=waves,
        wave_seconds=wave,
        rollout_seconds=rollout,
        total_seconds=total,
        alarm_rollback=alarm_rollback,
        circuit_breaker_rollback=breaker_rollback,
        sooner_rollback=sooner,
        rollback_seconds=rollback_seconds,
        automatic_rollback=alarm_rollback is not None or breaker_rollback is not None,
        notes=tuple(reader.notes),
    )


def timelines(
    template: dict[str, Any], assumptions: Assumptions = Assumptions(), service: str | None = None
) -> list[ServiceTimeline]:
    """One timeline per AWS::ECS::Service behind a target group of ``template`` (or only ``service``).

    Raises :class:`TemplateError` when the template has no such service, or ``service`` is not one.
    Services without a target group of this template are skipped unless selected (then it is an error).
    """
    resources = _resources(template)
    services = ecs_services(template)
    if not services:
        raise TemplateError(f"no {SERVICE_TYPE} in the template")
    if service is not None:
        if service not in services:
            raise TemplateError(f"no {SERVICE_TYPE} {service!r} in the template (services: {', '.join(services)})")
        return [_service_timeline(service, resources, assumptions)]
    behind = [s for s in services if _target_groups_of(_props(resources[s], s), resources)]
    if not behind:
        raise TemplateError(
            f"no {SERVICE_TYPE} behind an {TARGET_GROUP_TYPE} of this template (services: {', '.join(services)})"
        )
    return [_service_timeline(s, resources, assumptions) for s in behind]


def to_json_dict(items: list[ServiceTimeline], assumptions: Assumptions) -> dict[str, Any]:
    """The computed numbers as plain JSON-serialisable data."""
    return {"assumptions": asdict(assumptions), "services": [asdict(t) for t in items]}


# --------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------


def _picture(timeline: ServiceTimeline) -> list[str]:
    steps = [(p.name.split(". ", 1)[-1].replace(" (outside CloudFormation)", ""), p) for p in timeline.phases]
    labels = []
    values = []
    for label, phase in steps:
        if phase.name.startswith("2."):
            value = f"({timeline.health_check_grace_period_seconds} s, overlaps)"
        else:
            value = f"{phase.seconds} s"
        width = max(len(label), len(value))
        labels.append(label.center(width))
        values.append(value.center(width))
    return [("  " + " -> ".join(labels)).rstrip(), ("  " + "    ".join(values)).rstrip()]


def render(timeline: ServiceTimeline, assumptions: Assumptions) -> str:
    """Human-readable timeline of one service: picture, phases, totals, rollback and assumptions (plain text)."""
    t = timeline
    lines: list[str] = []
    lines.append(f"ECS deployment timeline: service {t.service} (target group {t.target_group})")
    lines.append("")
    lines.extend(_picture(t))
    lines.append("")
    name_width = max(len(p.name) for p in t.phases)
    lines.append(f"  {'Phase'.ljust(name_width)}  {'Adds':>8}  How")
    for phase in t.phases:
        adds = "0 s" if phase.name.startswith("2.") else f"{phase.seconds} s"
        lines.append(f"  {phase.name.ljust(name_width)}  {adds:>8}  {phase.formula}")
    wave_text = (
        f"{t.waves} wave(s) × {t.wave_seconds} s"
        f" (DesiredCount {t.desired_count}, MinimumHealthyPercent {t.minimum_healthy_percent}, "
        f"MaximumPercent {t.maximum_percent})"
    )
    lines.append(f"  Rollout (what CloudFormation waits for): {format_duration(t.rollout_seconds)} = {wave_text}")
    lines.append(f"  Total including build: {format_duration(t.total_seconds)}")
    lines.append("")
    lines.append(f"  Health + draining: {t.health_and_draining_formula}")
    lines.append("    (interval × healthy threshold + deregistration delay)")
    lines.append("")

    lines.append("  Worst-case automatic rollback of a bad version:")
    if not t.automatic_rollback:
        lines.append(f"    {NO_ROLLBACK_SENTENCE}")
    else:
        a = t.alarm_rollback
        if a is None:
            lines.append("    deployment alarms: not configured with rollback")
        else:
            if a.total_seconds is None:
                lines.append(f"    deployment alarms: {a.formula}")
            else:
                lines.append(f"    deployment alarms: {format_duration(a.total_seconds)} = {a.formula}")
            for alarm in a.alarms:
                if alarm.known:
                    lines.append(
                        f"      alarm {alarm.name} ({alarm.kind}): period {alarm.period_seconds} s × "
                        f"max(EvaluationPeriods {alarm.evaluation_periods}, DatapointsToAlarm "
                        f"{alarm.datapoints_to_alarm}) = {alarm.seconds_to_alarm} s"
                    )
                else:
                    lines.append(f"      alarm {alarm.name}: unknown ({alarm.reason})")
        c = t.circuit_breaker_rollback
        if c is None:
            lines.append("    circuit breaker: not configured with rollback")
        else:
            lines.append(f"    circuit breaker: {format_duration(c.total_seconds)} = {c.formula}")
            lines.append(
                f"      threshold {c.threshold} failed tasks = {c.threshold_formula}; {c.parallel_tasks} new task(s) "
                f"in flight at once, so {c.failure_rounds} round(s) of {c.seconds_per_failed_task} s"
            )
        if t.sooner_rollback is None:
            lines.append("    sooner: none estimable")
        else:
            lines.append(f"    sooner: {t.sooner_rollback}, {format_duration(t.rollback_seconds or 0)}")
    lines.append("")

    lines.append("  Settings used:")
    lines.append(
        f"    target group {t.target_group}: HealthCheckIntervalSeconds {t.health_check_interval_seconds}, "
        f"HealthyThresholdCount {t.healthy_threshold_count}, UnhealthyThresholdCount {t.unhealthy_threshold_count}, "
        f"HealthCheckTimeoutSeconds "
        f"{t.health_check_timeout_seconds if t.health_check_timeout_seconds is not None else 'not set'}, "
        f"{DEREGISTRATION_KEY} {t.deregistration_delay_seconds}"
    )
    lines.append(
        f"    service {t.service}: HealthCheckGracePeriodSeconds {t.health_check_grace_period_seconds}, "
        f"DesiredCount {t.desired_count}, MinimumHealthyPercent {t.minimum_healthy_percent}, "
        f"MaximumPercent {t.maximum_percent}, StopTimeout {t.stop_timeout_seconds}"
    )
    for default in t.defaults_used:
        lines.append(f"    default: {default}")
    if t.notes:
        lines.append("")
        lines.append("  Notes:")
        lines.extend(f"    - {note}" for note in t.notes)
    lines.append("")

    lines.append("  Assumptions:")
    assumption_lines = [
        f"image pull {assumptions.image_pull_seconds} s (--image-pull-seconds), app start "
        f"{assumptions.app_start_seconds} s (--app-start-seconds), build {assumptions.build_seconds} s "
        "(--build-seconds; the build runs before CloudFormation)",
        "the grace period is not added to a healthy rollout: it starts with the task and overlaps task start and "
        "health checks; it delays only unhealthy verdicts",
        "health checks start as soon as the task is registered; the first success after app start counts; the "
        "health check timeout is shorter than the interval and adds nothing",
        "waves = ceil(DesiredCount / (surge + unavailable)); surge = floor(desired × MaximumPercent / 100) - desired,"
        " unavailable = desired - ceil(desired × MinimumHealthyPercent / 100); each wave = task start + health "
        "checks + draining + completion",
        "not included: CloudFormation and ECS API latency, scheduler polling, capacity or ENI waits, image pulls "
        "slower than assumed",
    ]
    if t.alarm_rollback is not None:
        assumption_lines.append(
            "deployment alarms: the bad version breaches the alarm metric as soon as it receives traffic (after its "
            "health checks pass); CloudWatch needs DatapointsToAlarm breaching periods out of EvaluationPeriods, "
            "so ALARM comes at worst after period × max(EvaluationPeriods, DatapointsToAlarm); period alignment "
            "(up to one more period) and metric delivery delay are not included; ECS watches the alarms during the "
            "rollout and a bake time it derives from the alarm configuration, assumed long enough "
            f"({ALARMS_SOURCE})"
        )
    if t.circuit_breaker_rollback is not None:
        assumption_lines.append(
            "circuit breaker: the bad version never passes the load balancer health check; threshold = "
            "min(max(ceil(0.5 × desired), 3), 200) by default "
            f"({CIRCUIT_BREAKER_SOURCE}); new tasks run in parallel up to surge + unavailable; each failed task "
            "costs task start + the full grace + interval × unhealthy threshold (an upper bound: ECS acts once "
            "both the grace has ended and the target is unhealthy); ECS's launch back-off for repeatedly failing "
            "tasks and the draining of failed tasks are not included and can make it slower"
        )
    if t.automatic_rollback:
        assumption_lines.append(
            "rollback deployment = a rollout of the previous task definition until the bad tasks are drained: "
            "waves × (task start + health checks + draining) + (waves - 1) × completion"
        )
    lines.extend(f"    - {text}" for text in assumption_lines)
    return "\n".join(lines) + "\n"
