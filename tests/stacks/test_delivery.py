"""Delivery (once per account): ECR repository and GitHub OIDC roles. Seed: "ECS Deployment Timeline"
(GitHub Actions -> ECR -> ECS), "Version Tagging Strategy", "Security Best Practices" (no long-lived keys)."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

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


def test_deploy_role_is_for_main_release_tags_and_deployment_environments_only(delivery):
    subjects = _role(delivery, "ava-olo-github-deploy")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringLike"][
        "token.actions.githubusercontent.com:sub"
    ]
    for subject in subjects:
        assert subject.endswith((":ref:refs/heads/main", ":ref:refs/tags/v*", ":environment:staging", ":environment:production")), subject
        assert subject.startswith("repo:Poljopodrska/")


def test_deploy_role_may_only_assume_cdk_bootstrap_roles_and_push_to_the_repository(delivery):
    statements = _role_statements(delivery, "ava-olo-github-deploy")
    actions = set()
    for statement in statements:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            actions.add(action)
    reads = {"cloudformation:GetTemplate", "cloudformation:DescribeStacks"}
    assert actions <= {"sts:AssumeRole", "ecr:GetAuthorizationToken"} | reads | {a for a in actions if a.startswith("ecr:")}
    assume = next(s for s in statements if s["Action"] == "sts:AssumeRole")
    assert {kind for kind in ("deploy", "file-publishing", "image-publishing", "lookup") if f"cdk-hnb659fds-{kind}-role-" in json.dumps(assume["Resource"])} == {
        "deploy", "file-publishing", "image-publishing", "lookup"
    }
    push = next(s for s in statements if "ecr:PutImage" in s["Action"])
    repository_id = next(iter(delivery.find_resources("AWS::ECR::Repository")))
    assert push["Resource"] == {"Fn::GetAtt": [repository_id, "Arn"]}


def test_no_long_lived_keys_or_users_anywhere(project):
    templates = [t for _, t in project.deliveries.values()] + [
        t for env in project.environments.values() for t in env.templates.values()
    ]
    for template in templates:
        types = {r["Type"] for r in template["Resources"].values()}
        assert not types & {"AWS::IAM::AccessKey", "AWS::IAM::User"}
