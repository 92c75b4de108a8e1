"""``Delivery`` (``ava-olo-delivery``), once per account: the service's ECR repository and the GitHub OIDC
roles CI uses: infrastructure repositories deploy, application repositories only push images. Shared by every
environment of the account, so it lives apart from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ava_olo_constructs import GitHubDeploymentRoles, GitHubDeploymentRolesProps, ImageRepository, ImageRepositoryProps
from ava_olo_constructs.github_oidc import DeployEnvironment, ReleaseResources

from .config import ENVIRONMENTS_DIR, EnvironmentConfig, load_environment
from .config.delivery import DeliveryConfig
from ava_olo_constructs.web_service import DEPLOYMENT_ALARM_PURPOSES
from .service_stack import MIGRATION_EXECUTION_ROLE, MIGRATION_TASK_ROLE, names_for

#: Where a production-tier migration must have passed first: ``ava-olo migrate --staging`` (its default), which
#: the release workflow does not change. Its record is read with the production deploy role's credentials.
STAGING_ENVIRONMENT = "staging"


def release_resources(config: EnvironmentConfig, staging: Optional[EnvironmentConfig] = None) -> ReleaseResources:
    """The names ``ava-olo deploy --migrate`` touches in ``config``'s environment, from the naming helper the
    environment's stacks use (:func:`~stacks.service_stack.names_for`), so the deploy role and the stacks agree."""
    names = names_for(config)
    family = config.task_family or names.task_family
    record_of = None
    if staging is not None:
        staging_names = names_for(staging)
        record_of = (staging_names.stack_name("service"), f"{staging_names.parameter_prefix}/schema-version")
    return ReleaseResources(
        cluster_name=names.cluster_name,
        service_name=names.service_name,
        migration_task_family=f"{family}-migrate",
        migration_role_names=(names.role_name(MIGRATION_TASK_ROLE), names.role_name(MIGRATION_EXECUTION_ROLE)),
        migration_log_group_name=f"{names.log_group_name}-migrate",
        parameter_prefix=names.parameter_prefix,
        database_cluster_identifier=names.database_identifier("farmer-crm"),
        snapshot_prefix=f"{config.name}-v",  # ava-olo migrate: <env>-<version>-<stamp>, versions start with v
        alarm_names=tuple(names.alarm_name(purpose) for purpose in DEPLOYMENT_ALARM_PURPOSES),
        image_repository_name=config.image.repository if config.image.is_ecr_repository_name else "*",
        extra_parameters=tuple(p for p in [config.https.certificate_arn_parameter if config.https else None] if p),
        migration_record_of=record_of,
    )


def with_release_resources(environments: Any, directory: Path = ENVIRONMENTS_DIR) -> list[DeployEnvironment]:
    """Each deploy environment with an ``environments/<name>.json`` gets its :class:`ReleaseResources`."""
    def load(name: str) -> Optional[EnvironmentConfig]:
        return load_environment(name, environ={}, directory=directory) if (directory / f"{name}.json").exists() else None

    result = []
    for environment in environments:
        environment = environment if isinstance(environment, DeployEnvironment) else DeployEnvironment(name=environment)
        config = load(environment.name) if environment.release is None else None
        if config is not None:
            staging = load(STAGING_ENVIRONMENT) if config.tier == "production" and config.name != STAGING_ENVIRONMENT else None
            # Where the environment's stacks are: the delivery entry's account/region, else its own config's.
            environment = dataclasses.replace(
                environment,
                account=environment.account or config.account,
                region=environment.region or config.region,
                release=release_resources(config, staging),
            )
        result.append(environment)
    return result


class DeliveryStack(Stack):
    """Attributes: ``image_repository`` (construct), ``github`` (roles)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeliveryConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.image_repository = ImageRepository(
            self,
            "Images",
            ImageRepositoryProps(
                repository_name=config.repository_name,
                keep_release_images=config.keep_release_images,
                untagged_expiry_days=config.untagged_expiry_days,
            ),
        )
        self.github = GitHubDeploymentRoles(
            self,
            "GitHub",
            GitHubDeploymentRolesProps(
                repositories=config.github_repositories,
                image_repository=self.image_repository.repository,
                image_push_repositories=config.github_image_repositories,
                deploy_environments=with_release_resources(config.deploy_environments),
                provider_arn=config.github_oidc_provider_arn,
                cdk_qualifier=config.cdk_qualifier,
            ),
        )
        CfnOutput(self, "RepositoryUri", value=self.image_repository.repository.repository_uri,
                  description="docker push <this>:<version> (immutable tags)")
        CfnOutput(self, "ReadOnlyRoleArn", value=self.github.readonly_role.role_arn,
                  description="role-to-assume for pull requests (cdk diff)")
        for environment, role in self.github.deploy_roles.items():
            CfnOutput(self, f"DeployRoleArn{''.join(c for c in environment.title() if c.isalnum())}", value=role.role_arn,
                      description=f"role-to-assume for the deploy job in GitHub environment {environment} (cdk deploy)")
        if self.github.image_push_role is not None:
            CfnOutput(self, "ImagePushRoleArn", value=self.github.image_push_role.role_arn,
                      description="role-to-assume for the application repositories' image builds (ECR pull/push only)")
