"""`ava-olo guard`: a deploy must never delete or replace a stateful resource ("Nothing stateful is lost").

Hand-made template dicts for each kind of violation and for the changes that must pass; then real template pairs
synthesized in-process from the project (staging) and from the construct library; then the CLI, in two-file mode
and in ``--cdk-out`` mode against a botocore ``Stubber`` (no AWS account). Three Apps are synthesized, each once per
module: the staging baseline, one staging variant, and the library's database under two construct ids.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from types import SimpleNamespace
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from ava_olo_constructs import AuroraPostgresDatabase, AuroraPostgresDatabaseProps
from ava_olo_ops import stateful_guard
from ava_olo_ops.cli import main
from ava_olo_ops.stateful_guard import (
    REPLACEMENT_RULES,
    STATEFUL_TYPES,
    GuardInputError,
    Violation,
    compare,
    format_violation,
)
from stacks.composition import build_environment, create_app

# ----------------------------------------------------------------------------------------------------------------
# Hand-made templates
# ----------------------------------------------------------------------------------------------------------------


def cluster(**props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBCluster",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "DBClusterIdentifier": "farmer-crm",
            "DatabaseName": "farmer_crm",
            "Engine": "aurora-postgresql",
            "EngineVersion": "17.9",
            "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
            "StorageEncrypted": True,
            "Port": 5432,
            "Tags": [{"Key": "Version", "Value": "v1.0.0"}],
            **props,
        },
    }


def key(**props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "farmer-crm data", "EnableKeyRotation": True, "KeyPolicy": {"Version": "2012-10-17"}, **props,
        },
    }


def ecs_service(desired: int = 2) -> dict[str, Any]:
    return {"Type": "AWS::ECS::Service", "Properties": {"DesiredCount": desired, "Cluster": {"Ref": "Cluster"}}}


def template(**resources: Any) -> dict[str, Any]:
    return {"Resources": resources}


def base() -> dict[str, Any]:
    return template(Key=key(), Other=key(Description="other"), Database=cluster(), Service=ecs_service())


def with_resource(tpl: dict[str, Any], logical_id: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of ``tpl`` whose resource ``logical_id`` has ``changes`` applied (Properties merged)."""
    out = copy.deepcopy(tpl)
    resource = out["Resources"][logical_id]
    for name, value in changes.items():
        if name == "Properties":
            resource["Properties"].update(value)
        elif value is None:
            resource.pop(name, None)
        else:
            resource[name] = value
    return out


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, [format_violation(v) for v in violations]
    return violations[0]


# ----------------------------------------------------------------------------------------------------------------
# Violations
# ----------------------------------------------------------------------------------------------------------------


def test_a_replacing_property_change_names_resource_property_and_values():
    v = only(compare(base(), with_resource(base(), "Database", Properties={"DatabaseName": "farmers"})))
    assert (v.logical_id, v.resource_type, v.property, v.old, v.new) == (
        "Database", "AWS::RDS::DBCluster", "DatabaseName", "farmer_crm", "farmers",
    )
    line = format_violation(v)
    assert line.startswith("Database (AWS::RDS::DBCluster): change requires replacement")
    assert line.endswith('— DatabaseName: "farmer_crm" -> "farmers"')
    assert "UpdateReplacePolicy Retain" in line


def test_a_changed_ref_target_is_a_change_and_an_added_replacing_property_too():
    new = with_resource(base(), "Database", Properties={"KmsKeyId": {"Fn::GetAtt": ["Other", "Arn"]}})
    assert only(compare(base(), new)).property == "KmsKeyId"
    new = copy.deepcopy(base())
    new["Resources"]["Database"]["Properties"]["SnapshotIdentifier"] = "before-migration"
    v = only(compare(base(), new))
    assert (v.property, v.old, v.new) == ("SnapshotIdentifier", None, "before-migration")
    assert "(absent) -> \"before-migration\"" in format_violation(v)


def test_deleting_a_stateful_resource_says_what_happens_to_it():
    old = base()
    old["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket", "Properties": {}}  # no DeletionPolicy: Delete
    new = copy.deepcopy(old)
    del new["Resources"]["Bucket"]
    v = only(compare(old, new))
    assert (v.logical_id, v.property, v.old, v.new) == ("Bucket", "logical ID", "Bucket", None)
    assert "deleted: not in the new template, so it is DELETED with its data" in v.reason

    new = copy.deepcopy(base())
    del new["Resources"]["Key"]
    assert "orphaned, not deleted (DeletionPolicy Retain)" in only(compare(base(), new)).reason


def test_a_logical_id_change_with_the_same_physical_name_is_probably_a_rename():
    new = copy.deepcopy(base())
    new["Resources"]["FarmerDatabase"] = new["Resources"].pop("Database")
    v = only(compare(base(), new))
    assert (v.logical_id, v.property, v.old, v.new) == ("Database", "logical ID", "Database", "FarmerDatabase")
    assert 'probably renamed from Database to FarmerDatabase (same DBClusterIdentifier "farmer-crm")' in v.reason


def test_a_rename_without_a_physical_name_is_found_by_its_properties_ref_targets_ignored():
    old = template(Key=key(), Cluster=cluster(), Writer={"Type": "AWS::RDS::DBInstance", "Properties": {
        "DBClusterIdentifier": {"Ref": "Cluster"}, "DBInstanceClass": "db.serverless", "Engine": "aurora-postgresql",
        "PromotionTier": 0, "MonitoringRoleArn": {"Fn::GetAtt": ["MonitoringRole", "Arn"]}}})
    new = copy.deepcopy(old)
    writer = new["Resources"].pop("Writer")
    writer["Properties"]["DBClusterIdentifier"] = {"Ref": "RenamedCluster"}
    new["Resources"]["RenamedWriter"] = writer
    new["Resources"]["RenamedCluster"] = new["Resources"].pop("Cluster")
    new["Resources"]["Unrelated"] = {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.r6g.large"}}
    violations = {v.logical_id: v for v in compare(old, new)}
    assert set(violations) == {"Cluster", "Writer"}
    v = violations["Writer"]
    assert v.new == "RenamedWriter"
    assert "probably renamed from Writer to RenamedWriter (100 % of its properties are the same)" in v.reason


def test_a_deleted_resource_with_no_lookalike_is_not_called_a_rename():
    new = copy.deepcopy(base())
    del new["Resources"]["Database"]
    new["Resources"]["Analytics"] = cluster(DBClusterIdentifier="analytics", DatabaseName="analytics", EngineVersion="16.4")
    v = only(compare(base(), new))
    assert v.reason.startswith("deleted:") and v.new is None


def test_a_type_change_under_the_same_logical_id_is_a_replacement():
    new = copy.deepcopy(base())
    new["Resources"]["Database"] = {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.t4g.micro"}}
    v = only(compare(base(), new))
    assert (v.property, v.old, v.new) == ("Type", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance")
    assert v.reason.startswith("type changed")


@pytest.mark.parametrize("attribute", ["DeletionPolicy", "UpdateReplacePolicy"])
@pytest.mark.parametrize("new_value", ["Delete", None])
def test_a_weakened_policy_is_a_violation(attribute, new_value):
    new = with_resource(base(), "Key", **{attribute: new_value})
    v = only(compare(base(), new))
    assert (v.logical_id, v.property, v.old, v.new) == ("Key", attribute, "Retain", new_value)
    assert f"{attribute} weakened from Retain to Delete" in v.reason
    if new_value is None:
        assert "absent: the default is Delete" in v.reason


def test_policy_defaults_follow_the_documentation():
    # A DBCluster without DeletionPolicy is snapshotted, so Snapshot -> absent loses nothing...
    old = with_resource(base(), "Database", DeletionPolicy="Snapshot")
    assert compare(old, with_resource(old, "Database", DeletionPolicy=None)) == []
    # ...but its UpdateReplacePolicy defaults to Delete, and so does a Bucket's DeletionPolicy.
    assert only(compare(old, with_resource(old, "Database", UpdateReplacePolicy=None))).property == "UpdateReplacePolicy"
    bucket = template(Logs={"Type": "AWS::S3::Bucket", "DeletionPolicy": "RetainExceptOnCreate", "Properties": {}})
    assert only(compare(bucket, with_resource(bucket, "Logs", DeletionPolicy=None))).old == "RetainExceptOnCreate"
    # Retain -> Snapshot keeps the data.
    assert compare(base(), with_resource(base(), "Database", DeletionPolicy="Snapshot")) == []


def test_immutable_kms_properties_and_conditional_replacements_are_reported_as_such():
    v = only(compare(base(), with_resource(base(), "Key", Properties={"KeySpec": "RSA_2048"})))
    assert v.property == "KeySpec" and v.reason.startswith("immutable property changed")
    v = only(compare(base(), with_resource(base(), "Database", Properties={"Engine": "aurora-mysql"})))
    assert v.property == "Engine" and v.reason.startswith("may require replacement")


def test_availability_zone_replaces_aurora_members_only():
    def instance(az: str, **props: Any) -> dict[str, Any]:
        return template(Db={"Type": "AWS::RDS::DBInstance", "Properties": {"AvailabilityZone": az, **props}})

    member = {"DBClusterIdentifier": {"Ref": "Cluster"}}
    moved = compare(instance("eu-central-1a", **member), instance("eu-central-1b", **member))
    assert only(moved).property == "AvailabilityZone"
    assert compare(instance("eu-central-1a"), instance("eu-central-1b")) == []


def test_a_stateful_resource_that_becomes_conditional_is_reported():
    v = only(compare(base(), with_resource(base(), "Database", Condition="IsProduction")))
    assert (v.property, v.old, v.new) == ("Condition", None, "IsProduction")


# ----------------------------------------------------------------------------------------------------------------
# Safe changes
# ----------------------------------------------------------------------------------------------------------------


def _added_bucket(tpl: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(tpl)
    out["Resources"]["NewBucket"] = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {}}
    return out


def _without(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    out = copy.deepcopy(tpl)
    del out["Resources"][logical_id]
    return out


SAFE_CHANGES = {
    "desired count": lambda t: with_resource(t, "Service", Properties={"DesiredCount": 3}),
    "tag": lambda t: with_resource(t, "Database", Properties={"Tags": [{"Key": "Version", "Value": "v1.1.0"}]}),
    "engine version": lambda t: with_resource(t, "Database", Properties={"EngineVersion": "17.10"}),
    "key description": lambda t: with_resource(t, "Key", Properties={"Description": "farmer-crm data (v2)"}),
    "deletion policy strengthened": lambda t: with_resource(
        with_resource(t, "Database", DeletionPolicy="Delete"), "Database", DeletionPolicy="Retain"),
    "new stateful resource": _added_bucket,
    "stateless resource deleted": lambda t: _without(t, "Service"),
    "key order and scalar spelling": lambda t: with_resource(t, "Database", Properties={
        "StorageEncrypted": "true", "Port": "5432", "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}),
}


@pytest.mark.parametrize("change", SAFE_CHANGES, ids=list(SAFE_CHANGES))
def test_safe_changes_pass(change):
    old = base()
    if change == "deletion policy strengthened":
        old = with_resource(old, "Database", DeletionPolicy="Delete")
    assert compare(old, SAFE_CHANGES[change](base())) == []


def test_dict_key_order_never_matters():
    old = with_resource(base(), "Database", Properties={"KmsKeyId": {"Fn::Join": ["", ["a", {"Ref": "Key"}]]}})
    reordered = json.loads(json.dumps(old["Resources"]["Database"], sort_keys=True))
    new = copy.deepcopy(old)
    new["Resources"]["Database"] = dict(reversed(list(reordered.items())))
    assert compare(old, new) == []


@pytest.mark.parametrize("bad", [[], {"AWSTemplateFormatVersion": "2010-09-09"}, {"Resources": {"X": {"Properties": {}}}}])
def test_not_a_template_is_bad_input(bad):
    with pytest.raises(GuardInputError):
        compare(bad, base())


def test_violation_is_a_frozen_dataclass():
    v = Violation("Db", "AWS::RDS::DBCluster", "why")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.reason = "other"  # type: ignore[misc]
    assert (v.property, v.old, v.new) == (None, None, None)
    assert format_violation(v) == "Db (AWS::RDS::DBCluster): why"


# ----------------------------------------------------------------------------------------------------------------
# The replacement table: what the task asked for, and what CloudFormation's registry schemas say
# ----------------------------------------------------------------------------------------------------------------

REQUIRED = {
    "AWS::RDS::DBCluster": {"DBClusterIdentifier", "Engine", "DatabaseName", "MasterUsername", "StorageEncrypted",
                            "KmsKeyId", "DBSubnetGroupName", "EngineMode", "SourceDBClusterIdentifier",
                            "SnapshotIdentifier", "AvailabilityZones"},
    "AWS::RDS::DBInstance": {"DBInstanceIdentifier", "DBClusterIdentifier", "Engine", "AvailabilityZone", "KmsKeyId",
                             "StorageEncrypted", "DBSubnetGroupName"},
    "AWS::RDS::DBSubnetGroup": {"DBSubnetGroupName"},
    "AWS::RDS::DBClusterParameterGroup": {"Family", "DBClusterParameterGroupName", "Description"},
    "AWS::RDS::DBParameterGroup": {"Family", "DBParameterGroupName", "Description"},
    "AWS::SecretsManager::Secret": {"Name"},
    "AWS::KMS::Key": {"KeySpec", "KeyUsage"},
    "AWS::Logs::LogGroup": {"LogGroupName"},
    "AWS::S3::Bucket": {"BucketName"},
    "AWS::ECR::Repository": {"RepositoryName", "EncryptionConfiguration"},
    "AWS::Backup::BackupVault": {"BackupVaultName", "EncryptionKeyArn"},
    "AWS::DynamoDB::Table": {"TableName"},
}


def test_the_table_covers_every_stateful_type_and_required_property():
    assert set(REQUIRED) == STATEFUL_TYPES == set(REPLACEMENT_RULES)
    for kind, names in REQUIRED.items():
        assert names <= {r.property for r in REPLACEMENT_RULES[kind]}, kind
    assert "Description" not in {r.property for r in REPLACEMENT_RULES["AWS::KMS::Key"]}


def test_the_table_agrees_with_the_registry_schemas_bundled_with_cfn_lint():
    schema_manager = pytest.importorskip("cfnlint.schema").PROVIDER_SCHEMA_MANAGER
    for kind, rules in REPLACEMENT_RULES.items():
        schema = schema_manager.get_resource_schema("us-east-1", kind).schema

        def top_level(key: str) -> set[str]:
            return {p.split("/")[2] for p in schema.get(key, []) if p.count("/") == 2}

        create_only, conditional = top_level("createOnlyProperties"), top_level("conditionalCreateOnlyProperties")
        replacing = {r.property for r in rules if r.effect == stateful_guard.REPLACEMENT}
        assert create_only <= replacing, (kind, create_only - replacing)
        # Listed as replacing although the schema says "conditionally": the reference page says Replacement.
        assert replacing - create_only <= conditional, (kind, replacing - create_only - conditional)
        for rule in rules:
            if rule.effect == stateful_guard.CONDITIONAL:
                assert rule.property in conditional | create_only, (kind, rule.property)
            if rule.effect == stateful_guard.IMMUTABLE:  # documented on the page, not in the schema
                assert rule.property in schema["properties"], (kind, rule.property)


# ----------------------------------------------------------------------------------------------------------------
# Real templates from the project: staging, and one variant (one more App)
# ----------------------------------------------------------------------------------------------------------------

STACKS = ("network", "data", "service")


def _synthesize(outdir: Path, config) -> tuple[dict[str, dict[str, Any]], Any]:
    app = create_app(outdir=str(outdir), validation=False)
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
    manifest = json.loads((project.outdir / "manifest.json").read_text())
    manifest["artifacts"] = {k: v for k, v in manifest["artifacts"].items() if k in ids.values()}
    for artifact in manifest["artifacts"].values():
        name = artifact["properties"]["templateFile"]
        (outdir / name).write_text((project.outdir / name).read_text())
    (outdir / "manifest.json").write_text(json.dumps(manifest))
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
    (service,) = [r for r in tpl["Resources"].values() if r["Type"] == "AWS::ECS::Service"]
    return service["Properties"]["DesiredCount"]


def _write(tmp_path: Path, name: str, tpl: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(tpl))
    return str(path)


def test_a_template_compared_with_itself_is_safe(staging):
    for name in STACKS:
        assert compare(staging[1][name], staging[1][name]) == [], name


def test_a_desired_count_change_passes_for_all_three_stacks(staging, variant, tmp_path, capsys):
    old = staging[1]
    assert (_service_desired_count(old["service"]), _service_desired_count(variant["service"])) == (2, 3)
    assert variant["network"] == old["network"]
    for name in ("network", "service"):
        files = [_write(tmp_path, f"old-{name}", old[name]), _write(tmp_path, f"new-{name}", variant[name])]
        assert main(["guard", *files]) == 0
        assert "guard: OK" in capsys.readouterr().out
    # The data stack differs only by the database name: the desired count adds nothing there.
    (v,) = compare(old["data"], variant["data"])
    assert v.property == "DatabaseName"


def test_a_database_name_change_is_a_replacement_of_the_cluster(staging, variant, tmp_path, capsys):
    old, new = staging[1]["data"], variant["data"]
    (cluster_id,) = [i for i, r in old["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    v = only(compare(old, new))
    assert (v.logical_id, v.resource_type, v.property, v.old, v.new) == (
        cluster_id, "AWS::RDS::DBCluster", "DatabaseName", "farmer_crm", "farmers",
    )
    assert main(["guard", _write(tmp_path, "old", old), _write(tmp_path, "new", new)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == format_violation(v)
    assert out[0].startswith(f"{cluster_id} (AWS::RDS::DBCluster): change requires replacement")
    assert out[-1].startswith("guard: FAILED — 1 violation")


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


def test_a_construct_id_rename_names_the_cluster_as_probably_renamed(renamed_database, tmp_path, capsys):
    before, after = renamed_database
    violations = {v.logical_id: v for v in compare(before, after)}
    (old_id,) = [i for i, r in before["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    (new_id,) = [i for i, r in after["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    assert old_id.startswith("DatabaseCluster") and new_id.startswith("FarmerDatabaseCluster")
    v = violations[old_id]
    assert (v.property, v.old, v.new) == ("logical ID", old_id, new_id)
    assert f'probably renamed from {old_id} to {new_id} (same DBClusterIdentifier "farmer-crm-test")' in v.reason
    # The secret and the key move with it; nothing stateful of the database is silently dropped.
    kinds = {v.resource_type for v in violations.values()}
    assert {"AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::SecretsManager::Secret", "AWS::KMS::Key"} <= kinds

    assert main(["guard", _write(tmp_path, "before", before), _write(tmp_path, "after", after)]) != 0
    out = capsys.readouterr().out
    assert f"{old_id} (AWS::RDS::DBCluster): probably renamed from {old_id} to {new_id}" in out


# ----------------------------------------------------------------------------------------------------------------
# CLI: two files
# ----------------------------------------------------------------------------------------------------------------


def assert_one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_cli_two_files_exit_codes(tmp_path, capsys):
    old = _write(tmp_path, "old", base())
    safe = _write(tmp_path, "safe", SAFE_CHANGES["desired count"](base()))
    unsafe = _write(tmp_path, "unsafe", with_resource(base(), "Key", DeletionPolicy="Delete"))

    assert main(["guard", old, safe]) == 0
    assert capsys.readouterr().out == (
        "guard: OK — no stateful resource would be deleted or replaced (3 stateful resources checked)\n"
    )

    assert main(["guard", old, unsafe]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Key (AWS::KMS::Key): DeletionPolicy weakened from Retain to Delete")
    assert out[0].endswith('— DeletionPolicy: "Retain" -> "Delete"')
    assert out[1] == "guard: FAILED — 1 violation: stateful resources would be deleted or replaced"


@pytest.mark.parametrize(
    "content, fragment",
    [(None, "template not found"), ("{nope", "not valid JSON"), ('{"Parameters": {}}', "no Resources object")],
)
def test_cli_bad_input_is_exit_2_and_one_error_line(tmp_path, capsys, content, fragment):
    new = tmp_path / "new.json"
    if content is not None:
        new.write_text(content)
    assert main(["guard", _write(tmp_path, "old", base()), str(new)]) == 2
    assert fragment in assert_one_error_line(capsys)


@pytest.mark.parametrize("argv", [["guard"], ["guard", "a.json"], ["guard", "a.json", "--cdk-out", "cdk.out"]])
def test_cli_needs_two_files_or_a_cloud_assembly(capsys, argv):
    assert main(argv) == 2
    assert_one_error_line(capsys)


def test_cli_json_output(tmp_path, capsys):
    old = _write(tmp_path, "old", base())
    new = _write(tmp_path, "new", with_resource(base(), "Database", Properties={"DatabaseName": "farmers"}))
    assert main(["guard", old, new, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["safe"], data["exit_code"], data["violation_count"]) == (False, 1, 1)
    (violation,) = data["stacks"][0]["violations"]
    assert violation["logical_id"] == "Database" and violation["property"] == "DatabaseName"
    assert violation["old"] == "farmer_crm" and violation["new"] == "farmers"


# ----------------------------------------------------------------------------------------------------------------
# CLI: --cdk-out against deployed stacks (botocore Stubber, no AWS)
# ----------------------------------------------------------------------------------------------------------------


def _stubbed_client():
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def _deployed_with_old_cluster_id(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The data template as it would have been deployed when the cluster's logical ID was another one."""
    (cluster_id,) = [i for i, r in data["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    text = json.dumps(data).replace(f'"{cluster_id}"', '"LegacyFarmerCrmCluster"')
    return json.loads(text), cluster_id


def test_cdk_out_identical_renamed_and_new_stacks(staging, monkeypatch, capsys):
    _, templates, built = staging
    cdk_out = built.outdir
    artifacts, _ = stateful_guard.read_cloud_assembly(cdk_out)
    by_id = {a.artifact_id: a for a in artifacts}
    network, data, service = (by_id[getattr(built, n).artifact_id] for n in STACKS)
    assert network.stack_name == "ava-olo-staging-network" and network.region == "us-east-1"

    deployed_data, cluster_id = _deployed_with_old_cluster_id(templates["data"])
    responses = {
        network.stack_name: {"TemplateBody": json.dumps(templates["network"])},
        data.stack_name: {"TemplateBody": json.dumps(deployed_data)},
    }
    client, stubber = _stubbed_client()
    for artifact in artifacts:
        params = {"StackName": artifact.stack_name, "TemplateStage": "Original"}
        if artifact.stack_name in responses:
            stubber.add_response("get_template", responses[artifact.stack_name], params)
        else:
            stubber.add_client_error(
                "get_template", "ValidationError", f"Stack with id {artifact.stack_name} does not exist",
                400, expected_params=params,
            )
    regions = []
    monkeypatch.setattr(stateful_guard, "cloudformation_client", lambda region, profile: regions.append(region) or client)

    with stubber:
        assert main(["guard", "--cdk-out", str(cdk_out)]) == 1
        stubber.assert_no_pending_responses()
    assert set(regions) == {"us-east-1"}
    out = capsys.readouterr().out
    assert "stack ava-olo-staging-network (StagingNetwork, us-east-1): safe" in out
    assert "stack ava-olo-staging-data (StagingData, us-east-1): 2 violations" in out
    assert (
        f"LegacyFarmerCrmCluster (AWS::RDS::DBCluster): probably renamed from LegacyFarmerCrmCluster to "
        f'{cluster_id} (same DBClusterIdentifier "farmer-crm-staging")'
    ) in out
    # ...and the writer follows its cluster: its DBClusterIdentifier Ref now points elsewhere.
    assert f'DBClusterIdentifier: {{"Ref":"LegacyFarmerCrmCluster"}} -> {{"Ref":"{cluster_id}"}}' in out
    assert "stack ava-olo-staging-service (StagingService, us-east-1): new stack, not deployed yet" in out
    assert out.strip().splitlines()[-1] == "guard: FAILED — 2 violations in 1 of 3 stacks (1 new)"


def test_cdk_out_yaml_deployed_template_is_reported_as_unsupported(staging, monkeypatch, capsys):
    cdk_out = staging[2].outdir
    artifacts, _ = stateful_guard.read_cloud_assembly(cdk_out)
    client, stubber = _stubbed_client()
    for artifact in artifacts:
        stubber.add_response("get_template", {"TemplateBody": "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"})
    monkeypatch.setattr(stateful_guard, "cloudformation_client", lambda region, profile: client)
    with stubber:
        assert main(["guard", "--cdk-out", str(cdk_out), "--region", "eu-west-1"]) == 2
    captured = capsys.readouterr()
    assert "NOT VERIFIED: the deployed template is YAML" in captured.out
    assert captured.err.startswith("error: 3 stack(s) could not be verified") and len(captured.err.splitlines()) == 1


def test_cdk_out_without_credentials_is_one_line_of_guidance(staging, monkeypatch, capsys):
    class NoCredentials:
        def get_template(self, **_: Any) -> None:
            raise NoCredentialsError()

    monkeypatch.setattr(stateful_guard, "cloudformation_client", lambda region, profile: NoCredentials())
    assert main(["guard", "--cdk-out", str(staging[2].outdir)]) == 2
    line = assert_one_error_line(capsys)
    assert "no AWS credentials" in line and "--profile" in line


@pytest.mark.parametrize(
    "manifest, fragment", [(None, "manifest not found"), ('{"artifacts": {}}', "no CloudFormation stack")]
)
def test_cdk_out_bad_assembly_is_exit_2(tmp_path, capsys, manifest, fragment):
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    assert main(["guard", "--cdk-out", str(tmp_path)]) == 2
    assert fragment in assert_one_error_line(capsys)
