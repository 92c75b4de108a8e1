"""The deployment strategy settings: ECS's limits refused as one clear line, the tier defaults, and the options
handed to ``ecs.FargateService`` (the template side is in tests/stacks)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ecs as ecs

from ava_olo_constructs import PropsError
from ava_olo_constructs.deployment_strategy import DeploymentSettings, settings_for_tier
from ava_olo_constructs.revision_alarms import DECISION_SECONDS


def test_production_tier_defaults_to_a_5_percent_canary_and_other_tiers_to_rolling():
    assert settings_for_tier("production") == DeploymentSettings("canary", 5.0, 10, 15)
    assert settings_for_tier("non-production").strategy == "rolling"
    assert settings_for_tier("non-production", "blue_green").shifts_traffic


def test_canary_options_carry_the_step_and_both_bake_times():
    options = DeploymentSettings().service_options()
    assert options["deployment_strategy"] == ecs.DeploymentStrategy.CANARY
    assert options["bake_time"].to_minutes() == 15
    assert (options["canary_configuration"].step_percent, options["canary_configuration"].step_bake_time.to_minutes()) == (5.0, 10)


def test_rolling_has_no_bake_time_and_no_traffic_shift():
    assert DeploymentSettings(strategy="rolling").service_options() == {"deployment_strategy": ecs.DeploymentStrategy.ROLLING}


@pytest.mark.parametrize(
    "settings, field",
    [
        (DeploymentSettings(strategy="CANARY"), "deployment.strategy"),
        (DeploymentSettings(canary_percent=0.05), "deployment.canary_percent"),
        (DeploymentSettings(canary_percent=12.34), "deployment.canary_percent"),
        (DeploymentSettings(linear_percent=2), "deployment.linear_percent"),
        (DeploymentSettings(bake_minutes=1441), "deployment.bake_minutes"),
        (DeploymentSettings(canary_bake_minutes=True), "deployment.canary_bake_minutes"),
    ],
)
def test_settings_outside_ecs_limits_are_refused_naming_the_field(settings, field):
    with pytest.raises(PropsError) as caught:
        settings.validate("deployment.")
    assert caught.value.field == field


def test_the_worst_case_exposure_is_5_percent_for_at_most_2_minutes():
    """The modeled worst case (README "Deployment strategy"): a revision that passes the pre-traffic check and then
    fails every request gets CANARY_PERCENT of production while its first minute of ALB data is published (at
    most 60 s) and one 60-second alarm period decides; then ECS moves the traffic back to the old revision."""
    settings = settings_for_tier("production")
    metric_publication_seconds = 60
    assert settings.canary_percent <= 5
    assert DECISION_SECONDS + metric_publication_seconds <= 120
    assert settings.canary_bake_minutes * 60 > DECISION_SECONDS + metric_publication_seconds  # decided inside the canary


def _props(**overrides):
    from aws_cdk import aws_certificatemanager as acm  # noqa: F401 (jsii types only)

    from ava_olo_constructs import FargateWebServiceProps

    return FargateWebServiceProps(
        cluster=None, image=None, service_name="svc", app_version="v1.0.0", allow_plain_http=True, **overrides  # type: ignore[arg-type]
    )


def test_the_test_listener_needs_a_port_of_its_own():
    with pytest.raises(PropsError) as caught:
        _props(test_listener_port=80).validate()
    assert caught.value.field == "test_listener_port"


def test_a_canary_in_an_imported_vpc_must_be_told_where_the_pre_traffic_check_calls_from():
    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_ec2 as ec2

    from ava_olo_constructs import FargateWebService

    stack = Stack(App(builtin_cloud_formation_validation=False), "Imported", env=Environment(region="eu-west-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-west-1a", "eu-west-1b"],
        public_subnet_ids=["subnet-a", "subnet-b"], private_subnet_ids=["subnet-c", "subnet-d"],
    )
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    image = ecs.ContainerImage.from_registry("public.ecr.aws/agro/svc:v1.0.0")
    props = _props().__class__(cluster=cluster, image=image, service_name="svc", app_version="v1.0.0", allow_plain_http=True)
    with pytest.raises(PropsError) as caught:
        FargateWebService(stack, "Web", props)
    assert caught.value.field == "test_listener_sources"
