"""``ava-olo status --env E [--json]``: the environment on one screen, in AWS's words.

* alarms in ALARM first: the service's deployment alarms and every alarm named ``<project>-...`` of the account
  in ALARM (``cloudwatch.describe_alarms``, metric and composite);
* the stacks' status; the serving release (the service's task definition's image tag) next to the SSM version
  parameter, with a warning when they differ;
* the last service deployments (ECS's service-deployment API: status, lifecycle stage, release, reason);
* target health (``elbv2.describe_target_health``).

Exit 0 whenever the status could be read (alarms in ALARM included); 2 bad input or AWS credentials.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_mod
from .cli import CliError, register
from .console import FAIL, PASS, WARN, emit, mark
from .rollout import why
from .watch import Reader

def collect(target: Any) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-serialisable data."""
    reader = Reader(target, "")
    service = reader.ecs.describe_services(cluster=reader.cluster, services=[reader.service])["services"][0]
    serving = reader.task_definition_version(service["taskDefinition"])
    briefs = reader.deployments()[:3]
    reader.revision_versions([b["targetServiceRevisionArn"] for b in briefs if b.get("targetServiceRevisionArn")])
    described = reader.ecs.describe_service_deployments(
        serviceDeploymentArns=[b["serviceDeploymentArn"] for b in briefs])["serviceDeployments"] if briefs else []
    deployments = [{"arn": d["serviceDeploymentArn"], "status": d.get("status"), "stage": d.get("lifecycleStage"),
                    "version": reader._versions.get((d.get("targetServiceRevision") or {}).get("arn", "")),
                    "created": str(d.get("createdAt", "")), "reason": why(d)} for d in described]
    names = ((service.get("deploymentConfiguration") or {}).get("alarms") or {}).get("alarmNames") or []
    cloudwatch = target.client("cloudwatch")
    alarms = []
    for query in ([{"AlarmNames": names[:100]}] if names else []) + [{"AlarmNamePrefix": f"{target.project}-", "StateValue": "ALARM"}]:
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"], **query):
            alarms += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
    in_alarm = {a["AlarmName"]: a.get("StateReason", "") for a in alarms if a.get("StateValue") == "ALARM"}
    health = []
    if target.outputs().get("TargetGroupArn"):
        health = [{"target": f"{t['Target']['Id']}:{t['Target'].get('Port', '')}", "state": t["TargetHealth"].get("State"),
                   "reason": t["TargetHealth"].get("Description", "")}
                  for t in target.client("elbv2").describe_target_health(TargetGroupArn=target.outputs()["TargetGroupArn"])["TargetHealthDescriptions"]]
    return {
        "environment": target.environment,
        "stacks": {s: (target.described_stack(s) or {}).get("StackStatus", "NOT DEPLOYED") for s in (target.service_stack, target.data_stack)},
        "service": reader.service, "cluster": reader.cluster,
        "serving_version": serving, "version_parameter": target.version_parameter,
        "parameter_version": target.parameter(target.version_parameter),
        "running": service.get("runningCount"), "desired": service.get("desiredCount"),
        "alarms_in_alarm": in_alarm, "deployment_alarms": names, "deployments": deployments, "targets": health,
    }


def render_text(data: dict[str, Any], out: Any = None) -> None:
    for name, reason in data["alarms_in_alarm"].items():
        mark(FAIL, f"ALARM {name}: {reason}", out)
    if not data["alarms_in_alarm"]:
        mark(PASS, f"no alarm in ALARM (deployment alarms: {', '.join(data['deployment_alarms']) or 'none'})", out)
    emit("stacks: " + ", ".join(f"{k} {v}" for k, v in data["stacks"].items()) + "\n", out)
    same = data["serving_version"] == data["parameter_version"]
    mark(PASS if same else WARN, f"{data['service']} ({data['cluster']}) serves {data['serving_version']} with "
         f"{data['running']}/{data['desired']} tasks; {data['version_parameter']} = {data['parameter_version']}", out)
    for d in data["deployments"]:
        emit(f"  deployment {d['version']} {d['status']} {d['stage'] or ''} created {d['created']}: {d['reason']}\n", out)
    for t in data["targets"]:
        emit(f"  target {t['target']} {t['state']} {t['reason']}\n", out)


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_mod.add_target_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def cmd_status(args: argparse.Namespace) -> int:
    try:
        data = collect(target_mod.from_args(args))
    except target_mod.TargetError as error:
        raise CliError(str(error)) from None
    except (ClientError, BotoCoreError) as error:
        raise CliError(target_mod.aws_error_line(error)) from None
    if args.json:
        emit(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render_text(data)
    return 0


register("status", "alarms in ALARM, stacks, serving release vs the version parameter, recent deployments, targets",
         _arguments, cmd_status)
