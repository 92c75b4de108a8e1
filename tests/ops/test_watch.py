"""``ava-olo watch``: recorded-style ECS / ELB / CloudFormation sequences replayed through botocore's Stubber.

Real boto3 clients, stubbed; a fake clock whose ``sleep`` only advances time, so nothing sleeps and nothing
touches the network. Each poll of the watcher makes, in this order per client:

* ecs: describe_services, list_tasks(RUNNING) page by page, list_tasks(STOPPED) page by page, describe_tasks (100
  ARNs a call, when there are tasks)
* elbv2: describe_target_health
* cloudformation: describe_stack_events (service stack), describe_stack_events (data stack), and describe_stacks
  (service stack) when the watcher has no deployment to follow yet and the service is settled (``Frame.stack_status``)

and before the first poll: cloudformation describe_stacks (outputs), get_template, and one describe_stack_events per
stack (the baseline). :func:`stub_start` and :func:`stub_poll` build those responses from small builders.

A Stubber mistake (an unexpected call, wrong parameters) must fail a test, not pass as an exit code: every run's
output is checked for Stubber errors (:func:`assert_no_stubber_noise`, the autouse :func:`no_stubber_noise`).
"""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from ava_olo_ops import cli
from ava_olo_ops import watch as watch_mod
from ava_olo_ops import target as target_mod
from ava_olo_ops.rollout import STUCK_TARGET_FLOOR_SECONDS, Assessment, plan_from_timeline, seed_plan
from ava_olo_ops.target import Target
from ava_olo_ops.timeline import Assumptions, timelines
from ava_olo_ops.watch import WatchSettings, watch

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2025, 7, 26, 16, 36, 0, tzinfo=timezone.utc)  # the new deployment starts (seed Scenario 1: 16:36)
SERVICES = ("cloudformation", "ecs", "elbv2", "cloudwatch", "ssm")


# --------------------------------------------------------------------------------------------------------------
# Environment names (production keeps the seed's names)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    name: str = "production"
    cluster: str = "ava-olo-production"
    service: str = "monitoring-dashboards"
    family: str = "ava-olo-monitoring-task"
    deployment_alarms: tuple[str, ...] = ("ava-olo-high-error-rate", "ava-olo-unhealthy-targets")

    @property
    def service_stack(self) -> str:
        return f"ava-olo-{self.name}-service"

    @property
    def data_stack(self) -> str:
        return f"ava-olo-{self.name}-data"

    @property
    def target_group_arn(self) -> str:
        return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/ava-olo-tg/0123456789abcdef"

    def td(self, revision: int) -> str:
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{self.family}:{revision}"

    def outputs(self) -> dict[str, str]:
        return {
            "ClusterName": self.cluster,
            "ServiceName": self.service,
            "TargetGroupArn": self.target_group_arn,
            "ServiceUrl": "https://monitoring.ava-olo.example",
            "LogGroupName": f"/ecs/{self.service}",
        }


PRODUCTION = Env()
SANDBOX = Env(
    name="sandbox",
    cluster="ava-olo-sandbox",
    service="monitoring-dashboards-sandbox",
    family="ava-olo-monitoring-dashboards-sandbox",
    deployment_alarms=(
        "ava-olo-sandbox-monitoring-dashboards-high-error-rate",
        "ava-olo-sandbox-monitoring-dashboards-unhealthy-targets",
    ),
)


# --------------------------------------------------------------------------------------------------------------
# Response builders (boto3 shapes; the Stubber validates them against the service models)
# --------------------------------------------------------------------------------------------------------------


def deployment(
    deployment_id: str,
    revision: int,
    *,
    env: Env = PRODUCTION,
    status: str = "PRIMARY",
    running: int = 0,
    desired: int = 2,
    pending: int = 0,
    failed: int = 0,
    rollout: Optional[str] = "IN_PROGRESS",
    reason: Optional[str] = None,
    created: datetime = T0,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"ecs-svc/{deployment_id}",
        "status": status,
        "taskDefinition": env.td(revision),
        "desiredCount": desired,
        "pendingCount": pending,
        "runningCount": running,
        "failedTasks": failed,
        "createdAt": created,
        "updatedAt": created,
        "launchType": "FARGATE",
    }
    if rollout is not None:
        item["rolloutState"] = rollout
    if reason is not None:
        item["rolloutStateReason"] = reason
    return item


def old_deployment(running: int = 2, desired: int = 2, env: Env = PRODUCTION) -> dict[str, Any]:
    return deployment("1111", 7, env=env, status="ACTIVE", running=running, desired=desired, rollout="COMPLETED",
                      reason="ECS deployment ecs-svc/1111 completed.", created=T0 - timedelta(days=3))


def event(event_id: str, message: str, at: datetime) -> dict[str, Any]:
    return {"id": event_id, "createdAt": at, "message": message}


def service_response(
    deployments: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]] = (), env: Env = PRODUCTION
) -> dict[str, Any]:
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    return {
        "services": [{
            "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{env.cluster}/{env.service}",
            "serviceName": env.service,
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{env.cluster}",
            "status": "ACTIVE",
            "desiredCount": primary["desiredCount"],
            "runningCount": sum(d["runningCount"] for d in deployments),
            "pendingCount": sum(d["pendingCount"] for d in deployments),
            "launchType": "FARGATE",
            "taskDefinition": primary["taskDefinition"],
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "alarms": {"alarmNames": list(env.deployment_alarms), "enable": True, "rollback": True},
            },
            "loadBalancers": [{"targetGroupArn": env.target_group_arn, "containerName": "web", "containerPort": 8080}],
            "deployments": list(deployments),
            "events": sorted(events, key=lambda e: e["createdAt"], reverse=True),
        }],
        "failures": [],
    }


def task(
    task_id: str,
    revision: int,
    ip: str,
    *,
    env: Env = PRODUCTION,
    status: str = "RUNNING",
    created: datetime = T0 + timedelta(seconds=5),
    stopped_reason: Optional[str] = None,
    exit_code: Optional[int] = None,
    container_reason: Optional[str] = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "lastStatus": status}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if container_reason is not None:
        container["reason"] = container_reason
    item: dict[str, Any] = {
        "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{env.cluster}/{task_id}",
        "taskDefinitionArn": env.td(revision),
        "lastStatus": status,
        "desiredStatus": "STOPPED" if status == "STOPPED" else "RUNNING",
        "createdAt": created,
        "launchType": "FARGATE",
        "group": f"service:{env.service}",
        "containers": [container],
        "attachments": [{
            "id": f"eni-{task_id}",
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED" if status != "STOPPED" else "DELETED",
            "details": [{"name": "privateIPv4Address", "value": ip}],
        }],
    }
    if status == "STOPPED":
        item["stoppedAt"] = created + timedelta(seconds=90)
        item["stopCode"] = "ServiceSchedulerInitiated"
        item["stoppedReason"] = stopped_reason or "Scaling activity initiated by (deployment ecs-svc/2222)"
    return item


def health(ip: str, state: str, reason: Optional[str] = None, description: Optional[str] = None) -> dict[str, Any]:
    target_health: dict[str, Any] = {"State": state}
    if reason:
        target_health["Reason"] = reason
    if description:
        target_health["Description"] = description
    return {
        "Target": {"Id": ip, "Port": 8080, "AvailabilityZone": "us-east-1a"},
        "HealthCheckPort": "8080",
        "TargetHealth": target_health,
    }


def initial(ip: str) -> dict[str, Any]:
    return health(ip, "initial", "Elb.InitialHealthChecking", "Initial health checks in progress")


def draining(ip: str) -> dict[str, Any]:
    return health(ip, "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")


def unhealthy_503(ip: str) -> dict[str, Any]:
    return health(ip, "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]")


def stack_event(
    env: Env, event_id: str, logical_id: str, status: str, at: datetime, reason: Optional[str] = None, stack: str = "service"
) -> dict[str, Any]:
    stack_name = env.service_stack if stack == "service" else env.data_stack
    is_stack = logical_id == stack_name
    item: dict[str, Any] = {
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/abc",
        "EventId": event_id,
        "StackName": stack_name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": stack_name if is_stack else f"{logical_id}-physical",
        "ResourceType": "AWS::CloudFormation::Stack" if is_stack else "AWS::ECS::Service",
        "Timestamp": at,
        "ResourceStatus": status,
    }
    if reason:
        item["ResourceStatusReason"] = reason
    return item


def updating_events(env: Env = PRODUCTION) -> list[dict[str, Any]]:
    """The service stack mid-update: the stack and its ECS service UPDATE_IN_PROGRESS (newest first)."""
    return [
        stack_event(env, "e2", "WebServiceECSService", "UPDATE_IN_PROGRESS", T0 - timedelta(seconds=2)),
        stack_event(env, "e1", env.service_stack, "UPDATE_IN_PROGRESS", T0 - timedelta(seconds=30), "User Initiated"),
    ]


def service_template(desired: int = 2) -> dict[str, Any]:
    """The shape of the deployed service template that matters for the timeline (our settings: 30 s x 2 + 30 s)."""
    return {
        "Resources": {
            "TargetGroup": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {
                    "HealthCheckIntervalSeconds": 30,
                    "HealthyThresholdCount": 2,
                    "UnhealthyThresholdCount": 2,
                    "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
                },
            },
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": [{"Name": "web", "StopTimeout": 30}]},
            },
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "DesiredCount": desired,
                    "HealthCheckGracePeriodSeconds": 60,
                    "TaskDefinition": {"Ref": "TaskDefinition"},
                    "LoadBalancers": [{"TargetGroupArn": {"Ref": "TargetGroup"}, "ContainerPort": 8080}],
                    "DeploymentConfiguration": {
                        "MinimumHealthyPercent": 100,
                        "MaximumPercent": 200,
                        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                    },
                },
            },
        }
    }


# --------------------------------------------------------------------------------------------------------------
# Stubbed AWS, fake time
# --------------------------------------------------------------------------------------------------------------


class Aws:
    """One real client per service, each with an active Stubber."""

    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(name, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
            for name in SERVICES
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name: str) -> Any:
        return self.clients[name]

    def add(self, service: str, method: str, response: dict[str, Any], params: Optional[dict[str, Any]] = None) -> None:
        self.stubs[service].add_response(method, response, params)

    def error(self, service: str, method: str, code: str, message: str = "", status: int = 400) -> None:
        self.stubs[service].add_client_error(method, service_error_code=code, service_message=message or code,
                                             http_status_code=status)

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


class FakeTime:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


STUBBER_NOISE = re.compile(r"Stub|Unexpected|Error getting response stub")


def assert_no_stubber_noise(*texts: str) -> None:
    for text in texts:
        found = STUBBER_NOISE.search(text)
        assert found is None, f"a Stubber error leaked into the output (a test mistake, not AWS): {text!r}"


@pytest.fixture(autouse=True)
def no_stubber_noise(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every ``cli.main`` run: its stdout and stderr carry no Stubber error (they are passed on to the test)."""
    real_main = cli.main

    def checked_main(argv: Optional[list[str]] = None) -> int:
        earlier = capsys.readouterr()
        code = real_main(argv)
        captured = capsys.readouterr()
        assert_no_stubber_noise(captured.out, captured.err)
        sys.stdout.write(earlier.out + captured.out)
        sys.stderr.write(earlier.err + captured.err)
        return code

    monkeypatch.setattr(cli, "main", checked_main)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Aws:
    stubbed = Aws()
    monkeypatch.setattr(Target, "client", lambda self, name: stubbed.client(name))
    return stubbed


def stub_outputs(aws: Aws, env: Env) -> None:
    aws.add("cloudformation", "describe_stacks", {
        "Stacks": [{
            "StackName": env.service_stack,
            "CreationTime": T0 - timedelta(days=30),
            "StackStatus": "UPDATE_IN_PROGRESS",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in env.outputs().items()],
        }]
    }, {"StackName": env.service_stack})


def stub_start(
    aws: Aws, env: Env = PRODUCTION, *, template: Optional[dict[str, Any]] = None, template_error: Optional[str] = None,
    service_events: Sequence[dict[str, Any]] = (), data_events: Sequence[dict[str, Any]] = (),
) -> None:
    stub_outputs(aws, env)
    if template_error:
        aws.error("cloudformation", "get_template", template_error, "Stack with id x does not exist")
    else:
        aws.add("cloudformation", "get_template", {"TemplateBody": json.dumps(template or service_template())},
                {"StackName": env.service_stack, "TemplateStage": "Original"})
    aws.add("cloudformation", "describe_stack_events", {"StackEvents": list(service_events)}, {"StackName": env.service_stack})
    aws.add("cloudformation", "describe_stack_events", {"StackEvents": list(data_events)}, {"StackName": env.data_stack})


@dataclass
class Frame:
    """What AWS reports at one poll."""

    deployments: list[dict[str, Any]]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    stack_events: Optional[list[dict[str, Any]]] = None  # newest first; None: same as the baseline
    data_events: list[dict[str, Any]] = field(default_factory=list)
    #: the service stack's StackStatus, stubbed (describe_stacks) when the watcher asks for it; None: not asked
    stack_status: Optional[str] = None


PAGE = 100  # ECS list_tasks returns at most 100 ARNs a page; describe_tasks takes at most 100


def stub_list_tasks(aws: Aws, env: Env, desired_status: str, arns: list[str]) -> None:
    """``list_tasks`` as the paginator asks for it: page by page, each after the first with the previous nextToken."""
    params = {"cluster": env.cluster, "serviceName": env.service, "desiredStatus": desired_status}
    pages = [arns[start:start + PAGE] for start in range(0, len(arns), PAGE)] or [[]]
    for number, page in enumerate(pages):
        response: dict[str, Any] = {"taskArns": page}
        if number + 1 < len(pages):
            response["nextToken"] = f"{desired_status.lower()}-page-{number + 2}"
        aws.add("ecs", "list_tasks", response, dict(params, nextToken=f"{desired_status.lower()}-page-{number + 1}") if number else params)


def stub_poll(aws: Aws, frame: Frame, env: Env = PRODUCTION, baseline_stack_events: Sequence[dict[str, Any]] = ()) -> None:
    aws.add("ecs", "describe_services", service_response(frame.deployments, frame.events, env),
            {"cluster": env.cluster, "services": [env.service]})
    running = [t["taskArn"] for t in frame.tasks if t["lastStatus"] != "STOPPED"]
    stopped = [t["taskArn"] for t in frame.tasks if t["lastStatus"] == "STOPPED"]
    stub_list_tasks(aws, env, "RUNNING", running)
    stub_list_tasks(aws, env, "STOPPED", stopped)
    by_arn = {t["taskArn"]: t for t in frame.tasks}
    arns = running + stopped
    for start in range(0, len(arns), PAGE):
        batch = arns[start:start + PAGE]
        aws.add("ecs", "describe_tasks", {"tasks": [by_arn[a] for a in batch], "failures": []},
                {"cluster": env.cluster, "tasks": batch})
    aws.add("elbv2", "describe_target_health", {"TargetHealthDescriptions": frame.targets},
            {"TargetGroupArn": env.target_group_arn})
    events = frame.stack_events if frame.stack_events is not None else list(baseline_stack_events)
    aws.add("cloudformation", "describe_stack_events", {"StackEvents": events}, {"StackName": env.service_stack})
    aws.add("cloudformation", "describe_stack_events", {"StackEvents": frame.data_events}, {"StackName": env.data_stack})
    if frame.stack_status is not None:
        aws.add("cloudformation", "describe_stacks", {"Stacks": [{
            "StackName": env.service_stack,
            "CreationTime": T0 - timedelta(days=30),
            "LastUpdatedTime": T0 - timedelta(seconds=30),
            "StackStatus": frame.stack_status,
        }]}, {"StackName": env.service_stack})


def run(
    aws: Aws, fake: FakeTime, *, env: Env = PRODUCTION, tty: bool = False, timeout_minutes: float = 30,
    interval: float = 15,
) -> tuple[int, str]:
    out = io.StringIO()
    target = Target(environment=env.name, region=REGION)
    code = watch(target, WatchSettings(interval_seconds=interval, timeout_seconds=timeout_minutes * 60),
                 clock=fake.clock, sleep=fake.sleep, out=out, tty=tty)
    assert_no_stubber_noise(out.getvalue())
    aws.verify()
    return code, out.getvalue()


def phase_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(r"\bphase [1-4]/4: ", line)]


# --------------------------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------------------------

OLD_TASKS = [task("old1", 7, "10.0.1.11", created=T0 - timedelta(days=3)), task("old2", 7, "10.0.2.12", created=T0 - timedelta(days=3))]


def new_tasks(status: str = "RUNNING") -> list[dict[str, Any]]:
    return [task("new1", 8, "10.0.1.21", status=status), task("new2", 8, "10.0.2.22", status=status)]


def healthy_rollout_frames() -> list[Frame]:
    """Seed phases 4-7 as ECS and the ALB report them: pending -> running -> initial -> healthy -> old drained -> gone."""
    old_healthy = [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy")]
    stopped_old = [task(t, 7, ip, status="STOPPED", created=T0 - timedelta(days=3)) for t, ip in (("old1", "10.0.1.11"), ("old2", "10.0.2.12"))]
    steady = event("ev3", "(service monitoring-dashboards) has reached a steady state.", T0 + timedelta(seconds=80))
    started = event("ev2", "(service monitoring-dashboards) has started 2 tasks: (task new1) (task new2).", T0 + timedelta(seconds=5))
    history = event("ev1", "(service monitoring-dashboards) has reached a steady state.", T0 - timedelta(days=1))
    return [
        # t=10 s: ECS task creation (tasks provisioning beside the old ones)
        Frame([deployment("2222", 8, pending=2), old_deployment()], OLD_TASKS + new_tasks("PROVISIONING"), old_healthy,
              [history, started]),
        # t=25 s, 40 s: health checks (targets registered, initial)
        Frame([deployment("2222", 8, running=2), old_deployment()], OLD_TASKS + new_tasks(),
              old_healthy + [initial("10.0.1.21"), initial("10.0.2.22")], [history, started]),
        Frame([deployment("2222", 8, running=2), old_deployment()], OLD_TASKS + new_tasks(),
              old_healthy + [initial("10.0.1.21"), initial("10.0.2.22")], [history, started]),
        # t=55 s: traffic switch: new targets healthy, old ones draining
        Frame([deployment("2222", 8, running=2), old_deployment()], OLD_TASKS + new_tasks(),
              [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy"), draining("10.0.1.11"), draining("10.0.2.12")],
              [history, started]),
        # t=70 s: completion: old deployment runs nothing any more
        Frame([deployment("2222", 8, running=2), old_deployment(running=0)], new_tasks() + stopped_old,
              [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")], [history, started]),
        # t=85 s: COMPLETED, the old deployment gone
        Frame([deployment("2222", 8, running=2, rollout="COMPLETED", reason="ECS deployment ecs-svc/2222 completed.")],
              new_tasks() + stopped_old, [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")],
              [history, started, steady],
              stack_events=[stack_event(PRODUCTION, "e3", "WebServiceECSService", "UPDATE_COMPLETE", T0 + timedelta(seconds=84))]
              + updating_events()),
    ]


def stub_healthy_rollout(aws: Aws) -> None:
    stub_start(aws, service_events=updating_events())
    for frame in healthy_rollout_frames():
        stub_poll(aws, frame, baseline_stack_events=updating_events())


def test_healthy_rollout_prints_each_phase_once_and_exits_0(aws: Aws) -> None:
    stub_healthy_rollout(aws)
    fake = FakeTime(T0 + timedelta(seconds=10))

    code, output = run(aws, fake)

    assert code == 0, output
    phases = phase_lines(output)
    assert [re.search(r"phase (\d)/4: ([a-zA-Z /]+?)  ", p).group(1, 2) for p in phases] == [
        ("1", "ECS task creation"), ("2", "health checks"), ("3", "traffic switch / draining"), ("4", "completion"),
    ]
    assert "passed between polls" not in output
    assert output.count("health checks take up to 60 s here (interval 30 s x 2 healthy checks); this is normal") == 1
    assert "don't force a new deployment (seed What NOT to Do #1)" in output
    assert "expected rollout 3 min from the deployed template" in output
    assert "PROBLEM" not in output
    # the two identical health-check polls print one status line, not two
    assert len([l for l in output.splitlines() if "  health checks [" in l]) == 1
    # history is not news; new service and stack events are printed once
    assert output.count("ECS: (service monitoring-dashboards) has reached a steady state.") == 1
    assert output.count("WebServiceECSService UPDATE_COMPLETE") == 1
    assert output.count("target 10.0.1.21:8080 (new task) healthy") == 1
    assert "target 10.0.1.11:8080 (old task) draining: Target.DeregistrationInProgress" in output
    last = output.splitlines()[-1]
    assert "COMPLETED: deployment ecs-svc/2222 (ava-olo-monitoring-task:8): 2/2 tasks running, old deployments gone" in last
    assert "; took 1 min 25 s (expected 3 min)" in last
    assert fake.sleeps == [15] * 5


def test_non_tty_output_has_no_control_characters_and_tty_redraws_one_line(aws: Aws) -> None:
    stub_healthy_rollout(aws)
    code, plain = run(aws, FakeTime(T0 + timedelta(seconds=10)), tty=False)
    assert code == 0
    assert "\r" not in plain and "\x1b" not in plain
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in plain.splitlines())

    stub_healthy_rollout(aws)
    code, redrawn = run(aws, FakeTime(T0 + timedelta(seconds=10)), tty=True)
    assert code == 0
    assert "\r\x1b[2K" in redrawn
    assert len(phase_lines(redrawn)) == 4


def test_throttled_describe_services_is_retried_with_backoff_and_the_watch_proceeds(aws: Aws) -> None:
    stub_start(aws, service_events=updating_events())
    aws.error("ecs", "describe_services", "ThrottlingException", "Rate exceeded")
    for frame in healthy_rollout_frames():
        stub_poll(aws, frame, baseline_stack_events=updating_events())
    fake = FakeTime(T0 + timedelta(seconds=10))

    code, output = run(aws, fake)

    assert code == 0, output
    assert fake.sleeps[0] == 1  # the backoff, through the injected sleep
    assert fake.sleeps[1:] == [15] * 5


def unhealthy_frames(final: Frame) -> list[Frame]:
    """The new version answers /health with 503: unhealthy targets, tasks stopped by ECS, replaced, again."""
    old = [task("old1", 7, "10.0.1.11", created=T0 - timedelta(days=3))]
    old_target = health("10.0.1.11", "healthy")
    elb_stop = "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ava-olo-tg/0123456789abcdef)"
    first = task("bad1", 8, "10.0.1.21")
    first_stopped = task("bad1", 8, "10.0.1.21", status="STOPPED", stopped_reason=elb_stop, exit_code=137)
    second = task("bad2", 8, "10.0.2.22", created=T0 + timedelta(seconds=100))
    second_stopped = task("bad2", 8, "10.0.2.22", status="STOPPED", stopped_reason=elb_stop, exit_code=137,
                          created=T0 + timedelta(seconds=100))
    third = task("bad3", 8, "10.0.1.23", created=T0 + timedelta(seconds=200))
    d = lambda failed: [deployment("2222", 8, running=1, desired=1, failed=failed), old_deployment(1, 1)]  # noqa: E731
    return [
        Frame(d(0), old + [first], [old_target, unhealthy_503("10.0.1.21")]),
        Frame(d(1), old + [second, first_stopped], [old_target, draining("10.0.1.21"), initial("10.0.2.22")]),
        Frame(d(1), old + [second, first_stopped], [old_target, unhealthy_503("10.0.2.22")]),
        Frame(d(1), old + [second, first_stopped], [old_target, unhealthy_503("10.0.2.22")]),
        Frame(d(2), old + [third, first_stopped, second_stopped], [old_target, draining("10.0.2.22"), initial("10.0.1.23")]),
        final,
    ]


CIRCUIT_BREAKER = "ECS deployment circuit breaker: tasks failed to start."


def test_targets_stuck_unhealthy_then_circuit_breaker_fails_the_deployment_exit_1_naming_the_health_reason(aws: Aws) -> None:
    failed = Frame([deployment("2222", 8, running=0, desired=1, failed=3, rollout="FAILED", reason=CIRCUIT_BREAKER),
                    old_deployment(1, 1)],
                   [task("old1", 7, "10.0.1.11", created=T0 - timedelta(days=3))], [health("10.0.1.11", "healthy")])
    stub_start(aws)
    for frame in unhealthy_frames(failed):
        stub_poll(aws, frame)

    code, output = run(aws, FakeTime(T0 + timedelta(seconds=30)))

    assert code == 1, output
    assert "PROBLEM: target 10.0.1.21:8080 (new task) unhealthy: Target.ResponseCodeMismatch - Health checks failed with these codes: [503]" in output
    # the same target with the same reason on two polls is reported once
    assert output.count("target 10.0.2.22:8080 (new task) unhealthy") == 1
    assert "PROBLEM: new task bad1 (ava-olo-monitoring-task:8) stopped: Task failed ELB health checks" in output
    assert "web: exit code 137" in output
    assert output.count("PROBLEM: tasks of ava-olo-monitoring-task:8 are stopping repeatedly (2 so far; the circuit breaker rolls back after 3 failed tasks)") == 1
    assert len(phase_lines(output)) == 1  # never got past health checks
    assert "but a new target is already failing them" in output and "this is normal" not in output
    verdict = next(l for l in output.splitlines() if "FAILED:" in l)
    assert CIRCUIT_BREAKER in verdict
    assert "last health check failure: 10.0.2.22:8080 unhealthy: Target.ResponseCodeMismatch - Health checks failed with these codes: [503]" in verdict
    assert "aws logs tail /ecs/monitoring-dashboards --follow" in output


@pytest.mark.parametrize("with_reason", [True, False], ids=["rollout-state-reason", "previous-task-definition-only"])
def test_circuit_breaker_rollback_exits_1(aws: Aws, with_reason: bool) -> None:
    in_progress = Frame([deployment("2222", 8, running=1, desired=1), old_deployment(1, 1)],
                        [task("old1", 7, "10.0.1.11", created=T0 - timedelta(days=3)), task("bad1", 8, "10.0.1.21")],
                        [health("10.0.1.11", "healthy"), unhealthy_503("10.0.1.21")])
    rollback = deployment("3333", 7, running=1, desired=1, created=T0 + timedelta(seconds=200))
    deployments = [rollback]
    if with_reason:
        deployments.append(deployment("2222", 8, status="ACTIVE", desired=1, failed=3, rollout="FAILED", reason=CIRCUIT_BREAKER))
    rolled = Frame(deployments, [task("old1", 7, "10.0.1.11", created=T0 - timedelta(days=3))], [health("10.0.1.11", "healthy")],
                   [event("ev9", "(service monitoring-dashboards) rolling back to deployment ecs-svc/3333.", T0 + timedelta(seconds=200))],
                   stack_events=[stack_event(
                       PRODUCTION, "e9", PRODUCTION.service_stack, "UPDATE_ROLLBACK_IN_PROGRESS", T0 + timedelta(seconds=205),
                       "The following resource(s) failed to update: [WebServiceECSService].")])
    stub_start(aws)
    stub_poll(aws, in_progress)
    stub_poll(aws, rolled)
    if not with_reason:  # no reason: the watcher looks whether a deployment alarm explains the rollback
        aws.add("cloudwatch", "describe_alarms", {"MetricAlarms": [
            {"AlarmName": name, "StateValue": "OK", "StateReason": "ok"} for name in PRODUCTION.deployment_alarms
        ]}, {"AlarmNames": sorted(PRODUCTION.deployment_alarms), "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})

    code, output = run(aws, FakeTime(T0 + timedelta(seconds=30)))

    assert code == 1, output
    assert "ALARM:" not in output and "unavailable" not in output
    verdict = next(l for l in output.splitlines() if "ROLLED BACK:" in l)
    assert "ECS now runs the previous task definition ava-olo-monitoring-task:7 (new PRIMARY deployment ecs-svc/3333)" in verdict
    assert (CIRCUIT_BREAKER in verdict) is with_reason
    assert "ECS: (service monitoring-dashboards) rolling back to deployment ecs-svc/3333." in output
    assert ("PROBLEM: CloudFormation is rolling ava-olo-production-service back: The following resource(s) failed to "
            "update: [WebServiceECSService].") in output


def test_alarm_rollback_exits_1_naming_the_alarm_in_alarm(aws: Aws) -> None:
    reason = ("ECS deployment ecs-svc/2222 rolled back because CloudWatch alarm ava-olo-high-error-rate "
              "transitioned to ALARM state.")
    serving = Frame([deployment("2222", 8, running=2), old_deployment(running=0)], new_tasks(),
                    [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")])
    rolled = Frame([deployment("3333", 7, pending=2, created=T0 + timedelta(seconds=400)),
                    deployment("2222", 8, status="ACTIVE", running=2, rollout="FAILED", reason=reason)],
                   new_tasks(), [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")])
    stub_start(aws)
    stub_poll(aws, serving)
    stub_poll(aws, rolled)
    aws.add("cloudwatch", "describe_alarms", {"MetricAlarms": [
        {"AlarmName": "ava-olo-high-error-rate", "StateValue": "ALARM",
         "StateReason": "Threshold Crossed: 1 out of the last 1 datapoints [12.5 (26/07/25 16:42:00)] was greater than the threshold (5.0).",
         "StateUpdatedTimestamp": T0 + timedelta(seconds=390)},
        {"AlarmName": "ava-olo-unhealthy-targets", "StateValue": "OK", "StateReason": "ok"},
    ]}, {"AlarmNames": ["ava-olo-high-error-rate", "ava-olo-unhealthy-targets"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})

    code, output = run(aws, FakeTime(T0 + timedelta(seconds=300)))

    assert code == 1, output
    assert "ALARM: ava-olo-high-error-rate is in ALARM: Threshold Crossed" in output
    verdict = next(l for l in output.splitlines() if "ROLLED BACK:" in l)
    assert "alarm in ALARM: ava-olo-high-error-rate" in verdict
    assert "ava-olo-unhealthy-targets" not in verdict


def test_timeout_exits_1_and_says_the_deployment_continues(aws: Aws) -> None:
    stuck = Frame([deployment("2222", 8, running=2), old_deployment()], OLD_TASKS + new_tasks(),
                  [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy"), initial("10.0.1.21"), initial("10.0.2.22")])
    stub_start(aws)
    for _ in range(7):  # t = 0, 15, ... 90 s
        stub_poll(aws, stuck)
    fake = FakeTime(T0 + timedelta(seconds=30))

    code, output = run(aws, fake, timeout_minutes=1.5)

    assert code == 1, output
    assert fake.sleeps == [15] * 6
    last = output.splitlines()[-1]
    assert "TIMED OUT after 1 min 30 s: deployment ecs-svc/2222 (ava-olo-monitoring-task:8) is still IN_PROGRESS in health checks" in last
    assert "it continues in AWS. Don't force a new deployment" in last
    assert "phase 'health checks' is taking longer than expected" in output  # 60 s of health checks expected, 60+ s seen


def test_nothing_in_progress_exits_0_and_an_unreadable_template_falls_back_to_the_seed(aws: Aws) -> None:
    done = Frame([deployment("1111", 7, running=2, rollout="COMPLETED", created=T0 - timedelta(days=3))], OLD_TASKS,
                 [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy")], stack_status="UPDATE_COMPLETE")
    stub_start(aws, template_error="ValidationError")
    stub_poll(aws, done)

    code, output = run(aws, FakeTime(T0))

    assert code == 0, output
    assert "NOTE: expected timeline unavailable (cloudformation:GetTemplate failed: ValidationError); using the seed's figures" in output
    assert "12-17 minutes" in output
    assert "nothing to wait for: the last deployment is COMPLETED - deployment ecs-svc/1111 (ava-olo-monitoring-task:7): 2/2 tasks running" in output
    assert phase_lines(output) == []


def test_waits_for_cloudformation_to_start_the_deployment_then_follows_it(aws: Aws) -> None:
    before = Frame([deployment("1111", 7, running=2, rollout="COMPLETED", created=T0 - timedelta(days=3))], OLD_TASKS,
                   [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy")], stack_status="UPDATE_IN_PROGRESS")
    started = Frame([deployment("2222", 8, pending=2), old_deployment()], OLD_TASKS + new_tasks("PENDING"),
                    [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy")])
    finished = Frame([deployment("2222", 8, running=2, rollout="COMPLETED")], new_tasks(),
                     [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")])
    stub_start(aws, service_events=updating_events()[1:])  # only the stack's UPDATE_IN_PROGRESS so far
    for frame in (before, started, finished):
        stub_poll(aws, frame, baseline_stack_events=updating_events()[1:])

    code, output = run(aws, FakeTime(T0 - timedelta(seconds=20)))

    assert code == 0, output
    assert ("ava-olo-production-service is UPDATE_IN_PROGRESS (since 16:35:30Z); waiting for CloudFormation to start the "
            "ECS deployment") in output
    assert "following deployment ecs-svc/2222: ava-olo-monitoring-task:8" in output
    assert len(phase_lines(output)) == 4
    assert output.count("(passed between polls)") == 2


def test_a_newer_deployment_is_named_and_followed(aws: Aws) -> None:
    first = Frame([deployment("2222", 8, pending=2), old_deployment()], OLD_TASKS + new_tasks("PENDING"), [])
    newer = Frame([deployment("4444", 9, pending=2, created=T0 + timedelta(seconds=20)),
                   deployment("2222", 8, status="ACTIVE", pending=2), old_deployment()], OLD_TASKS, [])
    done = Frame([deployment("4444", 9, running=2, rollout="COMPLETED", created=T0 + timedelta(seconds=20))], [], [])
    stub_start(aws)
    for frame in (first, newer, done):
        stub_poll(aws, frame)

    code, output = run(aws, FakeTime(T0 + timedelta(seconds=10)))

    assert code == 0, output
    assert "WARNING: a newer deployment ecs-svc/4444 (ava-olo-monitoring-task:9) replaced ecs-svc/2222" in output
    assert "seed What NOT to Do #2" in output


def test_every_page_of_list_tasks_is_read_and_described_100_at_a_time(aws: Aws) -> None:
    """230 stopped tasks (3 pages of list_tasks): the new deployment's stopped task is on the last page."""
    crashed = task("bad1", 8, "10.0.1.21", status="STOPPED", stopped_reason="Essential container in task exited",
                   exit_code=1, created=T0 + timedelta(seconds=5))
    history = [task(f"old{n:03d}", 7, f"10.0.9.{n % 250}", status="STOPPED", created=T0 - timedelta(days=2))
               for n in range(229)]
    running = OLD_TASKS + [task("new2", 8, "10.0.2.22")]
    rolling = Frame([deployment("2222", 8, running=1, desired=2, pending=1, failed=1), old_deployment()],
                    running + history + [crashed],
                    [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy"), initial("10.0.2.22")])
    done = Frame([deployment("2222", 8, running=2, rollout="COMPLETED")], new_tasks(),
                 [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")])
    stub_start(aws)
    stub_poll(aws, rolling)  # list_tasks STOPPED x 3 pages (nextToken), describe_tasks x 3 (100, 100, 33 ARNs)
    stub_poll(aws, done)

    code, output = run(aws, FakeTime(T0 + timedelta(seconds=30)))

    assert code == 0, output
    assert ("PROBLEM: new task bad1 (ava-olo-monitoring-task:8) stopped: Essential container in task exited; "
            "web: exit code 1 [1 stopped so far]") in output
    assert "old000" not in output and "old228" not in output  # old stopped tasks are history, not news


def big_event_page(env: Env = PRODUCTION) -> list[dict[str, Any]]:
    """A full page of resource events (newest first): the stack's own UPDATE_IN_PROGRESS is further back."""
    return [stack_event(env, f"r{n}", f"Resource{n}", "UPDATE_COMPLETE", T0 - timedelta(seconds=n)) for n in range(100)]


def test_stack_status_comes_from_describe_stacks_not_from_the_first_page_of_events(aws: Aws) -> None:
    settled = [deployment("1111", 7, running=2, rollout="COMPLETED", created=T0 - timedelta(days=3))]
    healthy = [health("10.0.1.11", "healthy"), health("10.0.2.12", "healthy")]
    stub_start(aws, service_events=big_event_page())
    for status in ("UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"):
        stub_poll(aws, Frame(settled, OLD_TASKS, healthy, stack_status=status), baseline_stack_events=big_event_page())

    code, output = run(aws, FakeTime(T0))

    assert code == 1, output
    assert "nothing to wait for" not in output
    assert "ava-olo-production-service is UPDATE_IN_PROGRESS (since 16:35:30Z); waiting for CloudFormation" in output
    assert output.splitlines()[-1].endswith(
        "FAILED: ava-olo-production-service ended UPDATE_ROLLBACK_COMPLETE before the ECS service changed")


def test_a_composite_deployment_alarm_in_alarm_is_named(aws: Aws) -> None:
    reason = ("ECS deployment ecs-svc/2222 rolled back because CloudWatch alarm ava-olo-service-degraded "
              "transitioned to ALARM state.")
    env = Env(deployment_alarms=("ava-olo-service-degraded",))
    serving = Frame([deployment("2222", 8, running=2), old_deployment(running=0)], new_tasks(),
                    [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")])
    rolled = Frame([deployment("3333", 7, pending=2, created=T0 + timedelta(seconds=400)),
                    deployment("2222", 8, status="ACTIVE", running=2, rollout="FAILED", reason=reason)],
                   new_tasks(), [health("10.0.1.21", "healthy"), health("10.0.2.22", "healthy")])
    stub_start(aws, env)
    stub_poll(aws, serving, env)
    stub_poll(aws, rolled, env)
    aws.add("cloudwatch", "describe_alarms", {"MetricAlarms": [], "CompositeAlarms": [
        {"AlarmName": "ava-olo-service-degraded", "StateValue": "ALARM", "AlarmRule": 'ALARM("ava-olo-high-error-rate")',
         "StateReason": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ava-olo-high-error-rate transitioned to ALARM"},
    ]}, {"AlarmNames": ["ava-olo-service-degraded"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})

    code, output = run(aws, FakeTime(T0 + timedelta(seconds=300)), env=env)

    assert code == 1, output
    assert "ALARM: ava-olo-service-degraded is in ALARM: arn:aws:cloudwatch" in output
    assert "alarm in ALARM: ava-olo-service-degraded" in next(l for l in output.splitlines() if "ROLLED BACK:" in l)


def test_a_target_stuck_unhealthy_without_any_failed_frame_exits_1_naming_its_reason_before_the_timeout(aws: Aws) -> None:
    """Issue 7: the recorded stuck-target sequence, without the circuit breaker's FAILED frame: ECS keeps the
    deployment IN_PROGRESS while the new target answers 503. Our template: grace 60 s + interval 30 s x 2 unhealthy
    checks = 2 min; x 3 = 6 min unhealthy makes it stuck."""
    stuck = Frame([deployment("2222", 8, running=1, desired=1), old_deployment(1, 1)],
                  [task("old1", 7, "10.0.1.11", created=T0 - timedelta(days=3)), task("bad1", 8, "10.0.1.21")],
                  [health("10.0.1.11", "healthy"), unhealthy_503("10.0.1.21")])
    stub_start(aws)
    for _ in range(7):  # t = 30 s (first seen unhealthy), 90, ..., 390 s (6 min later)
        stub_poll(aws, stuck)
    fake = FakeTime(T0 + timedelta(seconds=30))

    code, output = run(aws, fake, interval=60, timeout_minutes=30)

    assert code == 1, output
    assert fake.now - T0 == timedelta(seconds=390)  # 6 min of unhealthy, far from the 30 min timeout
    assert "TIMED OUT" not in output and "circuit breaker:" not in output
    assert "(grace 60 s + interval 30 s x 2 unhealthy checks) x 3" in output  # said when the health checks began
    verdict = next(l for l in output.splitlines() if "FAILED:" in l)
    assert ("FAILED: deployment ecs-svc/2222 (ava-olo-monitoring-task:8) is stuck: new target 10.0.1.21:8080 has been "
            "unhealthy for 6 min, longer than its health checks can take (6 min: (grace 60 s + interval 30 s x 2 "
            "unhealthy checks) x 3): Target.ResponseCodeMismatch - Health checks failed with these codes: [503]") in verdict
    assert "the deployment continues in AWS" in verdict
    assert "next: aws logs tail /ecs/monitoring-dashboards --follow" in output.splitlines()[-1]


def test_a_stuck_target_uses_the_floor_for_fast_health_checks_and_a_recovered_target_restarts_its_clock() -> None:
    fast = service_template()
    fast["Resources"]["TargetGroup"]["Properties"].update(HealthCheckIntervalSeconds=5, UnhealthyThresholdCount=2)
    fast["Resources"]["Service"]["Properties"]["HealthCheckGracePeriodSeconds"] = 0
    plan = plan_from_timeline(timelines(fast, Assumptions())[0])
    assert plan.stuck_target_seconds == STUCK_TARGET_FLOOR_SECONDS == 180
    assert plan.stuck_target_formula.endswith("at least 180 s")
    assert plan_from_timeline(timelines(service_template(), Assumptions())[0]).stuck_target_seconds == 360
    assert seed_plan("x").stuck_target_seconds == 600

    watcher = watch_mod.Watcher(None, WatchSettings(), clock=lambda: now, out=io.StringIO())
    watcher.plan = plan
    bad = Assessment("IN_PROGRESS", 1, unhealthy_new_targets=(("10.0.1.21:8080", "Target.Timeout - Request timed out"),))
    now = T0
    assert watcher.stuck_target(bad) is None
    now = T0 + timedelta(seconds=170)
    assert watcher.stuck_target(Assessment("IN_PROGRESS", 1)) is None  # recovered (or replaced): its clock stops
    now = T0 + timedelta(seconds=200)
    assert watcher.stuck_target(bad) is None  # unhealthy again: a new clock
    now = T0 + timedelta(seconds=380)
    assert watcher.stuck_target(bad) == ("10.0.1.21:8080", "Target.Timeout - Request timed out", 180.0)


# --------------------------------------------------------------------------------------------------------------
# The command line: exit 2 for bad input and credentials
# --------------------------------------------------------------------------------------------------------------


def _raise_no_credentials(**_: Any) -> None:
    raise NoCredentialsError()


def test_no_credentials_is_one_line_of_guidance_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: Any) -> None:
    client = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    client.meta.events.register("before-call.cloudformation.DescribeStacks", _raise_no_credentials)
    monkeypatch.setattr(Target, "client", lambda self, name: client)
    monkeypatch.chdir(tmp_path)  # no environments/ here: the name is only syntax-checked

    code = cli.main(["watch", "--env", "production", "--region", REGION])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: no AWS credentials found: run 'aws sso login'")
    assert "Traceback" not in captured.err


def test_expired_credentials_mid_watch_exit_2(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    stub_start(aws)
    aws.error("ecs", "describe_services", "ExpiredTokenException", "The security token included in the request is expired")
    monkeypatch.setattr(target_mod, "resolve_target", lambda env, region=None, profile=None: Target(environment=env, region=REGION))

    code = cli.main(["watch", "--env", "production", "--interval", "5"])

    assert code == 2
    err = capsys.readouterr().err
    assert err == "error: AWS rejected the credentials (ExpiredTokenException): refresh them ('aws sso login') and try again\n"


@pytest.mark.parametrize("argv, message", [
    (["watch", "--env", "Prod_1"], "is not an environment name"),
    (["watch", "--env", "production", "--interval", "0"], "--interval: must be greater than 0"),
    (["watch", "--env", "production", "--timeout", "soon"], "--timeout: expected a number of minutes"),
    (["watch", "--env", "production", "--assume-image-pull", "-5"], "must not be negative"),
])
def test_bad_input_is_one_error_line_and_exit_2(argv: list[str], message: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err
