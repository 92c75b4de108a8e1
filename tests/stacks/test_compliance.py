"""cdk-nag (AwsSolutions + NIST 800-53 R5) acknowledgements: the exact set per stack is pinned here, so a new
acknowledgement is a visible, reviewed change; every one carries a reason a reviewer can judge; and every one
still suppresses a real finding (a stale acknowledgement fails too)."""

from __future__ import annotations

import json

import pytest

from ava_olo_constructs import PropsError, acknowledge, acknowledgements

MONITORING_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
BACKUP_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
NIST = "NIST.800.53.R5-"
AWS_API_FUNCTION = "AWSb4cf1abd4e4f4bc699441af7ccd9ec37"
LAMBDA_BASIC_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def expected_acknowledgements(env, purpose: str) -> set[tuple[str, str]]:
    config = env.config
    if purpose == "Network":
        routes = {(f"Network/Vpc/publicSubnet{i}/DefaultRoute", NIST + "VPCNoUnrestrictedRouteToIGW") for i in range(1, config.az_count + 1)}
        return {("Network/Vpc/FlowLog/IAMRole", NIST + "IAMNoInlinePolicy")} | routes
    if purpose == "Data":
        expected = {
            ("Database/BackupPlan/Cluster", f"AwsSolutions-IAM4[Policy::{BACKUP_POLICY}]"),
            ("Database/Cluster", NIST + "RDSInBackupPlan"),
            ("Database/Cluster/MonitoringRole", f"AwsSolutions-IAM4[Policy::{MONITORING_POLICY}]"),
            ("EncryptionKey/Generator", NIST + "LambdaConcurrency"),
            ("EncryptionKey/Generator", NIST + "LambdaDLQ"),
            ("EncryptionKey/Generator", NIST + "LambdaInsideVPC"),
            ("EncryptionKey/GeneratorRole", NIST + "IAMNoInlinePolicy"),
            ("EncryptionKey/Secret", "AwsSolutions-SMG4"),
            ("EncryptionKey/Secret", NIST + "SecretsManagerRotationEnabled"),
        }
        if not config.database.deletion_protection:
            expected |= {("Database/Cluster", "AwsSolutions-RDS10"), ("Database/Cluster", NIST + "RDSInstanceDeletionProtectionEnabled")}
        return expected
    expected = {
        ("WebService/AccessLogs/Bucket", "AwsSolutions-S1"),
        ("WebService/AccessLogs/Bucket", NIST + "S3BucketLoggingEnabled"),
        ("WebService/AccessLogs/Bucket", NIST + "S3BucketReplicationEnabled"),
        ("WebService/AccessLogs/Bucket", NIST + "S3DefaultEncryptionKMS"),
        ("WebService/LoadBalancer/SecurityGroup", "AwsSolutions-EC23"),
        ("WebService/Service/TaskDef", "AwsSolutions-ECS2"),
        ("WebService/Service/TaskDef/ExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        ("WebService/Service/TaskDef/ExecutionRole", NIST + "IAMNoInlinePolicy"),
        ("Migration/TaskDef/ExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        ("Migration/TaskDef/ExecutionRole", NIST + "IAMNoInlinePolicy"),
        # CDK's AwsApi target (RedeployOnSecretRotation) runs in a stack-level singleton function.
        (f"{AWS_API_FUNCTION}/ServiceRole", f"AwsSolutions-IAM4[Policy::{LAMBDA_BASIC_POLICY}]"),
        (f"{AWS_API_FUNCTION}/ServiceRole", NIST + "IAMNoInlinePolicy"),
        (AWS_API_FUNCTION, NIST + "LambdaConcurrency"),
        (AWS_API_FUNCTION, NIST + "LambdaDLQ"),
        (AWS_API_FUNCTION, NIST + "LambdaInsideVPC"),
    }
    if config.https:
        expected.add(("WebService/LoadBalancer/PublicRedirectListener", NIST + "ELBv2ACMCertificateRequired"))
    else:
        expected |= {
            ("WebService/LoadBalancer/PublicListener", NIST + "ALBHttpToHttpsRedirection"),
            ("WebService/LoadBalancer/PublicListener", NIST + "ELBv2ACMCertificateRequired"),
        }
    if not config.load_balancer_deletion_protection:
        expected.add(("WebService/LoadBalancer", NIST + "ELBDeletionProtectionEnabled"))
    return expected


def test_acknowledged_cdk_nag_rules_per_stack_are_exactly_the_reviewed_ones(each_environment):
    for stack in each_environment.stacks.all:
        purpose = stack.node.id.removeprefix(each_environment.config.title)
        found = {(path.split("/", 1)[1], rule) for path, rule, _ in acknowledgements(stack)}
        assert found == expected_acknowledgements(each_environment, purpose), stack.stack_name


def test_production_acknowledges_no_plain_http_and_no_missing_deletion_protection(production):
    rules = {rule for stack in production.stacks.all for _, rule, _ in acknowledgements(stack)}
    for rule in ("ALBHttpToHttpsRedirection", "ELBDeletionProtectionEnabled", "RDSInstanceDeletionProtectionEnabled"):
        assert NIST + rule not in rules
    assert "AwsSolutions-RDS10" not in rules


def test_only_environments_that_are_torn_down_routinely_skip_database_deletion_protection(project):
    unprotected = {name for name, env in project.environments.items() if not env.config.database.deletion_protection}
    assert unprotected == {"sandbox", "dev"}


def test_every_acknowledgement_has_a_reason_of_at_least_a_sentence(each_environment):
    for stack in each_environment.stacks.all:
        for path, rule, reason in acknowledgements(stack):
            assert len(reason) >= 40 and reason.endswith("."), f"{path} {rule}: {reason!r}"


def test_both_packs_ran_and_every_acknowledgement_suppresses_a_real_finding(project):
    report = json.loads((project.outdir / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "NIST.800.53.R5"}
    suppressed = set()
    for name, plugin in plugins.items():
        assert plugin["conclusion"] == "success" and plugin["violations"] == [], name
        for violation in plugin["suppressedViolations"]:
            for construct in violation["violatingConstructs"]:
                suppressed.add((construct["constructPath"], violation["ruleName"]))
    stacks = [s for env in project.environments.values() for s in env.stacks.all]
    stacks += [stack for stack, _ in project.deliveries.values()]
    for stack in stacks:
        for path, rule, _ in acknowledgements(stack):
            assert any(p == path or p.startswith(path + "/") for p, r in suppressed if r == rule), f"stale: {path} {rule}"


def test_acknowledge_refuses_a_reason_that_is_not_a_sentence():
    from aws_cdk import App, Stack

    stack = Stack(App(), "S")
    with pytest.raises(PropsError, match="reason"):
        acknowledge(stack, "AwsSolutions-EC23", "needed")


def test_delivery_acknowledgements_are_exactly_the_reviewed_ones(project):
    bootstrap = "arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-{}-role-<AWS::AccountId>-*"
    expected = {
        ("GitHub/ReadOnlyRole", f"AwsSolutions-IAM5[Resource::{bootstrap.format('lookup')}]"),
        ("GitHub/ReadOnlyRole", NIST + "IAMNoInlinePolicy"),
        ("GitHub/DeployRole", NIST + "IAMNoInlinePolicy"),
        # ecr:GetAuthorizationToken: only the image-push role touches ECR (the deploy role no longer does).
        ("GitHub/ImagePushRole", "AwsSolutions-IAM5[Resource::*]"),
        ("GitHub/ImagePushRole", NIST + "IAMNoInlinePolicy"),
    } | {
        (f"GitHub/{role}", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/ava-olo-*/*]")
        for role in ("ReadOnlyRole", "DeployRole")
    } | {
        ("GitHub/DeployRole", f"AwsSolutions-IAM5[Resource::{bootstrap.format(kind)}]")
        for kind in ("deploy", "file-publishing", "image-publishing", "lookup")
    }
    for stack, _ in project.deliveries.values():
        found = {(path.split("/", 1)[1], rule) for path, rule, _ in acknowledgements(stack)}
        assert found == expected
        for path, rule, reason in acknowledgements(stack):
            assert len(reason) >= 40 and reason.endswith("."), f"{path} {rule}"
