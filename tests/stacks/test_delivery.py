"""Delivery (once per account): ECR repository and GitHub OIDC roles. Seed: "ECS Deployment Timeline"
(GitHub Actions -> ECR -> ECS), "Version Tagging Strategy", "Security Best Practices" (no long-lived keys)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Template

from ava_olo_constructs import GitHubDeploymentRoles, GitHubDeploymentRolesProps
from ava_olo_constructs.validation import PropsError
from stacks.config.delivery import DELIVERY_DIR, load_delivery, parse_delivery
from stacks.config.errors import ConfigError
from stacks.delivery_stack import DeliveryStack
from tests.conftest import only


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
    assert repository["DeletionPolicy"] == "Retain" and repository["UpdateReplacePolicy"] == "Retain"


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
    trust = _role(delivery, "ava-olo-github-readonly")["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert all(sub.endswith(":pull_request") for sub in trust["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"])
    statements = _role_statements(delivery, "ava-olo-github-readonly")
    assert [s["Action"] for s in statements] == ["sts:AssumeRole", ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"]]
    assert "lookup-role" in json.dumps(statements[0]["Resource"])
    assert ":stack/ava-olo-*/*" in json.dumps(statements[1]["Resource"])


INFRASTRUCTURE = ["Poljopodrska/ava-olo-cdk"]
APPLICATIONS = ["Poljopodrska/ava-olo-monitoring-dashboards"]


def _subjects(delivery, name: str) -> list[str]:
    (trust,) = _role(delivery, name)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "StringLike"}
    return trust["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"]


def _actions(statements: list[dict]) -> set[str]:
    return {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}


def test_delivery_config_separates_infrastructure_from_application_repositories():
    config = load_delivery("main", environ={})
    assert list(config.github_repositories) == INFRASTRUCTURE
    assert list(config.github_image_repositories) == APPLICATIONS


def test_deploy_role_trusts_only_infrastructure_repositories_main_release_tags_and_environments(delivery):
    subjects = _subjects(delivery, "ava-olo-github-deploy")
    assert sorted(subjects) == sorted(
        f"repo:{r}:{s}"
        for r in INFRASTRUCTURE
        for s in ("ref:refs/heads/main", "ref:refs/tags/v*", "environment:staging", "environment:production")
    )
    for application in APPLICATIONS:
        assert not [s for s in subjects if s.startswith(f"repo:{application}:")], "an application repository could deploy"


def test_readonly_role_trusts_only_infrastructure_pull_requests(delivery):
    assert _subjects(delivery, "ava-olo-github-readonly") == [f"repo:{r}:pull_request" for r in INFRASTRUCTURE]


def test_deploy_role_may_only_assume_cdk_bootstrap_roles_and_read_templates(delivery):
    statements = _role_statements(delivery, "ava-olo-github-deploy")
    # No ECR of its own: a deploy references an image already in ECR; CDK asset images would go through the
    # bootstrap image-publishing role.
    assert _actions(statements) == {"sts:AssumeRole", "cloudformation:GetTemplate", "cloudformation:DescribeStacks"}
    assume = next(s for s in statements if s["Action"] == "sts:AssumeRole")
    assert {kind for kind in ("deploy", "file-publishing", "image-publishing", "lookup") if f"cdk-hnb659fds-{kind}-role-" in json.dumps(assume["Resource"])} == {
        "deploy", "file-publishing", "image-publishing", "lookup"
    }
    assert len(assume["Resource"]) == 4


def test_image_push_role_trusts_only_application_repositories_main_and_release_tags(delivery):
    role = _role(delivery, "ava-olo-github-image-push")
    assert role["MaxSessionDuration"] == 3600
    assert sorted(_subjects(delivery, "ava-olo-github-image-push")) == sorted(
        f"repo:{r}:ref:{ref}" for r in APPLICATIONS for ref in ("refs/heads/main", "refs/tags/v*")
    )


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
    for output, name in (("ReadOnlyRoleArn", "ava-olo-github-readonly"), ("DeployRoleArn", "ava-olo-github-deploy"),
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
    app = App()
    stack = DeliveryStack(app, "NoApplications", config=config)
    template = Template.from_stack(stack)
    names = [r["Properties"]["RoleName"] for r in template.find_resources("AWS::IAM::Role").values()]
    assert sorted(names) == ["ava-olo-github-deploy", "ava-olo-github-readonly"]
    assert "ImagePushRoleArn" not in template.to_json()["Outputs"]


def test_construct_image_push_role_name_and_refs_are_configurable():
    stack = Stack(App(), "Roles")
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
        "token.actions.githubusercontent.com:sub": ["repo:owner/app:ref:refs/tags/v*"]
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
