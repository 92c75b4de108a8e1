"""GitHub Actions -> AWS without long-lived keys: an OIDC provider and two roles.

* ``ava-olo-github-readonly``: pull requests of the configured repositories. It may only assume the CDK
  bootstrap *lookup* role, which has read-only access (``cdk diff --no-change-set`` and lookups).
* ``ava-olo-github-deploy``: only the ``main`` branch, ``v*`` release tags and the configured GitHub
  deployment environments of those repositories (seed "Git Workflow": releases are tags). It may assume the
  CDK bootstrap roles (deploy, file and image publishing, lookup) and push to the service's ECR repository,
  and nothing else.

Both trust only tokens issued for ``sts.amazonaws.com``. Sessions last at most one hour.
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


@dataclass(frozen=True)
class GitHubDeploymentRolesProps:
    """:param repositories: ``owner/name`` of every repository that deploys or pushes images.
    :param image_repository: the ECR repository the deploy role may push to.
    :param deploy_refs: git refs allowed to deploy. Default ``refs/heads/main`` and ``refs/tags/v*``.
    :param deploy_environments: GitHub deployment environments allowed to deploy. Default staging, production.
    :param provider_arn: an existing GitHub OIDC provider of the account (one per account). Default: create it.
    :param cdk_qualifier: the CDK bootstrap qualifier. Default ``hnb659fds``.
    :param readonly_role_name / deploy_role_name: Default ``ava-olo-github-readonly`` / ``ava-olo-github-deploy``.
    :param stack_name_prefix: stacks whose deployed templates both roles may read (``ava-olo guard``).
        Default ``ava-olo-``."""

    repositories: Sequence[str]
    image_repository: ecr.IRepository
    deploy_refs: Sequence[str] = ("refs/heads/main", "refs/tags/v*")
    deploy_environments: Sequence[str] = ("staging", "production")
    provider_arn: Optional[str] = None
    cdk_qualifier: str = CDK_QUALIFIER
    readonly_role_name: str = "ava-olo-github-readonly"
    deploy_role_name: str = "ava-olo-github-deploy"
    stack_name_prefix: str = "ava-olo-"

    def validate(self) -> None:
        if not self.repositories:
            raise PropsError("repositories", list(self.repositories), "at least one GitHub repository owner/name")
        for repository in self.repositories:
            if not isinstance(repository, str) or not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", repository):
                raise PropsError("repositories", repository, "GitHub repositories as owner/name")
        for ref in self.deploy_refs:
            if not isinstance(ref, str) or not re.fullmatch(r"refs/(heads|tags)/[A-Za-z0-9._/*-]+", ref):
                raise PropsError("deploy_refs", ref, "git refs such as refs/heads/main or refs/tags/v*")
        for environment in self.deploy_environments:
            if not isinstance(environment, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", environment):
                raise PropsError("deploy_environments", environment, "GitHub environment names")
        if not re.fullmatch(r"[a-z0-9]{1,10}", self.cdk_qualifier):
            raise PropsError("cdk_qualifier", self.cdk_qualifier, "the bootstrap qualifier: up to 10 lower-case letters/digits")


class GitHubDeploymentRoles(Construct):
    """Attributes: ``provider_arn``, ``readonly_role``, ``deploy_role``."""

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
            description="GitHub releases: cdk deploy through the CDK bootstrap roles, image pushes to ECR",
            assumed_by=principal(deploy_subjects),
            max_session_duration=Duration.hours(1),
        )
        bootstrap = [self._bootstrap_role(props, kind) for kind in ("deploy", "file-publishing", "image-publishing", "lookup")]
        self.deploy_role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=bootstrap))
        self.deploy_role.add_to_policy(read_templates)
        props.image_repository.grant_pull_push(self.deploy_role)
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
        acknowledge(
            self.deploy_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions, so IAM requires Resource '*'; pushes "
            "themselves are limited to the service's repository.",
        )
