"""Stack-level practices: the split per environment, tags, termination protection, offline synthesis, cdk-nag."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from stacks.composition import create_app

from tests.conftest import ENVIRONMENTS, manifest

STANDARD_TAGS = ("Project", "Environment", "Service", "Version")


def test_every_environment_has_network_data_and_service_stacks(project):
    names = {s.stack_name for env in project.environments.values() for s in env.stacks.all}
    assert names == {f"ava-olo-{e}-{purpose}" for e in ENVIRONMENTS for purpose in ("network", "data", "service")}


def test_service_stack_depends_on_data_and_network_never_the_reverse(project):
    for env in project.environments.values():
        deps = {s.node.id: {d.node.id for d in s.dependencies} for s in env.stacks.all}
        title = env.config.title
        assert deps[f"{title}Service"] == {f"{title}Network", f"{title}Data"}
        assert deps[f"{title}Data"] == {f"{title}Network"}
        assert deps[f"{title}Network"] == set()


def test_every_taggable_resource_carries_project_environment_service_version(each_environment):
    config = each_environment.config
    expected = {"Project": "ava-olo", "Environment": config.name, "Service": config.service_name, "Version": config.version}
    for stack_name, template in each_environment.all_templates().items():
        for logical_id, resource in template.to_json()["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if not isinstance(tags, list):
                continue
            values = {t["Key"]: t["Value"] for t in tags}
            assert {k: values.get(k) for k in STANDARD_TAGS} == expected, f"{stack_name}/{logical_id}"


def test_stack_level_tags_reach_cloudformation_too(project, each_environment):
    for stack in each_environment.stacks.all:
        tags = project.assembly.get_stack_artifact(stack.artifact_id).tags
        assert tags["Environment"] == each_environment.config.name and tags["Version"] == each_environment.config.version


def test_production_stacks_have_termination_protection(project):
    for name, env in project.environments.items():
        for stack in env.stacks.all:
            artifact = project.assembly.get_stack_artifact(stack.artifact_id)
            assert artifact.termination_protection is (name == "production"), stack.stack_name


def test_stack_description_names_service_environment_and_version(each_environment):
    config = each_environment.config
    for stack in each_environment.stacks.all:
        description = each_environment.templates[stack.artifact_id]["Description"]
        assert f"({config.name}, {config.version})" in description and config.service_name in description


def test_synthesis_needs_no_lookups_and_no_credentials(project):
    assert not manifest(str(project.outdir)).get("missing"), "a context lookup would need AWS credentials"
    for env in project.environments.values():
        for stack in env.stacks.all:
            assert stack.region == env.config.region
            assert stack.account.startswith("${Token"), "shipped environments resolve the account at deploy time"


def test_an_unacknowledged_cdk_nag_finding_fails_synth(tmp_path):
    """Proves the packs really run in every App the project creates (the previous test cannot tell): AwsSolutions,
    NIST 800-53 R5 and the AvaOlo pack. So the session synthesis, which did not raise, passed all three."""
    app = create_app(outdir=str(tmp_path), validation=False)
    stack = Stack(app, "Probe")
    sqs.Queue(stack, "QueueWithoutDeadLetterQueue")  # AwsSolutions-SQS3 / SQS4
    logs.LogGroup(stack, "LogsKeptForever", retention=logs.RetentionDays.INFINITE)  # AvaOlo-LogRetention
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = {(p["pluginName"], v["ruleName"]) for p in report["pluginReports"] for v in p["violations"]}
    assert {("AwsSolutions", "AwsSolutions-SQS4"), ("AvaOlo", "AvaOlo-LogRetention")} <= violations
    assert any(plugin == "NIST.800.53.R5" for plugin, _ in violations)


def test_stacks_reference_each_other_through_construct_attributes_not_names(production):
    vpc_refs = json.dumps(production.service.to_json())
    assert "ava-olo-production-network" in vpc_refs  # the VPC arrives as a cross-stack reference
    assert "vpc-" not in vpc_refs  # never a hard-coded VPC id
