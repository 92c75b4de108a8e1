"""Delivery (once per account): ECR repository and GitHub OIDC roles. Seed: "ECS Deployment Timeline"
(GitHub Actions -> ECR -> ECS), "Version Tagging Strategy", "Security Best Practices" (no long-lived keys)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Template

from ava_olo_constructs import GitHubDeploymentRoles, GitHubDeploymentRolesProps
from ava_olo_constructs.github_oidc import DeployEnvironment
from ava_olo_constructs.validation import PropsError
from stacks.config.delivery import DELIVERY_DIR, load_delivery, parse_delivery
from stacks.config.errors import ConfigError
from stacks.delivery_stack import DeliveryStack
from tests.conftest import assembly_metadata, only


@pytest.fixture(scope="module")
def delivery(project) -> Template:
    _, template = project.deliveries["main"]
    return Template.from_json(template)


def test_ecr_repository_scans_on_push_has_immutable_tags_and_a_rotating_key(delivery):
    repository = only(delivery.find_resources("AWS::ECR::Repository"))
    props = repository["Properties"]
    assert props["RepositoryName"] == "ava-olo-monitoring-dashboards"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    key_id = props["EncryptionConfiguration"]["KmsKey"]["Fn::GetAtt"][0]
    assert delivery.find_resources("AWS::KMS::Key")[key_id]["Properties"]["EnableKeyRotation"] is True
    # RetainExceptOnCreate: kept on deletion and replacement; removed (then empty) when the first create fails.
    assert repository["DeletionPolicy"] == "RetainExceptOnCreate" and repository["UpdateReplacePolicy"] == "Retain"


def test_ecr_lifecycle_expires_untagged_images_and_keeps_the_last_release_images(delivery):
    props = only(delivery.find_resources("AWS::ECR::Repository"))["Properties"]
    rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    by_status = {r["selection"]["tagStatus"]: r for r in rules}
    untagged = by_status["untagged"]["selection"]
    assert (untagged["countType"], untagged["countNumber"], untagged["countUnit"]) == ("sinceImagePushed", 7, "days")
    tagged = by_status["tagged"]["selection"]
    assert (tagged["tagPrefixList"], tagged["countType"], tagged["countNumber"]) == (["v"], "imageCountMoreThan", 50)


def _role(delivery, name: str) -> dict:
    return next(r["Properties"] for r in delivery.find_resources("AWS::IAM::Role").values() if r["Properties"]["RoleName"] == name)


def _role_statements(delivery, name: str) -> list[dict]:
    role_id = next(k for k, r in delivery.find_resources("AWS::IAM::Role").items() if r["Properties"]["RoleName"] == name)
    return [
        s
        for p in delivery.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_github_oidc_provider_trusts_only_sts_audience(delivery):
    provider = only(delivery.find_resources("AWS::IAM::OIDCProvider"))["Properties"]
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]


def test_readonly_role_is_for_pull_requests_and_can_only_use_the_cdk_lookup_role(delivery):
    statements = _role_statements(delivery, "ava-olo-github-readonly")
    assert [s["Action"] for s in statements] == ["sts:AssumeRole", ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"]]
    assert "lookup-role" in json.dumps(statements[0]["Resource"])
    assert ":stack/ava-olo-*/*" in json.dumps(statements[1]["Resource"])


INFRASTRUCTURE = ["Poljopodrska/ava-olo-cdk"]
APPLICATIONS = ["Poljopodrska/ava-olo-monitoring-dashboards"]
DEPLOY_ENVIRONMENTS = ["staging", "production"]


def _trust(delivery, name: str) -> dict:
    (trust,) = _role(delivery, name)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    return trust["Condition"]


def _exact_subjects(delivery, name: str) -> list[str]:
    """The role's subjects, which must be matched EXACTLY (StringEquals, no StringLike glob)."""
    condition = _trust(delivery, name)
    assert set(condition) == {"StringEquals"}, f"{name}: only exact subjects, no glob ({condition})"
    assert condition["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert set(condition["StringEquals"]) == {"token.actions.githubusercontent.com:aud", "token.actions.githubusercontent.com:sub"}
    return condition["StringEquals"]["token.actions.githubusercontent.com:sub"]


def _actions(statements: list[dict]) -> set[str]:
    return {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}


def test_delivery_config_separates_infrastructure_from_application_repositories():
    config = load_delivery("main", environ={})
    assert list(config.github_repositories) == INFRASTRUCTURE
    assert list(config.github_image_repositories) == APPLICATIONS


def test_one_deploy_role_per_github_environment_trusting_exactly_that_environment(delivery):
    names = sorted(r["Properties"]["RoleName"] for r in delivery.find_resources("AWS::IAM::Role").values())
    assert names == sorted(
        ["ava-olo-github-readonly", "ava-olo-github-image-push"] + [f"ava-olo-github-deploy-{e}" for e in DEPLOY_ENVIRONMENTS]
    ), "no shared deploy role"
    for environment in DEPLOY_ENVIRONMENTS:
        # Exactly the environment's subject: no ref:refs/heads/main, no ref:refs/tags/v* (which also matched vfoo).
        assert _exact_subjects(delivery, f"ava-olo-github-deploy-{environment}") == [
            f"repo:{r}:environment:{environment}" for r in INFRASTRUCTURE
        ]


def test_readonly_role_trusts_exactly_the_infrastructure_pull_requests(delivery):
    assert _exact_subjects(delivery, "ava-olo-github-readonly") == [f"repo:{r}:pull_request" for r in INFRASTRUCTURE]


@pytest.mark.parametrize("environment", DEPLOY_ENVIRONMENTS)
def test_deploy_role_may_only_assume_its_environments_exact_bootstrap_roles(delivery, environment):
    statements = _role_statements(delivery, f"ava-olo-github-deploy-{environment}")
    (assume,) = [s for s in statements if "sts:AssumeRole" in _actions([s])]
    assert assume["Action"] == "sts:AssumeRole"
    partition, account = {"Ref": "AWS::Partition"}, {"Ref": "AWS::AccountId"}  # account from-cli: this account
    region = load_delivery("main", environ={}).region
    assert assume["Resource"] == [
        {"Fn::Join": ["", ["arn:", partition, ":iam::", account, f":role/cdk-hnb659fds-{kind}-role-", account, f"-{region}"]]}
        for kind in ("deploy", "file-publishing", "image-publishing", "lookup")
    ], "exactly this environment's account, region and qualifier: no region wildcard"
    # No ECR push and no CloudFormation write beyond executing change sets: a deploy references an image already
    # in ECR; CDK asset images and change sets go through the bootstrap roles.
    assert not {a for a in _actions(statements) if a.startswith("ecr:") and a != "ecr:DescribeImages"}
    assert not {"cloudformation:CreateChangeSet", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
                "cloudformation:CreateStack"} & _actions(statements)


# --------------------------------------------------------------------------------------------------------------
# The release path (ava-olo deploy --migrate, preflight, watch, verify, rollback, status) with the deploy role's
# OWN credentials: what it may do, on which environment's resources. Policies are evaluated here the way IAM
# matches them (Allow statements, '*' and '?' wildcards, the condition operators these policies use).
# --------------------------------------------------------------------------------------------------------------

ACCOUNT, PARTITION = "123456789012", "aws"


def _resolve(value):
    """A synthesized policy value with the account and partition filled in (the delivery account is from-cli)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolve(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION}[value["Ref"]]
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return value


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict, context: dict) -> bool:
    from fnmatch import fnmatchcase

    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                return False
            if operator in ("StringEquals", "ArnEquals") and context[key] not in _listed(expected):
                return False
            if operator in ("StringLike", "ArnLike") and not any(fnmatchcase(context[key], e) for e in _listed(expected)):
                return False
            if operator not in ("StringEquals", "ArnEquals", "StringLike", "ArnLike"):
                raise AssertionError(f"the test does not evaluate {operator}")
    return True


def allows(statements: list[dict], action: str, resource: str, context: dict | None = None) -> bool:
    from fnmatch import fnmatchcase

    return any(
        s["Effect"] == "Allow"
        and any(fnmatchcase(action, a) for a in _listed(s["Action"]))
        and any(fnmatchcase(resource, r) for r in _listed(_resolve(s["Resource"])))
        and _condition_holds(_resolve(s.get("Condition", {})), context or {})
        for s in statements
    )


def _release_calls(environment: str) -> list[tuple[str, str, dict]]:
    """(IAM action, resource ARN, request context) of every resource-scoped call of the release path in
    ``environment``, with the names its stacks use (environments/<env>.json through the naming helper)."""
    from datetime import datetime, timezone

    from ava_olo_ops.deploy import change_set_name
    from ava_olo_ops.migrate import snapshot_identifier
    from stacks.config import load_environment
    from stacks.service_stack import MIGRATION_EXECUTION_ROLE, MIGRATION_TASK_ROLE, names_for

    config = load_environment(environment, environ={})
    names, region = names_for(config), config.region
    arn = lambda service, resource: f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"  # noqa: E731
    cluster, service = names.cluster_name, names.service_name
    family = f"{config.task_family or names.task_family}-migrate"
    snapshot = snapshot_identifier(environment, "v3.2.0-schema-button-aurora", datetime(2026, 12, 2, 2, 30, tzinfo=timezone.utc))
    prefix = names.parameter_prefix.lstrip("/")
    calls = [(f"cloudformation:{action}", arn("cloudformation", f"stack/{names.stack_name(purpose)}/0a1b2c3d-4e5f"), {})
             for action in ("DescribeChangeSet", "ExecuteChangeSet", "SetStackPolicy", "GetStackPolicy", "GetTemplate",
                            "ListStackResources", "DescribeStacks", "DescribeStackEvents", "DescribeStackResources")
             for purpose in ("network", "data", "service")]
    calls += [
        ("ecs:DescribeServices", arn("ecs", f"service/{cluster}/{service}"), {}),
        ("ecs:ListServiceDeployments", arn("ecs", f"service/{cluster}/{service}"), {}),
        ("ecs:DescribeServiceDeployments", arn("ecs", f"service-deployment/{cluster}/{service}/a1b2c3"), {}),
        ("ecs:StopServiceDeployment", arn("ecs", f"service-deployment/{cluster}/{service}/a1b2c3"), {}),
        ("ecs:DescribeServiceRevisions", arn("ecs", f"service-revision/{cluster}/{service}/4d5e6f"), {}),
        ("ecs:RegisterTaskDefinition", arn("ecs", f"task-definition/{family}:8"), {}),
        ("ecs:TagResource", arn("ecs", f"task-definition/{family}:8"), {"ecs:CreateAction": "RegisterTaskDefinition"}),
        ("ecs:RunTask", arn("ecs", f"task-definition/{family}:8"), {"ecs:cluster": arn("ecs", f"cluster/{cluster}")}),
        ("ecs:DescribeTasks", arn("ecs", f"task/{cluster}/0123456789abcdef"), {}),
        ("logs:FilterLogEvents", arn("logs", f"log-group:{names.log_group_name}-migrate"), {}),
        ("logs:GetLogEvents", arn("logs", f"log-group:{names.log_group_name}-migrate:log-stream:migrate/migrate/0123"), {}),
        ("rds:DescribeDBClusters", arn("rds", f"cluster:{names.database_identifier('farmer-crm')}"), {}),
        ("rds:CreateDBClusterSnapshot", arn("rds", f"cluster:{names.database_identifier('farmer-crm')}"), {}),
        ("rds:CreateDBClusterSnapshot", arn("rds", f"cluster-snapshot:{snapshot}"), {}),
        ("rds:DescribeDBClusterSnapshots", arn("rds", f"cluster-snapshot:{snapshot}"), {}),
        ("ssm:GetParameter", arn("ssm", f"parameter/{prefix}/version"), {}),
        ("ssm:GetParameter", arn("ssm", f"parameter/{prefix}/migration-lock"), {}),
        ("ssm:PutParameter", arn("ssm", f"parameter/{prefix}/migration-lock"), {}),
        ("ssm:DeleteParameter", arn("ssm", f"parameter/{prefix}/migration-lock"), {}),
        ("ssm:PutParameter", arn("ssm", f"parameter/{prefix}/schema-version"), {}),
        ("ssm:GetParameter", arn("ssm", f"parameter{config.https.certificate_arn_parameter}"), {}),
        ("cloudwatch:DescribeAlarms", arn("cloudwatch", f"alarm:{names.alarm_name('new-revision-errors')}"), {}),
        ("ecr:DescribeImages", arn("ecr", f"repository/{config.image.repository}"), {}),
    ]
    calls += [("iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/{names.role_name(purpose)}",
               {"iam:PassedToService": "ecs-tasks.amazonaws.com"}) for purpose in (MIGRATION_TASK_ROLE, MIGRATION_EXECUTION_ROLE)]
    assert change_set_name("v3.2.0").startswith("ava-olo-")  # the change sets are the stacks' (no change set ARN needed)
    return calls


def _other(environment: str) -> str:
    return next(e for e in DEPLOY_ENVIRONMENTS if e != environment)


@pytest.mark.parametrize("environment", DEPLOY_ENVIRONMENTS)
def test_deploy_role_may_run_the_release_path_on_its_own_environments_resources(delivery, environment):
    statements = _role_statements(delivery, f"ava-olo-github-deploy-{environment}")
    denied = [(a, r) for a, r, context in _release_calls(environment) if not allows(statements, a, r, context)]
    assert not denied, f"ava-olo deploy --migrate would fail closed with AccessDenied on {denied}"


#: Read only, and only these: production's migration requires staging's record first (ava-olo migrate --staging);
#: both environments' images are in the account's one repository (the delivery stack's), so both may list its tags.
READS_OF_THE_STAGING_RECORD = {("production", "cloudformation:ListStackResources", "ava-olo-staging-service"),
                               ("production", "ssm:GetParameter", "/schema-version")} | {
    (environment, "ecr:DescribeImages", ":repository/ava-olo-monitoring-dashboards") for environment in DEPLOY_ENVIRONMENTS}


@pytest.mark.parametrize("environment", DEPLOY_ENVIRONMENTS)
def test_deploy_role_cannot_touch_the_other_environments_resources(delivery, environment):
    statements = _role_statements(delivery, f"ava-olo-github-deploy-{environment}")
    reached = [
        (action, resource) for action, resource, context in _release_calls(_other(environment))
        if allows(statements, action, resource, context)
        and not any(e == environment and a == action and part in resource for e, a, part in READS_OF_THE_STAGING_RECORD)
    ]
    assert not reached, f"{environment}'s deploy role reaches {_other(environment)}: {reached}"
    if environment == "production":  # the staging record: read, never written
        record = f"arn:{PARTITION}:ssm:us-east-1:{ACCOUNT}:parameter/ava-olo/staging/monitoring-dashboards/schema-version"
        assert allows(statements, "ssm:GetParameter", record)
        assert not allows(statements, "ssm:PutParameter", record) and not allows(statements, "ssm:DeleteParameter", record)


@pytest.mark.parametrize("environment", DEPLOY_ENVIRONMENTS)
def test_deploy_role_passes_the_migration_roles_only_to_ecs_tasks_and_runs_only_on_its_cluster(delivery, environment):
    statements = _role_statements(delivery, f"ava-olo-github-deploy-{environment}")
    calls = {(a, r): c for a, r, c in _release_calls(environment)}
    for (action, resource), context in calls.items():
        if context:  # without its condition's context (another service, another cluster) IAM does not allow it
            assert not allows(statements, action, resource, {k: "arn:aws:ecs:us-east-1:123456789012:cluster/other"
                                                                if k == "ecs:cluster" else "lambda.amazonaws.com"
                                                                for k in context})
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert all("*" not in r for r in _listed(_resolve(pass_role["Resource"]))), "exact role names only"
    assert len(_listed(pass_role["Resource"])) == 2


def _policies_spec() -> dict:
    """The IAM service authorization reference as cfn-lint bundles it (actions, resource types, ARN formats)."""
    import os

    import cfnlint

    path = os.path.join(os.path.dirname(cfnlint.__file__), "data", "AdditionalSpecs", "Policies.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _called_operations() -> dict[str, set[str]]:
    """{botocore service: operation names} that ops/ava_olo_ops/*.py calls: method calls, paginators and waiters
    named in the code, mapped back to operation names with botocore's own service, paginator and waiter models."""
    import re
    from pathlib import Path

    import botocore.session
    from botocore import xform_name

    import ava_olo_ops

    sources = "\n".join(p.read_text(encoding="utf-8") for p in Path(ava_olo_ops.__file__).parent.glob("*.py"))
    services = set(re.findall(r"""(?:client|Session\([^)]*\)\.client)\(\s*["']([a-z0-9-]+)["']""", sources))
    words = set(re.findall(r"\.([a-z][a-z0-9_]*)\(", sources)) | set(re.findall(r"""["']([a-z][a-z0-9_]*)["']""", sources))
    session = botocore.session.get_session()
    called: dict[str, set[str]] = {}
    for service in services:
        model = session.get_service_model(service)
        operations = {xform_name(name): name for name in model.operation_names}
        found = {operations[w] for w in words if w in operations}
        try:
            waiters = session.get_waiter_model(service)
            found |= {waiters.get_waiter(n).operation for n in waiters.waiter_names if xform_name(n) in words}
        except Exception:  # noqa: BLE001  (a service without waiters)
            pass
        called[service] = found
    return called


def _iam_prefix(service: str, spec: dict) -> str:
    """The IAM service prefix of a botocore service: its name, signing name or endpoint prefix that the
    authorization reference knows (cloudwatch -> cloudwatch, elbv2 -> elasticloadbalancing)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    candidates = [service, model.signing_name, model.endpoint_prefix]
    return next(c for c in candidates if c in spec)


def test_every_aws_api_the_operator_tool_calls_is_allowed_to_each_deploy_role(delivery):
    spec = _policies_spec()
    called = _called_operations()
    assert {"cloudformation", "ecs", "rds", "ssm", "logs", "cloudwatch", "ecr", "acm", "ec2", "elbv2"} <= set(called)
    assert "ExecuteChangeSet" in called["cloudformation"] and "RunTask" in called["ecs"], "the grep found the calls"
    # An operation name that several called services share (ecr/ec2 DescribeImages) needs only one of them.
    required: dict[str, set[str]] = {}
    for service, operations in called.items():
        prefix = _iam_prefix(service, spec)
        for operation in operations:
            assert operation.lower() in spec[prefix]["Actions"], f"{prefix}:{operation} is not an IAM action"
            required.setdefault(operation, set()).add(f"{prefix}:{operation}")
    for environment in DEPLOY_ENVIRONMENTS:
        granted = _actions(_role_statements(delivery, f"ava-olo-github-deploy-{environment}"))
        missing = sorted(" or ".join(sorted(actions)) for actions in required.values() if not actions & granted)
        assert not missing, f"ava-olo-github-deploy-{environment} lacks {missing}"


@pytest.mark.parametrize("environment", DEPLOY_ENVIRONMENTS)
def test_deploy_role_resources_are_of_the_types_each_action_supports_and_star_only_without_any(delivery, environment):
    import re

    spec = _policies_spec()
    for statement in _role_statements(delivery, f"ava-olo-github-deploy-{environment}"):
        resources = _listed(_resolve(statement["Resource"]))
        for action in _listed(statement["Action"]):
            prefix, name = action.split(":")
            types = spec[prefix]["Actions"][name.lower()].get("Resources", [])
            if not types:
                assert resources == ["*"], f"{action} has no resource-level permissions: Resource must be '*'"
                continue
            formats = [f.replace("${Partition}", PARTITION).replace("${Region}", "[a-z0-9-]+").replace("${Account}", "\\d{12}")
                       for t in types for f in spec[prefix]["Resources"][t]["ARNFormats"]]
            for resource in resources:
                assert resource != "*", f"{action} supports resource-level permissions ({types}): no '*'"
                assert any(re.fullmatch(f, resource) for f in formats), f"{action}: {resource} is none of {types}"


def test_deploy_roles_of_environments_in_other_accounts_reach_only_that_accounts_bootstrap_roles():
    stack = Stack(App(builtin_cloud_formation_validation=False, tree_metadata=False), "Roles", env={"account": "111111111111", "region": "eu-central-1"})
    roles = GitHubDeploymentRoles(
        stack,
        "GitHub",
        GitHubDeploymentRolesProps(
            repositories=["owner/infra"],
            image_repository=ecr.Repository(stack, "Repository"),
            deploy_environments=[
                DeployEnvironment("staging"),
                DeployEnvironment("production", account="222222222222", region="eu-west-1", cdk_qualifier="prod"),
            ],
        ),
    )
    template = Template.from_stack(stack)
    policies = {json.dumps(p["Properties"]["Roles"]): p["Properties"]["PolicyDocument"] for p in template.find_resources("AWS::IAM::Policy").values()}
    production = json.dumps(policies[json.dumps([{"Ref": stack.get_logical_id(roles.deploy_roles["production"].node.default_child)}])])
    staging = json.dumps(policies[json.dumps([{"Ref": stack.get_logical_id(roles.deploy_roles["staging"].node.default_child)}])])
    assert "role/cdk-prod-deploy-role-222222222222-eu-west-1" in production and "111111111111" not in production
    assert "role/cdk-hnb659fds-deploy-role-111111111111-eu-central-1" in staging and "222222222222" not in staging
    stack.node.root.synth()
    assert not [data for _, data in assembly_metadata(stack, "aws:cdk:warning") if "same CDK bootstrap roles" in str(data)]


def test_environments_sharing_bootstrap_roles_are_reported_because_their_roles_are_interchangeable(project):
    stack, _ = project.deliveries["main"]
    warnings = [data for _, data in assembly_metadata(stack, "aws:cdk:warning")]
    assert any("staging and production deploy through the same CDK bootstrap roles" in str(w) for w in warnings), warnings


def test_image_push_role_trusts_only_application_repositories_inside_the_reusable_build_workflow(delivery):
    role = _role(delivery, "ava-olo-github-image-push")
    assert role["MaxSessionDuration"] == 3600
    condition = _trust(delivery, "ava-olo-github-image-push")
    assert condition["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert set(condition) == {"StringEquals", "StringLike"}
    assert sorted(condition["StringLike"]["token.actions.githubusercontent.com:sub"]) == sorted(
        f"repo:{app}:ref:{ref}:job_workflow_ref:{infra}/.github/workflows/build-image.yml@refs/tags/v*"
        for app in APPLICATIONS for ref in ("refs/heads/main", "refs/tags/v*") for infra in INFRASTRUCTURE
    )  # fmt: skip


def test_image_push_role_can_only_pull_and_push_the_service_repository(delivery):
    statements = _role_statements(delivery, "ava-olo-github-image-push")
    assert all(s["Effect"] == "Allow" for s in statements)
    assert all(a.startswith("ecr:") for a in _actions(statements)), "no sts:AssumeRole, no CloudFormation"
    (repository_id,) = delivery.find_resources("AWS::ECR::Repository")
    (token,) = [s for s in statements if s["Resource"] == "*"]
    assert token["Action"] == "ecr:GetAuthorizationToken"
    (push,) = [s for s in statements if s is not token]
    assert push["Resource"] == {"Fn::GetAtt": [repository_id, "Arn"]}
    assert set(push["Action"]) == {
        "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",  # pull
        "ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",  # push
    }
    # Nothing else in the account refers to the role (no other grant, no managed policy).
    props = _role(delivery, "ava-olo-github-image-push")
    assert "ManagedPolicyArns" not in props and "Policies" not in props


def test_delivery_outputs_every_role_arn(delivery):
    outputs = delivery.to_json()["Outputs"]
    for output, name in (("ReadOnlyRoleArn", "ava-olo-github-readonly"),
                         ("DeployRoleArnStaging", "ava-olo-github-deploy-staging"),
                         ("DeployRoleArnProduction", "ava-olo-github-deploy-production"),
                         ("ImagePushRoleArn", "ava-olo-github-image-push")):
        role_id = next(k for k, r in delivery.find_resources("AWS::IAM::Role").items() if r["Properties"]["RoleName"] == name)
        assert outputs[output]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}


def _raw_delivery(**changes) -> dict:
    raw = json.loads((DELIVERY_DIR / "main.json").read_text(encoding="utf-8"))
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"github_repositories": []}, "github_repositories"),
        ({"github_repositories": None}, "github_repositories"),
        ({"github_repositories": ["ava-olo-cdk"]}, "github_repositories"),
        ({"github_repositories": "Poljopodrska/ava-olo-cdk"}, "github_repositories"),
        ({"github_image_repositories": ["Poljopodrska/ava olo"]}, "github_image_repositories"),
        ({"github_image_repositories": [42]}, "github_image_repositories"),
        ({"github_image_repositories": "Poljopodrska/ava-olo-monitoring-dashboards"}, "github_image_repositories"),
        ({"deploy_environments": ["prod uction"]}, "deploy_environments"),
        ({"deploy_environments": ["staging", "staging"]}, "deploy_environments"),
        ({"deploy_environments": [{"name": "production", "account": "123"}]}, "deploy_environments[].account"),
        ({"deploy_environments": [{"name": "production", "region": "Mars"}]}, "deploy_environments[].region"),
        ({"deploy_environments": [{"name": "production", "cdk_qualifier": "Bad_Q"}]}, "deploy_environments[].cdk_qualifier"),
        ({"deploy_environments": [{"region": "eu-west-1"}]}, "deploy_environments"),
        ({"deploy_environments": [{"name": "production", "regoin": "eu-west-1"}]}, "deploy_environments"),
    ],
)
def test_delivery_rejects_bad_github_repositories_in_one_line_naming_the_setting(changes, field):
    with pytest.raises(ConfigError) as error:
        parse_delivery("main", _raw_delivery(**changes), environ={})
    assert error.value.field == field
    assert "\n" not in str(error.value)


def test_image_repositories_may_be_empty_and_then_there_is_no_image_push_role():
    config = parse_delivery("main", _raw_delivery(github_image_repositories=[]), environ={})
    assert config.github_image_repositories == ()
    assert parse_delivery("main", _raw_delivery(github_image_repositories=None), environ={}).github_image_repositories == ()
    app = App(builtin_cloud_formation_validation=False, tree_metadata=False)
    stack = DeliveryStack(app, "NoApplications", config=config)
    template = Template.from_stack(stack)
    names = [r["Properties"]["RoleName"] for r in template.find_resources("AWS::IAM::Role").values()]
    assert sorted(names) == ["ava-olo-github-deploy-production", "ava-olo-github-deploy-staging", "ava-olo-github-readonly"]
    assert "ImagePushRoleArn" not in template.to_json()["Outputs"]


def test_construct_image_push_role_name_and_refs_are_configurable():
    stack = Stack(App(builtin_cloud_formation_validation=False, tree_metadata=False), "Roles")
    repository = ecr.Repository(stack, "Repository")
    roles = GitHubDeploymentRoles(
        stack,
        "GitHub",
        GitHubDeploymentRolesProps(
            repositories=["owner/infra"],
            image_repository=repository,
            image_push_repositories=["owner/app"],
            image_push_refs=["refs/tags/v*"],
            image_push_role_name="custom-push",
        ),
    )
    assert roles.image_push_role is not None
    template = Template.from_stack(stack)
    (push,) = [r["Properties"] for r in template.find_resources("AWS::IAM::Role").values() if r["Properties"]["RoleName"] == "custom-push"]
    assert push["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": [
            "repo:owner/app:ref:refs/tags/v*:job_workflow_ref:owner/infra/.github/workflows/build-image.yml@refs/tags/v*"
        ]
    }


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"image_push_repositories": ["not-a-repo"]}, "image_push_repositories"),
        ({"image_push_refs": []}, "image_push_refs"),
        ({"image_push_refs": ["refs/pull/*"]}, "image_push_refs"),
        ({"repositories": []}, "repositories"),
    ],
)
def test_construct_props_reject_bad_image_push_settings(changes, field):
    props = {"repositories": ["owner/infra"], "image_repository": None, "image_push_repositories": ["owner/app"]}
    props.update(changes)
    with pytest.raises(PropsError) as error:
        GitHubDeploymentRolesProps(**props).validate()
    assert error.value.field == field


def test_no_long_lived_keys_or_users_anywhere(project):
    templates = [t for _, t in project.deliveries.values()] + [
        t for env in project.environments.values() for t in env.templates.values()
    ]
    for template in templates:
        types = {r["Type"] for r in template["Resources"].values()}
        assert not types & {"AWS::IAM::AccessKey", "AWS::IAM::User"}


def test_delivery_deploy_environments_may_name_the_account_region_and_qualifier_of_each_environment():
    config = parse_delivery("main", _raw_delivery(deploy_environments=[
        "staging", {"name": "production", "account": "222222222222", "region": "eu-west-1", "cdk_qualifier": "prod"},
        {"name": "qa", "account": "from-cli"},
    ]), environ={})  # fmt: skip
    assert config.deploy_environments == (
        DeployEnvironment("staging"),
        DeployEnvironment("production", account="222222222222", region="eu-west-1", cdk_qualifier="prod"),
        DeployEnvironment("qa"),  # from-cli: the delivery stack's own account
    )


def test_a_deploy_environment_without_an_environment_file_gets_no_release_permissions(tmp_path):
    from stacks.delivery_stack import with_release_resources

    (tmp_path / "staging.json").write_text((DELIVERY_DIR.parent / "environments" / "staging.json").read_text())
    staging, qa = with_release_resources(["staging", DeployEnvironment("qa")], directory=tmp_path)
    assert staging.release is not None and staging.release.cluster_name == "ava-olo-staging"
    assert staging.region == "us-east-1"  # environments/staging.json's region
    assert qa == DeployEnvironment("qa"), "unknown names: only the bootstrap roles and stack reads (fails closed)"
