"""AvaOlo-NoPlainSecretEnvironment: PASSWORD/SECRET/KEY/TOKEN-like names go in Secrets, not Environment."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ecs as ecs

from ava_olo_constructs import AvaOloChecksProps

from .helpers import findings, new_stack

RULE = "AvaOlo-NoPlainSecretEnvironment"
KV = ecs.CfnTaskDefinition.KeyValuePairProperty


def task(stack, name, environment=(), secrets=()):
    ecs.CfnTaskDefinition(stack, name, container_definitions=[ecs.CfnTaskDefinition.ContainerDefinitionProperty(
        name="web", image="public.ecr.aws/x/web:v1.0.0",
        environment=[KV(name=n, value="x") for n in environment] or None,
        secrets=[ecs.CfnTaskDefinition.SecretProperty(name=n, value_from="arn:aws:secretsmanager:::secret:s")
                 for n in secrets] or None)])


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    task(stack, "Good", environment=["APP_VERSION", "DB_POOL_SIZE", "DB_SECRET_ARN", "KMS_KEY_ID", "KEYBOARD_LAYOUT"],
         secrets=["DB_PASSWORD", "ENCRYPTION_KEY", "GITHUB_TOKEN"])
    task(stack, "Bad", environment=["APP_VERSION", "DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "client-secret"])
    return stack


def test_secrets_in_secrets_and_references_in_environment_are_compliant(stack):
    assert "Good" not in findings(stack)


def test_each_secret_looking_plain_variable_is_its_own_finding(stack):
    assert findings(stack)["Bad"] == {
        f"{RULE}[web.DB_PASSWORD]", f"{RULE}[web.API_KEY]", f"{RULE}[web.GITHUB_TOKEN]", f"{RULE}[web.client-secret]"
    }


def test_allowed_names_are_a_policy_parameter(stack):
    policy = AvaOloChecksProps(allowed_plain_environment=frozenset({"API_KEY", "GITHUB_TOKEN", "client-secret"}))
    assert findings(stack, policy)["Bad"] == {f"{RULE}[web.DB_PASSWORD]"}
