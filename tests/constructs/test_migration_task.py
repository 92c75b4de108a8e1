"""MigrationTask: the one-off Fargate task ``ava-olo migrate`` starts with RunTask.

One test-local App (synthesized once for the module, both cdk-nag packs): a VPC over eu-central-1a/b with public,
private-with-egress and isolated subnets, a cluster, the database credentials secret (imported by ARN with its
KMS key, as the service stack does), and two tasks: ``Migration`` wired like the service (ECR image, the
service's security group, the database secrets, one non-secret variable) and ``Plain`` with every default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

from ava_olo_constructs import (
    Network,
    NetworkProps,
    PropsError,
    ServiceCluster,
    ServiceClusterProps,
    add_compliance_checks,
)
from ava_olo_constructs.migration_task import MigrationTask, MigrationTaskProps
from ava_olo_ops import migrate
from tests.conftest import acknowledgements as acknowledged_in_assembly
from tests.conftest import manifest, only

ACCOUNT = "123456789012"
SECRET_ARN = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:ava-olo/test/database/credentials-AbCdEf"
KEY_ARN = f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
DB_FIELDS = {"DB_HOST": "host", "DB_PORT": "port", "DB_NAME": "dbname", "DB_USER": "username", "DB_PASSWORD": "password"}
NIST = "NIST.800.53.R5-"


@dataclass
class Built:
    stack: Stack
    template: Template
    resources: dict[str, Any]  # the template's resources, as CDK wrote them
    report: dict[str, Any]
    migration: MigrationTask
    plain: MigrationTask
    service_security_group: ec2.SecurityGroup
    vpc: ec2.IVpc
    props: MigrationTaskProps

    def task(self, logical_prefix: str) -> dict[str, Any]:
        found = {k: v for k, v in self.template.find_resources("AWS::ECS::TaskDefinition").items() if k.startswith(logical_prefix)}
        return only(found)["Properties"]

    def container(self, logical_prefix: str) -> dict[str, Any]:
        return self.task(logical_prefix)["ContainerDefinitions"][0]

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    outdir = tmp_path_factory.mktemp("migration-cdk.out")
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False, tree_metadata=False)  # cfn-lint covers this in CI
    add_compliance_checks(app, ["AwsSolutions", "NIST.800.53.R5"])
    stack = Stack(app, "MigrationTest", env=Environment(account=ACCOUNT, region="eu-central-1"))
    network = Network(stack, "Net", NetworkProps(availability_zones=["eu-central-1a", "eu-central-1b"]))
    cluster = ServiceCluster(stack, "Cluster", ServiceClusterProps(vpc=network.vpc, cluster_name="ava-olo-test")).cluster
    key = kms.Key.from_key_arn(stack, "DatabaseKey", KEY_ARN)
    credentials = secretsmanager.Secret.from_secret_attributes(
        stack, "DatabaseCredentials", secret_complete_arn=SECRET_ARN, encryption_key=key
    )
    secrets = {variable: ecs.Secret.from_secrets_manager(credentials, field) for variable, field in DB_FIELDS.items()}
    service_security_group = ec2.SecurityGroup(stack, "ServiceSecurityGroup", vpc=network.vpc, description="the service's tasks")
    repository = ecr.Repository.from_repository_name(stack, "Repository", "ava-olo-monitoring-dashboards")
    props = MigrationTaskProps(
        cluster=cluster,
        image=ecs.ContainerImage.from_ecr_repository(repository, "v3.2.0-schema-button-aurora"),
        secrets=secrets,
        secrets_encryption_key=key,
        environment={"DB_POOL_SIZE": "5"},
        security_group=service_security_group,
        family="ava-olo-monitoring-dashboards-test-migrate",
    )
    migration = MigrationTask(stack, "Migration", props)
    plain = MigrationTask(
        stack,
        "Plain",
        MigrationTaskProps(
            cluster=cluster,
            image=ecs.ContainerImage.from_registry("public.ecr.aws/ava-olo/migrations:v1.0.0"),
            command=["python", "-m", "app.migrate"],
            cpu=1024,
            memory_mib=2048,
        ),
    )
    app.synth()  # cdk-nag runs here: an unacknowledged finding fails the synth
    # The template as CDK wrote it into the cloud assembly, read once (not copied back through jsii per query).
    template_file = manifest(str(outdir))["artifacts"][stack.artifact_id]["properties"]["templateFile"]
    written = json.loads((outdir / template_file).read_text())
    report = json.loads((outdir / "validation-report.json").read_text())
    return Built(stack, Template.from_json(written), written["Resources"], report, migration, plain,
                 service_security_group, network.vpc, props)


def test_database_settings_reach_the_container_only_as_ecs_secrets(built):
    container = built.container("Migration")
    assert {s["Name"]: s["ValueFrom"] for s in container["Secrets"]} == {
        variable: f"{SECRET_ARN}:{field}::" for variable, field in DB_FIELDS.items()
    }
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment == {"DB_POOL_SIZE": "5"}
    assert not set(environment) & set(DB_FIELDS)
    for task in built.template.find_resources("AWS::ECS::TaskDefinition").values():
        for definition in task["Properties"]["ContainerDefinitions"]:
            for variable in definition.get("Environment", []):
                assert not any(word in variable["Name"] for word in ("PASSWORD", "SECRET", "TOKEN", "KEY")), variable
    assert "Environment" not in built.container("Plain") and "Secrets" not in built.container("Plain")


def test_execution_role_reads_exactly_the_given_secrets_and_their_key_via_secrets_manager(built):
    role = built.resolve(built.migration.task_definition.execution_role.role_name)
    policy = only({
        k: v for k, v in built.template.find_resources("AWS::IAM::Policy").items() if v["Properties"]["Roles"] == [role]
    })
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    secret_reads = [s for s in statements if any(str(a).startswith("secretsmanager:") for a in _list(s["Action"]))]
    assert [s["Resource"] for s in secret_reads] == [SECRET_ARN]
    assert set(_list(secret_reads[0]["Action"])) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    decrypt = only({str(i): s for i, s in enumerate(statements) if "kms:Decrypt" in _list(s["Action"])})
    assert decrypt["Resource"] == KEY_ARN
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}}
    # The task role (what the migration itself may call in AWS) gets nothing.
    task_role = built.resolve(built.migration.task_definition.task_role.role_name)
    assert not [p for p in built.template.find_resources("AWS::IAM::Policy").values() if task_role in p["Properties"]["Roles"]]


def test_own_log_stream_in_a_log_group_with_retention_and_kms_key(built):
    for prefix, construct in (("Migration", built.migration), ("Plain", built.plain)):
        options = built.container(prefix)["LogConfiguration"]
        assert options["LogDriver"] == "awslogs"
        assert options["Options"]["awslogs-stream-prefix"] == "migrate"
        assert options["Options"]["awslogs-group"] == built.resolve(construct.log_group.log_group_name)
        group = built.resources[built.resolve(construct.log_group.log_group_name)["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == 30
        assert group["Properties"]["KmsKeyId"] == built.resolve(construct.log_key.key_arn)
        assert group["DeletionPolicy"] == "Retain"
        key = built.resources[built.resolve(construct.log_key.key_arn)["Fn::GetAtt"][0]]
        assert key["Properties"]["EnableKeyRotation"] is True


def test_a_task_definition_only_started_on_demand_with_the_migration_command_and_size(built):
    built.template.resource_count_is("AWS::ECS::Service", 0)
    migration, plain = built.task("Migration"), built.task("Plain")
    for task in (migration, plain):
        assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
        assert task["ContainerDefinitions"][0]["Name"] == "migrate" and task["ContainerDefinitions"][0]["Essential"]
    assert built.migration.container.container_name == "migrate"
    # ava-olo migrate cannot import the construct (that would start the CDK runtime), so the names are pinned twice.
    assert (migrate.CONTAINER_NAME, migrate.STREAM_PREFIX) == (MigrationTask.container_name, MigrationTask.stream_prefix)
    assert migration["ContainerDefinitions"][0]["Command"] == ["alembic", "upgrade", "head"]
    assert (migration["Cpu"], migration["Memory"]) == ("512", "1024")
    assert migration["Family"] == "ava-olo-monitoring-dashboards-test-migrate"
    assert plain["ContainerDefinitions"][0]["Command"] == ["python", "-m", "app.migrate"]
    assert (plain["Cpu"], plain["Memory"]) == ("1024", "2048")
    assert migration["ContainerDefinitions"][0]["Image"]["Fn::Join"][1][-1].endswith(
        "/ava-olo-monitoring-dashboards:v3.2.0-schema-button-aurora"
    )


def test_networking_private_subnets_and_the_services_security_group_or_an_outbound_only_one(built):
    private = built.resolve([s.subnet_id for s in built.vpc.private_subnets])
    assert built.resolve(built.migration.subnet_ids) == private == built.resolve(built.plain.subnet_ids)
    assert len(private) == 2
    # Given the service's security group, the task reuses it: the database's ingress rule for it applies.
    assert built.migration.security_group is built.service_security_group
    assert "existing ingress rule" in built.migration.subnets_description
    assert "assignPublicIp DISABLED" in built.migration.subnets_description
    # By default it gets its own group: no ingress at all, and the caller must let it into the database.
    group = built.resources[built.resolve(built.plain.security_group.security_group_id)["Fn::GetAtt"][0]]
    assert "SecurityGroupIngress" not in group["Properties"]
    assert group["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "0.0.0.0/0"
    assert "database.allow_from" in built.plain.subnets_description


def test_synth_passes_both_cdk_nag_packs_and_acknowledges_only_real_findings(built):
    plugins = {p["pluginName"]: p for p in built.report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "NIST.800.53.R5"}
    suppressed = set()
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        for violation in plugin["violations"]:  # warnings only, and none about the migration tasks
            paths = [c["constructPath"] for c in violation["violatingConstructs"]]
            assert not [p for p in paths if "/Migration/" in p or "/Plain/" in p], violation["ruleName"]
        for violation in plugin["suppressedViolations"]:
            suppressed |= {(c["constructPath"], violation["ruleName"]) for c in violation["violatingConstructs"]}
    # What the cloud assembly records (what `cdk deploy` reads), the same list ava_olo_constructs.acknowledgements()
    # gives from the construct tree (test_compliance checks that the two agree).
    found = {(path.split("/", 1)[1], rule): reason for path, rule, reason in acknowledged_in_assembly(built.stack)}
    ours = {key for key in found if key[0].startswith(("Migration", "Plain"))}
    assert ours == {
        ("Migration/TaskDef", "AwsSolutions-ECS2"),  # it has a (non-secret) environment; Plain has none
        ("Migration/TaskDef/ExecutionRole", "AwsSolutions-IAM5[Resource::*]"),  # ECR image; Plain pulls a registry image
        ("Migration/TaskDef/ExecutionRole", NIST + "IAMNoInlinePolicy"),
        ("Plain/TaskDef/ExecutionRole", NIST + "IAMNoInlinePolicy"),
    }
    for path, rule in ours:
        full = f"{built.stack.node.path}/{path}"
        assert any(p == full or p.startswith(full + "/") for p, r in suppressed if r == rule), f"stale: {path} {rule}"
        assert len(found[(path, rule)]) >= 40 and found[(path, rule)].endswith(".")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"environment": {"DB_PASSWORD": "hunter2"}}, "environment"),
        ({"environment": {"STRIPE_API_KEY": "x"}}, "environment"),
        ({"environment": {"DB_HOST": "db.example"}}, "secrets"),  # already a secret
        ({"environment": {"1BAD": "x"}}, "environment"),
        ({"command": []}, "command"),
        ({"command": "alembic upgrade head"}, "command"),
        ({"cpu": 512, "memory_mib": 512}, "memory_mib"),
        ({"cpu": 300}, "cpu"),
        ({"log_retention_days": 0}, "log_retention_days"),
        ({"family": "Bad_Family!"}, "family"),
    ],
)
def test_bad_props_are_rejected_before_any_resource_with_the_field_named(built, changes, field):
    with pytest.raises(PropsError) as error:
        replace(built.props, **changes).validate()
    assert error.value.field == field


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
