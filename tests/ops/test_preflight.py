"""`ava-olo preflight`: the seed's pre-deployment checks, against real botocore clients held by a ``Stubber``.

No AWS account and no network: ``Target.client`` returns real clients whose calls the Stubber answers (or, for
the credentials test, a real session that finds no credentials and fails before sending anything). The clock is
fixed: 2026-05-14 is a Thursday, 2026-05-15 a Friday (Europe/Zagreb is UTC+2 in May).
"""

from __future__ import annotations

import io
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return prepare_project(tmp_path, monkeypatch)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    yield install_aws(monkeypatch, Aws())


def run(*extra: str, version: str = "v3.2.1") -> int:
    return main(["preflight", "--env", ENV, "--version", version, "--region", "us-east-1", "--timezone", "Europe/Zagreb", *extra])


def line_of(out: str, check: str) -> str:
    return next(line for line in out.splitlines() if f" {check}: " in line)


# ----------------------------------------------------------------------------------------------------------------
# Passing
# ----------------------------------------------------------------------------------------------------------------


def test_thursday_morning_with_everything_in_order_is_ready(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, THURSDAY_10)
    aws.settled()
    assert run() == 0
    out = capsys.readouterr().out
    for check in ("version format", "no deployment in progress", "no stack update in progress", "version is newer",
                  "changelog entry", "deploy window"):
        assert line_of(out, check).startswith("✓ "), out
    assert "v3.2.1 > running v3.2.0" in out
    assert "Thursday 10:00 Europe/Zagreb" in out
    assert f"{CLUSTER}/{SERVICE}" in out and "ava-olo-monitoring-dashboards-staging:7" in out
    assert f"{STACK} UPDATE_COMPLETE, {DATA_STACK} UPDATE_COMPLETE" in line_of(out, "no stack update in progress")
    assert out.rstrip().endswith("ready: v3.2.1 may be deployed to staging"), out
    aws.assert_all_used()


def test_friday_1459_passes_with_a_warning(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, FRIDAY_1459)
    aws.settled()
    assert run() == 0
    out = capsys.readouterr().out
    assert line_of(out, "deploy window").startswith("⚠ deploy window: Friday 14:59")
    assert "ready:" in out and "(1 warning(s))" in out


def test_first_deploy_without_parameter_or_stack_passes_with_a_note(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, THURSDAY_10)
    aws.running_version(None).no_stack().stack_statuses(service=None, data=None)
    assert run() == 0
    out = capsys.readouterr().out
    assert line_of(out, "version is newer").startswith("✓ ") and f"first deploy: no parameter {PARAMETER}" in out
    assert line_of(out, "no deployment in progress").startswith("✓ ") and "not deployed" in out
    assert line_of(out, "no stack update in progress") == (
        f"✓ no stack update in progress: {STACK} not deployed, {DATA_STACK} not deployed")
    aws.assert_all_used()


def test_changelog_heading_with_only_the_release_number_counts(tmp_path, aws, monkeypatch, capsys):
    prepare_project(tmp_path, monkeypatch, "## v3.2.1 - fix: login\n")
    fix_clock(monkeypatch, THURSDAY_10)
    aws.settled()
    assert run(version="v3.2.1-login-fix") == 0
    assert "CHANGELOG.md line 1: ## v3.2.1 - fix: login" in capsys.readouterr().out


def test_timezone_comes_from_the_environment_variable(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, FRIDAY_1530)  # 09:30 in New York
    monkeypatch.setenv(preflight.TIMEZONE_VARIABLE, "America/New_York")
    aws.settled()
    assert main(["preflight", "--env", ENV, "--version", "v3.2.1", "--region", "us-east-1"]) == 0
    assert "Friday 09:30 America/New_York" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------------------
# Refusals
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "deployments",
    [
        (deployment("PRIMARY", "IN_PROGRESS", 8), deployment("ACTIVE", "COMPLETED", 7)),
        (deployment("PRIMARY", "IN_PROGRESS", 8),),
        (deployment("PRIMARY", "COMPLETED", 8), deployment("ACTIVE", "COMPLETED", 7)),
    ],
    ids=["two-deployments", "primary-in-progress", "old-deployment-still-active"],
)
def test_deployment_in_progress_is_refused_even_with_override(project, aws, monkeypatch, capsys, deployments):
    fix_clock(monkeypatch, THURSDAY_10)
    aws.running_version("v3.2.0").stack().deployments(*deployments).stack_statuses()
    assert run("--override", "hotfix for the login outage") == 1
    out = capsys.readouterr().out
    line = line_of(out, "no deployment in progress")
    assert line.startswith("✗ ") and "is deploying" in line and "What NOT to Do #2" in line
    assert "refused: 1 check(s) failed: no deployment in progress (--override does not apply to these)" in out


@pytest.mark.parametrize(
    ("service", "data", "busy"),
    [
        ("UPDATE_COMPLETE", "UPDATE_IN_PROGRESS", [(DATA_STACK, "UPDATE_IN_PROGRESS")]),
        ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", [(STACK, "UPDATE_IN_PROGRESS")]),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
         [(STACK, "UPDATE_ROLLBACK_IN_PROGRESS"), (DATA_STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")]),
        (None, "CREATE_IN_PROGRESS", [(DATA_STACK, "CREATE_IN_PROGRESS")]),
    ],
    ids=["data-stack-updating", "service-stack-updating", "both-busy", "first-deploy-creating-the-data-stack"],
)
def test_a_stack_update_in_progress_is_refused_even_with_override(project, aws, monkeypatch, capsys, service, data, busy):
    """Another ``ava-olo deploy`` publishing assets or updating the data stack: ECS shows nothing yet."""
    fix_clock(monkeypatch, THURSDAY_10)
    if service is None:  # a first deploy that has not reached the service stack yet
        aws.running_version(None).no_stack().stack_statuses(service=None, data=data)
    else:
        aws.running_version("v3.2.0").stack().deployments(deployment()).stack_statuses(service=service, data=data)
    assert run("--override", "hotfix for the login outage") == 1
    out = capsys.readouterr().out
    assert line_of(out, "no deployment in progress").startswith("✓ ")  # ECS is quiet
    line = line_of(out, "no stack update in progress")
    assert line.startswith("✗ ") and "What NOT to Do #2" in line
    for name, status in busy:
        assert f"{name} is {status}" in line
    for idle in {STACK, DATA_STACK} - {name for name, _ in busy}:
        assert f"{idle} is" not in line
    assert "refused: 1 check(s) failed: no stack update in progress (--override does not apply to these)" in out
    aws.assert_all_used()


@pytest.mark.parametrize("status", ["UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "CREATE_COMPLETE"])
def test_settled_stacks_pass(status):
    check = preflight.stacks_check([(STACK, status), (DATA_STACK, None)])
    assert check.status == preflight.PASS and not check.overridable
    assert check.detail == f"{STACK} {status}, {DATA_STACK} not deployed"


def test_a_stack_read_error_is_one_line(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, THURSDAY_10)
    aws.running_version("v3.2.0").stack().deployments(deployment())
    aws.stubbers["cloudformation"].add_client_error("describe_stacks", service_error_code="AccessDenied",
                                                    service_message="not allowed", http_status_code=403)
    assert run() == 2
    assert "access denied: not allowed" in one_error_line(capsys.readouterr().err)


def test_friday_1530_is_refused_without_override(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, datetime(2026, 5, 15, 13, 30, tzinfo=timezone.utc))  # 15:30 in Zagreb
    aws.settled()
    assert run() == 1
    out = capsys.readouterr().out
    line = line_of(out, "deploy window")
    assert line.startswith("✗ ") and "Friday 15:30 Europe/Zagreb" in line and "#5" in line
    assert "refused: 1 check(s) failed: deploy window (--override \"reason\" may override: deploy window)" in out


def test_friday_1530_with_override_passes_with_a_warning_naming_the_reason(project, aws, monkeypatch, capsys):
    fix_clock(monkeypatch, FRIDAY_1530)
    aws.settled()
    reason = "hotfix for the farmer login outage"
    assert run("--override", reason) == 0
    out = capsys.readouterr().out
    line = line_of(out, "deploy window")
    assert line.startswith("⚠ ") and f"OVERRIDDEN: {reason}" in line
    assert f"overriding deploy window because: {reason}" in out


@pytest.mark.parametrize("deploying", ["v3.1.9", "v3.2.0", "v3.2.0-hotfix"])
def test_version_not_newer_is_refused_even_with_override(tmp_path, aws, monkeypatch, capsys, deploying):
    prepare_project(tmp_path, monkeypatch, f"## {deploying} - fix\n")
    fix_clock(monkeypatch, THURSDAY_10)
    aws.settled(running="v3.2.0")
    assert run("--override", "trust me", version=deploying) == 1
    line = line_of(capsys.readouterr().out, "version is newer")
    assert line.startswith("✗ ") and "running v3.2.0" in line and deploying in line


def test_changelog_without_the_version_is_refused(tmp_path, aws, monkeypatch, capsys):
    prepare_project(tmp_path, monkeypatch, "## v3.2.10 - feat\n- mentions v3.2.1 outside a heading\n")
    fix_clock(monkeypatch, THURSDAY_10)
    aws.settled()
    assert run() == 1
    line = line_of(capsys.readouterr().out, "changelog entry")
    assert line.startswith("✗ ") and "CHANGELOG.md has no heading for v3.2.1" in line


def test_changelog_refusal_can_be_overridden(tmp_path, aws, monkeypatch, capsys):
    prepare_project(tmp_path, monkeypatch, "# Changelog\n")
    fix_clock(monkeypatch, THURSDAY_10)
    aws.settled()
    assert run("--override", "changelog follows in the next release") == 0
    assert line_of(capsys.readouterr().out, "changelog entry").startswith("⚠ ")


# ----------------------------------------------------------------------------------------------------------------
# Bad input (exit 2, one line)
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.2.1", "v3.2", "latest", "v3.2.1-Login", "v03.2.1"])
def test_malformed_version_is_bad_input_before_any_aws_call(project, aws, capsys, version):
    assert run(version=version) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert repr(version) in line and "vMAJOR.MINOR.PATCH" in line
    assert captured.out == ""  # the Stubbers have nothing queued: any AWS call would have failed the test


@pytest.mark.parametrize("reason", ["", "   "])
def test_empty_override_reason_is_bad_input(project, aws, capsys, reason):
    assert run("--override", reason) == 2
    assert "--override needs a reason" in one_error_line(capsys.readouterr().err)


def test_unknown_timezone_and_missing_changelog_are_bad_input(project, aws, capsys):
    assert main(["preflight", "--env", ENV, "--version", "v3.2.1", "--timezone", "Mars/Olympus"]) == 2
    assert "unknown timezone 'Mars/Olympus'" in one_error_line(capsys.readouterr().err)
    assert run("--changelog", "NOPE.md") == 2
    assert "changelog not found: NOPE.md" in one_error_line(capsys.readouterr().err)


def test_no_credentials_is_one_line_and_exit_2(project, monkeypatch, capsys, tmp_path):
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                     "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    fix_clock(monkeypatch, THURSDAY_10)
    assert run() == 2
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == f"error: {target.NO_CREDENTIALS}"
    assert captured.out == ""


def test_expired_credentials_are_one_line(project, aws, monkeypatch, capsys):
    aws.stubbers["ssm"].add_client_error("get_parameter", service_error_code="ExpiredTokenException", http_status_code=400)
    assert run() == 2
    assert "AWS rejected the credentials (ExpiredTokenException)" in one_error_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------------------------------
# Output and the pure checks
# ----------------------------------------------------------------------------------------------------------------


def test_ascii_fallback_when_stdout_cannot_encode_the_symbols(project, aws, monkeypatch):
    fix_clock(monkeypatch, FRIDAY_1530)
    aws.settled()
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    assert run() == 1
    stream.flush()
    out = buffer.getvalue().decode("ascii")
    assert "OK   version format: v3.2.1" in out and "FAIL deploy window: Friday 15:30" in out


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (at(11, 9), preflight.WARN), (at(12, 9), preflight.PASS), (at(14, 23, 59), preflight.PASS),
        (at(15, 14, 59), preflight.WARN), (at(15, 15, 0), preflight.FAIL), (at(16, 11), preflight.FAIL),
        (at(17, 20), preflight.FAIL),
    ],
    ids=["monday", "tuesday", "thursday-late", "friday-1459", "friday-1500", "saturday", "sunday"],
)
def test_deploy_window_policy(moment, status):
    assert preflight.window_check(moment, "Europe/Zagreb").status == status


@pytest.mark.parametrize(
    ("line", "token", "found"),
    [
        ("## v3.2.1 - fix", "v3.2.1", True), ("## [v3.2.1] 2026-05-14", "v3.2.1", True),
        ("## v3.2.1-login-fix - fix", "v3.2.1", True), ("## v3.2.10 - feat", "v3.2.1", False),
        ("## v13.2.1", "v3.2.1", False), ("## v3.2.1.4", "v3.2.1", False), ("## v3.2.1-login-fixes", "v3.2.1-login-fix", False),
    ],
)
def test_changelog_heading_matches_whole_versions_only(line, token, found):
    assert versions.heading_mentions(line, token) is found


def test_versions_order_by_number_and_keep_words_as_description():
    assert versions.parse("v3.2.1-login-fix").is_newer_than(versions.parse("v3.2.0"))
    assert versions.parse("v10.0.0").is_newer_than(versions.parse("v9.99.99"))
    assert not versions.parse("v3.2.0-hotfix").is_newer_than(versions.parse("v3.2.0"))
    assert versions.parse("v3.2.0-schema-button-aurora").core == "v3.2.0"
    with pytest.raises(versions.VersionError):
        versions.parse("v3.2.0-")
