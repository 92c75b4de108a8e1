"""Configuration paths the shipped environments do not use, synthesized once in an App of their own:
an operator-created ENCRYPTION_KEY secret (import path), SecureString parameters injected as secrets, and a
LINEAR deployment on a non-production tier; plus the ``deployment`` object's parsing and its one-line errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from stacks.composition import build_environment, create_app
from stacks.config import ConfigError, load_environment
from stacks.config.loader import parse_environment
from stacks.config.model import DeploymentConfig
from aws_cdk.assertions import Template

from tests.conftest import manifest, service_container, service_execution_role_statements

KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ava-olo/staging/fernet-AbC123"
SECRET_KMS = "arn:aws:kms:us-east-1:123456789012:key/abcdabcd-1234-1234-1234-abcdabcdabcd"
PARAMETER_KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    base = load_environment("staging", environ={})
    config = dataclasses.replace(
        base,
        name="variant",
        encryption_key_secret_arn=KEY_ARN,
        encryption_key_secret_kms_key_arn=SECRET_KMS,
        secure_parameters={"STRIPE_TOKEN": "/ava-olo/variant/stripe-token"},
        secure_parameters_kms_key_arn=PARAMETER_KMS,
        deployment=DeploymentConfig(strategy="linear", bake_minutes=5),
    )
    outdir = tmp_path_factory.mktemp("variant")
    app = create_app(outdir=str(outdir), validation=False, tree_metadata=False)  # no tree.json: nothing reads it
    stacks = build_environment(app, config)
    app.synth()
    # The templates as CDK wrote them, read from the cloud assembly rather than copied through jsii.
    artifacts = manifest(str(outdir))["artifacts"]
    return {
        s.node.id: json.loads((outdir / artifacts[s.artifact_id]["properties"]["templateFile"]).read_text())
        for s in stacks.all
    }


@pytest.fixture(scope="module")
def service(variant) -> Template:
    """The service stack's ``Template``, made once: ``Template.from_json`` copies the template into the jsii runtime."""
    return Template.from_json(variant["VariantService"])


def test_existing_encryption_key_secret_is_injected_instead_of_generating_one(variant, service):
    data = variant["VariantData"]["Resources"]
    assert not [r for r in data.values() if r["Type"] == "Custom::FernetKey"]
    assert not [r for r in data.values() if r["Type"] == "AWS::Lambda::Function" and "Fernet" in json.dumps(r)]
    container = service_container(service)
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets["ENCRYPTION_KEY"] == KEY_ARN
    decrypt = [s for s in service_execution_role_statements(service) if s["Action"] == "kms:Decrypt" and "Condition" in s]
    assert len(decrypt) == 1 and SECRET_KMS in decrypt[0]["Resource"]
    assert decrypt[0]["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"


def test_secure_string_parameters_are_injected_with_exactly_their_read_permissions(service):
    template = service
    container = service_container(template)
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert "parameter/ava-olo/variant/stripe-token" in json.dumps(secrets["STRIPE_TOKEN"])
    assert "STRIPE_TOKEN" not in {e["Name"] for e in container["Environment"]}
    statements = service_execution_role_statements(template)
    ssm = [s for s in statements if "ssm:GetParameters" in json.dumps(s["Action"])]
    assert len(ssm) == 1 and "parameter/ava-olo/variant/stripe-token" in json.dumps(ssm[0]["Resource"])
    assert "*" not in json.dumps(ssm[0]["Resource"]).replace("${Token", "")
    assert any(s["Action"] == "kms:Decrypt" and s["Resource"] == PARAMETER_KMS for s in statements)
    assert any(
        KEY_ARN in json.dumps(s["Resource"]) for s in statements if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])
    )


def test_a_linear_deployment_gets_its_steps_the_test_listener_and_the_pre_traffic_check(service):
    (ecs_service,) = service.find_resources("AWS::ECS::Service").values()
    deployment = ecs_service["Properties"]["DeploymentConfiguration"]
    assert deployment["Strategy"] == "LINEAR" and deployment["BakeTimeInMinutes"] == 5
    assert deployment["LinearConfiguration"] == {"StepPercent": 10, "StepBakeTimeInMinutes": 6}
    assert [h["LifecycleStages"] for h in deployment["LifecycleHooks"]] == [["POST_TEST_TRAFFIC_SHIFT"]]
    assert "AdvancedConfiguration" in ecs_service["Properties"]["LoadBalancers"][0]
    assert "DesiredCount" not in ecs_service["Properties"]


def _raw(**overrides):
    raw = json.loads(open("environments/staging.json", encoding="utf-8").read())
    raw.update(overrides)
    return raw


def test_deployment_defaults_to_canary_for_the_production_tier_and_rolling_elsewhere():
    production = load_environment("production", environ={})
    assert production.deployment == DeploymentConfig(strategy="canary")  # the rest: the library's defaults
    settings = production.deployment.settings()
    assert (settings.strategy, settings.canary_percent, settings.canary_bake_minutes, settings.bake_minutes) == ("canary", 5.0, 10, 15)
    assert load_environment("staging", environ={}).deployment.strategy == "rolling"
    chosen = parse_environment("staging", _raw(deployment={"strategy": "canary", "canary_percent": 2.5}), environ={})
    assert (chosen.deployment.strategy, chosen.deployment.canary_percent) == ("canary", 2.5)


@pytest.mark.parametrize(
    "deployment, field, value",
    [
        ({"strategy": "big-bang"}, "deployment.strategy", "big-bang"),
        ({"canary_percent": 0}, "deployment.canary_percent", 0),
        ({"canary_percent": 5.05}, "deployment.canary_percent", 5.05),
        ({"canary_bake_minutes": 2000}, "deployment.canary_bake_minutes", 2000),
        ({"bake_minutes": "15"}, "deployment.bake_minutes", "15"),
        ({"bake_time": 15}, "deployment.bake_time", 15),
        ("canary", "deployment", "canary"),
    ],
)
def test_a_bad_deployment_setting_is_one_line_naming_field_value_and_what_is_allowed(deployment, field, value):
    with pytest.raises(ConfigError) as caught:
        parse_environment("staging", _raw(deployment=deployment), environ={})
    error = caught.value
    assert (error.field, error.value) == (field, value)
    assert "\n" not in str(error) and error.allowed
