"""AWS for the operator tool's tests: moto (``mock_aws``) holds the state; a thin driver adds what moto 5.2 does
not model - ECS's service-deployment API (list/describe_service_deployments, describe_service_revisions,
stop_service_deployment), a service's deploymentConfiguration, and a stack's status *during* an update.

The driver answers those operations through botocore's ``before-call`` / ``after-call`` events on the clients
the tool creates (``ava_olo_ops.target.Target.client``); every other call is moto's. A test moves a rollout on by
changing :class:`Rollout` between polls (``FakeTime.sleep`` runs the test's ``on_sleep``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Callable, Optional

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from ava_olo_ops import target as target_mod

REGION = "eu-central-1"
ENV = "staging"
CLUSTER, SERVICE = "ava-olo-staging", "ava-olo-staging-monitoring-dashboards"
REPOSITORY = "ava-olo-monitoring-dashboards"
REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
T0 = datetime(2026, 6, 2, 10, 0, tzinfo=timezone.utc)  # a Tuesday


@lru_cache(maxsize=None)
def _client(service: str, region: str) -> Any:
    return boto3.Session().client(service, region_name=region)


def client(service: str, region: str = REGION) -> Any:
    """A boto3 client for a test's own setup and checks, made once per run and shared by the tests (making one
    costs ~2 ms, and the tests' setup alone needed ~200). A client holds no AWS state: each test's ``mock_aws``
    starts moto's backends afresh, and a client talks to whatever moto holds when it is called. The tool's own
    clients are not these: each command makes its own, as in production."""
    return _client(service, region)


class FakeTime:
    def __init__(self, on_sleep: Optional[Callable[[float], None]] = None) -> None:
        self.now, self.on_sleep, self.slept = T0, on_sleep, 0.0

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.slept += seconds
        if self.on_sleep:
            self.on_sleep(self.slept)


@dataclass
class Rollout:
    """What ECS and CloudFormation report; tests change it between polls."""

    deployments: list[dict[str, Any]] = field(default_factory=list)  #: newest last
    revisions: dict[str, str] = field(default_factory=dict)  #: revision ARN -> image
    stack_status: Optional[str] = None  #: None: moto's own
    alarm_names: list[str] = field(default_factory=list)
    network_down: bool = False
    stopped: list[tuple[str, str]] = field(default_factory=list)

    def deploy(self, version: str, status: str = "IN_PROGRESS", stage: str = "SCALE_UP", **extra: Any) -> dict[str, Any]:
        number = len(self.deployments) + 1
        arn = f"arn:aws:ecs:{REGION}:123456789012:service-deployment/{CLUSTER}/{SERVICE}/d{number}"
        revision = f"arn:aws:ecs:{REGION}:123456789012:service-revision/{CLUSTER}/{SERVICE}/r{number}"
        self.revisions[revision] = f"{REGISTRY}/{REPOSITORY}:{version}"
        source = self.deployments[-1]["targetServiceRevision"]["arn"] if self.deployments else None
        item = {"serviceDeploymentArn": arn, "status": status, "lifecycleStage": stage,
                "createdAt": T0 + timedelta(seconds=number), "targetServiceRevision": {"arn": revision, "requestedTaskCount": 2, "runningTaskCount": 0},
                "sourceServiceRevisions": [{"arn": source}] if source else [], **extra}
        self.deployments.append(item)
        return item

    # ---- botocore event handlers ----
    def _answer(self, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        if self.network_down:
            from botocore.exceptions import EndpointConnectionError
            raise EndpointConnectionError(endpoint_url=f"https://ecs.{REGION}.amazonaws.com")
        return AWSResponse("", 200, {}, None), parsed

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        name = model.name
        if name.endswith(("ServiceDeployments", "ServiceRevisions", "ServiceDeployment")):
            params = json.loads(params["body"] or b"{}")  # ECS speaks JSON: the request's own parameters
        if name == "ListServiceDeployments":
            wanted = params.get("status")
            items = [d for d in reversed(self.deployments) if not wanted or d["status"] in wanted]
            return self._answer({"serviceDeployments": [
                {"serviceDeploymentArn": d["serviceDeploymentArn"], "status": d["status"], "createdAt": d["createdAt"],
                 "targetServiceRevisionArn": d["targetServiceRevision"]["arn"]} for d in items]})
        if name == "DescribeServiceDeployments":
            return self._answer({"serviceDeployments": [d for d in self.deployments if d["serviceDeploymentArn"] in params["serviceDeploymentArns"]]})
        if name == "DescribeServiceRevisions":
            return self._answer({"serviceRevisions": [
                {"serviceRevisionArn": arn, "taskDefinition": "unused", "containerImages": [{"containerName": "web", "image": self.revisions[arn]}]}
                for arn in params["serviceRevisionArns"]]})
        if name == "StopServiceDeployment":
            self.stopped.append((params["serviceDeploymentArn"], params["stopType"]))
            for d in self.deployments:
                if d["serviceDeploymentArn"] == params["serviceDeploymentArn"]:
                    d["status"] = "ROLLBACK_IN_PROGRESS"
            return self._answer({"serviceDeploymentArn": params["serviceDeploymentArn"]})
        if self.network_down:
            return self._answer({})
        return None

    def after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "DescribeStacks" and self.stack_status and parsed.get("Stacks"):
            for stack in parsed["Stacks"]:
                if stack["StackName"].endswith("-service"):
                    stack["StackStatus"] = self.stack_status
        if model.name == "DescribeServices" and self.alarm_names:
            for service in parsed.get("services", []):
                service["deploymentConfiguration"] = {"alarms": {"alarmNames": self.alarm_names, "enable": True, "rollback": True}}

    def session(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register("before-call.*.*", self.before_call)
        session.events.register("after-call.*.*", self.after_call)
        return session


def task_definition(ecs: Any, version: str) -> str:
    return ecs.register_task_definition(family="ava-olo-staging-monitoring-dashboards", containerDefinitions=[
        {"name": "web", "image": f"{REGISTRY}/{REPOSITORY}:{version}", "memory": 512,
         "environment": [{"name": "APP_VERSION", "value": version}]}])["taskDefinition"]["taskDefinitionArn"]


@dataclass
class World:
    rollout: Rollout
    target: target_mod.Target
    ecs: Any

    def serve(self, version: str) -> None:
        """The service's task definition becomes ``version``'s (what ECS does when a deployment completes)."""
        self.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=task_definition(self.ecs, version))


OUTPUTS = {"ClusterName": CLUSTER, "ServiceName": SERVICE, "LogGroupName": "/ecs/ava-olo-staging", "ServiceUrl": "http://127.0.0.1:9"}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch):
    """moto with a staging service stack serving v3.2.0 and the driver wired into every client the tool makes."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        rollout = Rollout()
        monkeypatch.setattr(target_mod, "boto3", SimpleNamespace(Session=rollout.session))
        # The stack records the release it deployed in its own SSM parameter, as the service stack does.
        version = {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": f"/ava-olo/{ENV}/monitoring-dashboards/version", "Type": "String", "Value": "v3.2.0"}}
        template = {"Resources": {"Version": version}, "Outputs": {k: {"Value": v} for k, v in OUTPUTS.items()}}
        client("cloudformation").create_stack(StackName=f"ava-olo-{ENV}-service", TemplateBody=json.dumps(template))
        ecs = client("ecs")
        ecs.create_cluster(clusterName=CLUSTER)
        ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=task_definition(ecs, "v3.2.0"), desiredCount=2)
        rollout.deploy("v3.2.0", status="SUCCESSFUL", stage="CLEAN_UP")
        yield World(rollout, target_mod.Target(ENV, REGION), ecs)
