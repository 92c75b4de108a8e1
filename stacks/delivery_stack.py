"""``Delivery`` (``ava-olo-delivery``), once per account: the service's ECR repository and the GitHub OIDC
roles CI uses: infrastructure repositories deploy, application repositories only push images. Shared by every
environment of the account, so it lives apart from them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ava_olo_constructs import GitHubDeploymentRoles, GitHubDeploymentRolesProps, ImageRepository, ImageRepositoryProps

from .config.delivery import DeliveryConfig


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
                deploy_environments=config.deploy_environments,
                provider_arn=config.github_oidc_provider_arn,
                cdk_qualifier=config.cdk_qualifier,
            ),
        )
        CfnOutput(self, "RepositoryUri", value=self.image_repository.repository.repository_uri,
                  description="docker push <this>:<version> (immutable tags)")
        CfnOutput(self, "ReadOnlyRoleArn", value=self.github.readonly_role.role_arn,
                  description="role-to-assume for pull requests (cdk diff)")
        CfnOutput(self, "DeployRoleArn", value=self.github.deploy_role.role_arn,
                  description="role-to-assume for releases of the infrastructure repositories (cdk deploy)")
        if self.github.image_push_role is not None:
            CfnOutput(self, "ImagePushRoleArn", value=self.github.image_push_role.role_arn,
                      description="role-to-assume for the application repositories' image builds (ECR pull/push only)")
