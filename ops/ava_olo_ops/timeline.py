"""Expected ECS deployment phases and the bad-version exposure, from a synthesized CloudFormation template.

Pure logic. Read from each ``AWS::ECS::Service`` behind a target group (AWS defaults where absent):
``DeploymentConfiguration`` (``Strategy``, ``BakeTimeInMinutes``, ``CanaryConfiguration``, ``LinearConfiguration``,
``Alarms``, ``LifecycleHooks``, ``MaximumPercent``), ``DesiredCount``, the target group's health check (interval x
healthy threshold) and deregistration delay, each deployment alarm's ``Period`` (or ``Metrics[].MetricStat.Period``)
x ``EvaluationPeriods``. Image pull, app start and the hook's run time are :class:`Assumptions`.

Exposure: a bad version passes its health and pre-traffic checks, then fails every request. The slowest deployment
alarm decides within its window; until then the new revision serves the strategy's share: CANARY its CanaryPercent
while the window fits in the canary bake (else 100 %), LINEAR the step reached, BLUE_GREEN 100 % - rollback is a
traffic shift back to the old revision, still running. ROLLING: MaximumPercent-100 of MaximumPercent, for the window
plus a rollback *deployment* (task start + health checks + draining).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

SERVICE_TYPE, TARGET_GROUP_TYPE, ALARM_TYPE = "AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::CloudWatch::Alarm"
DEREGISTRATION_KEY = "deregistration_delay.timeout_seconds"
#: AWS defaults applied when a property is absent.
DEFAULTS = {"HealthCheckIntervalSeconds": 30, "HealthyThresholdCount": 5, DEREGISTRATION_KEY: 300,
            "DesiredCount": 1, "MaximumPercent": 200, "BakeTimeInMinutes": 0}


class TemplateError(ValueError):
    """The template cannot be analysed (one line, names the resource and property)."""


@dataclass(frozen=True)
class Assumptions:
    image_pull_seconds: int = 30
    app_start_seconds: int = 30
    hook_seconds: int = 30  #: the pre-traffic lifecycle hook's run time
    #: A 1-minute load-balancer datapoint reaches CloudWatch up to about a minute after its minute ends; the alarm
    #: (and so ECS) can only decide then.
    metric_delay_seconds: int = 60


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: int
    production_percent: float  #: share of production traffic on the new revision during the phase
    detail: str


@dataclass
class ServiceTimeline:
    service: str
    strategy: str
    phases: list[Phase]
    alarms: list[tuple[str, Optional[int], str]]  #: (name, window seconds or None, formula)
    alarm_rollback: bool
    exposure_percent: float
    exposure_seconds: Optional[int]
    rollback: str
    reasoning: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> int:
        return sum(p.seconds for p in self.phases)

    @property
    def exposure(self) -> str:
        if self.exposure_seconds is None:
            return f"{self.exposure_percent:g} % × unbounded (no deployment alarm rolls it back: a human must)"
        return f"{self.exposure_percent:g} % × {format_duration(self.exposure_seconds)}"


def format_duration(seconds: float) -> str:
    """``45 s``, ``4 min 10 s``, ``1 h 2 min``."""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, rest = divmod(rest, 60)
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" + (f" {rest} s" if rest else "") if minutes else f"{rest} s"


def _literal(value: Any, where: str, default: Any = None) -> Any:
    if value is None:
        return default
    if isinstance(value, dict):
        raise TemplateError(f"{where} is an intrinsic function ({next(iter(value), '?')}): cannot read it from the template")
    return value


def _number(props: dict[str, Any], key: str, where: str, default: Any = None) -> Any:
    value = _literal(props.get(key), f"{where}.{key}", default if default is not None else DEFAULTS.get(key))
    try:
        return float(value) if "Percent" in key else int(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}.{key} = {value!r} is not a number") from None


def _resources(template: Any) -> dict[str, dict[str, Any]]:
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict):
        raise TemplateError("the template has no Resources section")
    return {k: v for k, v in resources.items() if isinstance(v, dict)}


def ecs_services(template: dict[str, Any]) -> list[str]:
    return [k for k, v in _resources(template).items() if v.get("Type") == SERVICE_TYPE]


def _ref(value: Any) -> Optional[str]:
    return value.get("Ref") if isinstance(value, dict) and isinstance(value.get("Ref"), str) else None


def _alarm(name: Any, resources: dict[str, dict[str, Any]]) -> tuple[str, Optional[int], str]:
    logical = _ref(name) or next((k for k, v in resources.items() if v.get("Type") == ALARM_TYPE
                                  and v.get("Properties", {}).get("AlarmName") == name), None)
    label = name if isinstance(name, str) else str(logical)
    if logical is None or resources.get(logical, {}).get("Type") != ALARM_TYPE:
        return label, None, "not in this template"
    props = resources[logical].get("Properties", {})
    label = props.get("AlarmName", logical) if isinstance(props.get("AlarmName"), str) else logical
    periods = [props.get("Period")] + [(m.get("MetricStat") or {}).get("Period") or m.get("Period") for m in props.get("Metrics") or []]
    periods = [int(_literal(p, f"{logical}.Period")) for p in periods if p is not None]
    evaluation = _number(props, "EvaluationPeriods", logical, 1)
    if not periods:
        return label, None, "no literal Period"
    return label, max(periods) * evaluation, f"{max(periods)} s × {evaluation}"


def _service_timeline(logical_id: str, resources: dict[str, dict[str, Any]], a: Assumptions) -> ServiceTimeline:
    props = resources[logical_id].get("Properties", {})
    config = props.get("DeploymentConfiguration") or {}
    where = f"{logical_id}.DeploymentConfiguration"
    strategy = _literal(config.get("Strategy"), f"{where}.Strategy", "ROLLING")
    balancers = props.get("LoadBalancers") or []
    groups = [_ref(lb.get("TargetGroupArn")) for lb in balancers if isinstance(lb, dict)]
    groups = [g for g in groups if resources.get(g or "", {}).get("Type") == TARGET_GROUP_TYPE]
    if not groups:
        raise TemplateError(f"{logical_id}: not behind a target group of this template (LoadBalancers[].TargetGroupArn)")
    tg = resources[groups[0]].get("Properties", {})
    interval, healthy = _number(tg, "HealthCheckIntervalSeconds", groups[0]), _number(tg, "HealthyThresholdCount", groups[0])
    attributes = {x.get("Key"): x.get("Value") for x in tg.get("TargetGroupAttributes") or [] if isinstance(x, dict)}
    draining = _number(attributes, DEREGISTRATION_KEY, f"{groups[0]}.TargetGroupAttributes")
    desired = _number(props, "DesiredCount", logical_id)
    start = a.image_pull_seconds + a.app_start_seconds + interval * healthy
    start_detail = f"image pull {a.image_pull_seconds} s + app start {a.app_start_seconds} s + health {interval} s × {healthy}"
    bake = _number(config, "BakeTimeInMinutes", where) * 60
    alarms_config = config.get("Alarms") or {}
    alarm_rollback = bool(alarms_config.get("Enable")) and bool(alarms_config.get("Rollback"))
    alarms = [_alarm(n, resources) for n in alarms_config.get("AlarmNames") or []] if alarm_rollback else []
    windows = [w for _, w, _ in alarms if w is not None]
    detect = max(windows) + a.metric_delay_seconds if windows and len(windows) == len(alarms) else None
    slowest = next((f for _, w, f in alarms if detect is not None and w == detect - a.metric_delay_seconds), "")
    hooks = [h for h in config.get("LifecycleHooks") or [] if isinstance(h, dict)]
    pre = [h for h in hooks if set(h.get("LifecycleStages") or []) & {"POST_TEST_TRAFFIC_SHIFT", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT"}]
    test_rule = any(isinstance(lb, dict) and (lb.get("AdvancedConfiguration") or {}).get("TestListenerRule") for lb in balancers)
    why = [f"strategy {strategy} ({where}.Strategy{'' if config.get('Strategy') else ', AWS default'})",
           f"tasks start and turn healthy in {start} s: {start_detail}"]

    phases = [Phase("new tasks start", start, 0, start_detail)]
    if strategy == "ROLLING":
        maximum = _number(config, "MaximumPercent", where)
        surge = max(math.floor(desired * maximum / 100) - desired, 1)
        waves = math.ceil(desired / surge)
        share = round(100 * min(surge, desired) / (desired + min(surge, desired)))
        phases = [Phase("new tasks start", start * waves, share, start_detail + (f", × {waves} waves" if waves > 1 else "")),
                  Phase("draining old tasks", draining * waves, share, f"deregistration delay {draining} s")]
        rollback = "ECS starts a new deployment of the previous revision (tasks start again: it is not a traffic shift)"
        exposure = (detect + start + draining) if detect is not None else None
        why.append(f"new tasks take {share} % of production traffic (MaximumPercent {maximum:g}, {desired} task(s)); a "
                   f"rollback is a deployment: window + {start} s start + {draining} s draining")
        percent = share
    else:
        if test_rule or pre:
            names = ", ".join(sorted({s for h in pre for s in h.get("LifecycleStages", [])})) or "none"
            phases.append(Phase("test traffic + pre-traffic check", a.hook_seconds if pre else 0, 0,
                                f"test listener rule: {'yes' if test_rule else 'NO'}; lifecycle hook(s) at {names}"))
            why.append("a version failing the pre-traffic hook (/health, /version on the test listener) gets 0 % of production")
        steps: list[tuple[float, int]] = []  # (production percent, seconds)
        if strategy == "CANARY":
            canary = config.get("CanaryConfiguration") or {}
            steps = [(_number(canary, "CanaryPercent", f"{where}.CanaryConfiguration", 5),
                      _number(canary, "CanaryBakeTimeInMinutes", f"{where}.CanaryConfiguration", 10) * 60)]
        elif strategy == "LINEAR":
            linear = config.get("LinearConfiguration") or {}
            step = _number(linear, "StepPercent", f"{where}.LinearConfiguration", 10)
            wait = _number(linear, "StepBakeTimeInMinutes", f"{where}.LinearConfiguration", 6) * 60
            steps = [(min(step * k, 100), wait) for k in range(1, math.ceil(100 / step)) if step * k < 100]
        phases += [Phase(f"{'canary' if strategy == 'CANARY' else 'step'} {p:g} %", s, p, "production traffic on the new revision")
                   for p, s in steps]
        phases += [Phase("full shift + final bake", bake, 100, f"BakeTimeInMinutes {bake // 60}: the old revision keeps running")]
        rollback = "ECS shifts production traffic back to the old revision, still running (a listener rule change, no new deployment)"
        percent, elapsed = 100.0, 0
        for p, s in steps:
            if detect is not None and detect <= elapsed + s:
                percent = p
                break
            elapsed += s
        exposure = detect
    phases.append(Phase("clean up", draining, 100, f"old revision drains {draining} s, then stops"))
    if detect is not None:
        why.append(f"deployment alarms decide within {detect} s (slowest: {slowest}, + {a.metric_delay_seconds} s until "
                   f"the metric is published); the bad version serves "
                   f"{percent:g} % of production until then")
    else:
        why.append("no deployment alarm with rollback (or an alarm window is unknown): nothing bounds the exposure")
    why.append(f"rollback: {rollback}")
    return ServiceTimeline(logical_id, strategy, phases, alarms, alarm_rollback, percent, exposure, rollback, why)


def timelines(template: dict[str, Any], assumptions: Assumptions = Assumptions(), *, service: Optional[str] = None) -> list[ServiceTimeline]:
    resources = _resources(template)
    if service is not None:
        if resources.get(service, {}).get("Type") != SERVICE_TYPE:
            raise TemplateError(f"--service: {service!r} is not an {SERVICE_TYPE} of this template; choose one of {', '.join(ecs_services(template)) or 'none'}")
        return [_service_timeline(service, resources, assumptions)]
    found = []
    for logical_id in ecs_services(template):
        try:
            found.append(_service_timeline(logical_id, resources, assumptions))
        except TemplateError as error:
            if "not behind a target group" not in str(error):
                raise
    if not found:
        raise TemplateError("no AWS::ECS::Service behind a target group in this template")
    return found


def to_json_dict(items: list[ServiceTimeline], assumptions: Assumptions) -> dict[str, Any]:
    return {"assumptions": asdict(assumptions),
            "services": [asdict(i) | {"total_seconds": i.total_seconds, "exposure": i.exposure} for i in items]}


def render(t: ServiceTimeline, assumptions: Assumptions, *, explain: bool = False) -> str:
    """At most 15 lines (``explain`` adds the reasoning)."""
    lines = [f"{t.service}: {t.strategy}, expected {format_duration(t.total_seconds)} from the first new task to clean-up"]
    lines += [f"  {n}. {p.name:<33} {format_duration(p.seconds):>12}  {p.production_percent:>3g} % prod  {p.detail}"[:160]
              for n, p in enumerate(t.phases, start=1)]
    alarms = ", ".join(f"{name} ({formula})" for name, _, formula in t.alarms) or "none with rollback"
    lines += [f"  deployment alarms: {alarms}"[:160], f"  bad-version exposure: {t.exposure}", f"  rollback: {t.rollback}"]
    if explain:
        lines += ["  why:"] + [f"    - {r}" for r in t.reasoning]
    return "\n".join(lines[:15] if not explain else lines) + "\n"
