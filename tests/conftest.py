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
def project(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedProject:
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
