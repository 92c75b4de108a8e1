"""cdk-nag (AwsSolutions + NIST 800-53 R5) acknowledgements: the exact set per stack is pinned here, so a new
acknowledgement is a visible, reviewed change; every one carries a reason a reviewer can judge; and every one
still suppresses a real finding (a stale acknowledgement fails too)."""

from __future__ import annotations

import json

import pytest

from ava_olo_constructs import PropsError, acknowledge
from tests.conftest import acknowledgements

MONITORING_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
BACKUP_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
NIST = "NIST.800.53.R5-"
AWS_API_FUNCTION = "AWSb4cf1abd4e4f4bc699441af7ccd9ec37"
LOAD_BALANCER_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonECSInfrastructureRolePolicyForLoadBalancers"
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
        ("Default/WebService/AccessLogs/Bucket", "AwsSolutions-S1"),
        ("Default/WebService/AccessLogs/Bucket", NIST + "S3BucketLoggingEnabled"),
        ("Default/WebService/AccessLogs/Bucket", NIST + "S3BucketReplicationEnabled"),
        ("Default/WebService/AccessLogs/Bucket", NIST + "S3DefaultEncryptionKMS"),
        ("Default/WebService/LoadBalancer/SecurityGroup", "AwsSolutions-EC23"),
        ("Default/WebService/Service/TaskDef", "AwsSolutions-ECS2"),
        ("Default/WebService/Service/TaskDef/ExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        ("Default/WebService/Service/TaskDef/ExecutionRole", NIST + "IAMNoInlinePolicy"),
        ("Default/Migration/TaskDef/ExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        ("Default/Migration/TaskDef/ExecutionRole", NIST + "IAMNoInlinePolicy"),
        # CDK's AwsApi target (RedeployOnSecretRotation) runs in a stack-level singleton function.
        (f"{AWS_API_FUNCTION}/ServiceRole", f"AwsSolutions-IAM4[Policy::{LAMBDA_BASIC_POLICY}]"),
        (f"{AWS_API_FUNCTION}/ServiceRole", NIST + "IAMNoInlinePolicy"),
        (AWS_API_FUNCTION, NIST + "LambdaConcurrency"),
        (AWS_API_FUNCTION, NIST + "LambdaDLQ"),
        (AWS_API_FUNCTION, NIST + "LambdaInsideVPC"),
    }
    if config.https:
        expected.add(("Default/WebService/LoadBalancer/PublicRedirectListener", NIST + "ELBv2ACMCertificateRequired"))
    else:
        # Only an environment that keeps no real data may say allow_plain_http (issue 11); staging may not.
        assert config.allow_plain_http and not config.retain_data and config.name in ("sandbox", "dev")
        expected |= {
            ("Default/WebService/LoadBalancer/PublicListener", NIST + "ALBHttpToHttpsRedirection"),
            ("Default/WebService/LoadBalancer/PublicListener", NIST + "ELBv2ACMCertificateRequired"),
        }
    if not config.load_balancer_deletion_protection:
        expected.add(("Default/WebService/LoadBalancer", NIST + "ELBDeletionProtectionEnabled"))
    if config.deployment.strategy != "rolling":  # the blue/green family: test listener, pre-traffic check, ECS role
        expected |= {
            ("Default/WebService/DeploymentRole", f"AwsSolutions-IAM4[Policy::{LOAD_BALANCER_POLICY}]"),
            ("Default/WebService/PreTrafficCheck/Role", "AwsSolutions-IAM5[Resource::*]"),
            ("Default/WebService/PreTrafficCheck/Role", NIST + "IAMNoInlinePolicy"),
            ("Default/WebService/PreTrafficCheck/HookRole", NIST + "IAMNoInlinePolicy"),
            ("Default/WebService/PreTrafficCheck/Function", NIST + "LambdaConcurrency"),
            ("Default/WebService/PreTrafficCheck/Function", NIST + "LambdaDLQ"),
        }
        for index in range(1, config.nat_gateways + 1):
            for rule in ("AwsSolutions-EC23", NIST + "EC2RestrictedCommonPorts", NIST + "EC2RestrictedSSH"):
                expected.add((f"Default/WebService/TestListenerFromNat{index}", rule))
    return expected


def test_acknowledged_cdk_nag_rules_per_stack_are_exactly_the_reviewed_ones(each_environment):
    for stack in each_environment.stacks.all:
        purpose = stack.node.id.removeprefix(each_environment.config.title)
        found = {(path.split("/", 1)[1], rule) for path, rule, _ in acknowledgements(stack)}
        assert found == expected_acknowledgements(each_environment, purpose), stack.stack_name


def test_the_assembly_carries_exactly_the_acknowledgements_the_construct_tree_holds(project):
    """The compliance tests read acknowledgements from the cloud assembly (cheap); the library's
    ``acknowledgements()`` walks the construct tree. Both must agree (checked on the smallest stacks)."""
    from ava_olo_constructs import acknowledgements as from_the_tree

    for stack in (project.environments["sandbox"].stacks.network, project.deliveries["main"][0]):
        assert from_the_tree(stack) == acknowledgements(stack) != [], stack.stack_name


def test_environments_with_real_data_acknowledge_no_plain_http(project):
    for name in ("staging", "production"):
        rules = {(path.split("/", 1)[1], rule) for s in project.environments[name].stacks.all for path, rule, _ in acknowledgements(s)}
        assert ("Default/WebService/LoadBalancer/PublicListener", NIST + "ALBHttpToHttpsRedirection") not in rules, name
        assert ("Default/WebService/LoadBalancer/PublicListener", NIST + "ELBv2ACMCertificateRequired") not in rules, name


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
    # A pack appears in the report only with findings or acknowledgements; AvaOlo has none in this project.
    # "Construct Annotations": the delivery stack's warning that staging and production share bootstrap roles.
    assert {"AwsSolutions", "NIST.800.53.R5"} <= set(plugins) - {"Construct Annotations"} <= {"AwsSolutions", "NIST.800.53.R5", "AvaOlo"}
    suppressed = set()
    for name, plugin in plugins.items():
        if name == "Construct Annotations":
            assert {v["ruleName"] for v in plugin["violations"]} <= {"Annotation::ava-olo:shared-bootstrap-roles"}
            continue
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

    stack = Stack(App(builtin_cloud_formation_validation=False), "S")
    with pytest.raises(PropsError, match="reason"):
        acknowledge(stack, "AwsSolutions-EC23", "needed")


def test_delivery_acknowledgements_are_exactly_the_reviewed_ones(project):
    lookup = "arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-lookup-role-<AWS::AccountId>-*"
    expected = {
        ("GitHub/ReadOnlyRole", f"AwsSolutions-IAM5[Resource::{lookup}]"),
        ("GitHub/ReadOnlyRole", NIST + "IAMNoInlinePolicy"),
        ("GitHub/ReadOnlyRole", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/ava-olo-*/*]"),
        # ecr:GetAuthorizationToken: only the image-push role (the deploy roles only DescribeImages, on the repository).
        ("GitHub/ImagePushRole", "AwsSolutions-IAM5[Resource::*]"),
        ("GitHub/ImagePushRole", NIST + "IAMNoInlinePolicy"),
    } | {
        # The deploy roles assume exact bootstrap role ARNs (no wildcard to acknowledge); only their own stacks' ids.
        (f"GitHub/DeployRole-{env}", f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:us-east-1:<AWS::AccountId>:stack/ava-olo-{env}-*/*]")
        for env in ("staging", "production")
    } | {(f"GitHub/DeployRole-{env}", NIST + "IAMNoInlinePolicy") for env in ("staging", "production")}
    # The release path's own calls (github_oidc.release_statements): ids ECS/RDS/CloudFormation assign, the
    # service's SSM prefix, certificates read at deploy time, and read-only actions without resource-level permissions.
    for env, (cluster, service, family, log_group) in {
        "staging": ("ava-olo-staging", "monitoring-dashboards-staging", "ava-olo-monitoring-dashboards-staging-migrate",
                    "/ecs/monitoring-dashboards-staging-migrate"),
        "production": ("ava-olo-production", "monitoring-dashboards", "ava-olo-monitoring-task-migrate",
                       "/ecs/monitoring-dashboards-migrate"),
    }.items():
        arn = f"arn:<AWS::Partition>:{{}}:us-east-1:<AWS::AccountId>:{{}}"
        resources = [
            arn.format("ecs", f"service-deployment/{cluster}/{service}/*"),
            arn.format("ecs", f"service-revision/{cluster}/{service}/*"),
            arn.format("ecs", f"task-definition/{family}:*"),
            arn.format("ecs", f"task/{cluster}/*"),
            arn.format("logs", f"log-group:{log_group}:*"),
            arn.format("rds", f"cluster-snapshot:{env}-v*"),
            arn.format("rds", "db:*"),
            arn.format("ssm", f"parameter/ava-olo/{env}/monitoring-dashboards/*"),
            arn.format("acm", "certificate/*"),
            "*",
        ] + ([arn.format("cloudformation", "stack/ava-olo-staging-service/*")] if env == "production" else [])
        expected |= {(f"GitHub/DeployRole-{env}", f"AwsSolutions-IAM5[Resource::{r}]") for r in resources}
    for stack, _ in project.deliveries.values():
        found = {(path.split("/", 1)[1], rule) for path, rule, _ in acknowledgements(stack)}
        assert found == expected
        for path, rule, reason in acknowledgements(stack):
            assert len(reason) >= 40 and reason.endswith("."), f"{path} {rule}"


def test_every_environment_and_delivery_stack_passes_the_ava_olo_rule_pack_with_the_projects_policy(project):
    """The session App is ``create_app()``'s, which registers the AvaOlo pack with the project's policy next to
    AwsSolutions and NIST (``test_an_unacknowledged_cdk_nag_finding_fails_synth`` proves each pack runs and fails
    the synthesis): every environment and delivery stack is in that App, and its ``synth()`` did not raise."""
    from stacks.composition import COMPLIANCE_PACKS, POLICY

    assert "AvaOlo" in COMPLIANCE_PACKS and POLICY is not None
    report = json.loads((project.outdir / "validation-report.json").read_text())
    assert not [v for p in report["pluginReports"] if p["pluginName"] == "AvaOlo" for v in p["violations"]]
    stacks = [s for env in project.environments.values() for s in env.stacks.all] + [s for s, _ in project.deliveries.values()]
    assert len(stacks) == 3 * len(project.environments) + len(project.deliveries)
    assert all(s.node.root is project.environments["production"].stacks.service.node.root for s in stacks)
