"""GitHub Actions -> AWS without long-lived keys: an OIDC provider and up to three roles.

Two kinds of repository, kept apart because their workflows deserve different power:

* *infrastructure* repositories (``repositories``, e.g. this CDK project) deploy;
* *application* repositories (``image_push_repositories``, e.g. the service's code) only publish images.

The roles:

* ``ava-olo-github-readonly``: pull requests of the infrastructure repositories. It may only assume the CDK
  bootstrap *lookup* role, which has read-only access (``cdk diff --no-change-set`` and lookups).
* ``ava-olo-github-deploy``: only the ``main`` branch, ``v*`` release tags and the configured GitHub
  deployment environments of the infrastructure repositories (seed "Git Workflow": releases are tags). It may
  assume the CDK bootstrap roles (deploy, file and image publishing, lookup), which makes it effectively an
  administrator of the account, so no application repository is trusted by it. It has no ECR permissions of
  its own: a deploy only *references* an image already in ECR (``-c version=<tag>``), and CDK's own asset
  images, should a stack ever have any, are published through the bootstrap image-publishing role.
* ``ava-olo-github-image-push``: only the ``main`` branch and ``v*`` release tags of the application
  repositories. It may pull from and push to the service's ECR repository (plus ``ecr:GetAuthorizationToken``
  for ``docker login``) and nothing else: no ``sts:AssumeRole``, no CloudFormation. A compromised
  application workflow can at worst push a new (immutable) tag, which a deploy of the infrastructure
  repository still has to choose. Not created when there is no application repository.

All trust only tokens issued for ``sts.amazonaws.com``. Sessions last at most one hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from .compliance import acknowledge
from .validation import PropsError

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
#: CDK's default bootstrap qualifier (``cdk bootstrap --qualifier``).
CDK_QUALIFIER = "hnb659fds"
#: A GitHub repository as ``owner/name``.
GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class GitHubDeploymentRolesProps:
    """:param repositories: ``owner/name`` of the infrastructure repositories: their pull requests get the
        read-only role, their ``deploy_refs`` and ``deploy_environments`` the deploy role.
    :param image_repository: the ECR repository the image-push role may pull from and push to.
    :param image_push_repositories: ``owner/name`` of the application repositories whose ``image_push_refs``
        may only push images to ``image_repository``. Default none (and then no image-push role).
    :param deploy_refs: git refs allowed to deploy. Default ``refs/heads/main`` and ``refs/tags/v*``.
    :param deploy_environments: GitHub deployment environments allowed to deploy. Default staging, production.
    :param image_push_refs: git refs allowed to push images. Default ``refs/heads/main`` and ``refs/tags/v*``.
    :param provider_arn: an existing GitHub OIDC provider of the account (one per account). Default: create it.
    :param cdk_qualifier: the CDK bootstrap qualifier. Default ``hnb659fds``.
    :param readonly_role_name / deploy_role_name / image_push_role_name: Default ``ava-olo-github-readonly`` /
        ``ava-olo-github-deploy`` / ``ava-olo-github-image-push``.
    :param stack_name_prefix: stacks whose deployed templates the read-only and deploy roles may read
        (``ava-olo guard``). Default ``ava-olo-``."""

    repositories: Sequence[str]
    image_repository: ecr.IRepository
    image_push_repositories: Sequence[str] = ()
    deploy_refs: Sequence[str] = ("refs/heads/main", "refs/tags/v*")
    deploy_environments: Sequence[str] = ("staging", "production")
    image_push_refs: Sequence[str] = ("refs/heads/main", "refs/tags/v*")
    provider_arn: Optional[str] = None
    cdk_qualifier: str = CDK_QUALIFIER
    readonly_role_name: str = "ava-olo-github-readonly"
    deploy_role_name: str = "ava-olo-github-deploy"
    image_push_role_name: str = "ava-olo-github-image-push"
    stack_name_prefix: str = "ava-olo-"

    def validate(self) -> None:
        if isinstance(self.repositories, str) or not self.repositories:
            raise PropsError("repositories", self.repositories, "at least one GitHub repository owner/name")
        for repository in self.repositories:
            if not isinstance(repository, str) or not GITHUB_REPOSITORY.fullmatch(repository):
                raise PropsError("repositories", repository, "GitHub repositories as owner/name")
        if isinstance(self.image_push_repositories, str):
            raise PropsError(
                "image_push_repositories", self.image_push_repositories, "a list of GitHub repositories owner/name (may be empty)"
            )
        for repository in self.image_push_repositories:
            if not isinstance(repository, str) or not GITHUB_REPOSITORY.fullmatch(repository):
                raise PropsError("image_push_repositories", repository, "GitHub repositories as owner/name")
        if isinstance(self.image_push_refs, str) or not self.image_push_refs:
            raise PropsError("image_push_refs", self.image_push_refs, "at least one git ref such as refs/tags/v*")
        for field_name, refs in (("deploy_refs", self.deploy_refs), ("image_push_refs", self.image_push_refs)):
            for ref in refs:
                if not isinstance(ref, str) or not re.fullmatch(r"refs/(heads|tags)/[A-Za-z0-9._/*-]+", ref):
                    raise PropsError(field_name, ref, "git refs such as refs/heads/main or refs/tags/v*")
        for environment in self.deploy_environments:
            if not isinstance(environment, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", environment):
                raise PropsError("deploy_environments", environment, "GitHub environment names")
        if not re.fullmatch(r"[a-z0-9]{1,10}", self.cdk_qualifier):
            raise PropsError("cdk_qualifier", self.cdk_qualifier, "the bootstrap qualifier: up to 10 lower-case letters/digits")


class GitHubDeploymentRoles(Construct):
    """Attributes: ``provider_arn``, ``readonly_role``, ``deploy_role``, ``image_push_role`` (``None`` without
    ``image_push_repositories``)."""

    def __init__(self, scope: Construct, construct_id: str, props: GitHubDeploymentRolesProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        if props.provider_arn:
            self.provider_arn = props.provider_arn
        else:
            provider = iam.OidcProviderNative(self, "Provider", url=GITHUB_OIDC_URL, client_ids=[AUDIENCE])
            self.provider_arn = provider.oidc_provider_arn

        def principal(subjects: list[str]) -> iam.WebIdentityPrincipal:
            return iam.WebIdentityPrincipal(
                self.provider_arn,
                conditions={
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE},
                    "StringLike": {f"{GITHUB_OIDC_HOST}:sub": subjects},
                },
            )

        repositories = list(props.repositories)
        self.readonly_role = iam.Role(
            self,
            "ReadOnlyRole",
            role_name=props.readonly_role_name,
            description="GitHub pull requests: cdk diff through the CDK lookup role (read-only)",
            assumed_by=principal([f"repo:{r}:pull_request" for r in repositories]),
            max_session_duration=Duration.hours(1),
        )
        self.readonly_role.add_to_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[self._bootstrap_role(props, "lookup")])
        )
        read_templates = iam.PolicyStatement(
            actions=["cloudformation:GetTemplate", "cloudformation:DescribeStacks"],
            resources=[self._stacks(props)],
        )
        self.readonly_role.add_to_policy(read_templates)

        deploy_subjects = [f"repo:{r}:ref:{ref}" for r in repositories for ref in props.deploy_refs]
        deploy_subjects += [f"repo:{r}:environment:{e}" for r in repositories for e in props.deploy_environments]
        self.deploy_role = iam.Role(
            self,
            "DeployRole",
            role_name=props.deploy_role_name,
            description="GitHub releases of the infrastructure repositories: cdk deploy through the CDK bootstrap roles",
            assumed_by=principal(deploy_subjects),
            max_session_duration=Duration.hours(1),
        )
        bootstrap = [self._bootstrap_role(props, kind) for kind in ("deploy", "file-publishing", "image-publishing", "lookup")]
        self.deploy_role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=bootstrap))
        self.deploy_role.add_to_policy(read_templates)

        self.image_push_role: Optional[iam.Role] = None
        image_push_repositories = list(props.image_push_repositories)
        if image_push_repositories:
            self.image_push_role = iam.Role(
                self,
                "ImagePushRole",
                role_name=props.image_push_role_name,
                description="GitHub application repositories: pull from and push to the service's ECR repository only",
                assumed_by=principal([f"repo:{r}:ref:{ref}" for r in image_push_repositories for ref in props.image_push_refs]),
                max_session_duration=Duration.hours(1),
            )
            # Pull/push actions on this one repository, plus ecr:GetAuthorizationToken (docker login).
            props.image_repository.grant_pull_push(self.image_push_role)
        self._acknowledge_inherent_findings(props)

    @staticmethod
    def _bootstrap_role(props: GitHubDeploymentRolesProps, kind: str) -> str:
        # Bootstrap roles are per region (…-<account>-<region>): any region of this account.
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-{props.cdk_qualifier}-{kind}-role-{Aws.ACCOUNT_ID}-*"

    @staticmethod
    def _stacks(props: GitHubDeploymentRolesProps) -> str:
        """The project's stacks in any region of this account: the stateful guard reads their deployed templates."""
        return f"arn:{Aws.PARTITION}:cloudformation:*:{Aws.ACCOUNT_ID}:stack/{props.stack_name_prefix}*/*"

    def _acknowledge_inherent_findings(self, props: GitHubDeploymentRolesProps) -> None:
        stacks = f"arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/{props.stack_name_prefix}*/*"
        for role in (self.readonly_role, self.deploy_role):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{stacks}]",
                "Reading deployed templates (GetTemplate, DescribeStacks) is limited to this project's stacks; "
                "the wildcard covers their regions and the stack id suffix CloudFormation appends.",
            )
        reason = (
            "The CDK bootstrap roles end in their region, and a deployment may target any region of this "
            "account; the pattern still names the exact bootstrap roles of this account and qualifier."
        )
        for role, kinds in ((self.readonly_role, ("lookup",)), (self.deploy_role, ("deploy", "file-publishing", "image-publishing", "lookup"))):
            for kind in kinds:
                resource = f"arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-{props.cdk_qualifier}-{kind}-role-<AWS::AccountId>-*"
                acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
            acknowledge(
                role,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "The role's only policy names exactly what this GitHub role may do; a managed policy would add a "
                "reusable, attachable object without narrowing anything.",
            )
        if self.image_push_role is not None:
            acknowledge(
                self.image_push_role,
                "AwsSolutions-IAM5[Resource::*]",
                "The only '*' is ecr:GetAuthorizationToken, which has no resource-level permissions, so IAM requires "
                "Resource '*'; the token alone grants nothing, and every pull and push action is limited to the "
                "service's repository.",
            )
            acknowledge(
                self.image_push_role,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "The role's only policy is the ECR pull/push grant on the service's repository; a managed policy "
                "would add a reusable, attachable object without narrowing anything.",
            )
