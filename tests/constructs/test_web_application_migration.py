"""WebApplication's optional migration task and SSM parameters: what the project's ServiceStack gets, for any team.

Database in a ``Data`` stack (with a second secret under a key of its own), the application in a ``Service``
stack with ``migration=True`` and ``parameters=True``; a second application keeps the defaults (neither).
One App, synthesized once for the module; the public API only.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

from ava_olo_constructs import (
    AuroraPostgresDatabase,
    AuroraPostgresDatabaseProps,
    FargateWebServiceProps,
    Network,
    NetworkProps,
    PropsError,
    ResourceNames,
    ServiceCluster,
    ServiceClusterProps,
    WebApplication,
    WebApplicationProps,
)
from ava_olo_constructs.web_application import MIGRATION_EXECUTION_ROLE, MIGRATION_TASK_ROLE
from tests.conftest import only

ENV = Environment(account="222222222222", region="sa-east-1")
NAMES = ResourceNames(project="mango", environment="qa", service="orders")
PLAIN = ResourceNames(project="mango", environment="qa", service="plain")


def service_props(cluster: ecs.ICluster, names: ResourceNames) -> FargateWebServiceProps:
    return FargateWebServiceProps(
        cluster=cluster,
        image=ecs.ContainerImage.from_registry(f"public.ecr.aws/mango/{names.service}:v2.0.1"),
        service_name=names.service_name,
        app_version="v2.0.1",
        allow_plain_http=True,
    )


@pytest.fixture(scope="module")
def synthesized():
    app = App(builtin_cloud_formation_validation=False, tree_metadata=False)  # no tree.json: nothing reads it
    platform = Stack(app, "Platform", env=ENV)
    network = Network(platform, "Network", NetworkProps(availability_zones=["sa-east-1a", "sa-east-1b"]))
    cluster = ServiceCluster(platform, "Cluster", ServiceClusterProps(vpc=network.vpc, cluster_name="mango-qa")).cluster
    data = Stack(app, "Data", env=ENV)
    database = AuroraPostgresDatabase(
        data,
        "Database",
        AuroraPostgresDatabaseProps(
            vpc=network.vpc, cluster_identifier=NAMES.database_identifier(), secret_name=NAMES.database_secret_name,
            database_name="orders",
        ),
    )
    own_key = kms.Key(data, "SigningKeyKey", enable_key_rotation=True)
    signing = secretsmanager.Secret(data, "SigningKey", secret_name=NAMES.secret_name("signing-key"), encryption_key=own_key)
    service = Stack(app, "Service", env=ENV)
    application = WebApplication(
        service,
        "Default",
        WebApplicationProps(
            names=NAMES,
            service=service_props(cluster, NAMES),
            database=database,
            extra_secrets={"SIGNING_KEY": signing},
            migration=True,
            parameters=True,
            extra_parameters={"feature-flags": "none"},
        ),
    )
    plain_stack = Stack(app, "Plain", env=ENV)
    plain = WebApplication(plain_stack, "Default", WebApplicationProps(names=PLAIN, service=service_props(cluster, PLAIN)))
    return application, plain, Template.from_stack(service), Template.from_stack(plain_stack)


def migration_task(template: Template) -> tuple[str, dict]:
    service_task = only(template.find_resources("AWS::ECS::Service"))["Properties"]["TaskDefinition"]["Ref"]
    (item,) = [(k, v) for k, v in template.find_resources("AWS::ECS::TaskDefinition").items() if k != service_task]
    return item


def test_migration_task_runs_the_service_image_and_secrets_from_the_service_security_group(synthesized):
    application, _, template, _ = synthesized
    _, task = migration_task(template)
    service_task = template.find_resources("AWS::ECS::TaskDefinition")[
        only(template.find_resources("AWS::ECS::Service"))["Properties"]["TaskDefinition"]["Ref"]
    ]
    container, service_container = task["Properties"]["ContainerDefinitions"][0], service_task["Properties"]["ContainerDefinitions"][0]
    assert container["Image"] == service_container["Image"] == "public.ecr.aws/mango/orders:v2.0.1"
    assert {s["Name"] for s in container["Secrets"]} == {s["Name"] for s in service_container["Secrets"]} == {
        "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "SIGNING_KEY"}
    assert task["Properties"]["Family"] == f"{NAMES.task_family}-migrate"
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == (service_task["Properties"]["Cpu"], service_task["Properties"]["Memory"])
    assert application.migration.security_group is application.web_service.service_security_group
    template.resource_count_is("AWS::ECS::Service", 1)  # a one-off task, never a second service


def test_migration_roles_carry_the_names_a_deploy_role_may_pass(synthesized):
    _, _, template, _ = synthesized
    _, task = migration_task(template)
    roles = template.find_resources("AWS::IAM::Role")
    task_role = roles[task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]]["Properties"]["RoleName"]
    execution_role = roles[task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]]["Properties"]["RoleName"]
    assert (task_role, execution_role) == (NAMES.role_name(MIGRATION_TASK_ROLE), NAMES.role_name(MIGRATION_EXECUTION_ROLE))
    assert task_role == "mango-qa-orders-migrate-task"


def test_migration_execution_role_may_decrypt_the_extra_secret_key_only_through_secrets_manager(synthesized):
    _, _, template, _ = synthesized
    _, task = migration_task(template)
    role_id = task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "kms:Decrypt"
    ]
    resources = [r for s in statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert len(resources) == 2 and all("Fn::ImportValue" in r for r in resources)  # database key + the secret's own key
    assert all(s["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.sa-east-1.amazonaws.com"}} for s in statements)


def test_migration_logs_go_to_their_own_encrypted_group_next_to_the_service_logs(synthesized):
    application, _, template, _ = synthesized
    groups = {g["Properties"]["LogGroupName"]: g for g in template.find_resources("AWS::Logs::LogGroup").values()
              if isinstance(g["Properties"].get("LogGroupName"), str)}
    service_group, migration_group = groups[NAMES.log_group_name], groups[f"{NAMES.log_group_name}-migrate"]
    assert migration_group["Properties"]["KmsKeyId"] == service_group["Properties"]["KmsKeyId"]
    assert migration_group["Properties"]["RetentionInDays"] == service_group["Properties"]["RetentionInDays"]
    assert migration_group["DeletionPolicy"] == service_group["DeletionPolicy"]
    assert application.migration.log_group.node.scope is application.migration


def test_parameters_publish_the_settings_under_the_application_prefix(synthesized):
    _, _, template, _ = synthesized
    parameters = {p["Properties"]["Name"]: p["Properties"]["Value"] for p in template.find_resources("AWS::SSM::Parameter").values()}
    prefix = NAMES.parameter_prefix
    assert prefix == "/mango/qa/orders"
    assert set(parameters) == {f"{prefix}/{key}" for key in (
        "version", "service-url", "db-pool-size", "db-max-overflow", "db-pool-recycle", "db-endpoint",
        "db-reader-endpoint", "db-name", "db-credentials-secret", "feature-flags")}
    assert parameters[f"{prefix}/version"] == "v2.0.1"
    assert (parameters[f"{prefix}/db-pool-size"], parameters[f"{prefix}/db-max-overflow"], parameters[f"{prefix}/db-pool-recycle"]) == ("20", "30", "300")
    assert parameters[f"{prefix}/db-name"] == "orders"
    assert parameters[f"{prefix}/db-credentials-secret"] == "mango/qa/orders/database/credentials"
    assert "Fn::ImportValue" in str(parameters[f"{prefix}/db-endpoint"])  # the data stack's cluster, by export
    assert parameters[f"{prefix}/feature-flags"] == "none"


def test_without_asking_there_is_no_migration_task_and_no_parameter(synthesized):
    _, plain, _, template = synthesized
    assert plain.migration is None and plain.parameters is None
    template.resource_count_is("AWS::ECS::TaskDefinition", 1)
    template.resource_count_is("AWS::SSM::Parameter", 0)


def test_extra_parameters_without_parameters_are_one_line():
    stack = Stack(App(), "Lonely", env=ENV)
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["sa-east-1a"], private_subnet_ids=["s-1"])
    cluster = ecs.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="mango-qa", vpc=vpc)
    names = ResourceNames(project="mango", environment="qa", service="lonely")
    props = WebApplicationProps(names=names, service=service_props(cluster, names), extra_parameters={"a": "b"})
    with pytest.raises(PropsError) as caught:
        props.validate()
    assert caught.value.field == "extra_parameters" and "\n" not in str(caught.value)
