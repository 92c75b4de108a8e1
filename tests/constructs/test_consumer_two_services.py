"""Another team, another region and account, two services with their own databases: from the public API only.

Each service has a ``Data`` stack (its database) and a ``Service`` stack (everything else, from
``WebApplication``); one ``Platform`` stack holds the VPC and the ECS cluster they share. A third service keeps
its database in its own stack. Nothing from ``stacks/`` is involved. One App, synthesized once for the module.
"""

from __future__ import annotations

from collections import Counter

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
    ConnectionPoolSettings,
    FargateWebServiceProps,
    Network,
    NetworkProps,
    PropsError,
    ResourceNames,
    ServiceCluster,
    ServiceClusterProps,
    acknowledge,
    add_compliance_checks,
)
from ava_olo_constructs.autoscaling import AutoScalingProps

# New public names; to be exported from the package root (``from ava_olo_constructs import WebApplication``).
from ava_olo_constructs.web_application import WebApplication, WebApplicationProps
from tests.conftest import only

ENV = Environment(account="111111111111", region="eu-central-1")
PROJECT, ENVIRONMENT = "agro", "qa"
SPLIT = ("orders", "invoices")  # database and service in separate stacks
SAME = "reports"  # database in the service's stack


def service_props(cluster: ecs.ICluster, names: ResourceNames, **overrides) -> FargateWebServiceProps:
    return FargateWebServiceProps(
        cluster=cluster,
        image=ecs.ContainerImage.from_registry(f"public.ecr.aws/agro/{names.service}:v2.0.1"),
        service_name=names.service_name,
        app_version="v2.0.1",
        allow_plain_http=True,
        **overrides,
    )


@pytest.fixture(scope="module")
def consumer():
    app = App(builtin_cloud_formation_validation=False, tree_metadata=False)  # no tree.json: nothing reads it
    add_compliance_checks(app)  # cdk-nag AwsSolutions: the library's own acknowledgements must suffice
    platform = Stack(app, "Platform", env=ENV)
    network = Network(platform, "Network", NetworkProps(availability_zones=["eu-central-1a", "eu-central-1b"]))
    shared = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service="platform")
    cluster = ServiceCluster(platform, "Cluster", ServiceClusterProps(vpc=network.vpc, cluster_name=shared.cluster_name)).cluster

    stacks: dict[str, Stack] = {"Platform": platform}
    applications: dict[str, WebApplication] = {}
    for service in SPLIT:
        names = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service=service)
        data = stacks[f"{service}-data"] = Stack(app, f"{service.title()}Data", env=ENV)
        database = AuroraPostgresDatabase(
            data,
            "Database",
            AuroraPostgresDatabaseProps(
                vpc=network.vpc,
                cluster_identifier=names.database_identifier(),
                secret_name=names.database_secret_name,
                database_name=service,
            ),
        )
        # A second data-side secret with a key of its own (the app's ENCRYPTION_KEY is such a secret).
        signing_key = kms.Key(data, "SigningKeyKey", enable_key_rotation=True)
        signing = secretsmanager.Secret(data, "SigningKey", secret_name=names.secret_name("signing-key"), encryption_key=signing_key)
        acknowledge(
            signing,
            "AwsSolutions-SMG4",
            "This test secret stands for a key the team rotates by hand, because a rotation function cannot know "
            "which values the application accepts.",
        )
        svc = stacks[f"{service}-service"] = Stack(app, f"{service.title()}Service", env=ENV)
        applications[service] = WebApplication(
            svc,
            "App",
            WebApplicationProps(
                names=names, service=service_props(cluster, names), database=database, extra_secrets={"SIGNING_KEY": signing}
            ),
        )
    names = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service=SAME)
    same = stacks[SAME] = Stack(app, "Reports", env=ENV)
    applications[SAME] = WebApplication(
        same,
        "Default",  # CDK leaves "Default" out of logical IDs: resources get the ids they would have at stack level
        WebApplicationProps(
            names=names,
            service=service_props(cluster, names, connection_pool=ConnectionPoolSettings(pool_size=5, max_overflow=5)),
            scaling=AutoScalingProps(min_count=2, max_count=8),
            service_overrides={"EnableExecuteCommand": True},
        ),
    )
    templates = {key: Template.from_stack(stack) for key, stack in stacks.items()}  # one synthesis of the App
    return stacks, applications, templates


def physical_names(templates, resource_type: str, path: str) -> list[str]:
    """The (string) values of the dotted property ``path`` of every resource of that type, in every stack."""
    found = []
    for template in templates.values():
        for resource in template.find_resources(resource_type).values():
            value = resource["Properties"]
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str):
                found.append(value)
    return found


def test_split_stacks_have_no_cycle_data_never_depends_on_service(consumer):
    stacks, _, _ = consumer
    for service in SPLIT:
        data, svc = stacks[f"{service}-data"], stacks[f"{service}-service"]
        assert data in svc.dependencies
        assert svc not in data.dependencies and not any(d.stack_name.endswith("Service") for d in data.dependencies)


def test_split_stacks_keep_grants_and_ingress_on_the_service_side(consumer):
    _, _, templates = consumer
    for service in SPLIT:
        data = templates[f"{service}-data"]
        data.resource_count_is("AWS::EC2::SecurityGroupIngress", 1)  # the rotation function's, nothing else
        key_policies = data.find_resources("AWS::KMS::Key")
        assert "ExecutionRole" not in str(key_policies) and "TaskRole" not in str(key_policies)
        svc = templates[f"{service}-service"]
        decrypt = [
            statement
            for policy in svc.find_resources("AWS::IAM::Policy").values()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Action"] == "kms:Decrypt" and "Condition" in statement
        ]
        assert len(decrypt) == 1
        assert decrypt[0]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}}
        keys = decrypt[0]["Resource"]  # the database's key and the signing secret's own key, by exported ARN
        assert len(keys) == 2 and all("Fn::ImportValue" in key for key in keys)
        ingress = only(svc.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 5432}}))
        assert ingress["Properties"]["ToPort"] == 5432


def test_two_services_with_their_own_databases_get_distinct_physical_names(consumer):
    _, _, templates = consumer
    for resource_type, prop in (
        ("AWS::RDS::DBCluster", "DBClusterIdentifier"),
        ("AWS::SecretsManager::Secret", "Name"),
        ("AWS::ECS::Service", "ServiceName"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
        ("AWS::CloudWatch::Alarm", "AlarmName"),
        ("AWS::SNS::Topic", "TopicName"),
        ("AWS::WAFv2::WebACL", "Name"),
        ("AWS::CloudWatch::Dashboard", "DashboardName"),
        ("AWS::Backup::BackupPlan", "BackupPlan.BackupPlanName"),
    ):
        names = physical_names(templates, resource_type, prop)
        assert names, resource_type
        duplicates = [name for name, count in Counter(map(str, names)).items() if count > 1]
        assert not duplicates, f"{resource_type}.{prop}: {duplicates}"
    identifiers = sorted(physical_names(templates, "AWS::RDS::DBCluster", "DBClusterIdentifier"))
    assert identifiers == ["invoices-qa", "orders-qa", "reports-qa"]
    assert "agro/qa/orders/database/credentials" in physical_names(templates, "AWS::SecretsManager::Secret", "Name")


def test_alarm_rollback_is_on_for_every_service(consumer):
    _, _, templates = consumer
    for key in (*(f"{s}-service" for s in SPLIT), SAME):
        service = only(templates[key].find_resources("AWS::ECS::Service"))
        alarms = service["Properties"]["DeploymentConfiguration"]["Alarms"]
        name = key.removesuffix("-service")
        # FargateWebService's own deployment alarms (the new revision's 5xx share and unhealthy targets), named
        # by the application's ResourceNames; WebApplication adds no second alarm configuration.
        assert alarms == {
            "AlarmNames": [f"agro-qa-{name}-new-revision-errors", f"agro-qa-{name}-new-revision-unhealthy"],
            "Enable": True,
            "Rollback": True,
        }
        alarm_ids = {k for k, a in templates[key].find_resources("AWS::CloudWatch::Alarm").items()
                     if a["Properties"]["AlarmName"] in alarms["AlarmNames"]}
        assert len(alarm_ids) == 2 and alarm_ids <= set(service["DependsOn"]), "the alarms exist before ECS references them"
        assert service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_database_credentials_reach_the_container_as_ecs_secrets(consumer):
    _, _, templates = consumer
    for key in (*(f"{s}-service" for s in SPLIT), SAME):
        task = only(templates[key].find_resources("AWS::ECS::TaskDefinition"))
        container = only({"c": task["Properties"]["ContainerDefinitions"][0]})
        secrets = {s["Name"] for s in container["Secrets"]}
        extra = {"SIGNING_KEY"} if key != SAME else set()
        assert secrets == {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"} | extra
        assert not {e["Name"] for e in container["Environment"]} & secrets


def test_everything_the_app_gets_comes_with_the_construct(consumer):
    _, applications, templates = consumer
    for key in (*(f"{s}-service" for s in SPLIT), SAME):
        t = templates[key]
        t.resource_count_is("AWS::WAFv2::WebACL", 1)
        t.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
        t.resource_count_is("AWS::CloudWatch::Dashboard", 1)
        t.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 2)
        rotation = only(t.find_resources("AWS::Events::Rule"))
        assert rotation["Properties"]["EventPattern"]["detail"]["eventName"] == ["RotationSucceeded"]
        alarm_names = {a["Properties"]["AlarmName"] for a in t.find_resources("AWS::CloudWatch::Alarm").values()}
        service = key.removesuffix("-service")
        assert {f"agro-qa-{service}-high-error-rate", f"agro-qa-{service}-db-connection-failures"} <= alarm_names
        assert all(a["Properties"]["AlarmActions"] for a in t.find_resources("AWS::CloudWatch::Alarm").values())
    reports = templates[SAME].find_resources("AWS::ECS::Service")
    # With the id "Default" the logical IDs are those of the same constructs at stack level (the project's own
    # ServiceStack has WebService1F497D57 too), so an existing stack can adopt WebApplication without replacements.
    assert list(reports) == ["WebService1F497D57"]
    assert only(reports)["Properties"]["EnableExecuteCommand"] is True  # the native-props escape hatch
    assert applications[SAME].database.node.scope is applications[SAME]


#: An imported VPC has no NAT gateways this app knows: the canary's test listener needs its sources given.
NAT_ADDRESSES = ["203.0.113.10/32", "203.0.113.11/32"]


def cheap_stack() -> tuple[Stack, ecs.ICluster]:
    stack = Stack(App(), "Budget", env=ENV)
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-central-1a", "eu-central-1b"],
        public_subnet_ids=["s-1", "s-2"], private_subnet_ids=["s-3", "s-4"], isolated_subnet_ids=["s-5", "s-6"],
    )
    return stack, ecs.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="agro-qa", vpc=vpc)


def test_connection_budget_is_enforced_at_synth_with_one_line():
    stack, cluster = cheap_stack()
    names = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service="greedy")
    with pytest.raises(PropsError) as caught:
        WebApplication(
            stack,
            "Greedy",
            WebApplicationProps(names=names, service=service_props(cluster, names, test_listener_sources=NAT_ADDRESSES), scaling=AutoScalingProps(min_count=1, max_count=20)),
        )
    message = str(caught.value)
    assert caught.value.field == "scaling.max_count" and "\n" not in message
    assert "20 tasks (40 while a deployment runs at 200 %)" in message and "max_connections" in message


def test_desired_count_outside_the_scaling_bounds_is_one_line():
    stack, cluster = cheap_stack()
    names = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service="odd")
    with pytest.raises(PropsError) as caught:
        WebApplicationProps(names=names, service=service_props(cluster, names, desired_count=6, test_listener_sources=NAT_ADDRESSES)).validate()
    assert caught.value.field == "service.desired_count" and "max_count 4" in str(caught.value)


def test_a_second_application_with_the_same_names_is_refused():
    stack, cluster = cheap_stack()
    names = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service="twin")
    service = service_props(cluster, names, test_listener_sources=NAT_ADDRESSES)
    WebApplication(stack, "First", WebApplicationProps(names=names, service=service))
    with pytest.raises(PropsError) as caught:
        WebApplication(Stack(stack.node.root, "Other", env=ENV), "Second", WebApplicationProps(names=names, service=service))
    assert caught.value.field == "names.service" and "Budget/First" in str(caught.value)


def test_a_canary_in_a_vpc_without_nat_gateways_needs_its_test_listener_sources_in_one_line():
    stack, cluster = cheap_stack()
    names = ResourceNames(project=PROJECT, environment=ENVIRONMENT, service="lonely")
    with pytest.raises(PropsError) as caught:
        WebApplication(stack, "Lonely", WebApplicationProps(names=names, service=service_props(cluster, names)))
    assert caught.value.field == "test_listener_sources" and "\n" not in str(caught.value)
    assert "canary" in str(caught.value) and "NAT" in str(caught.value)
    assert not stack.node.find_child("Lonely").node.children  # refused before any resource is created
    for bad in ([], ["10.0.0.1/33"]):
        with pytest.raises(PropsError) as caught:
            service_props(cluster, names, test_listener_sources=bad).validate()
        assert caught.value.field == "test_listener_sources"
