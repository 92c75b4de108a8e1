"""FargateWebService is safe on its own: its deployment alarms and their rollback come with it, in every strategy
(the app and WebApplication add none of their own), and the container's stop timeout is explicit."""

from __future__ import annotations

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template

from ava_olo_constructs import FargateWebService, FargateWebServiceProps, PropsError
from ava_olo_constructs.deployment_strategy import DeploymentSettings
from tests.conftest import only


def build(**overrides) -> tuple[Template, FargateWebService]:
    stack = Stack(App(builtin_cloud_formation_validation=False, tree_metadata=False), "Svc", env=Environment(account="111111111111", region="eu-west-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-west-1a", "eu-west-1b"],
        public_subnet_ids=["subnet-a", "subnet-b"], private_subnet_ids=["subnet-c", "subnet-d"],
    )
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    extra = overrides.pop("extra_alarm", False)
    if extra:
        overrides["deployment_alarms"] = [
            cloudwatch.Alarm(stack, "Latency", alarm_name="svc-latency", threshold=1, evaluation_periods=1,
                             metric=cloudwatch.Metric(namespace="Agro", metric_name="Latency"))
        ]
    web = FargateWebService(
        stack,
        "Web",
        FargateWebServiceProps(
            cluster=cluster, image=ecs.ContainerImage.from_registry("public.ecr.aws/agro/svc:v1.0.0"),
            service_name="svc", app_version="v1.0.0", allow_plain_http=True,
            test_listener_sources=["203.0.113.10/32"], **overrides,
        ),
    )
    return Template.from_stack(stack), web


def service_of(template: Template) -> dict:
    return only(template.find_resources("AWS::ECS::Service"))


@pytest.mark.parametrize("strategy", ["canary", "rolling"])
def test_a_bare_service_rolls_back_on_its_own_revision_alarms_in_every_strategy(strategy):
    template, web = build(deployment=DeploymentSettings(strategy=strategy))
    service = service_of(template)
    alarms = service["Properties"]["DeploymentConfiguration"]["Alarms"]
    assert alarms == {"AlarmNames": ["svc-new-revision-errors", "svc-new-revision-unhealthy"], "Enable": True, "Rollback": True}
    ids = {k for k, a in template.find_resources("AWS::CloudWatch::Alarm").items() if a["Properties"]["AlarmName"] in alarms["AlarmNames"]}
    assert len(ids) == 2 and ids <= set(service["DependsOn"])  # ECS never references an alarm that does not exist yet
    assert service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert web.deployment_alarms == web.revision_alarms.all


def test_extra_deployment_alarms_are_watched_too_and_the_built_in_ones_can_be_turned_off():
    template, _ = build(extra_alarm=True, alarm_name=lambda purpose: f"agro-{purpose}")
    names = service_of(template)["Properties"]["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    assert names[:2] == ["agro-new-revision-errors", "agro-new-revision-unhealthy"]
    assert names[2] == {"Ref": next(k for k in template.find_resources("AWS::CloudWatch::Alarm") if k.startswith("Latency"))}

    template, web = build(extra_alarm=True, revision_alarms=False)
    assert web.revision_alarms is None
    assert len(template.find_resources("AWS::CloudWatch::Alarm")) == 1
    (latency,) = template.find_resources("AWS::CloudWatch::Alarm")
    assert service_of(template)["Properties"]["DeploymentConfiguration"]["Alarms"]["AlarmNames"] == [{"Ref": latency}]

    template, _ = build(revision_alarms=False, deployment=DeploymentSettings(strategy="rolling"))
    # The caller's choice: no alarm rollback (CDK renders a disabled block without cdk.json's feature flags).
    alarms = service_of(template)["Properties"]["DeploymentConfiguration"].get("Alarms", {})
    assert not alarms.get("Enable") and not alarms.get("AlarmNames")


def test_the_web_container_stop_timeout_is_explicit_and_within_fargates_limit():
    template, _ = build(deployment=DeploymentSettings(strategy="rolling"), stop_timeout=Duration.seconds(45))
    container = only(template.find_resources("AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
    assert container["StopTimeout"] == 45
    with pytest.raises(PropsError) as caught:
        build(stop_timeout=Duration.seconds(121))
    assert caught.value.field == "stop_timeout" and "\n" not in str(caught.value)
