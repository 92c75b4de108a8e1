"""Policy apart from mechanism: the constructs accept what AWS accepts beyond the seed's values (backups at noon,
minimum healthy 50 %, 300 s draining, an image tagged ``latest``, credentials rotated quarterly), and the AvaOlo
pack is what flags them."""

from __future__ import annotations

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_ecs as ecs

from ava_olo_constructs import (
    AuroraPostgresDatabase,
    AuroraPostgresDatabaseProps,
    AvaOloChecksProps,
    FargateWebService,
    FargateWebServiceProps,
    Network,
    NetworkProps,
)
from ava_olo_constructs.deployment_strategy import DeploymentSettings

from .helpers import findings


def build(*, seed: bool):
    """One library-built service and database: with the seed's values, or with values only AWS allows."""
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Seed" if seed else "Lax", env=Environment(account="111111111111", region="eu-west-1"))
    network = Network(stack, "Net", NetworkProps(availability_zones=["eu-west-1a", "eu-west-1b"], nat_gateways=1))
    tag = "v1.0.0" if seed else "latest"
    FargateWebService(
        stack,
        "Web",
        FargateWebServiceProps(
            cluster=ecs.Cluster(stack, "Cluster", vpc=network.vpc),
            image=ecs.ContainerImage.from_registry(f"public.ecr.aws/agro/svc:{tag}"),
            service_name="svc",
            app_version=tag,
            allow_plain_http=True,
            deployment=DeploymentSettings(strategy="rolling"),
            **({} if seed else {"min_healthy_percent": 50, "deregistration_delay": Duration.seconds(300)}),
        ),
    )
    AuroraPostgresDatabase(
        stack,
        "Db",
        AuroraPostgresDatabaseProps(
            vpc=network.vpc,
            cluster_identifier="svc",
            secret_name="svc/database",
            **({} if seed else {"backup_window": "12:00-12:30", "maintenance_window": "sat:13:00-sat:13:30",
                                "rotation_days": 90}),
        ),
    )
    return stack


def rules(found: dict[str, set[str]]) -> dict[str, set[str]]:
    """Construct -> rule ids without their finding (``AvaOlo-VersionedImage[web:latest]`` -> the id)."""
    return {construct: {name.split("[")[0] for name in names} for construct, names in found.items()}


@pytest.fixture(scope="module")
def lax_stack():
    return build(seed=False)


@pytest.fixture(scope="module")
def lax(lax_stack):
    return rules(findings(lax_stack))


@pytest.fixture(scope="module")
def seed():
    return rules(findings(build(seed=True)))


@pytest.mark.parametrize(
    ("construct", "rule"),
    [
        ("Db", "AvaOlo-DatabaseWindows"),
        ("Db", "AvaOlo-CredentialsRotation"),
        ("Web", "AvaOlo-ServiceDeploymentSafety"),
        ("Web", "AvaOlo-DeregistrationDelay"),
        ("Web", "AvaOlo-VersionedImage"),
    ],
)
def test_the_construct_accepts_what_aws_accepts_and_the_pack_flags_the_seed_violation(lax, seed, construct, rule):
    assert rule in lax.get(construct, set()), lax
    assert rule not in seed.get(construct, set()), seed


def test_another_team_passes_its_own_policy_to_the_pack(lax_stack):
    policy = AvaOloChecksProps(
        low_traffic_window=("12:00", "14:00"), min_healthy_percent=50, max_deregistration_delay_seconds=300,
        max_rotation_days=90,
    )
    found = rules(findings(lax_stack, policy))
    assert "AvaOlo-DatabaseWindows" not in found.get("Db", set())
    assert "AvaOlo-CredentialsRotation" not in found.get("Db", set())
    assert not {"AvaOlo-ServiceDeploymentSafety", "AvaOlo-DeregistrationDelay"} & found.get("Web", set())
