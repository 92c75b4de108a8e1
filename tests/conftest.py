"""Shared fixtures: every shipped environment is synthesized ONCE per test session, in one App.

Tests read ``aws_cdk.assertions.Template`` objects from :func:`synthesized`; none of them synthesizes a project
stack again. CDK's built-in CloudFormation validation is off here (it costs seconds per process and cfn-lint
checks the same templates in ``./dev.sh check``); cdk-nag is on, exactly as in ``app.py``, so a new
unacknowledged finding fails the whole session.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from aws_cdk import Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from stacks.composition import EnvironmentStacks, build_delivery, build_environment, create_app  # noqa: E402
from stacks.config import available_environments, load_environment  # noqa: E402
from stacks.config.delivery import available_deliveries, load_delivery  # noqa: E402

#: The caller's AWS setup that could leak into a test: profiles, credentials, regions, role/container credential
#: sources. Cleared for the whole session (the tests that need a region or fake credentials set their own).
AWS_ENVIRONMENT = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_STS_REGIONAL_ENDPOINTS",
    "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION",
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Before collection, too: a test module that makes a boto3 session at import time (moto's decorators do)
    must not see the caller's AWS setup either (``AWS_PROFILE=does-not-exist`` would fail its import). The
    session fixture below does the same for the run and undoes it at the end."""
    for name in AWS_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/ava-olo-tests/aws"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


@pytest.fixture(scope="session", autouse=True)
def hermetic_aws_environment(tmp_path_factory: pytest.TempPathFactory):
    """Tests never depend on the caller's AWS environment (``AWS_PROFILE=does-not-exist ./dev.sh test`` passes).

    Session-wide and autouse, so it is in force before the session synthesis: every variable of
    :data:`AWS_ENVIRONMENT` is removed, the shared config and credentials files point at files that do not
    exist, and instance-metadata lookups are off. A test that needs a region or credentials sets them itself
    (``monkeypatch.setenv``, moto's ``mock_aws``, explicit client arguments)."""
    missing = tmp_path_factory.mktemp("no-aws")
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_ENVIRONMENT:
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(missing / "config-does-not-exist"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing / "credentials-does-not-exist"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="session", autouse=True)
def botocore_models_read_once():
    """Every botocore session of the run shares ONE data loader, so each service model and endpoint ruleset is
    read from botocore's data files once per run instead of once per session. moto's ``mock_aws`` drops boto3's
    default session on every start and the operator tool opens a session per command, so without this each
    test re-reads the same JSON (the bulk of the ops tests' time). What is loaded is the same: the files of the
    installed botocore, through botocore's own loader (a session with its own ``data_path`` keeps its own)."""
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()

    def register_data_loader(self) -> None:
        def loader():
            data_path = self.get_config_variable("data_path")
            return botocore.loaders.create_loader(data_path) if data_path else shared

        self._components.lazy_register_component("data_loader", loader)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "_register_data_loader", register_data_loader)
        yield


ENVIRONMENTS = available_environments()
DELIVERIES = available_deliveries()
#: No CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION: the synthesis must not depend on the machine's AWS setup.
OFFLINE_ENVIRON: dict[str, str] = {}


@dataclass
class SynthesizedEnvironment:
    stacks: EnvironmentStacks
    templates: dict[str, dict[str, Any]]

    @property
    def config(self):
        return self.stacks.config

    def template(self, stack: Stack) -> Template:
        return Template.from_json(self.templates[stack.artifact_id])

    @property
    def network(self) -> Template:
        return self.template(self.stacks.network)

    @property
    def service(self) -> Template:
        return self.template(self.stacks.service)

    def all_templates(self) -> dict[str, Template]:
        return {stack.stack_name: self.template(stack) for stack in self.stacks.all}


@dataclass
class SynthesizedProject:
    environments: dict[str, SynthesizedEnvironment]
    deliveries: dict[str, Any]  # name -> (DeliveryStack, template dict)
    assembly: Any
    outdir: Path


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, hermetic_aws_environment) -> SynthesizedProject:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = create_app(outdir=str(outdir), validation=False)
    built = {
        name: build_environment(app, load_environment(name, environ=OFFLINE_ENVIRON)) for name in ENVIRONMENTS
    }
    # Delivery stacks share the App (one synth); their construct ids carry the file name to stay unique.
    delivery_stacks = {
        name: build_delivery(app, load_delivery(name, environ=OFFLINE_ENVIRON), construct_id=f"Delivery-{name}")
        for name in DELIVERIES
    }
    assembly = app.synth()
    environments = {
        name: SynthesizedEnvironment(
            stacks=stacks,
            templates={s.artifact_id: assembly.get_stack_artifact(s.artifact_id).template for s in stacks.all},
        )
        for name, stacks in built.items()
    }
    deliveries = {
        name: (stack, assembly.get_stack_artifact(stack.artifact_id).template) for name, stack in delivery_stacks.items()
    }
    return SynthesizedProject(environments=environments, deliveries=deliveries, assembly=assembly, outdir=outdir)


@pytest.fixture(scope="session")
def production(project: SynthesizedProject) -> SynthesizedEnvironment:
    return project.environments["production"]


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def each_environment(request: pytest.FixtureRequest, project: SynthesizedProject) -> SynthesizedEnvironment:
    return project.environments[request.param]


def only(resources: dict[str, Any]) -> dict[str, Any]:
    """The single resource of a ``find_resources`` result (fails loudly if there are 0 or several)."""
    assert len(resources) == 1, f"expected exactly one resource, found {sorted(resources)}"
    return next(iter(resources.values()))


def service_task_definition(template) -> dict[str, Any]:
    """The task definition the (single) ECS service runs: not the migration task's."""
    service = only(template.find_resources("AWS::ECS::Service"))
    return template.find_resources("AWS::ECS::TaskDefinition")[service["Properties"]["TaskDefinition"]["Ref"]]


def service_container(template) -> dict[str, Any]:
    containers = service_task_definition(template)["Properties"]["ContainerDefinitions"]
    assert len(containers) == 1
    return containers[0]


def service_execution_role_statements(template) -> list[dict[str, Any]]:
    """Statements of the policies attached to the service task definition's execution role."""
    role = service_task_definition(template)["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


_ACKNOWLEDGEMENTS: dict[int, tuple[Any, list[tuple[str, str, str]]]] = {}


def acknowledgements(stack: Stack) -> list[tuple[str, str, str]]:
    """:func:`ava_olo_constructs.acknowledgements` of a stack of the session synthesis, read once per stack.

    The walk costs a jsii round trip per construct, and the compliance tests ask for the same stacks again and
    again; after ``app.synth()`` the construct tree cannot change (CDK refuses), so the answer cannot either.
    Returns a fresh list each time."""
    from ava_olo_constructs import acknowledgements as read

    cached = _ACKNOWLEDGEMENTS.get(id(stack))
    if cached is None or cached[0] is not stack:
        cached = _ACKNOWLEDGEMENTS[id(stack)] = (stack, read(stack))
    return list(cached[1])
