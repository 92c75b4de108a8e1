"""AvaOlo-StatefulDeletionPolicy: data-holding resources keep their data on stack deletion and on replacement."""

from __future__ import annotations

import pytest
from aws_cdk import CfnDeletionPolicy, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3

from ava_olo_constructs import AvaOloChecksProps
from ava_olo_constructs.rules import STATEFUL_RESOURCE_TYPES

from .helpers import findings, new_stack

RULE = "AvaOlo-StatefulDeletionPolicy"


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    s3.Bucket(stack, "RetainedBucket")  # CDK's L2 default: Retain
    s3.Bucket(stack, "DestroyedBucket", removal_policy=RemovalPolicy.DESTROY)
    snapshot = rds.CfnDBCluster(stack, "SnapshotCluster", engine="aurora-postgresql",
                                preferred_backup_window="02:00-02:30", preferred_maintenance_window="sun:03:00-sun:03:30")
    snapshot.cfn_options.deletion_policy = snapshot.cfn_options.update_replace_policy = CfnDeletionPolicy.SNAPSHOT
    rds.CfnDBCluster(stack, "DefaultCluster", engine="aurora-postgresql")
    half = dynamodb.CfnTable(stack, "ReplaceDeletes", key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="id", key_type="HASH")])
    half.cfn_options.deletion_policy = CfnDeletionPolicy.RETAIN
    rds.CfnDBInstance(stack, "AuroraMember", db_instance_class="db.r6g.large", db_cluster_identifier="c")
    return stack


def test_retained_or_snapshotted_data_is_compliant(stack):
    result = findings(stack)
    for construct in ("RetainedBucket", "SnapshotCluster", "AuroraMember"):
        assert not any(r.startswith(RULE) for r in result.get(construct, set())), construct


def test_deleting_or_replacing_away_the_data_is_refused(stack):
    result = findings(stack)
    assert {f"{RULE}[DeletionPolicy Delete]", f"{RULE}[UpdateReplacePolicy Delete]"} <= result["DestroyedBucket"]
    assert f"{RULE}[DeletionPolicy Delete]" in result["DefaultCluster"]
    assert {r for r in result["ReplaceDeletes"] if r.startswith(RULE)} == {f"{RULE}[UpdateReplacePolicy Delete]"}


def test_the_stateful_types_are_a_policy_parameter(stack):
    policy = AvaOloChecksProps(stateful_resource_types=tuple(t for t in STATEFUL_RESOURCE_TYPES if t != "AWS::S3::Bucket"))
    assert "DestroyedBucket" not in findings(stack, policy)
