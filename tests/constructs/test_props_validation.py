"""The library validates props before it creates anything: one clear PropsError, never a jsii trace."""

from __future__ import annotations

import pytest
from aws_cdk import Duration

from ava_olo_constructs import FargateWebServiceProps, NetworkProps, PropsError, ResourceNames


def _props(**overrides) -> FargateWebServiceProps:
    values = dict(cluster=None, image=None, service_name="svc", app_version="v1.0.0")
    values.update(overrides)
    return FargateWebServiceProps(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"environment": {"DB_PASSWORD": "x"}}, "environment"),
        ({"environment": {"ENCRYPTION_KEY": "x"}}, "environment"),
        ({"environment": {"APP_VERSION": "v9.9.9"}}, "environment"),
        ({"cpu": 512, "memory_mib": 8192}, "memory_mib"),
        ({"container_port": 70000}, "container_port"),
        ({"app_version": ""}, "app_version"),
        ({"deregistration_delay": Duration.seconds(3601)}, "deregistration_delay"),
        ({"min_healthy_percent": 101}, "min_healthy_percent"),
        ({"health_check_timeout": Duration.seconds(30)}, "health_check_timeout"),
        ({"health_check_path": "health"}, "health_check_path"),
        ({"log_retention_days": 0}, "log_retention_days"),
    ],
)
def test_web_service_rejects_bad_props_with_one_line_naming_the_field(overrides, field):
    with pytest.raises(PropsError) as caught:
        _props(**overrides).validate()
    assert caught.value.field == field
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"{field}: ")


def test_secret_variables_must_be_ecs_secrets_not_plain_environment():
    with pytest.raises(PropsError, match="passed as secrets"):
        _props(environment={"STRIPE_API_KEY": "x"}).validate()


@pytest.mark.parametrize(
    ("props", "field"),
    [
        (NetworkProps(availability_zones=["eu-central-1a"]), "availability_zones"),
        (NetworkProps(az_count=1), "az_count"),
        (NetworkProps(nat_gateways=3), "nat_gateways"),
        (NetworkProps(nat_gateways=0), "nat_gateways"),
        (NetworkProps(availability_zones=["us-east-1a", "us-east-1b"]), "availability_zones"),
    ],
)
def test_network_rejects_bad_props(props, field):
    with pytest.raises(PropsError) as caught:
        props.validate("eu-central-1")
    assert caught.value.field == field


def test_names_keep_seed_names_only_when_asked():
    seed = ResourceNames(environment="production", service="monitoring-dashboards", seed_names=True)
    assert (seed.cluster_name, seed.service_name, seed.log_group_name) == (
        "ava-olo-production",
        "monitoring-dashboards",
        "/ecs/monitoring-dashboards",
    )
    dev = ResourceNames(environment="dev", service="monitoring-dashboards")
    assert (dev.cluster_name, dev.service_name, dev.log_group_name) == (
        "ava-olo-dev",
        "monitoring-dashboards-dev",
        "/ecs/monitoring-dashboards-dev",
    )
    assert dev.stack_name("network") == "ava-olo-dev-network"
    with pytest.raises(PropsError):
        ResourceNames(environment="Dev", service="x")


# --- AWS's limits, not one team's policy (the rule pack holds the seed's values) ---------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"deregistration_delay": Duration.seconds(0)},
        {"deregistration_delay": Duration.seconds(300)},  # ELB's own default
        {"deregistration_delay": Duration.seconds(3600)},
        {"min_healthy_percent": 0, "max_healthy_percent": 100},
        {"min_healthy_percent": 50},
        {"min_healthy_percent": 99, "max_healthy_percent": 100},
        {"min_healthy_percent": 100, "max_healthy_percent": 200},
        {"app_version": "latest"},
        {"app_version": "1.2.3"},
        {"app_version": "main_2024-01-01.build.7"},
        {"app_version": "_" + "a" * 127},
    ],
)
def test_values_aws_accepts_are_accepted(overrides):
    _props(allow_plain_http=True, **overrides).validate()


@pytest.mark.parametrize(
    ("overrides", "field", "allowed"),
    [
        ({"deregistration_delay": Duration.seconds(3601)}, "deregistration_delay", "0 to 3600"),
        ({"min_healthy_percent": -1}, "min_healthy_percent", "0 to 100"),
        ({"min_healthy_percent": 101}, "min_healthy_percent", "0 to 100"),
        ({"max_healthy_percent": 99}, "max_healthy_percent", "100 to 200"),
        ({"max_healthy_percent": 201}, "max_healthy_percent", "100 to 200"),
        ({"min_healthy_percent": 100, "max_healthy_percent": 100}, "max_healthy_percent", "above min_healthy_percent"),
        ({"app_version": ""}, "app_version", "image tag"),
        ({"app_version": "-rc1"}, "app_version", "image tag"),
        ({"app_version": ".hidden"}, "app_version", "image tag"),
        ({"app_version": "v1.0.0+build"}, "app_version", "image tag"),
        ({"app_version": "a" * 129}, "app_version", "image tag"),
        ({"app_version": None}, "app_version", "image tag"),
    ],
)
def test_values_beyond_aws_limits_are_refused_in_one_line(overrides, field, allowed):
    with pytest.raises(PropsError) as caught:
        _props(**overrides).validate()
    message = str(caught.value)
    assert caught.value.field == field and message.startswith(f"{field}: ") and "\n" not in message
    assert allowed in message and "seed" not in message
