"""cdk-nag acknowledgements: the exact set per stack is pinned (a new one is a reviewed change) and every one
carries a reason a reviewer can judge."""

from __future__ import annotations

import pytest

from ava_olo_constructs import PropsError, acknowledge, acknowledgements

MONITORING_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
EXPECTED = {
    "Network": set(),
    "Data": {
        ("Database/Cluster/MonitoringRole", f"AwsSolutions-IAM4[Policy::{MONITORING_POLICY}]"),
        ("EncryptionKey/Secret", "AwsSolutions-SMG4"),
    },
    "Service": {
        ("WebService/LoadBalancer/SecurityGroup", "AwsSolutions-EC23"),
        ("WebService/AccessLogs/Bucket", "AwsSolutions-S1"),
        ("WebService/Service/TaskDef", "AwsSolutions-ECS2"),
        ("WebService/Service/TaskDef/ExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
    },
}


def test_acknowledged_cdk_nag_rules_per_stack_are_exactly_the_reviewed_ones(each_environment):
    for stack in each_environment.stacks.all:
        purpose = stack.node.id.removeprefix(each_environment.config.title)
        found = {(path.split("/", 1)[1], rule) for path, rule, _ in acknowledgements(stack)}
        expected = set(EXPECTED[purpose])
        if purpose == "Data" and not each_environment.config.database.deletion_protection:
            expected.add(("Database/Cluster", "AwsSolutions-RDS10"))
        assert found == expected, stack.stack_name


def test_only_environments_that_are_torn_down_routinely_skip_database_deletion_protection(project):
    unprotected = {name for name, env in project.environments.items() if not env.config.database.deletion_protection}
    assert unprotected == {"sandbox", "dev"}


def test_every_acknowledgement_has_a_reason_of_at_least_a_sentence(each_environment):
    for stack in each_environment.stacks.all:
        for path, rule, reason in acknowledgements(stack):
            assert len(reason) >= 40 and reason.endswith("."), f"{path} {rule}: {reason!r}"


def test_acknowledge_refuses_a_reason_that_is_not_a_sentence():
    from aws_cdk import App, Stack

    stack = Stack(App(), "S")
    with pytest.raises(PropsError, match="reason"):
        acknowledge(stack, "AwsSolutions-EC23", "needed")
