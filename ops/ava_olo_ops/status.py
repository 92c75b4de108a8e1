"""``ava-olo status --env E [--json]``: the environment's deployment on one screen.

* deployments: status, rollout state, running / desired / pending, task definition revision, its APP_VERSION, age
  (``ecs.describe_services``, ``ecs.describe_task_definition``);
* the running version: the SSM parameter ``<parameter prefix>/version`` and the PRIMARY task definition's
  ``APP_VERSION``, with a warning when they differ;
* alarms in ALARM among the environment's alarms, metric and composite
  (``cloudwatch.describe_alarms(AlarmNamePrefix=..., AlarmTypes=[...])``, every page), first and prominently;
* target health (``elbv2.describe_target_health``);
* the last 5 events of the service and data stacks (``cloudformation.describe_stack_events``).

Exit status: 0 whenever the status could be read, alarms in ALARM included; 2 bad input or AWS credentials.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_mod
from .cli import CliError, register
from .console import emit
from .rollout import deployments, health_summary, revision, short_duration
from .watch import (
    EXIT_OK,
    Clock,
    Sleep,
    aws_failure,
    call,
    describe_service,
    stack_events,
    target_group_of,
    utc_now,
)

RECENT_EVENTS = 5


def alarm_prefix(target: Any, deployed_service_name: str) -> tuple[str, Callable[[str], bool]]:
    """``AlarmNamePrefix`` of the environment's alarms, and a filter for names that belong to another environment.

    ``target.names.alarm_name("")`` gives ``ava-olo-<env>-<service>-``. An environment that keeps the seed's names
    (production: its ECS service is deployed under the unqualified service name) has alarms ``ava-olo-<purpose>``
    (seed, "Monitoring and Alerting"); its prefix ``ava-olo-`` also matches other environments' alarms in the same
    account, which the filter drops.
    """
    names = target.names
    if deployed_service_name == names.service:
        seed = dataclasses.replace(names, seed_names=True)
        other = re.compile(rf"^{re.escape(names.project)}-[a-z0-9-]+-{re.escape(names.service)}-")
        return seed.alarm_name(""), lambda name: not other.match(name)
    return names.alarm_name(""), lambda name: True


def _age(now: datetime, moment: Any) -> Optional[float]:
    if not isinstance(moment, datetime):
        return None
    return max((now - moment).total_seconds(), 0.0)


def _app_version(task_definition: dict[str, Any]) -> Optional[str]:
    for container in task_definition.get("containerDefinitions") or []:
        for variable in container.get("environment") or []:
            if variable.get("name") == "APP_VERSION":
                return variable.get("value")
    return None


def collect(target: Any, *, clock: Clock = utc_now, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-serialisable data (datetimes as ISO strings)."""
    now = clock()
    cluster = target.output("ClusterName")
    service_name = target.output("ServiceName")
    outputs = target.outputs()
    ecs = target.client("ecs")
    service = describe_service(ecs, cluster, service_name, sleep)

    # Deployments, with each task definition's APP_VERSION.
    primary, others = deployments(service)
    versions: dict[str, Optional[str]] = {}
    rows = []
    for deployment in [d for d in (primary, *others) if d is not None]:
        arn = deployment.get("taskDefinition", "")
        if arn and arn not in versions:
            definition = call(ecs, "describe_task_definition", sleep, taskDefinition=arn).get("taskDefinition", {})
            versions[arn] = _app_version(definition)
        rows.append({
            "id": deployment.get("id"),
            "status": deployment.get("status"),
            "rollout_state": deployment.get("rolloutState"),
            "rollout_state_reason": deployment.get("rolloutStateReason"),
            "running": deployment.get("runningCount", 0),
            "desired": deployment.get("desiredCount", 0),
            "pending": deployment.get("pendingCount", 0),
            "failed_tasks": deployment.get("failedTasks", 0),
            "task_definition": arn,
            "revision": revision(arn),
            "app_version": versions.get(arn),
            "created_at": deployment.get("createdAt"),
            "age_seconds": _age(now, deployment.get("createdAt")),
        })

    # Version: SSM parameter vs the PRIMARY task definition.
    parameter = target.names.parameter_prefix + "/version"
    parameter_value = target.parameter(parameter, call=functools.partial(call, sleep=sleep))
    running_version = versions.get(primary.get("taskDefinition", "")) if primary else None
    version = {
        "parameter": parameter,
        "parameter_value": parameter_value,
        "primary_revision": revision(primary.get("taskDefinition")) if primary else None,
        "app_version": running_version,
        "consistent": parameter_value is not None and parameter_value == running_version,
    }

    # Alarms in ALARM.
    prefix, keep = alarm_prefix(target, service.get("serviceName", service_name))
    alarms: list[dict[str, Any]] = []
    token: Optional[str] = None
    cloudwatch = target.client("cloudwatch")
    while True:
        # Without AlarmTypes describe_alarms returns metric alarms only.
        kwargs: dict[str, Any] = {"AlarmNamePrefix": prefix, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
        if token:
            kwargs["NextToken"] = token
        response = call(cloudwatch, "describe_alarms", sleep, **kwargs)
        alarms += list(response.get("MetricAlarms", [])) + list(response.get("CompositeAlarms", []))
        token = response.get("NextToken")
        if not token:
            break
    alarms = [a for a in alarms if keep(str(a.get("AlarmName", "")))]
    in_alarm = [
        {
            "name": a.get("AlarmName"),
            "reason": a.get("StateReason"),
            "since": a.get("StateUpdatedTimestamp"),
        }
        for a in alarms
        if a.get("StateValue") == "ALARM"
    ]
    deployment_alarms = ((service.get("deploymentConfiguration") or {}).get("alarms") or {}).get("alarmNames") or []

    # Targets.
    target_group_arn = target_group_of(target, service)
    descriptions = []
    if target_group_arn:
        descriptions = call(target.client("elbv2"), "describe_target_health", sleep, TargetGroupArn=target_group_arn).get(
            "TargetHealthDescriptions", [])
    counts, problems = health_summary(descriptions)

    # Recent stack events (service and data stacks).
    events: list[dict[str, Any]] = []
    cloudformation = target.client("cloudformation")
    for stack in (target.service_stack, target.data_stack):
        for event in stack_events(cloudformation, stack, sleep) or []:
            events.append({
                "stack": stack,
                "timestamp": event.get("Timestamp"),
                "resource": event.get("LogicalResourceId"),
                "type": event.get("ResourceType"),
                "status": event.get("ResourceStatus"),
                "reason": event.get("ResourceStatusReason"),
            })
    events.sort(key=lambda e: e["timestamp"] or datetime.min.replace(tzinfo=timezone.utc), reverse=True)

    return {
        "environment": target.environment,
        "region": target.region,
        "stack": target.service_stack,
        "cluster": cluster,
        "service": {
            "name": service.get("serviceName", service_name),
            "status": service.get("status"),
            "desired": service.get("desiredCount", 0),
            "running": service.get("runningCount", 0),
            "pending": service.get("pendingCount", 0),
            "url": outputs.get("ServiceUrl"),
        },
        "deployments": rows,
        "version": version,
        "alarms": {
            "prefix": prefix,
            "total": len(alarms),
            "in_alarm": in_alarm,
            "deployment_alarms": [n for n in deployment_alarms if isinstance(n, str)],
        },
        "targets": {"target_group": target_group_arn, "counts": counts, "problems": problems},
        "events": events[:RECENT_EVENTS],
    }


def _time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value is not None else "-"


def render_text(data: dict[str, Any]) -> str:
    lines: list[str] = []
    s = data["service"]
    lines.append(f"ava-olo status: environment {data['environment']} ({data['region'] or 'default region'}), stack {data['stack']}")
    lines.append(
        f"service {s['name']} in cluster {data['cluster']}: {s['status']}, running {s['running']}/{s['desired']}, "
        f"pending {s['pending']}"
    )
    if s.get("url"):
        lines.append(f"url: {s['url']}")
    lines.append("")

    alarms = data["alarms"]
    if alarms["in_alarm"]:
        lines.append(f"!!! {len(alarms['in_alarm'])} ALARM(S) IN ALARM (of {alarms['total']} alarms {alarms['prefix']}*) !!!")
        for alarm in alarms["in_alarm"]:
            rollback = " [deployment alarm: rolls a deployment back]" if alarm["name"] in alarms["deployment_alarms"] else ""
            lines.append(f"  ALARM  {alarm['name']}{rollback}  since {_time(alarm['since'])}")
            if alarm.get("reason"):
                lines.append(f"         {alarm['reason']}")
    else:
        lines.append(f"Alarms: none in ALARM ({alarms['total']} alarms {alarms['prefix']}*)")
    lines.append("")

    lines.append("Deployments:")
    if not data["deployments"]:
        lines.append("  (none)")
    for d in data["deployments"]:
        age = short_duration(d["age_seconds"]) if d["age_seconds"] is not None else "?"
        lines.append(
            f"  {d['status'] or '?':<8} {d['rollout_state'] or '-':<12} running {d['running']}/{d['desired']} "
            f"pending {d['pending']}" + (f" failed {d['failed_tasks']}" if d["failed_tasks"] else "")
            + f"  {d['revision']}  APP_VERSION {d['app_version'] or '?'}  age {age}  ({d['id']})"
        )
        if d.get("rollout_state_reason"):
            lines.append(f"           {d['rollout_state_reason']}")
    lines.append("")

    v = data["version"]
    lines.append("Version:")
    lines.append(f"  SSM {v['parameter']}: {v['parameter_value'] if v['parameter_value'] is not None else '(not set)'}")
    lines.append(f"  running (PRIMARY {v['primary_revision'] or '?'}) APP_VERSION: {v['app_version'] or '(not set)'}")
    if v["parameter_value"] is not None and v["app_version"] is not None and not v["consistent"]:
        lines.append("  note: they differ - a deployment is in progress or the stack and the service disagree")
    lines.append("")

    t = data["targets"]
    if t["target_group"]:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(t["counts"].items())) or "no targets"
        lines.append(f"Targets: {counts}  ({t['target_group'].rsplit(':', 1)[-1]})")
        lines.extend(f"  {problem}" for problem in t["problems"])
    else:
        lines.append("Targets: unknown (no TargetGroupArn output and no load balancer on the service)")
    lines.append("")

    lines.append(f"Last {RECENT_EVENTS} stack events:")
    if not data["events"]:
        lines.append("  (none)")
    for e in data["events"]:
        lines.append(
            f"  {_time(e['timestamp'])}  {e['stack']}  {e['resource']}  {e['status']}"
            + (f" - {e['reason']}" if e.get("reason") else "")
        )
    return "\n".join(lines) + "\n"


def render_json(data: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return _time(value)
        return str(value)

    return json.dumps(data, indent=2, default=default, ensure_ascii=False) + "\n"


def status(
    target: Any, *, as_json: bool = False, clock: Clock = utc_now, sleep: Sleep = time.sleep, out: Optional[TextIO] = None,
) -> int:
    """Print the status of ``target``; 0 (even with alarms in ALARM); :class:`CliError` for bad input/credentials."""
    try:
        data = collect(target, clock=clock, sleep=sleep)
    except target_mod.TargetError as error:
        raise CliError(str(error)) from None
    except (ClientError, BotoCoreError) as error:
        raise aws_failure(error) from None
    emit(render_json(data) if as_json else render_text(data), out, flush=True)
    return EXIT_OK


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_mod.add_target_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def cmd_status(args: argparse.Namespace) -> int:
    try:
        target = target_mod.resolve_target(args.env, region=args.region, profile=args.profile)
    except target_mod.TargetError as error:
        raise CliError(str(error)) from None
    return status(target, as_json=args.json)


register(
    "status",
    "the environment's deployments, running version, alarms in ALARM, target health and last stack events",
    _arguments,
    cmd_status,
)
