"""Helpers test_deploy.py imports (through test_preflight / test_verify) from before issue 12: a botocore Stubber
for preflight and a scripted HTTP server for verify. Kept verbatim so deploy's tests keep running until their
owner moves them to moto (tests/ops/aws.py); nothing of preflight, verify or watch is tested with them."""
from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.stub import Stubber

from ava_olo_ops import preflight, target, versions
from ava_olo_ops.cli import main

ZAGREB = ZoneInfo("Europe/Zagreb")
ENV = "staging"
STACK = "ava-olo-staging-service"
DATA_STACK = "ava-olo-staging-data"
CLUSTER = "ava-olo-staging"
SERVICE = "monitoring-dashboards-staging"
PARAMETER = "/ava-olo/staging/monitoring-dashboards/version"
CHANGELOG = "# Changelog\n\n## v3.2.1 - fix: farmer login\n- fixed\n\n## v3.2.0 - feat: schema button\n"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=ZAGREB)


THURSDAY_10 = at(14, 10)
FRIDAY_1459 = at(15, 14, 59)
FRIDAY_1530 = at(15, 15, 30)


# ----------------------------------------------------------------------------------------------------------------
# Fixtures and helpers (test_deploy.py uses them too)
# ----------------------------------------------------------------------------------------------------------------


def fake_client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


class Aws:
    """Real clients + Stubbers for the three services preflight reads."""

    def __init__(self) -> None:
        self.clients = {name: fake_client(name) for name in ("ssm", "cloudformation", "ecs")}
        self.stubbers = {name: Stubber(client) for name, client in self.clients.items()}
        for stubber in self.stubbers.values():
            stubber.activate()

    def running_version(self, version: Optional[str]) -> "Aws":
        ssm = self.stubbers["ssm"]
        if version is None:
            ssm.add_client_error("get_parameter", service_error_code="ParameterNotFound", http_status_code=400,
                                 expected_params={"Name": PARAMETER})
        else:
            ssm.add_response("get_parameter", {"Parameter": {"Name": PARAMETER, "Type": "String", "Value": version}},
                             {"Name": PARAMETER})
        return self

    def stack(self) -> "Aws":
        outputs = [
            {"OutputKey": "ClusterName", "OutputValue": CLUSTER},
            {"OutputKey": "ServiceName", "OutputValue": SERVICE},
            {"OutputKey": "ServiceUrl", "OutputValue": "http://alb.example"},
        ]
        self.stubbers["cloudformation"].add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": STACK, "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
                         "StackStatus": "UPDATE_COMPLETE", "Outputs": outputs}]},
            {"StackName": STACK},
        )
        return self

    def no_stack(self) -> "Aws":
        self.stubbers["cloudformation"].add_client_error(
            "describe_stacks", service_error_code="ValidationError", http_status_code=400,
            service_message=f"Stack with id {STACK} does not exist", expected_params={"StackName": STACK},
        )
        return self

    def stack_statuses(self, service: Optional[str] = "UPDATE_COMPLETE", data: Optional[str] = "UPDATE_COMPLETE") -> "Aws":
        """The StackStatus preflight reads of the service and the data stack (None: the stack does not exist)."""
        for name, status in ((STACK, service), (DATA_STACK, data)):
            if status is None:
                self.stubbers["cloudformation"].add_client_error(
                    "describe_stacks", service_error_code="ValidationError", http_status_code=400,
                    service_message=f"Stack with id {name} does not exist", expected_params={"StackName": name},
                )
            else:
                self.stubbers["cloudformation"].add_response(
                    "describe_stacks",
                    {"Stacks": [{"StackName": name, "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
                                 "StackStatus": status}]},
                    {"StackName": name},
                )
        return self

    def deployments(self, *deployments: dict[str, Any]) -> "Aws":
        self.stubbers["ecs"].add_response(
            "describe_services",
            {"services": [{"serviceName": SERVICE, "status": "ACTIVE", "deployments": list(deployments)}], "failures": []},
            {"cluster": CLUSTER, "services": [SERVICE]},
        )
        return self

    def settled(self, running: Optional[str] = "v3.2.0") -> "Aws":
        """The usual case: version parameter ``running``, stack outputs, one completed deployment, both stacks
        settled."""
        return self.running_version(running).stack().deployments(deployment()).stack_statuses()

    def assert_all_used(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def deployment(status: str = "PRIMARY", rollout: str = "COMPLETED", revision: int = 7) -> dict[str, Any]:
    return {
        "id": f"ecs-svc/{revision}", "status": status, "rolloutState": rollout,
        "taskDefinition": f"arn:aws:ecs:us-east-1:123456789012:task-definition/ava-olo-monitoring-dashboards-staging:{revision}",
        "desiredCount": 1, "runningCount": 1,
    }


def install_aws(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> Aws:
    monkeypatch.setattr(target.Target, "client", lambda self, name: aws.clients[name])
    return aws


def prepare_project(path: Path, monkeypatch: pytest.MonkeyPatch, changelog: str = CHANGELOG) -> Path:
    """A working directory with a changelog and no environments/ (any environment name is accepted)."""
    (path / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    monkeypatch.chdir(path)
    monkeypatch.delenv(preflight.TIMEZONE_VARIABLE, raising=False)
    return path


def fix_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(preflight, "clock", lambda: moment)


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]





HEALTHY = {"status": "healthy", "version": "v3.2.0", "database": "connected", "timestamp": "2026-05-14T10:00:00Z"}
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class Answer:
    code: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class Script:
    """What the server answers: a list per path, the last entry repeating; every request is counted."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, path: str, *answers: Answer) -> None:
        self.answers[path] = list(answers)

    def next(self, path: str) -> Optional[Answer]:
        with self.lock:
            count = self.hits.get(path, 0)
            self.hits[path] = count + 1
        answers = self.answers.get(path)
        return answers[min(count, len(answers) - 1)] if answers else None


class Server:
    def __init__(self, script: Script) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                answer = script.next(self.path)
                if answer is None:
                    answer = Answer(404, {"error": "not found"})
                if answer.delay:
                    script.stop.wait(answer.delay)
                body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    running = Server(script)
    yield running
    script.stop.set()
    running.close()


def serve(script: Script, version: Any = "v3.2.0", health: Optional[dict[str, Any]] = None) -> None:
    script.set("/health", Answer(200, health or HEALTHY))
    script.set("/version", Answer(200, {"version": version, "service": "monitoring-dashboards",
                                        "deployment_time": "2026-05-14T10:00:00Z"}))


