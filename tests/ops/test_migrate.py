"""`ava-olo migrate` against moto: the seed's migration order with the release's image, and a real lock.

moto models CloudFormation outputs and stack resources, RDS clusters and snapshots (and boto3's
``db_cluster_snapshot_available`` waiter), ECS task definitions and RunTask (its tasks reach STOPPED, exit code
0, so boto3's ``tasks_stopped`` waiter works), SSM conditional writes and CloudWatch Logs. One shim: moto 5.2.5's
RunTask reads ``NetworkInterface.private_dns_name``, which its EC2 model lacks.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from moto import mock_aws

from ava_olo_ops import migrate, target as targets
from ava_olo_ops.cli import main

from .aws import client

REGION = "us-east-1"  # environments/staging.json and production.json
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ava-olo-monitoring-dashboards"
INSIDE_WINDOW = datetime(2026, 12, 2, 2, 30, tzinfo=timezone.utc)


def _deploy(env: str, project: str = "ava-olo", service: str = "monitoring-dashboards", region: str = REGION) -> str:
    """The two stacks of ``env`` as migrate reads them; returns the SSM prefix."""
    target = targets.resolve_target(env, project=project, service=service)
    prefix = f"/{project}/{env}/{service}"
    ec2 = client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"{env}-svc", Description="service", VpcId=vpc)["GroupId"]
    rds = client("rds", region)
    rds.create_db_cluster(DBClusterIdentifier=f"{env}-farmer-crm", Engine="aurora-postgresql", MasterUsername="crm",
                          MasterUserPassword="not-a-real-password-1")
    ecs = client("ecs", region)
    ecs.create_cluster(clusterName=f"{env}-cluster")
    task_definition = ecs.register_task_definition(
        family=f"{env}-migrate", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="512", memory="1024",
        containerDefinitions=[{"name": "migrate", "image": f"{IMAGE}:v1.0.0", "command": ["alembic", "upgrade", "head"],
                               "memory": 1024}],
    )["taskDefinition"]["taskDefinitionArn"]
    client("logs", region).create_log_group(logGroupName=f"{env}-migrate")
    cloudformation = client("cloudformation", region)
    parameter = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"{prefix}/version", "Type": "String", "Value": "v1.0.0"}}
    outputs = {"ClusterName": f"{env}-cluster", "MigrationTaskDefinitionArn": task_definition, "MigrationSubnetIds": subnet,
               "MigrationSecurityGroupId": group, "MigrationLogGroupName": f"{env}-migrate"}
    for stack, resources, values in (
        (target.service_stack, {"Version": parameter}, outputs),
        (target.data_stack, {"Marker": {**parameter, "Properties": {**parameter["Properties"], "Name": f"{prefix}/data"}}},
         {"DatabaseClusterIdentifier": f"{env}-farmer-crm"}),
    ):
        template = {"Resources": resources, "Outputs": {k: {"Value": v} for k, v in values.items()}}
        cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    return prefix


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface  # moto's EC2 loads slowly: not at collection

    monkeypatch.setattr(NetworkInterface, "private_dns_name", "ip-10-0-1-10.ec2.internal", raising=False)
    monkeypatch.setattr(migrate, "SNAPSHOT_DELAY", 0.01)
    monkeypatch.setattr(migrate, "TASK_DELAY", 0.01)
    monkeypatch.setattr(migrate, "utc_now", lambda: INSIDE_WINDOW)
    with mock_aws():
        yield client("ssm", REGION)


def _value(ssm, name):
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def test_staging_migrates_with_the_release_image_after_a_snapshot_and_records_it(aws, capsys):
    prefix = _deploy("staging")
    assert main(["migrate", "--env", "staging", "--version", "v1.1.0"]) == 0
    out = capsys.readouterr().out
    ecs, rds = client("ecs", REGION), client("rds", REGION)
    (task,) = ecs.describe_tasks(cluster="staging-cluster", tasks=ecs.list_tasks(cluster="staging-cluster")["taskArns"])["tasks"]
    definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    assert definition["revision"] == 2 and definition["containerDefinitions"][0]["image"] == f"{IMAGE}:v1.1.0"
    assert task["startedBy"] == migrate.STARTED_BY
    (snapshot,) = rds.describe_db_cluster_snapshots(DBClusterIdentifier="staging-farmer-crm", SnapshotType="manual")["DBClusterSnapshots"]
    assert snapshot["DBClusterSnapshotIdentifier"].startswith("staging-v1-1-0-")
    assert out.index("lock") < out.index(": available") < out.index(" started with ") < out.index("recorded in")
    assert _value(aws, f"{prefix}/schema-version") == "v1.1.0"
    assert _value(aws, f"{prefix}/migration-lock") is None, "the lock is released"


def test_two_concurrent_runs_exactly_one_proceeds_the_other_names_the_holder(aws, monkeypatch, capsys):
    _deploy("staging")
    loser_done = threading.Event()
    start = threading.Barrier(2)
    real_migrate = migrate.Migration._migrate

    def slow_migrate(self, *args):  # the winner holds the lock until the other run has ended
        loser_done.wait(timeout=30)
        return real_migrate(self, *args)

    monkeypatch.setattr(migrate.Migration, "_migrate", slow_migrate)
    # SSM's PutParameter with Overwrite=False is one atomic conditional write in AWS; moto's in-memory
    # check-then-set is not thread-safe, so two threads could both "create" it. Make moto's write atomic.
    from moto.ssm.models import SimpleSystemManagerBackend

    backend = SimpleSystemManagerBackend.put_parameter
    atomic = threading.Lock()

    def put_parameter(self, *args, **kwargs):
        with atomic:
            return backend(self, *args, **kwargs)

    monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)
    codes: list[int] = []

    def run():
        start.wait(timeout=30)
        code = main(["migrate", "--env", "staging", "--version", "v1.1.0"])
        codes.append(code)
        if code != 0:
            loser_done.set()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [0, 1]
    err = capsys.readouterr().err
    refusals = [line for line in err.splitlines() if "lock" in line]
    assert refusals, err
    (line,) = refusals
    assert line.startswith("refused: another migration holds the lock /ava-olo/staging/monitoring-dashboards/migration-lock: ")
    assert "(pid " in line and f"since {INSIDE_WINDOW:%Y-%m-%d %H:%M:%S} UTC; wait until it ends" in line
    assert len(client("ecs", REGION).list_tasks(cluster="staging-cluster")["taskArns"]) == 1


def test_a_stale_lock_is_reported_not_broken(aws, capsys):
    prefix = _deploy("staging")
    since = INSIDE_WINDOW - timedelta(hours=3)
    held = json.dumps({"holder": "ops@laptop (pid 7)", "since": since.isoformat(), "token": "x"})
    aws.put_parameter(Name=f"{prefix}/migration-lock", Value=held, Type="String")
    assert main(["migrate", "--env", "staging", "--version", "v1.1.0"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "ops@laptop (pid 7) since 2026-12-01 23:30:00 UTC - STALE (older than 100 min" in line
    assert f"aws ssm delete-parameter --name {prefix}/migration-lock" in line
    assert _value(aws, f"{prefix}/migration-lock") == held
    assert client("rds", REGION).describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []


def test_production_needs_the_staging_record_and_the_window(aws, monkeypatch, capsys):
    staging_prefix = _deploy("staging")
    prefix = _deploy("production")
    monkeypatch.setattr(migrate, "utc_now", lambda: INSIDE_WINDOW.replace(hour=14))
    assert main(["migrate", "--env", "production", "--version", "v1.1.0"]) == 1
    err = capsys.readouterr().err
    assert f"{staging_prefix}/schema-version is not set" in err and "outside the low-traffic window 02:00-04:00" in err
    aws.put_parameter(Name=f"{staging_prefix}/schema-version", Value="v1.1.0", Type="String")
    monkeypatch.setattr(migrate, "utc_now", lambda: INSIDE_WINDOW)
    assert main(["migrate", "--env", "production", "--version", "v1.1.0"]) == 0
    assert _value(aws, f"{prefix}/schema-version") == "v1.1.0"


def test_another_teams_production_checks_its_own_staging_record_in_the_staging_region(aws, capsys):
    """Mango rule: ``--project`` names the stacks (``agro-<env>-*``) and ``--staging-region`` where the staging record
    is read (staging in another region than production), not AVA OLO's defaults. The records' prefix is the one
    each service stack declares (``/agro/<env>/orders``)."""
    staging_prefix = _deploy("staging", project="agro", service="orders", region="eu-west-1")
    prefix = _deploy("production", project="agro", service="orders")
    client("ssm", "eu-west-1").put_parameter(Name=f"{staging_prefix}/schema-version", Value="v1.1.0", Type="String")
    argv = ["migrate", "--env", "production", "--version", "v1.1.0", "--project", "agro", "--app-service", "orders",
            "--region", REGION]
    assert main(argv) == 1  # the staging record is looked for in production's region by default
    assert "agro-staging-service is not deployed in us-east-1" in capsys.readouterr().err
    assert main([*argv, "--staging-region", "eu-west-1"]) == 0, capsys.readouterr().err
    assert _value(aws, f"{prefix}/schema-version") == "v1.1.0" and staging_prefix == "/agro/staging/orders"


def test_dry_run_changes_nothing(aws, capsys):
    prefix = _deploy("staging")
    assert main(["migrate", "--env", "staging", "--version", "v1.1.0", "--dry-run"]) == 0
    assert "would register a revision" in capsys.readouterr().out
    assert _value(aws, f"{prefix}/migration-lock") is None and _value(aws, f"{prefix}/schema-version") is None


@pytest.mark.parametrize("argv, fragment", [
    (["--version", "1.2"], "--version"), (["--version", "v1.0.0", "--window", "25:00-01:00"], "--window"),
    (["--version", "v1.0.0", "--override", "  "], "--override needs a reason"),
])
def test_bad_input_is_one_error_line(argv, fragment, capsys):
    assert main(["migrate", "--env", "staging", *argv]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and fragment in line


def test_a_release_already_migrated_is_not_migrated_again(aws, capsys):
    prefix = _deploy("staging")
    aws.put_parameter(Name=f"{prefix}/schema-version", Value="v1.1.0", Type="String")
    assert main(["migrate", "--env", "staging", "--version", "v1.1.0"]) == 0
    assert "already migrated to v1.1.0" in capsys.readouterr().out
    assert client("rds", REGION).describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []


def test_a_failed_migration_records_nothing_prints_the_restore_and_releases_the_lock(aws, monkeypatch, capsys):
    from moto.ecs.models import Container

    prefix = _deploy("staging")
    original = Container.__init__

    def failing(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.exitCode = 3  # alembic failed

    monkeypatch.setattr(Container, "__init__", failing)
    assert main(["migrate", "--env", "staging", "--version", "v1.1.0"]) == 1
    err = capsys.readouterr().err
    assert "failed: the migration exited with 3" in err and "aws rds restore-db-cluster-from-snapshot" in err
    assert _value(aws, f"{prefix}/schema-version") is None
    assert _value(aws, f"{prefix}/migration-lock") is None
