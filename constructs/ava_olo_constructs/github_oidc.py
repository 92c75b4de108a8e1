"""GitHub Actions -> AWS without long-lived keys: an OIDC provider, a read-only role, one deploy role per GitHub
environment and an image-push role.

Two kinds of repository, kept apart because their workflows deserve different power:

* *infrastructure* repositories (``repositories``, e.g. this CDK project) deploy;
* *application* repositories (``image_push_repositories``, e.g. the service's code) only publish images.

The roles, each trusting only tokens for ``sts.amazonaws.com`` and only the EXACT subjects listed
(``StringEquals``; no ``ref:refs/heads/main``, no ``ref:refs/tags/v*`` glob, which also matched ``vfoo``):

* ``ava-olo-github-readonly``: ``repo:<infra>:pull_request`` only (a pull-request job WITHOUT ``environment:``;
  a job with one gets ``environment:<name>`` instead). It may only assume the CDK bootstrap *lookup* role (read
  only: ``cdk diff --method=template``, lookups) and read the project's deployed templates (``ava-olo guard``).
* ``ava-olo-github-deploy-<env>``, one per GitHub deployment environment: only
  ``repo:<infra>:environment:<env>``. GitHub issues that subject only to a job that declares
  ``environment: <env>`` and has passed that environment's protection rules (required reviewers, the allowed
  tags), so the production role cannot be had without the production reviewer, and no job on ``main`` or on a tag
  gets it. It may assume exactly the four CDK bootstrap roles (deploy, file-publishing, image-publishing, lookup)
  of ITS environment: ``cdk-<qualifier>-<kind>-role-<account>-<region>`` with that environment's account, region
  and qualifier (:class:`DeployEnvironment`; no wildcard), and read the templates of its own stacks
  (``<stack_name_prefix><env>-*``) only. With the environment's :class:`ReleaseResources` it may also make, with
  its OWN credentials, exactly the calls of the project's deploy path (``ava-olo deploy --migrate``: execute the
  guarded change sets and set stack policies on its stacks; snapshot, register and run the migration task; the
  rollout's ECS service-deployment API; preflight's reads), each on that environment's resources
  (:func:`release_statements`), ``iam:PassRole`` only for the migration task's two roles and only to
  ``ecs-tasks.amazonaws.com``, and ``*`` only for read-only actions without resource-level permissions.

  Why bootstrap role ARNs and not only a qualifier per environment: what a deploy can reach is decided by the
  bootstrap roles it goes through, and those are per account, region and qualifier. The default bootstrap
  deploy role may create and execute change sets on ANY stack of its account (``cloudformation:*ChangeSet`` on
  ``*``), so a qualifier of its own does not keep a staging deploy away from production's stacks when both are
  in one account; a separate account does (its bootstrap roles trust only that account unless bootstrapped with
  ``--trust``). So each environment names its account, region and qualifier, its role reaches only those
  bootstrap roles, and when two deploy environments resolve to the SAME bootstrap roles the construct says so
  with a synth warning, because their roles are then interchangeable. Production in its own account (AWS's
  multi-account guidance) is what makes "staging's role cannot touch production" true.
* ``ava-olo-github-image-push``: the application repositories' ``image_push_refs``, AND only inside the
  reusable workflow ``build_image_workflow`` of an infrastructure repository at a release tag: the subject is
  ``repo:<app>:ref:<ref>:job_workflow_ref:<infra>/.github/workflows/build-image.yml@refs/tags/v*``. IAM
  conditions on GitHub tokens can only test ``sub`` (and ``aud``), so the application repository must include
  ``job_workflow_ref`` in its subject: once per repository,
  ``gh api -X PUT repos/<app>/actions/oidc/customization/sub -F use_default=false
  -f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' -f 'include_claim_keys[]=job_workflow_ref'``.
  It may pull from and push to the service's ECR repository (plus ``ecr:GetAuthorizationToken``) and nothing
  else: no ``sts:AssumeRole``, no CloudFormation. A compromised application workflow can at worst push a new
  (immutable) tag, which a deploy of the infrastructure repository still has to choose.

Sessions last at most one hour. GitHub settings complete this (the README lists them): required reviewers and
"deployment branches and tags" on each environment, and a tag ruleset that lets only maintainers create ``v*``
tags in both kinds of repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from aws_cdk import Annotations, Aws, Duration, Stack, Token
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
#: The reusable image build workflow of the infrastructure repositories (``.github/workflows/build-image.yml``).
BUILD_IMAGE_WORKFLOW = ".github/workflows/build-image.yml"
BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")


@dataclass(frozen=True)
class ReleaseResources:
    """What ``ava-olo deploy --migrate`` (and preflight, watch, verify, rollback, status) touch in ONE environment
    with the deploy role's OWN credentials, by name. Give the names the environment's stacks use
    (:class:`~ava_olo_constructs.naming.ResourceNames`; the AVA OLO app derives them from ``environments/<env>.json``).

    :param cluster_name / service_name: the ECS cluster and service (DescribeServices, the service-deployment API,
        StopServiceDeployment of a rollback, DescribeTasks of the migration task).
    :param migration_task_family: the migration task definition's family: RegisterTaskDefinition (a revision with
        the release's image) and RunTask, only on that cluster.
    :param migration_role_names: the migration task's task and execution roles: ``iam:PassRole`` on exactly these,
        only to ``ecs-tasks.amazonaws.com``.
    :param migration_log_group_name: the migration task's log group (GetLogEvents, FilterLogEvents).
    :param parameter_prefix: the service's SSM prefix: GetParameter on ``<prefix>/*``; PutParameter on
        ``<prefix>/migration-lock`` and ``<prefix>/schema-version``; DeleteParameter on the lock only.
    :param extra_parameters: further SSM parameters the deploy path reads (the certificate ARN parameter).
    :param database_cluster_identifier: DescribeDBClusters; CreateDBClusterSnapshot from this cluster only.
    :param snapshot_prefix: the migration snapshots' identifiers start with it (``ava-olo migrate``:
        ``<env>-<version>-<stamp>``, so ``<env>-v``).
    :param alarm_names: the service's deployment alarms (DescribeAlarms: preflight refuses while one is in ALARM).
    :param image_repository_name: the ECR repository of the service's images, in the environment's account and
        region (DescribeImages: preflight checks that the release's tag exists).
    :param migration_record_of: ``(stack name, parameter name)`` of the environment whose migration must have
        passed first (production reads staging's ``schema-version`` record and that stack's resources; read only).
    """

    cluster_name: str
    service_name: str
    migration_task_family: str
    migration_role_names: Sequence[str]
    migration_log_group_name: str
    parameter_prefix: str
    database_cluster_identifier: str
    snapshot_prefix: str
    alarm_names: Sequence[str]
    image_repository_name: str
    extra_parameters: Sequence[str] = ()
    migration_record_of: Optional[tuple[str, str]] = None


@dataclass(frozen=True)
class DeployEnvironment:
    """A GitHub deployment environment and where its stacks are deployed.

    :param name: the GitHub environment (``environment:`` of the deploy job), e.g. ``production``.
    :param account: the AWS account of its stacks. Default: this (the delivery stack's) account.
    :param region: the region of its stacks. Default: this stack's region.
    :param cdk_qualifier: the bootstrap qualifier of that account/region. Default: the props' ``cdk_qualifier``.
    :param release: the environment's resources the deploy path calls directly (:class:`ReleaseResources`).
        Default none: the role may then only assume the bootstrap roles and read its stacks (a release through
        ``ava-olo deploy`` fails closed with AccessDenied)."""

    name: str
    account: Optional[str] = None
    region: Optional[str] = None
    cdk_qualifier: Optional[str] = None
    release: Optional[ReleaseResources] = None

    def validate(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", self.name):
            raise PropsError("deploy_environments", self.name, "GitHub environment names")
        if self.account is not None and not re.fullmatch(r"\d{12}", str(self.account)):
            raise PropsError("deploy_environments.account", self.account, "a 12-digit AWS account id")
        if self.region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", str(self.region)):
            raise PropsError("deploy_environments.region", self.region, "an AWS region such as eu-central-1")
        if self.cdk_qualifier is not None and not re.fullmatch(r"[a-z0-9]{1,10}", str(self.cdk_qualifier)):
            raise PropsError("deploy_environments.cdk_qualifier", self.cdk_qualifier, "up to 10 lower-case letters/digits")


@dataclass(frozen=True)
class GitHubDeploymentRolesProps:
    """:param repositories: ``owner/name`` of the infrastructure repositories: their pull requests get the
        read-only role, their jobs in each of ``deploy_environments`` that environment's deploy role.
    :param image_repository: the ECR repository the image-push role may pull from and push to.
    :param image_push_repositories: ``owner/name`` of the application repositories whose ``image_push_refs``
        may only push images to ``image_repository``. Default none (and then no image-push role).
    :param deploy_environments: GitHub deployment environments, names or :class:`DeployEnvironment`. One deploy
        role each. Default staging, production (in this account and region).
    :param image_push_refs: git refs of the application repositories allowed to push images. Default
        ``refs/tags/v*`` (releases; see the README's tag ruleset) and ``refs/heads/main``.
    :param build_image_workflow_refs: refs of the infrastructure repositories' reusable build workflow that the
        image push must run in. Default ``refs/tags/v*`` (callers pin a release tag of this repository).
    :param provider_arn: an existing GitHub OIDC provider of the account (one per account). Default: create it.
    :param cdk_qualifier: the CDK bootstrap qualifier. Default ``hnb659fds``.
    :param readonly_role_name / deploy_role_prefix / image_push_role_name: Default ``ava-olo-github-readonly`` /
        ``ava-olo-github-deploy-`` (+ environment name) / ``ava-olo-github-image-push``.
    :param stack_name_prefix: stacks whose deployed templates the read-only and deploy roles may read
        (``ava-olo guard``). Default ``ava-olo-``; a deploy role reads only ``<prefix><env>-*``."""

    repositories: Sequence[str]
    image_repository: ecr.IRepository
    image_push_repositories: Sequence[str] = ()
    deploy_environments: Sequence[Union[str, DeployEnvironment]] = ("staging", "production")
    image_push_refs: Sequence[str] = ("refs/heads/main", "refs/tags/v*")
    build_image_workflow_refs: Sequence[str] = ("refs/tags/v*",)
    provider_arn: Optional[str] = None
    cdk_qualifier: str = CDK_QUALIFIER
    readonly_role_name: str = "ava-olo-github-readonly"
    deploy_role_prefix: str = "ava-olo-github-deploy-"
    image_push_role_name: str = "ava-olo-github-image-push"
    stack_name_prefix: str = "ava-olo-"

    @property
    def environments(self) -> list[DeployEnvironment]:
        return [e if isinstance(e, DeployEnvironment) else DeployEnvironment(name=e) for e in self.deploy_environments]

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
        for field_name, refs in (("image_push_refs", self.image_push_refs), ("build_image_workflow_refs", self.build_image_workflow_refs)):
            if isinstance(refs, str) or not refs:
                raise PropsError(field_name, refs, "at least one git ref such as refs/tags/v*")
            for ref in refs:
                if not isinstance(ref, str) or not re.fullmatch(r"refs/(heads|tags)/[A-Za-z0-9._/*-]+", ref):
                    raise PropsError(field_name, ref, "git refs such as refs/heads/main or refs/tags/v*")
        if isinstance(self.deploy_environments, str):
            raise PropsError("deploy_environments", self.deploy_environments, "a list of GitHub environment names")
        names = []
        for environment in self.environments:
            environment.validate()
            if environment.name in names:
                raise PropsError("deploy_environments", environment.name, "each GitHub environment once")
            names.append(environment.name)
        if not re.fullmatch(r"[a-z0-9]{1,10}", self.cdk_qualifier):
            raise PropsError("cdk_qualifier", self.cdk_qualifier, "the bootstrap qualifier: up to 10 lower-case letters/digits")


class GitHubDeploymentRoles(Construct):
    """Attributes: ``provider_arn``, ``readonly_role``, ``deploy_roles`` (GitHub environment name -> role),
    ``image_push_role`` (``None`` without ``image_push_repositories``)."""

    def __init__(self, scope: Construct, construct_id: str, props: GitHubDeploymentRolesProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        if props.provider_arn:
            self.provider_arn = props.provider_arn
        else:
            provider = iam.OidcProviderNative(self, "Provider", url=GITHUB_OIDC_URL, client_ids=[AUDIENCE])
            self.provider_arn = provider.oidc_provider_arn

        def principal(subjects: list[str], operator: str = "StringEquals") -> iam.WebIdentityPrincipal:
            conditions: dict = {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE}}
            conditions.setdefault(operator, {})[f"{GITHUB_OIDC_HOST}:sub"] = subjects
            return iam.WebIdentityPrincipal(self.provider_arn, conditions=conditions)

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
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[self._any_region_lookup_role(props)])
        )
        self.readonly_role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:GetTemplate", "cloudformation:DescribeStacks"],
                resources=[f"arn:{Aws.PARTITION}:cloudformation:*:{Aws.ACCOUNT_ID}:stack/{props.stack_name_prefix}*/*"],
            )
        )

        self.deploy_roles: dict[str, iam.Role] = {}
        seen: dict[str, str] = {}
        for environment in props.environments:
            account = environment.account or Stack.of(self).account
            region = environment.region or Stack.of(self).region
            qualifier = environment.cdk_qualifier or props.cdk_qualifier
            role = iam.Role(
                self,
                f"DeployRole-{environment.name}",
                role_name=f"{props.deploy_role_prefix}{environment.name}",
                description=f"GitHub environment {environment.name}: cdk deploy through its CDK bootstrap roles only",
                assumed_by=principal([f"repo:{r}:environment:{environment.name}" for r in repositories]),
                max_session_duration=Duration.hours(1),
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[
                        f"arn:{Aws.PARTITION}:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}"
                        for kind in BOOTSTRAP_ROLE_KINDS
                    ],
                )
            )
            stacks = f"arn:{Aws.PARTITION}:cloudformation:{region}:{account}:stack/{props.stack_name_prefix}{environment.name}-*/*"
            if environment.release is None:
                role.add_to_policy(
                    iam.PolicyStatement(actions=["cloudformation:GetTemplate", "cloudformation:DescribeStacks"], resources=[stacks])
                )
            else:
                for statement in release_statements(environment.release, stacks=stacks, account=account, region=region):
                    role.add_to_policy(statement)
            self.deploy_roles[environment.name] = role
            target = "/".join(
                "this" if value is None else str(value) for value in (environment.account, environment.region, qualifier)
            )
            if target in seen:
                Annotations.of(role).add_warning_v2(
                    "ava-olo:shared-bootstrap-roles",
                    f"GitHub environments {seen[target]} and {environment.name} deploy through the same CDK bootstrap "
                    f"roles (account/region/qualifier {target}): their deploy roles can reach each other's stacks. "
                    "Give production its own account (deploy_environments[].account) to separate them.",
                )
            seen.setdefault(target, environment.name)

        self.image_push_role: Optional[iam.Role] = None
        image_push_repositories = list(props.image_push_repositories)
        if image_push_repositories:
            subjects = [
                f"repo:{app}:ref:{ref}:job_workflow_ref:{infra}/{BUILD_IMAGE_WORKFLOW}@{workflow_ref}"
                for app in image_push_repositories
                for ref in props.image_push_refs
                for infra in repositories
                for workflow_ref in props.build_image_workflow_refs
            ]
            self.image_push_role = iam.Role(
                self,
                "ImagePushRole",
                role_name=props.image_push_role_name,
                description="GitHub application repositories, inside build-image.yml: pull from and push to the service's ECR repository only",
                assumed_by=principal(subjects, "StringLike"),
                max_session_duration=Duration.hours(1),
            )
            # Pull/push actions on this one repository, plus ecr:GetAuthorizationToken (docker login).
            props.image_repository.grant_pull_push(self.image_push_role)
        self._acknowledge_inherent_findings(props)

    @staticmethod
    def _any_region_lookup_role(props: GitHubDeploymentRolesProps) -> str:
        # The lookup role (read-only) of any region of this account: pull requests diff every environment.
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-{props.cdk_qualifier}-lookup-role-{Aws.ACCOUNT_ID}-*"

    def _acknowledge_inherent_findings(self, props: GitHubDeploymentRolesProps) -> None:
        acknowledge(
            self.readonly_role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/{props.stack_name_prefix}*/*]",
            "Reading deployed templates (GetTemplate, DescribeStacks) is limited to this project's stacks; "
            "the wildcard covers their regions and the stack id suffix CloudFormation appends.",
        )
        acknowledge(
            self.readonly_role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-{props.cdk_qualifier}-lookup-role-<AWS::AccountId>-*]",
            "The only role it may assume is the CDK bootstrap lookup role, which is read-only; the wildcard is "
            "its region suffix, because pull requests diff environments in any region of this account.",
        )
        stack = Stack.of(self)
        for environment in props.environments:
            role = self.deploy_roles[environment.name]
            account = environment.account or (stack.account if not Token.is_unresolved(stack.account) else "<AWS::AccountId>")
            region = environment.region or (stack.region if not Token.is_unresolved(stack.region) else "<AWS::Region>")
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:{region}:{account}:stack/"
                f"{props.stack_name_prefix}{environment.name}-*/*]",
                "The CloudFormation actions (reading templates and stacks; with release resources also describing "
                "and executing change sets and setting stack policies) are limited to this environment's stacks; "
                "the wildcards are the stack purpose and the stack id suffix CloudFormation appends.",
            )
            if environment.release is not None:
                _acknowledge_release(role, environment.release, account=account, region=region)
        for role in (self.readonly_role, *self.deploy_roles.values()):
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


#: Read-only actions of the deploy path that have no resource-level permissions (IAM requires Resource "*";
#: the service authorization reference lists no resource type for them).
UNSCOPED_READ_ACTIONS = (
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ecs:DescribeTaskDefinition",
    "elasticloadbalancing:DescribeTargetHealth",
)
#: What the deploy path does on the environment's stacks itself (``cdk deploy --method=prepare-change-set``
#: creates the change sets through the bootstrap deploy role).
STACK_ACTIONS = (
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:DescribeStacks",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:GetStackPolicy",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
    "cloudformation:SetStackPolicy",
)


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{Aws.PARTITION}:{service}:{region}:{account}:{resource}"


def release_statements(release: ReleaseResources, *, stacks: str, account: str, region: str) -> list[iam.PolicyStatement]:
    """The deploy path's own calls (``ops/ava_olo_ops``), each on exactly ``release``'s resources."""
    ecs_arn = lambda resource: _arn("ecs", region, account, resource)  # noqa: E731
    cluster, service = release.cluster_name, release.service_name
    service_arn = ecs_arn(f"service/{cluster}/{service}")
    task_definitions = ecs_arn(f"task-definition/{release.migration_task_family}:*")
    prefix = release.parameter_prefix.strip("/")
    parameter = lambda name: _arn("ssm", region, account, f"parameter/{name.lstrip('/')}")  # noqa: E731
    lock, record = f"{prefix}/migration-lock", f"{prefix}/schema-version"
    database = _arn("rds", region, account, f"cluster:{release.database_cluster_identifier}")
    snapshots = _arn("rds", region, account, f"cluster-snapshot:{release.snapshot_prefix}*")
    log_group = _arn("logs", region, account, f"log-group:{release.migration_log_group_name}")
    statement = iam.PolicyStatement
    statements = [
        statement(actions=list(STACK_ACTIONS), resources=[stacks]),
        # Preflight, watch, verify, status, rollback: the service and its deployments and revisions.
        statement(actions=["ecs:DescribeServices", "ecs:ListServiceDeployments"], resources=[service_arn]),
        statement(
            actions=["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"],
            resources=[service_arn, ecs_arn(f"service-deployment/{cluster}/{service}/*")],
        ),
        statement(
            actions=["ecs:DescribeServiceRevisions"],
            resources=[service_arn, ecs_arn(f"service-revision/{cluster}/{service}/*")],
        ),
        # Migrate: a revision of the migration task definition with the release's image (its tags copied),
        # RunTask only on the environment's cluster, then the task's state and log.
        statement(actions=["ecs:RegisterTaskDefinition"], resources=[task_definitions]),
        statement(
            actions=["ecs:TagResource"],
            resources=[task_definitions],
            conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        ),
        statement(
            actions=["ecs:RunTask"],
            resources=[task_definitions],
            conditions={"ArnEquals": {"ecs:cluster": ecs_arn(f"cluster/{cluster}")}},
        ),
        statement(actions=["ecs:DescribeTasks"], resources=[ecs_arn(f"task/{cluster}/*")]),
        statement(
            actions=["iam:PassRole"],
            resources=[f"arn:{Aws.PARTITION}:iam::{account}:role/{name}" for name in release.migration_role_names],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        statement(actions=["logs:FilterLogEvents", "logs:GetLogEvents"], resources=[log_group, f"{log_group}:*"]),
        # The snapshot before the migration, waited for. The cluster has CopyTagsToSnapshot on, and RDS authorizes
        # the copied tags as rds:AddTagsToResource on the new snapshot (AccessDenied without it).
        statement(actions=["rds:DescribeDBClusters"], resources=[database]),
        statement(actions=["rds:CreateDBClusterSnapshot", "rds:DescribeDBClusterSnapshots"], resources=[database, snapshots]),
        statement(actions=["rds:AddTagsToResource"], resources=[snapshots]),
        # The writer's instance class for the restore commands; CloudFormation generates the instance identifiers.
        statement(actions=["rds:DescribeDBInstances"], resources=[_arn("rds", region, account, "db:*")]),
        # The release record, the migration lock (a conditional write) and the schema-version record.
        statement(
            actions=["ssm:GetParameter"],
            resources=[parameter(f"{prefix}/*")] + [parameter(p) for p in release.extra_parameters],
        ),
        statement(actions=["ssm:PutParameter"], resources=[parameter(lock), parameter(record)]),
        statement(actions=["ssm:DeleteParameter"], resources=[parameter(lock)]),
        statement(actions=["cloudwatch:DescribeAlarms"],
                  resources=[_arn("cloudwatch", region, account, f"alarm:{name}") for name in release.alarm_names]),
        statement(actions=["ecr:DescribeImages"], resources=[_arn("ecr", region, account, f"repository/{release.image_repository_name}")]),
        # Preflight: the certificate parameter's ARN is read at deploy time, so any certificate of its region.
        statement(actions=["acm:DescribeCertificate"], resources=[_arn("acm", region, account, "certificate/*")]),
        statement(actions=list(UNSCOPED_READ_ACTIONS), resources=["*"]),
    ]
    if release.migration_record_of is not None:
        stack_name, record_of = release.migration_record_of
        statements += [
            statement(actions=["cloudformation:ListStackResources"],
                      resources=[_arn("cloudformation", region, account, f"stack/{stack_name}/*")]),
            statement(actions=["ssm:GetParameter"], resources=[parameter(record_of)]),
        ]
    return statements


def _acknowledge_release(role: iam.Role, release: ReleaseResources, *, account: str, region: str) -> None:
    """The IAM5 wildcards of :func:`release_statements`, each with why it cannot be narrower."""
    def arn(service: str, resource: str) -> str:
        return f"Resource::arn:<AWS::Partition>:{service}:{region}:{account}:{resource}"

    cluster, service = release.cluster_name, release.service_name
    prefix = release.parameter_prefix.strip("/")
    reasons = {
        arn("ecs", f"service-deployment/{cluster}/{service}/*"):
            "Service deployments and revisions get ids from ECS; the wildcard is only those ids of this environment's "
            "one service.",
        arn("ecs", f"service-revision/{cluster}/{service}/*"):
            "Service revisions get ids from ECS; the wildcard is only those ids of this environment's one service.",
        arn("ecs", f"task-definition/{release.migration_task_family}:*"):
            "The revision number of this environment's migration task definition family only: ava-olo migrate "
            "registers a new revision per release and runs it, and RunTask is further limited to the environment's cluster.",
        arn("ecs", f"task/{cluster}/*"):
            "Task ids are assigned by ECS; DescribeTasks (read only) of tasks in this environment's cluster only.",
        arn("logs", f"log-group:{release.migration_log_group_name}:*"):
            "Log streams of the migration task's log group only (one stream per task id; read only).",
        arn("rds", f"cluster-snapshot:{release.snapshot_prefix}*"):
            "The migration snapshots of this environment only (ava-olo migrate names them <env>-<version>-<stamp>); "
            "creating one also needs the environment's own cluster.",
        arn("rds", "db:*"):
            "DescribeDBInstances only (read only): the writer's instance class for the restore commands; "
            "CloudFormation generates the instance identifiers, so no narrower ARN is known here.",
        arn("ssm", f"parameter/{prefix}/*"):
            "GetParameter (read only) of this service's own parameters in this environment; writes are limited to "
            "the lock and the schema-version record.",
        arn("acm", "certificate/*"):
            "DescribeCertificate (read only): the certificate ARN is read from SSM at deploy time, so any "
            "certificate of this environment's account and region.",
        "Resource::*":
            f"Only {', '.join(UNSCOPED_READ_ACTIONS)}: read-only actions without resource-level permissions, for which "
            "IAM requires Resource '*'.",
    }
    if release.migration_record_of is not None:
        reasons[arn("cloudformation", f"stack/{release.migration_record_of[0]}/*")] = (
            "ListStackResources (read only) of the one stack whose migration record this environment's migration "
            "requires first; the wildcard is the stack id suffix CloudFormation appends."
        )
    for finding, reason in reasons.items():
        acknowledge(role, f"AwsSolutions-IAM5[{finding}]", reason)
