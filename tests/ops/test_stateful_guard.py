"""`ava-olo guard` and the stack policy: a deploy must never delete or replace a stateful resource.

The verdict comes from CloudFormation: recorded ``DescribeChangeSet`` responses (botocore's ``Stubber`` checks them
against the service model) and moto's change sets. The offline mode reads the registry schemas bundled with
cfn-lint and gives the same verdicts on real template pairs synthesized from the project and the library.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from botocore.stub import Stubber
from moto import mock_aws

from ava_olo_constructs import AuroraPostgresDatabase, AuroraPostgresDatabaseProps
from ava_olo_ops import stack_policy, stateful_guard
from ava_olo_ops.cli import main
from ava_olo_ops.stateful_guard import compare, guard_change_set
from stacks.composition import build_environment, create_app
from tests.conftest import manifest

from .aws import client

# ----------------------------------------------------------------------------------------------------------------
# Real templates from the project: staging, and one variant (one more App)
# ----------------------------------------------------------------------------------------------------------------

STACKS = ("network", "data", "service")


def _synthesize(outdir: Path, config) -> tuple[dict[str, dict[str, Any]], Any]:
    app = create_app(outdir=str(outdir), validation=False, tree_metadata=False)  # no tree.json: nothing reads it
    built = build_environment(app, config)
    assembly = app.synth()
    templates = {name: assembly.get_stack_artifact(getattr(built, name).artifact_id).template for name in STACKS}
    return templates, built


@pytest.fixture(scope="module")
def staging(project, tmp_path_factory):
    """Staging from the session's single synthesis (no second one): its templates, and a cloud assembly cut
    down to staging's three stacks (the session's holds every environment)."""
    env = project.environments["staging"]
    ids = {name: getattr(env.stacks, name).artifact_id for name in STACKS}
    templates = {name: env.templates[artifact_id] for name, artifact_id in ids.items()}
    outdir = tmp_path_factory.mktemp("staging-assembly")
    session = manifest(str(project.outdir))
    cut = {**session, "artifacts": {k: v for k, v in session["artifacts"].items() if k in ids.values()}}
    for artifact in cut["artifacts"].values():
        name = artifact["properties"]["templateFile"]
        (outdir / name).write_text((project.outdir / name).read_text())
    (outdir / "manifest.json").write_text(json.dumps(cut))
    return env.config, templates, SimpleNamespace(outdir=outdir, **{name: getattr(env.stacks, name) for name in STACKS})


@pytest.fixture(scope="module")
def variant(staging, tmp_path_factory):
    """Staging with desired count 1/3/4 and database name ``farmers``, both in ONE App (one synthesis instead of
    two). The desired count only reaches the service stack; the database name reaches the cluster in the data
    stack and an SSM parameter in the service stack. So the network and service stacks must pass, and the data
    stack must report the DatabaseName replacement and nothing else."""
    config = staging[0]
    changed = dataclasses.replace(
        config, min_count=1, desired_count=3, max_count=4,
        database=dataclasses.replace(config.database, database_name="farmers"),
    )
    return _synthesize(tmp_path_factory.mktemp("variant"), changed)[0]


def _service_desired_count(tpl: dict[str, Any]) -> Any:
    """The task count the stack manages: autoscaling's minimum (the service has no DesiredCount, issue 12)."""
    (target,) = [r for r in tpl["Resources"].values() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"]
    return target["Properties"]["MinCapacity"]


def _write(tmp_path: Path, name: str, tpl: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(tpl))
    return str(path)


# ----------------------------------------------------------------------------------------------------------------
# Real templates from the construct library: the database under another construct id (one more App)
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renamed_database() -> tuple[dict[str, Any], dict[str, Any]]:
    app = App(builtin_cloud_formation_validation=False)
    for stack_id, construct_id in (("Before", "Database"), ("After", "FarmerDatabase")):
        stack = Stack(app, stack_id, env=Environment(region="eu-central-1"))
        vpc = ec2.Vpc(
            stack, "Vpc", availability_zones=["eu-central-1a", "eu-central-1b"], nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
        )
        AuroraPostgresDatabase(stack, construct_id, AuroraPostgresDatabaseProps(
            vpc=vpc, cluster_identifier="farmer-crm-test", secret_name="ava-olo/test/database/credentials"))
    assembly = app.synth()
    return assembly.get_stack_artifact("Before").template, assembly.get_stack_artifact("After").template


# ----------------------------------------------------------------------------------------------------------------
# The offline mode reads the schemas, not a table
# ----------------------------------------------------------------------------------------------------------------


def test_stateful_types_and_create_only_properties_come_from_cfn_lint():
    import cfnlint

    spec = json.loads((Path(cfnlint.__file__).parent / "data/AdditionalSpecs/StatefulResources.json").read_text())
    assert stateful_guard.stateful_types() == set(spec["ResourceTypes"])
    assert "/properties/DatabaseName" in stateful_guard.schema("AWS::RDS::DBCluster")["createOnlyProperties"]
    names = {t: stateful_guard.name_property(t) for t in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance",
                                                        "AWS::SecretsManager::Secret", "AWS::KMS::Key")}
    assert names == {"AWS::RDS::DBCluster": "DBClusterIdentifier", "AWS::RDS::DBInstance": "DBInstanceIdentifier",
                     "AWS::SecretsManager::Secret": "Name", "AWS::KMS::Key": None}
    assert not hasattr(stateful_guard, "REPLACEMENT_RULES")


def test_a_template_compared_with_itself_is_safe(staging):
    for name in STACKS:
        assert compare(staging[1][name], staging[1][name]) == [], name


def test_offline_a_desired_count_change_passes_and_a_database_name_change_replaces_the_cluster(staging, variant, tmp_path, capsys):
    old = staging[1]
    assert (_service_desired_count(old["service"]), _service_desired_count(variant["service"])) == (2, 1)  # min_count 2 -> 1: the count the stack manages changes
    files = [_write(tmp_path, "old-service", old["service"]), _write(tmp_path, "new-service", variant["service"])]
    assert main(["guard", *files]) == 0
    assert "guard: OK" in capsys.readouterr().out
    (cluster_id,) = [i for i, r in old["data"]["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    # The master user's default derives from the database name, so it changes too; both replace the cluster.
    (v,) = [v for v in compare(old["data"], variant["data"]) if "DatabaseName" in v.reason]
    assert v.logical_id == cluster_id and '"farmer_crm" -> "farmers"' in v.reason
    assert "custom-named (DBClusterIdentifier), so CloudFormation refuses the update" in v.reason
    assert main(["guard", _write(tmp_path, "old", old["data"]), _write(tmp_path, "new", variant["data"])]) == 1
    out = capsys.readouterr().out
    assert f"{cluster_id} (AWS::RDS::DBCluster): DatabaseName" in out and "guard: FAILED" in out


def test_offline_a_construct_id_rename_fails_naming_the_cluster_secret_and_key(renamed_database):
    before, after = renamed_database
    found = {v.logical_id: v for v in compare(before, after)}
    (old_id,) = [i for i, r in before["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    (new_id,) = [i for i, r in after["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    assert f"renamed to {new_id} with the same DBClusterIdentifier: creating it fails (\"already exists\")" in found[old_id].reason
    kinds = {v.resource_type for v in found.values()}
    assert {"AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::SecretsManager::Secret", "AWS::KMS::Key"} <= kinds
    key = next(v for v in found.values() if v.resource_type == "AWS::KMS::Key")
    assert key.reason.startswith("removed from the template")  # a key has no name: the new one is a new key


def test_offline_an_unnamed_replacement_says_a_new_empty_one_is_created_and_a_weakened_policy_fails():
    old = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": "a"},
                                  "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}}}
    new = json.loads(json.dumps(old))
    new["Resources"]["Logs"]["DeletionPolicy"] = "Delete"
    (v,) = compare(old, new)
    assert v.reason.startswith("DeletionPolicy weakened from Retain to Delete")
    secret = {"Resources": {"S": {"Type": "AWS::SecretsManager::Secret", "Properties": {}}}}
    renamed = {"Resources": {"S": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "x"}}}}
    (v,) = compare(secret, renamed)
    assert "a new, EMPTY resource is created and the old one and its data are DELETED" not in v.reason  # now named
    assert "custom-named (Name)" in v.reason
    (v,) = compare(renamed, secret)
    assert "a new, EMPTY resource is created and the old one and its data are DELETED (UpdateReplacePolicy Delete)" in v.reason


@pytest.mark.parametrize("bad", [[], {"AWSTemplateFormatVersion": "2010-09-09"}, {"Resources": {"X": {"Properties": {}}}}])
def test_not_a_template_is_one_error_line(bad, tmp_path, capsys):
    assert main(["guard", _write(tmp_path, "old", {"Resources": {}}), _write(tmp_path, "new", bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


# ----------------------------------------------------------------------------------------------------------------
# The change set: recorded DescribeChangeSet responses (shapes checked by botocore's Stubber)
# ----------------------------------------------------------------------------------------------------------------


def _change(logical_id, kind, action="Modify", replacement=None, policy_action=None, target=None):
    rc = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": kind,
          "PhysicalResourceId": f"physical-{logical_id}"}
    if replacement:
        rc["Replacement"] = replacement
    if policy_action:
        rc["PolicyAction"] = policy_action
    if target:
        rc["Details"] = [{"Target": {"Attribute": "Properties", "Name": target, "RequiresRecreation": "Always"},
                          "Evaluation": "Static", "ChangeSource": "DirectModification"}]
    return {"Type": "Resource", "ResourceChange": rc}


def _recorded(*pages):
    """A client that answers DescribeChangeSet with ``pages`` (twice: the waiter, then the paginator)."""
    client = boto3.client("cloudformation", region_name="eu-central-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    stubber = Stubber(client)
    common = {"ChangeSetName": "ava-olo-v1-0-0", "StackName": "ava-olo-staging-data", "Status": "CREATE_COMPLETE",
              "ExecutionStatus": "AVAILABLE"}
    stubber.add_response("describe_change_set", {**common, "Changes": pages[0]})
    for index, page in enumerate(pages):
        more = {"NextToken": f"t{index + 1}"} if index + 1 < len(pages) else {}
        stubber.add_response("describe_change_set", {**common, "Changes": page, **more})
    stubber.activate()
    return client


def _data(staging):
    return staging[1]["data"]


def _id(template, kind):
    return next(i for i, r in template["Resources"].items() if r["Type"] == kind)


def test_change_set_database_replacement_exits_1_naming_the_cluster(staging):
    data = _data(staging)
    cluster = _id(data, "AWS::RDS::DBCluster")
    client = _recorded([_change("TargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup")],
                       [_change(cluster, "AWS::RDS::DBCluster", replacement="True", target="DatabaseName")])
    result = guard_change_set(client, "ava-olo-staging-data", "ava-olo-v1-0-0", data, data)
    (v,) = result.violations
    assert v.logical_id == cluster and "Replacement True (DatabaseName)" in v.reason
    assert "cannot update a stack when a custom-named resource requires replacing" in v.reason
    assert stateful_guard.exit_code([result]) == 1


def test_change_set_secret_removal_and_a_deleting_policy_action_exit_1(staging):
    data = _data(staging)
    secret = _id(data, "AWS::SecretsManager::Secret")
    key = _id(data, "AWS::KMS::Key")
    client = _recorded([_change(secret, "AWS::SecretsManager::Secret", action="Remove", policy_action="Delete"),
                        _change(key, "AWS::KMS::Key", replacement="Conditional", policy_action="ReplaceAndRetain")])
    result = guard_change_set(client, "ava-olo-staging-data", "ava-olo-v1-0-0", None, data)
    found = {v.logical_id: v.reason for v in result.violations}
    assert found[secret].startswith("removed from the template") and "[PolicyAction Delete]" in found[secret]
    assert "may require replacement" in found[key] and "ReplaceAndRetain" in found[key]
    assert stateful_guard.exit_code([result]) == 1
    assert stateful_guard.exit_code([result], allowed=[secret, key]) == 0  # reviewed: --allow


def test_change_set_retain_to_delete_policy_exits_1_naming_the_resource(staging):
    data = _data(staging)
    secret = _id(data, "AWS::SecretsManager::Secret")
    weakened = json.loads(json.dumps(data))
    weakened["Resources"][secret]["DeletionPolicy"] = "Delete"
    weakened["Resources"][secret]["UpdateReplacePolicy"] = "Delete"
    # RetainExceptOnCreate: retained, except that a failed first create cleans up (issue 11).
    deletion = data["Resources"][secret]["DeletionPolicy"]
    assert (deletion, data["Resources"][secret]["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    client = _recorded([])  # a policy-only change is no resource change: the templates show it
    result = guard_change_set(client, "ava-olo-staging-data", "ava-olo-v1-0-0", weakened, data)
    assert {(v.logical_id, v.reason.split(":")[0]) for v in result.violations} == {
        (secret, f"DeletionPolicy weakened from {deletion} to Delete"), (secret, "UpdateReplacePolicy weakened from Retain to Delete")}
    client = _recorded([_change(secret, "AWS::SecretsManager::Secret", replacement="True", policy_action="ReplaceAndDelete")])
    assert "ReplaceAndDelete" in guard_change_set(client, "s", "c").violations[0].reason


def test_change_set_a_desired_count_change_exits_0(staging):
    service = staging[1]["service"]
    ecs_service = _id(service, "AWS::ECS::Service")
    client = _recorded([_change(ecs_service, "AWS::ECS::Service", replacement="False")])
    result = guard_change_set(client, "ava-olo-staging-service", "ava-olo-v1-0-0", service, service)
    assert (result.status, result.violations, stateful_guard.exit_code([result])) == ("checked", (), 0)


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        yield client("cloudformation", "eu-central-1")


def _parameter_stack(value):
    return {"Resources": {"Count": {"Type": "AWS::SSM::Parameter",
                                    "Properties": {"Name": "/ava-olo/desired-count", "Type": "String", "Value": value}}}}


def test_cli_change_set_mode_against_moto_exits_0_for_a_harmless_change(aws, tmp_path, capsys):
    (tmp_path / "S.template.json").write_text(json.dumps(_parameter_stack("3")))
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"S": {
        "type": "aws:cloudformation:stack", "properties": {"templateFile": "S.template.json", "stackName": "s"}}}}))
    aws.create_stack(StackName="s", TemplateBody=json.dumps(_parameter_stack("2")))
    aws.create_change_set(StackName="s", ChangeSetName="ava-olo-v1", TemplateBody=json.dumps(_parameter_stack("3")))
    assert main(["guard", "--cdk-out", str(tmp_path), "--change-set", "ava-olo-v1"]) == 0
    out = capsys.readouterr().out
    assert "stack s: safe (change set ava-olo-v1, 1 change(s))" in out and "guard: OK" in out
    assert main(["guard", "--cdk-out", str(tmp_path), "--change-set", "other"]) == 0
    assert "nothing to execute" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------------------
# The stack policy
# ----------------------------------------------------------------------------------------------------------------


def test_the_data_stack_policy_denies_replacing_and_deleting_cluster_instances_secrets_and_key(production):
    data = production.templates[production.stacks.data.artifact_id]
    document = stack_policy.policy_document(data)
    allow, deny = document["Statement"]
    assert allow == {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    assert deny["Effect"] == "Deny" and deny["Action"] == ["Update:Replace", "Update:Delete"]
    denied = {r.removeprefix("LogicalResourceId/") for r in deny["Resource"]}
    by_type = {kind: {i for i, r in data["Resources"].items() if r["Type"] == kind}
               for kind in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::SecretsManager::Secret", "AWS::KMS::Key")}
    assert all(by_type.values()) and len(by_type["AWS::RDS::DBInstance"]) >= 2
    for kind, ids in by_type.items():
        assert ids <= denied, kind
    assert not any(data["Resources"][i]["Type"].startswith("AWS::EC2::") for i in denied)
    lifted = stack_policy.policy_document(data, allow=by_type["AWS::RDS::DBCluster"])
    assert not by_type["AWS::RDS::DBCluster"] & {r.removeprefix("LogicalResourceId/") for r in lifted["Statement"][1]["Resource"]}


def test_the_policy_keeps_protecting_a_resource_the_new_template_drops_and_moto_stores_it(aws):
    old = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}, **_parameter_stack("1")["Resources"]}}
    new = _parameter_stack("1")
    assert stack_policy.policy_document(new) is None  # nothing stateful: no policy
    aws.create_stack(StackName="s", TemplateBody=json.dumps(new))
    assert stack_policy.apply(aws, "s", old, new) == ["Logs"]
    stored = json.loads(aws.get_stack_policy(StackName="s")["StackPolicyBody"])
    assert stored["Statement"][1]["Resource"] == ["LogicalResourceId/Logs"]


def test_cli_offline_against_the_deployed_templates_names_a_removed_log_group(aws, tmp_path, capsys):
    deployed = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "audit"}},
                              **_parameter_stack("2")["Resources"]}}
    aws.create_stack(StackName="s", TemplateBody=json.dumps(deployed))
    (tmp_path / "S.template.json").write_text(json.dumps(_parameter_stack("3")))
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"S": {
        "type": "aws:cloudformation:stack", "properties": {"templateFile": "S.template.json", "stackName": "s"}}}}))
    assert main(["guard", "--cdk-out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Logs (AWS::Logs::LogGroup): removed from the template: the old one and its data are DELETED" in out


@pytest.mark.parametrize("status, reason, verdict, code", [
    ("FAILED", "The submitted information didn't contain changes. Submit different information to create a change set.",
     "unchanged", 0),
    ("FAILED", "Template format error: Unresolved resource dependencies [Gone]", "error", 2),
])
def test_an_empty_change_set_is_nothing_to_execute_and_a_broken_one_is_not_verified(status, reason, verdict, code):
    client = boto3.client("cloudformation", region_name="eu-central-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    stubber = Stubber(client)
    response = {"ChangeSetName": "c", "StackName": "s", "Status": status, "StatusReason": reason,
                "ExecutionStatus": "UNAVAILABLE", "Changes": []}
    for _ in range(2):  # the waiter (FAILED ends it at once), then the paginator
        stubber.add_response("describe_change_set", response)
    stubber.activate()
    result = guard_change_set(client, "s", "c")
    assert (result.status, stateful_guard.exit_code([result])) == (verdict, code)
