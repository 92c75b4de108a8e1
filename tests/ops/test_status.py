"""``ava-olo status``: one screen from stubbed ECS, SSM, CloudWatch, ELB and CloudFormation responses."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError

from ava_olo_ops import cli
from ava_olo_ops.status import status
from ava_olo_ops.target import Target

from .test_watch import (  # the builders and the stubbed-AWS fixture are shared with the watch tests
    PRODUCTION,
    REGION,
    SANDBOX,
    T0,
    Aws,
    Env,
    FakeTime,
    assert_no_stubber_noise,
    aws,  # noqa: F401  (pytest fixture)
    deployment,
    health,
    no_stubber_noise,  # noqa: F401  (autouse pytest fixture: every cli.main run is checked for Stubber errors)
    old_deployment,
    service_response,
    stack_event,
    stub_outputs,
    unhealthy_503,
    updating_events,
)


def task_definition(env: Env, revision: int, version: str) -> dict[str, Any]:
    return {"taskDefinition": {
        "taskDefinitionArn": env.td(revision),
        "family": env.family,
        "revision": revision,
        "containerDefinitions": [{
            "name": "web",
            "image": f"{ACCOUNT_REGISTRY}/ava-olo-monitoring-dashboards:{version}",
            "environment": [{"name": "DB_POOL_SIZE", "value": "20"}, {"name": "APP_VERSION", "value": version}],
        }],
    }}


ACCOUNT_REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"


def alarm(name: str, state: str, reason: str = "", rule: str = "") -> dict[str, Any]:
    """A metric alarm; with ``rule`` a composite alarm (its AlarmRule)."""
    item = {"AlarmName": name, "StateValue": state, "StateReason": reason or f"{state} reason",
            "StateUpdatedTimestamp": T0 - timedelta(minutes=3)}
    if rule:
        item["AlarmRule"] = rule
    return item


def run_status(target: Target, **kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = status(target, out=out, **kwargs)
    assert_no_stubber_noise(out.getvalue())
    return code, out.getvalue()


def stub_status(
    aws: Aws, env: Env, *, deployments: list[dict[str, Any]], versions: dict[int, str], parameter: str | None,
    alarms: list[dict[str, Any]], prefix: str, targets: list[dict[str, Any]], events: list[dict[str, Any]],
) -> None:
    stub_outputs(aws, env)
    aws.add("ecs", "describe_services", service_response(deployments, env=env), {"cluster": env.cluster, "services": [env.service]})
    for revision, version in versions.items():
        aws.add("ecs", "describe_task_definition", task_definition(env, revision, version), {"taskDefinition": env.td(revision)})
    name = f"/ava-olo/{env.name}/monitoring-dashboards/version"
    if parameter is None:
        aws.error("ssm", "get_parameter", "ParameterNotFound", "")
    else:
        aws.add("ssm", "get_parameter", {"Parameter": {"Name": name, "Type": "String", "Value": parameter, "Version": 3}},
                {"Name": name})
    aws.add("cloudwatch", "describe_alarms",
            {"MetricAlarms": [a for a in alarms if "AlarmRule" not in a],
             "CompositeAlarms": [a for a in alarms if "AlarmRule" in a]},
            {"AlarmNamePrefix": prefix, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})
    aws.add("elbv2", "describe_target_health", {"TargetHealthDescriptions": targets}, {"TargetGroupArn": env.target_group_arn})
    aws.add("cloudformation", "describe_stack_events", {"StackEvents": events}, {"StackName": env.service_stack})
    aws.add("cloudformation", "describe_stack_events", {"StackEvents": [
        stack_event(env, "d1", env.data_stack, "UPDATE_COMPLETE", T0 - timedelta(minutes=5), stack="data"),
    ]}, {"StackName": env.data_stack})


def production_mid_deployment(aws: Aws) -> None:
    stub_status(
        aws, PRODUCTION,
        deployments=[deployment("2222", 8, running=1, desired=2, pending=1), old_deployment()],
        versions={8: "v3.2.1-schema-fix", 7: "v3.2.0-schema-button-aurora"},
        parameter="v3.2.1-schema-fix",
        alarms=[
            alarm("ava-olo-high-error-rate", "ALARM", "Threshold Crossed: 1 out of the last 1 datapoints [7.5] was greater than the threshold (5.0)."),
            alarm("ava-olo-unhealthy-targets", "OK"),
            alarm("ava-olo-db-connection-failures", "OK"),
            # the same prefix matches another environment's alarm in the account: not production's
            alarm("ava-olo-staging-monitoring-dashboards-high-cpu", "ALARM"),
        ],
        prefix="ava-olo-",
        targets=[health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy"), unhealthy_503("10.0.1.21")],
        events=updating_events(),
    )


def test_status_shows_deployments_version_and_the_alarm_in_alarm_prominently(aws: Aws) -> None:  # noqa: F811
    production_mid_deployment(aws)

    code, text = run_status(Target(environment="production", region=REGION), clock=FakeTime(T0 + timedelta(minutes=4)).clock)

    aws.verify()
    assert code == 0, text
    lines = text.splitlines()
    # alarms first, before the deployments
    banner = next(i for i, line in enumerate(lines) if line.startswith("!!! 1 ALARM(S) IN ALARM"))
    assert banner < next(i for i, line in enumerate(lines) if line == "Deployments:")
    assert "  ALARM  ava-olo-high-error-rate [deployment alarm: rolls a deployment back]  since 2025-07-26T16:33:00Z" in text
    assert "Threshold Crossed" in text
    assert "staging" not in text
    assert "(of 3 alarms ava-olo-*)" in text
    primary = next(line for line in lines if line.strip().startswith("PRIMARY"))
    assert "IN_PROGRESS" in primary and "running 1/2 pending 1" in primary
    assert "ava-olo-monitoring-task:8  APP_VERSION v3.2.1-schema-fix  age 4 min" in primary
    active = next(line for line in lines if line.strip().startswith("ACTIVE"))
    assert "COMPLETED" in active and "ava-olo-monitoring-task:7  APP_VERSION v3.2.0-schema-button-aurora  age 3 d  " in active
    assert "  SSM /ava-olo/production/monitoring-dashboards/version: v3.2.1-schema-fix" in text
    assert "  running (PRIMARY ava-olo-monitoring-task:8) APP_VERSION: v3.2.1-schema-fix" in text
    assert "Targets: 2 healthy, 1 unhealthy" in text
    assert "  10.0.1.21:8080 unhealthy: Target.ResponseCodeMismatch - Health checks failed with these codes: [503]" in text
    events = lines[lines.index("Last 5 stack events:") + 1:]
    assert len(events) == 3
    assert "ava-olo-production-service  WebServiceECSService  UPDATE_IN_PROGRESS" in events[0]
    assert "ava-olo-production-data  ava-olo-production-data  UPDATE_COMPLETE" in events[2]


def test_status_command_line_exits_0_with_an_alarm_in_alarm(aws: Aws, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                            tmp_path: Any, capsys: Any) -> None:
    production_mid_deployment(aws)
    monkeypatch.chdir(tmp_path)

    code = cli.main(["status", "--env", "production", "--region", REGION])

    captured = capsys.readouterr()
    assert code == 0
    assert "ALARM  ava-olo-high-error-rate" in captured.out
    assert captured.err == ""


def test_status_json_for_an_environment_with_qualified_names(aws: Aws) -> None:  # noqa: F811
    stub_status(
        aws, SANDBOX,
        deployments=[deployment("5555", 4, env=SANDBOX, running=1, desired=1, rollout="COMPLETED")],
        versions={4: "v0.1.0-sandbox"},
        parameter=None,
        alarms=[alarm("ava-olo-sandbox-monitoring-dashboards-high-error-rate", "OK")],
        prefix="ava-olo-sandbox-monitoring-dashboards-",
        targets=[health("10.0.1.5", "healthy")],
        events=[],
    )

    code, text = run_status(Target(environment="sandbox", region=REGION, service="monitoring-dashboards"), as_json=True,
                            clock=FakeTime(T0 + timedelta(hours=2)).clock)

    aws.verify()
    assert code == 0
    data = json.loads(text)
    assert data["service"]["name"] == "monitoring-dashboards-sandbox"
    assert data["deployments"][0]["revision"] == "ava-olo-monitoring-dashboards-sandbox:4"
    assert data["deployments"][0]["app_version"] == "v0.1.0-sandbox"
    assert data["deployments"][0]["age_seconds"] == 7200
    assert data["version"] == {
        "parameter": "/ava-olo/sandbox/monitoring-dashboards/version", "parameter_value": None,
        "primary_revision": "ava-olo-monitoring-dashboards-sandbox:4", "app_version": "v0.1.0-sandbox", "consistent": False,
    }
    assert data["alarms"]["in_alarm"] == [] and data["alarms"]["total"] == 1
    assert data["targets"]["counts"] == {"healthy": 1}
    assert data["events"][0]["status"] == "UPDATE_COMPLETE"


def test_status_reads_composite_alarms_too(aws: Aws) -> None:  # noqa: F811
    """describe_alarms without AlarmTypes returns metric alarms only: status asks for both kinds and shows both."""
    stub_status(
        aws, SANDBOX,
        deployments=[deployment("5555", 4, env=SANDBOX, running=1, desired=1, rollout="COMPLETED")],
        versions={4: "v0.1.0-sandbox"},
        parameter="v0.1.0-sandbox",
        alarms=[
            alarm("ava-olo-sandbox-monitoring-dashboards-high-error-rate", "OK"),
            alarm("ava-olo-sandbox-monitoring-dashboards-service-degraded", "ALARM", "composite: error rate and latency",
                  rule='ALARM("ava-olo-sandbox-monitoring-dashboards-high-error-rate")'),
        ],
        prefix="ava-olo-sandbox-monitoring-dashboards-",
        targets=[health("10.0.1.5", "healthy")],
        events=[],
    )

    code, text = run_status(Target(environment="sandbox", region=REGION, service="monitoring-dashboards"),
                            clock=FakeTime(T0 + timedelta(hours=2)).clock)

    aws.verify()
    assert code == 0, text
    assert "!!! 1 ALARM(S) IN ALARM (of 2 alarms ava-olo-sandbox-monitoring-dashboards-*) !!!" in text
    assert "  ALARM  ava-olo-sandbox-monitoring-dashboards-service-degraded  since" in text
    assert "composite: error rate and latency" in text


def _raise_no_credentials(**_: Any) -> None:
    raise NoCredentialsError()


def test_status_without_credentials_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: Any) -> None:
    client = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    client.meta.events.register("before-call.cloudformation.DescribeStacks", _raise_no_credentials)
    monkeypatch.setattr(Target, "client", lambda self, name: client)
    monkeypatch.chdir(tmp_path)

    code = cli.main(["status", "--env", "staging", "--region", REGION])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: no AWS credentials found") and err.count("\n") == 1


def test_status_bad_environment_name_exit_2(capsys: Any) -> None:
    assert cli.main(["status", "--env", "../prod"]) == 2
    assert "is not an environment name" in capsys.readouterr().err
