"""AvaOlo-VersionedImage: a tag other than latest (or a digest); optionally matching the team's version pattern."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ava_olo_constructs import AvaOloChecksProps

from .helpers import findings, new_stack

RULE = "AvaOlo-VersionedImage"
SEED_TAGS = r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[a-z0-9]+(-[a-z0-9]+)*)?"


def task(stack, name, image):
    ecs.CfnTaskDefinition(stack, name, container_definitions=[
        ecs.CfnTaskDefinition.ContainerDefinitionProperty(name="web", image=image)])


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    task(stack, "Tagged", "public.ecr.aws/agro/weather:v1.4.0")
    task(stack, "Digest", "public.ecr.aws/agro/weather@sha256:" + "a" * 64)
    task(stack, "RegistryPort", "registry.local:5000/agro/weather:v2.0.0")
    repository = ecr.Repository.from_repository_name(stack, "Repo", "agro/weather")
    # An L2 task definition with an ECR image: the reference is an Fn::Join of account, region and the tag.
    ecs.FargateTaskDefinition(stack, "EcrTokens").add_container(
        "web", image=ecs.ContainerImage.from_ecr_repository(repository, "v3.2.0-schema-button-aurora"))
    ecs.FargateTaskDefinition(stack, "EcrLatest").add_container(
        "web", image=ecs.ContainerImage.from_ecr_repository(repository))
    task(stack, "Latest", "public.ecr.aws/agro/weather:latest")
    task(stack, "Untagged", "public.ecr.aws/agro/weather")
    task(stack, "UntaggedWithPort", "registry.local:5000/agro/weather")
    task(stack, "NotSeedFormat", "public.ecr.aws/agro/weather:release-7")
    return stack


def test_version_tags_and_digests_are_compliant(stack):
    result = findings(stack)
    for construct in ("Tagged", "Digest", "RegistryPort", "EcrTokens"):
        assert construct not in result, construct


def test_latest_and_untagged_images_are_refused(stack):
    result = findings(stack)
    assert result["Latest"] == {f"{RULE}[web:latest]"} and result["EcrLatest"] == {f"{RULE}[web:latest]"}
    assert result["Untagged"] == {f"{RULE}[web:untagged]"} and result["UntaggedWithPort"] == {f"{RULE}[web:untagged]"}


def test_the_tag_format_is_a_policy_parameter(stack):
    assert "NotSeedFormat" not in findings(stack)
    result = findings(stack, AvaOloChecksProps(image_tag_pattern=SEED_TAGS))
    assert result["NotSeedFormat"] == {f"{RULE}[web:release-7]"}
    assert "Tagged" not in result and "EcrTokens" not in result
