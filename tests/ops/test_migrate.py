"""``ava-olo migrate`` against botocore Stubbers on real clients (no AWS account, no real sleeping).

Each Stubber enforces the call order of its client; a shared recorder sees the order across clients (snapshot
before RunTask) and which calls were made at all (no mutating call when refused or in a dry run). The command
runs from the project root, so ``environments/production.json`` ("tier": "production") and
``environments/staging.json`` decide which safeguards apply.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import boto3
import pytest
from botocore.stub import Stubber

from ava_olo_ops import migrate
from ava_olo_ops.cli import main
from ava_olo_ops.target import Target

ROOT = Path(__file__).resolve().parents[2]
VERSION = "v3.2.0-schema-button-aurora"
MUTATING = {"CreateDBClusterSnapshot", "RunTask", "PutParameter", "StopTask", "RestoreDBClusterFromSnapshot"}
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/ava-olo-production/0123456789abcdef0123456789abcdef"
TASK_ID = "0123456789abcdef0123456789abcdef"
TASK_DEFINITION = "arn:aws:ecs:us-east-1:123456789012:task-definition/ava-olo-monitoring-task-migrate:7"
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ava-olo-monitoring-dashboards"
CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:farmer-crm"
INSIDE, OUTSIDE = datetime(2025, 6, 14, 2, 30, tzinfo=timezone.utc), datetime(2025, 6, 14, 12, 0, tzinfo=timezone.utc)


class Aws:
    """One stubbed client per service, a shared record of the operations called, and the injected sleeps."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.sleeps: list[float] = []
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        for service in ("cloudformation", "ssm", "rds", "ecs", "logs"):
            client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            client.meta.events.register_first("before-call.*.*", self._record)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def add(self, service: str, operation: str, response: dict[str, Any], params: Optional[dict[str, Any]] = None) -> None:
        self.stubbers[service].add_response(operation, response, params)

    def error(self, service: str, operation: str, code: str, params: Optional[dict[str, Any]] = None) -> None:
        self.stubbers[service].add_client_error(operation, service_error_code=code, http_status_code=400, expected_params=params)

    def run(self, *argv: str) -> int:
        for stubber in self.stubbers.values():
            stubber.activate()
        try:
            code = main(["migrate", *argv])
            for stubber in self.stubbers.values():
                stubber.assert_no_pending_responses()
            return code
        finally:
            for stubber in self.stubbers.values():
                stubber.deactivate()

    @property
    def mutating(self) -> list[str]:
        return [call for call in self.calls if call in MUTATING]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], Aws]:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(Target, "client", lambda self, service: state.clients[service])
    state = Aws()
    monkeypatch.setattr(migrate, "sleep", state.sleeps.append)

    def at(moment: datetime) -> Aws:
        # The clock moves only by the injected sleeps: deterministic, and no real waiting.
        monkeypatch.setattr(migrate, "utc_now", lambda: moment + timedelta(seconds=sum(state.sleeps)))
        return state

    return at


# ----------------------------------------------------------------------------------------------------------------
# What the stubs answer
# ----------------------------------------------------------------------------------------------------------------


def stack(name: str, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": datetime(2025, 1, 1, tzinfo=timezone.utc),
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def outputs(aws: Aws, env: str) -> None:
    data, service = f"ava-olo-{env}-data", f"ava-olo-{env}-service"
    aws.add("cloudformation", "describe_stacks", stack(data, {"DatabaseClusterIdentifier": "farmer-crm"}), {"StackName": data})
    aws.add(
        "cloudformation",
        "describe_stacks",
        stack(
            service,
            {
                "ClusterName": f"ava-olo-{env}",
                "ServiceName": "monitoring-dashboards",
                "MigrationTaskDefinitionArn": TASK_DEFINITION,
                "MigrationSubnetIds": "subnet-aaa, subnet-bbb",
                "MigrationSecurityGroupId": "sg-0123",
                "MigrationLogGroupName": f"/ecs/monitoring-dashboards-{env}-migrate",
            },
        ),
        {"StackName": service},
    )


def staging_record(aws: Aws, value: Optional[str]) -> None:
    name = "/ava-olo/staging/monitoring-dashboards/schema-version"
    if value is None:
        aws.error("ssm", "get_parameter", "ParameterNotFound", {"Name": name})
    else:
        aws.add("ssm", "get_parameter", {"Parameter": {"Name": name, "Type": "String", "Value": value, "Version": 3}}, {"Name": name})


def database(aws: Aws, image_version: str = VERSION, env: str = "staging", running: Optional[list[str]] = []) -> None:
    """The read-only preparation; ``running``: the migration tasks ListTasks answers (None: not asked)."""
    aws.add(
        "rds",
        "describe_db_clusters",
        {
            "DBClusters": [
                {
                    "DBClusterIdentifier": "farmer-crm",
                    "DBClusterArn": CLUSTER_ARN,
                    "Status": "available",
                    "Engine": "aurora-postgresql",
                    "EngineVersion": "17.9",
                    "DBSubnetGroup": "ava-olo-farmer-crm-subnets",
                    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-db", "Status": "active"}],
                    "DBClusterParameterGroup": "farmer-crm-params",
                    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abcd",
                    "Port": 5432,
                    "EnabledCloudwatchLogsExports": ["postgresql"],
                    "DBClusterMembers": [
                        {"DBInstanceIdentifier": "farmer-crm-reader", "IsClusterWriter": False},
                        {"DBInstanceIdentifier": "farmer-crm-writer", "IsClusterWriter": True},
                    ],
                }
            ]
        },
        {"DBClusterIdentifier": "farmer-crm"},
    )
    aws.add(
        "rds",
        "describe_db_instances",
        {"DBInstances": [{"DBInstanceIdentifier": "farmer-crm-writer", "DBInstanceClass": "db.r6g.large"}]},
        {"DBInstanceIdentifier": "farmer-crm-writer"},
    )
    aws.add(
        "ecs",
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "migrate", "image": f"{REPOSITORY}:{image_version}"}]}},
        {"taskDefinition": TASK_DEFINITION},
    )
    if running is not None:
        aws.add(
            "ecs",
            "list_tasks",
            {"taskArns": running},
            {"cluster": f"ava-olo-{env}", "startedBy": "ava-olo-migrate", "desiredStatus": "RUNNING"},
        )


def snapshot(aws: Aws, identifier: str, *statuses: str) -> None:
    aws.add(
        "rds",
        "create_db_cluster_snapshot",
        {"DBClusterSnapshot": {"DBClusterSnapshotIdentifier": identifier, "Status": "creating"}},
        {"DBClusterSnapshotIdentifier": identifier, "DBClusterIdentifier": "farmer-crm"},
    )
    for status in statuses:
        aws.add(
            "rds",
            "describe_db_cluster_snapshots",
            {"DBClusterSnapshots": [{"DBClusterSnapshotIdentifier": identifier, "Status": status}]},
            {"DBClusterSnapshotIdentifier": identifier},
        )


def task(
    aws: Aws, env: str, exit_code: int, stopped_reason: str = "Essential container in task exited", missing: int = 0
) -> None:
    """RunTask, then ``missing`` MISSING answers (ECS eventual consistency), RUNNING, STOPPED and the log."""
    cluster = f"ava-olo-{env}"
    aws.add(
        "ecs",
        "run_task",
        {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": cluster,
            "taskDefinition": TASK_DEFINITION,
            "launchType": "FARGATE",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-aaa", "subnet-bbb"],
                    "securityGroups": ["sg-0123"],
                    "assignPublicIp": "DISABLED",
                }
            },
            "overrides": {"containerOverrides": [{"name": "migrate", "environment": [{"name": "APP_VERSION", "value": VERSION}]}]},
            "startedBy": "ava-olo-migrate",
        },
    )
    params = {"cluster": cluster, "tasks": [TASK_ARN]}
    for _ in range(missing):
        aws.add("ecs", "describe_tasks", {"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]}, params)
    aws.add("ecs", "describe_tasks", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "RUNNING"}]}, params)
    stopped = {
        "taskArn": TASK_ARN,
        "lastStatus": "STOPPED",
        "stoppedReason": stopped_reason,
        "containers": [{"name": "migrate", "exitCode": exit_code}],
    }
    aws.add("ecs", "describe_tasks", {"tasks": [stopped]}, params)
    group, stream = f"/ecs/monitoring-dashboards-{env}-migrate", f"migrate/migrate/{TASK_ID}"
    lines = ["INFO  [alembic.runtime.migration] Running upgrade 3a1 -> 4b2, schema button"]
    if exit_code:
        lines.append('psycopg.errors.DuplicateColumn: column "schema_button" already exists')
    aws.add(
        "logs",
        "get_log_events",
        {"events": [{"timestamp": 1, "message": m, "ingestionTime": 2} for m in lines], "nextForwardToken": "f/1"},
        {"logGroupName": group, "logStreamName": stream, "startFromHead": True},
    )
    aws.add(
        "logs",
        "get_log_events",
        {"events": [], "nextForwardToken": "f/1"},
        {"logGroupName": group, "logStreamName": stream, "startFromHead": True, "nextToken": "f/1"},
    )


def recorded(aws: Aws, env: str) -> None:
    aws.add(
        "ssm",
        "put_parameter",
        {"Version": 4},
        {"Name": f"/ava-olo/{env}/monitoring-dashboards/schema-version", "Value": VERSION, "Type": "String", "Overwrite": True},
    )


def full_run(aws: Aws, env: str, identifier: str, exit_code: int = 0) -> None:
    snapshot(aws, identifier, "creating", "available")
    task(aws, env, exit_code)
    if exit_code == 0:
        recorded(aws, env)


STAGING_SNAPSHOT = "staging-v3-2-0-schema-button-aurora-20250614-120000"
PRODUCTION_SNAPSHOT = "production-v3-2-0-schema-button-aurora-20250614-023000"

# ----------------------------------------------------------------------------------------------------------------
# Non-production: the whole sequence
# ----------------------------------------------------------------------------------------------------------------


def test_happy_path_snapshot_then_task_then_schema_version_recorded(aws, capsys):
    stub = aws(OUTSIDE)  # staging-tier: the window does not apply
    outputs(stub, "staging")
    database(stub)
    full_run(stub, "staging", STAGING_SNAPSHOT)

    assert stub.run("--env", "staging", "--version", VERSION) == 0

    out = capsys.readouterr().out
    assert stub.mutating == ["CreateDBClusterSnapshot", "RunTask", "PutParameter"]
    assert stub.sleeps == [migrate.SNAPSHOT_POLL_SECONDS, migrate.TASK_POLL_SECONDS]
    assert f"snapshot {STAGING_SNAPSHOT}: available" in out
    assert "task: RUNNING" in out and "task: STOPPED" in out
    assert "| INFO  [alembic.runtime.migration] Running upgrade 3a1 -> 4b2, schema button" in out
    assert "recorded in /ava-olo/staging/monitoring-dashboards/schema-version" in out


def test_failed_migration_exits_1_prints_the_restore_commands_and_records_nothing(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    full_run(stub, "staging", STAGING_SNAPSHOT, exit_code=1)

    assert stub.run("--env", "staging", "--version", VERSION) == 1

    out, err = capsys.readouterr()
    assert "PutParameter" not in stub.calls
    assert "DuplicateColumn" in out
    assert "failed: the migration container exited with exit code 1; task stopped: Essential container in task exited" in err
    assert (
        "aws rds restore-db-cluster-from-snapshot --db-cluster-identifier farmer-crm-restored-20250614-120000 "
        f"--snapshot-identifier {STAGING_SNAPSHOT} --engine aurora-postgresql --engine-version 17.9 "
        "--db-subnet-group-name ava-olo-farmer-crm-subnets --vpc-security-group-ids sg-db "
        "--db-cluster-parameter-group-name farmer-crm-params --kms-key-id arn:aws:kms:us-east-1:123456789012:key/abcd "
        "--port 5432 --enable-cloudwatch-logs-exports postgresql --copy-tags-to-snapshot --region us-east-1"
    ) in err
    assert (
        "aws rds create-db-instance --db-instance-identifier farmer-crm-restored-20250614-120000-writer "
        "--db-cluster-identifier farmer-crm-restored-20250614-120000 --engine aurora-postgresql --db-instance-class db.r6g.large --region us-east-1"
    ) in err
    assert "NEW cluster" in err


def test_failed_snapshot_stops_before_the_task_is_started(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "creating", "failed")

    assert stub.run("--env", "staging", "--version", VERSION) == 1

    assert stub.mutating == ["CreateDBClusterSnapshot"]
    assert f"snapshot {STAGING_SNAPSHOT} is failed: not migrating" in capsys.readouterr().err


def test_a_container_that_never_ran_leaves_the_database_unchanged_and_needs_no_restore(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "available")
    stub.add("ecs", "run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []})
    never_ran = {
        "taskArn": TASK_ARN,
        "lastStatus": "STOPPED",
        "stoppedReason": "Task failed to start",
        "containers": [{"name": "migrate", "reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)"}],
    }
    stub.add("ecs", "describe_tasks", {"tasks": [never_ran]})
    stub.error("logs", "get_log_events", "ResourceNotFoundException")

    assert stub.run("--env", "staging", "--version", VERSION) == 1

    out, err = capsys.readouterr()
    assert "(no log stream: the container never started)" in out
    assert "exited with no exit code (it never ran); task stopped: Task failed to start; container: CannotPullContainerError" in err
    assert "database is unchanged" in err and "restore-db-cluster-from-snapshot" not in err
    assert stub.mutating == ["CreateDBClusterSnapshot", "RunTask"]


def test_a_container_killed_while_running_is_not_reported_as_never_ran(aws, capsys):
    """No exit code after the task was seen RUNNING: it may have changed the schema, so restore advice is due."""
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "available")
    stub.add("ecs", "run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []})
    stub.add("ecs", "describe_tasks", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "RUNNING"}]})
    killed = {
        "taskArn": TASK_ARN,
        "lastStatus": "STOPPED",
        "stoppedReason": "Task stopped by user",
        "containers": [{"name": "migrate", "reason": "SIGKILL"}],
    }
    stub.add("ecs", "describe_tasks", {"tasks": [killed]})
    stub.error("logs", "get_log_events", "ResourceNotFoundException")

    assert stub.run("--env", "staging", "--version", VERSION) == 1

    err = capsys.readouterr().err
    assert "no exit code (it was stopped while running)" in err
    assert "never ran" not in err and "database is unchanged" not in err
    assert "restore-db-cluster-from-snapshot" in err


def test_snapshot_timeout_is_bounded_and_stops_before_the_task(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "creating", "creating", "creating", "creating", "creating")  # 1 min / 15 s = 4 waits

    assert stub.run("--env", "staging", "--version", VERSION, "--snapshot-timeout", "1") == 1

    assert stub.mutating == ["CreateDBClusterSnapshot"] and stub.sleeps == [15, 15, 15, 15]
    assert "still creating after 1 min" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# Production tier: staging first, low-traffic window, override
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("staged", [None, "v3.1.0"])
def test_production_without_this_version_on_staging_is_refused_without_any_change(aws, capsys, staged):
    stub = aws(INSIDE)
    outputs(stub, "production")
    staging_record(stub, staged)

    assert stub.run("--env", "production", "--version", VERSION) == 1

    err = capsys.readouterr().err
    assert stub.mutating == []
    assert f"refused: {VERSION} has not migrated successfully on staging" in err
    assert f"is {staged or 'not set'};" in err
    assert "outside the low-traffic window" not in err


def test_production_outside_the_window_is_refused_without_any_change(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "production")
    staging_record(stub, VERSION)

    assert stub.run("--env", "production", "--version", VERSION) == 1

    err = capsys.readouterr().err
    assert stub.mutating == []
    assert "refused: 12:00 UTC is outside the low-traffic window 02:00-04:00 UTC" in err


def test_production_inside_the_window_with_a_staging_record_snapshots_before_running_the_task(aws, capsys):
    stub = aws(INSIDE)
    outputs(stub, "production")
    staging_record(stub, VERSION)
    database(stub, env="production")
    full_run(stub, "production", PRODUCTION_SNAPSHOT)

    assert stub.run("--env", "production", "--version", VERSION) == 0

    assert stub.calls.index("CreateDBClusterSnapshot") < stub.calls.index("RunTask") < stub.calls.index("PutParameter")
    assert stub.calls.index("DescribeDBClusterSnapshots") < stub.calls.index("RunTask")
    out = capsys.readouterr().out
    assert "ok: v3.2.0-schema-button-aurora migrated successfully on staging" in out
    assert "ok: 02:30 UTC is inside the low-traffic window 02:00-04:00 UTC" in out


def test_override_with_a_reason_proceeds_and_prints_the_reason(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "production")
    staging_record(stub, None)
    database(stub, env="production")
    full_run(stub, "production", "production-v3-2-0-schema-button-aurora-20250614-120000")

    reason = "hotfix for the sign-up outage, approved by the on-call lead"
    assert stub.run("--env", "production", "--version", VERSION, "--override", reason) == 0

    out = capsys.readouterr().out
    assert f"override reason: {reason}" in out
    assert out.count("overridden: ") == 2
    assert stub.mutating == ["CreateDBClusterSnapshot", "RunTask", "PutParameter"]


def test_dry_run_shows_every_step_and_makes_no_mutating_call(aws, capsys):
    stub = aws(INSIDE)
    outputs(stub, "production")
    staging_record(stub, VERSION)
    database(stub, env="production")

    assert stub.run("--env", "production", "--version", VERSION, "--dry-run") == 0

    out = capsys.readouterr().out
    assert stub.mutating == []
    assert stub.calls == [
        "DescribeStacks", "DescribeStacks", "GetParameter", "DescribeDBClusters", "DescribeDBInstances", "DescribeTaskDefinition",
        "ListTasks",
    ]
    for step in (
        f"create cluster snapshot {PRODUCTION_SNAPSHOT} of farmer-crm",
        f"run task {TASK_DEFINITION} on cluster ava-olo-production (FARGATE, subnets subnet-aaa,subnet-bbb",
        f"APP_VERSION={VERSION}",
        "migrate/migrate/<task id> of /ecs/monitoring-dashboards-production-migrate",
        f"put {VERSION} into /ava-olo/production/monitoring-dashboards/schema-version",
        "aws rds restore-db-cluster-from-snapshot --db-cluster-identifier farmer-crm-restored-20250614-023000 "
        f"--snapshot-identifier {PRODUCTION_SNAPSHOT}",
        "then re-check the low-traffic window 02:00-04:00 UTC",
        "dry run: nothing was changed",
    ):
        assert step in out


def test_deployed_image_of_another_version_is_refused_before_the_snapshot(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub, image_version="v3.1.0", running=None)

    assert stub.run("--env", "staging", "--version", VERSION) == 1

    assert stub.mutating == []
    assert "runs image tag v3.1.0, not v3.2.0-schema-button-aurora" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# ECS eventual consistency, Ctrl-C, the window at RunTask, concurrent migrations
# ----------------------------------------------------------------------------------------------------------------

MISSING = {"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]}


def started(aws: Aws) -> None:
    """RunTask answered with the task (parameters are checked by the full-run tests)."""
    aws.add("ecs", "run_task", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "PROVISIONING"}], "failures": []})


def interrupt_on_sleep(monkeypatch: pytest.MonkeyPatch, aws: Aws, number: int) -> None:
    """The ``number``-th wait (1-based) is interrupted by Ctrl-C."""

    def sleep(seconds: float) -> None:
        aws.sleeps.append(seconds)
        if len(aws.sleeps) == number:
            raise KeyboardInterrupt

    monkeypatch.setattr(migrate, "sleep", sleep)


def test_a_task_missing_right_after_run_task_is_asked_for_again_not_taken_as_stopped(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "available")
    task(stub, "staging", 0, missing=2)  # ECS does not know the task for two answers, then RUNNING, STOPPED (exit 0)
    recorded(stub, "staging")

    assert stub.run("--env", "staging", "--version", VERSION) == 0

    out, err = capsys.readouterr()
    assert stub.sleeps == [1, 2, migrate.TASK_POLL_SECONDS]  # backoff while MISSING, then the normal poll
    assert "task: not visible in ECS yet (MISSING)" in out and "task: RUNNING" in out
    assert stub.mutating == ["CreateDBClusterSnapshot", "RunTask", "PutParameter"]
    assert "unchanged" not in out + err


def test_a_task_that_stays_missing_fails_with_an_unknown_outcome_never_database_unchanged(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "available")
    started(stub)
    for _ in range(9):  # waits 1+2+4+8+16+30+30+29 = 120 s between nine answers
        stub.add("ecs", "describe_tasks", MISSING, {"cluster": "ava-olo-staging", "tasks": [TASK_ARN]})

    assert stub.run("--env", "staging", "--version", VERSION) == 1

    out, err = capsys.readouterr()
    assert stub.sleeps == [1, 2, 4, 8, 16, 30, 30, 29] and sum(stub.sleeps) == migrate.MISSING_GRACE_SECONDS
    assert stub.mutating == ["CreateDBClusterSnapshot", "RunTask"]
    assert "database is unchanged" not in err and "never ran" not in err
    assert f"the migration task {TASK_ARN} after 120 s; the task's outcome is UNKNOWN" in err
    assert f"aws ecs describe-tasks --cluster ava-olo-staging --tasks {TASK_ARN} --region us-east-1" in err
    assert f"snapshot {STAGING_SNAPSHOT}" in err
    assert "aws rds restore-db-cluster-from-snapshot --db-cluster-identifier farmer-crm-restored-20250614-120000" in err
    assert "not recorded: /ava-olo/staging/monitoring-dashboards/schema-version is unchanged" in err


def test_ctrl_c_during_the_snapshot_wait_exits_130_and_names_the_snapshot(aws, capsys, monkeypatch):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "creating")
    interrupt_on_sleep(monkeypatch, stub, 1)

    assert stub.run("--env", "staging", "--version", VERSION) == 130

    err = capsys.readouterr().err
    assert stub.mutating == ["CreateDBClusterSnapshot"]
    assert "interrupted (Ctrl-C)" in err
    assert f"snapshot {STAGING_SNAPSHOT} (the state before the migration) was requested and is kept; it was not yet available" in err
    assert "the migration task was NOT started: the database is unchanged" in err
    assert "restore-db-cluster-from-snapshot" not in err


def test_ctrl_c_while_following_the_task_exits_130_and_says_it_keeps_running(aws, capsys, monkeypatch):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "available")
    started(stub)
    stub.add("ecs", "describe_tasks", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "RUNNING"}]})
    interrupt_on_sleep(monkeypatch, stub, 1)

    assert stub.run("--env", "staging", "--version", VERSION) == 130

    err = capsys.readouterr().err
    assert stub.mutating == ["CreateDBClusterSnapshot", "RunTask"]
    assert f"snapshot {STAGING_SNAPSHOT} (the state before the migration) was taken and is kept" in err
    assert f"the migration task {TASK_ARN} was started and KEEPS RUNNING in ECS" in err
    assert f"aws ecs describe-tasks --cluster ava-olo-staging --tasks {TASK_ARN} --region us-east-1" in err
    assert "schema version is NOT recorded" in err
    assert "aws rds restore-db-cluster-from-snapshot --db-cluster-identifier farmer-crm-restored-20250614-120000" in err


def test_ctrl_c_during_run_task_itself_says_a_task_may_have_started(aws, capsys):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    database(stub)
    snapshot(stub, STAGING_SNAPSHOT, "available")
    started(stub)

    def interrupt(**_: Any) -> None:  # Ctrl-C before RunTask's answer was read: the task may have started
        raise KeyboardInterrupt

    stub.clients["ecs"].meta.events.register("after-call.ecs.RunTask", interrupt)

    assert stub.run("--env", "staging", "--version", VERSION) == 130

    err = capsys.readouterr().err
    assert "RunTask was in progress: a migration task may have started" in err
    assert "aws ecs list-tasks --cluster ava-olo-staging --started-by ava-olo-migrate --region us-east-1" in err
    assert f"snapshot {STAGING_SNAPSHOT} (the state before the migration) was taken" in err
    assert "restore-db-cluster-from-snapshot" in err


def test_production_snapshot_outlasting_the_window_refuses_before_run_task_and_keeps_the_snapshot(aws, capsys):
    stub = aws(datetime(2025, 6, 14, 3, 59, 50, tzinfo=timezone.utc))
    outputs(stub, "production")
    staging_record(stub, VERSION)
    database(stub, env="production")
    identifier = "production-v3-2-0-schema-button-aurora-20250614-035950"
    snapshot(stub, identifier, "creating", "available")  # one 15 s wait: 04:00:05

    assert stub.run("--env", "production", "--version", VERSION) == 1

    out, err = capsys.readouterr()
    assert "ok: 03:59 UTC is inside the low-traffic window" in out
    assert stub.mutating == ["CreateDBClusterSnapshot"]
    assert "refused: 04:00 UTC is now outside the low-traffic window 02:00-04:00 UTC" in err
    assert "the migration task was NOT started, so the database is unchanged" in err
    assert f"snapshot {identifier} is kept; re-run inside the window (02:00-04:00 UTC)" in err


def test_production_window_recheck_is_skipped_with_override(aws, capsys):
    stub = aws(datetime(2025, 6, 14, 3, 59, 50, tzinfo=timezone.utc))
    outputs(stub, "production")
    staging_record(stub, VERSION)
    database(stub, env="production")
    full_run(stub, "production", "production-v3-2-0-schema-button-aurora-20250614-035950")

    assert stub.run("--env", "production", "--version", VERSION, "--override", "approved by ops") == 0

    assert "overridden: 04:00 UTC is now outside the low-traffic window" in capsys.readouterr().out


@pytest.mark.parametrize("override", [[], ["--override", "urgent, approved by ops"]])
def test_another_running_migration_refuses_before_any_change_even_with_override(aws, capsys, override):
    stub = aws(OUTSIDE)
    outputs(stub, "staging")
    other = TASK_ARN.replace("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210")
    database(stub, running=[other])

    assert stub.run("--env", "staging", "--version", VERSION, *override) == 1

    err = capsys.readouterr().err
    assert stub.mutating == []
    assert f"refused: another migration is running on ava-olo-staging (started by ava-olo-migrate): {other}" in err
    assert "--override does not apply" in err


# ----------------------------------------------------------------------------------------------------------------
# Bad input and credentials: one line, exit 2
# ----------------------------------------------------------------------------------------------------------------


def test_no_credentials_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(ROOT / "no-such-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(ROOT / "no-such-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert main(["migrate", "--env", "staging", "--version", VERSION]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: no AWS credentials found")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--env", "staging", "--version", "latest"], "--version: 'latest' is not a release version"),
        (["--env", "production", "--version", VERSION, "--override", "   "], "--override needs a reason"),
        (["--env", "staging", "--version", VERSION, "--window", "04:00-04:00"], "is empty"),
        (["--env", "staging", "--version", VERSION, "--task-timeout", "0"], "must be 1 to 1440 minutes"),
        (["--env", "nowhere", "--version", VERSION], "unknown environment 'nowhere'"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(monkeypatch, capsys, argv, message):
    monkeypatch.chdir(ROOT)
    assert main(["migrate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_missing_migration_output_asks_for_a_deploy(aws, capsys):
    stub = aws(OUTSIDE)
    data = "ava-olo-staging-data"
    stub.add("cloudformation", "describe_stacks", stack(data, {"DatabaseClusterIdentifier": "farmer-crm"}), {"StackName": data})
    stub.add("cloudformation", "describe_stacks", stack("ava-olo-staging-service", {"ClusterName": "ava-olo-staging"}))

    assert stub.run("--env", "staging", "--version", VERSION) == 2

    err = capsys.readouterr().err
    assert err.strip() == (
        "error: stack ava-olo-staging-service has no output 'MigrationTaskDefinitionArn': deploy the current version first"
    )


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------


def test_snapshot_identifier_is_a_valid_rds_identifier():
    moment = datetime(2025, 6, 14, 2, 30, 5, tzinfo=timezone.utc)
    assert migrate.snapshot_identifier("production", VERSION, moment) == "production-v3-2-0-schema-button-aurora-20250614-023005"
    odd = migrate.snapshot_identifier("9lives", "v1.0.0--x_y", moment)
    assert odd == "migration-9lives-v1-0-0-x-y-20250614-023005"
    long = migrate.snapshot_identifier("e" * 300, VERSION, moment)
    assert len(long) <= 255 and long.endswith("-20250614-023005") and "--" not in long


@pytest.mark.parametrize(
    "window, hour, minute, inside",
    [("02:00-04:00", 2, 0, True), ("02:00-04:00", 3, 59, True), ("02:00-04:00", 4, 0, False), ("02:00-04:00", 1, 59, False),
     ("23:00-01:00", 23, 30, True), ("23:00-01:00", 0, 30, True), ("23:00-01:00", 1, 0, False)],
)
def test_window_contains_start_not_end_and_wraps_past_midnight(window, hour, minute, inside):
    assert migrate.Window.parse(window).contains(datetime(2025, 6, 14, hour, minute, tzinfo=timezone.utc)) is inside


def test_restored_identifier_is_unique_per_snapshot_time_and_a_valid_rds_identifier():
    moment = datetime(2025, 6, 14, 2, 30, 5, tzinfo=timezone.utc)
    assert migrate.restored_identifier("farmer-crm", moment) == "farmer-crm-restored-20250614-023005"
    assert migrate.restored_identifier("farmer-crm", moment + timedelta(days=1)) != migrate.restored_identifier("farmer-crm", moment)
    valid = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")
    for source in ("farmer-crm", "x" * 80, "a" + "-b" * 40, "abc-" * 20, "9-Lives__DB", "", "---"):
        restored = migrate.restored_identifier(source, moment)
        assert valid.fullmatch(restored), restored
        assert restored.endswith("-restored-20250614-023005")
        assert len(restored) <= 63 and len(restored + "-writer") <= 63
