"""The per-account delivery configuration: ``delivery/<name>.json``, chosen with ``-c delivery=NAME``.

One file per AWS account (the ECR repository and the GitHub OIDC provider exist once per account, shared by
every environment deployed there). Validated like the environments: one line naming field, value, allowed.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ava_olo_constructs.github_oidc import CDK_QUALIFIER, DeployEnvironment, GitHubDeploymentRolesProps
from ava_olo_constructs.image_repository import KEEP_RELEASE_IMAGES, UNTAGGED_EXPIRY_DAYS, ImageRepositoryProps
from ava_olo_constructs.tags import check_tags
from ava_olo_constructs.validation import PropsError

from .files import DELIVERY_DIR, available_deliveries, load_delivery  # noqa: F401  (re-exported)
from .loader import FROM_CLI, _account, _Checker, _region

#: GitHubDeploymentRolesProps fields -> the delivery setting that sets them, so that errors name the setting.
_GITHUB_SETTINGS = {
    "repositories": "github_repositories",
    "image_push_repositories": "github_image_repositories",
    "deploy_environments": "deploy_environments",
    "deploy_environments.account": "deploy_environments[].account",
    "deploy_environments.region": "deploy_environments[].region",
    "deploy_environments.cdk_qualifier": "deploy_environments[].cdk_qualifier",
    "cdk_qualifier": "cdk_qualifier",
}


@dataclass(frozen=True)
class DeliveryConfig:
    """:param github_repositories: ``owner/name`` of the infrastructure repositories, whose jobs in a GitHub
        deployment environment deploy (role ``ava-olo-github-deploy-<env>``, an administrator through that
        environment's CDK bootstrap roles) and whose pull requests diff. At least one.
    :param github_image_repositories: ``owner/name`` of the application repositories, whose ``main`` and ``v*``
        workflows may only pull from and push to the ECR repository, from this repository's ``build-image.yml``
        (role ``ava-olo-github-image-push``). May be empty (then that role is not created). Never give an
        application repository a deploy role.
    :param deploy_environments: the GitHub deployment environments, one deploy role each: names (stacks in this
        account and region, qualifier ``cdk_qualifier``) or objects ``{"name", "account", "region",
        "cdk_qualifier"}`` naming where that environment is bootstrapped (``account`` may be ``from-cli``).
    :param github_oidc_provider_arn: the account's existing GitHub OIDC provider, if another stack owns it."""

    name: str
    region: str
    github_repositories: tuple[str, ...]
    github_image_repositories: tuple[str, ...] = ()
    account: Optional[str] = None
    project: str = "ava-olo"
    repository_name: str = "ava-olo-monitoring-dashboards"
    keep_release_images: int = KEEP_RELEASE_IMAGES
    untagged_expiry_days: int = UNTAGGED_EXPIRY_DAYS
    github_oidc_provider_arn: Optional[str] = None
    deploy_environments: tuple[DeployEnvironment, ...] = (DeployEnvironment("staging"), DeployEnvironment("production"))
    cdk_qualifier: str = CDK_QUALIFIER
    tags: Mapping[str, str] = field(default_factory=dict)


_DEPLOY_ENVIRONMENT_KEYS = {"name", "account", "region", "cdk_qualifier"}


def _deploy_environment(errors: _Checker, item: Any, environ: Mapping[str, str]) -> DeployEnvironment:
    """A name, or ``{"name", "account", "region", "cdk_qualifier"}``; account may be ``from-cli``."""
    if isinstance(item, str):
        return DeployEnvironment(name=item)
    if not isinstance(item, dict) or "name" not in item or set(item) - _DEPLOY_ENVIRONMENT_KEYS:
        errors.fail("deploy_environments", item, f"names or objects with the keys {', '.join(sorted(_DEPLOY_ENVIRONMENT_KEYS))} (name required)")
    account = item.get("account")
    if account == FROM_CLI:
        account = None  # the delivery stack's own account
    return DeployEnvironment(name=item["name"], account=account, region=item.get("region"), cdk_qualifier=item.get("cdk_qualifier"))


def parse_delivery(name: str, raw: Mapping[str, Any], *, environ: Mapping[str, str] = os.environ) -> DeliveryConfig:
    errors = _Checker(f"delivery/{name}")
    settable = {f.name for f in dataclasses.fields(DeliveryConfig)} - {"name"} | {"description"}
    errors.known(raw, settable)
    for key in ("region", "github_repositories"):
        if key not in raw:
            errors.fail(key, None, "required (missing)")
    values: dict[str, Any] = {k: v for k, v in raw.items() if k != "description"}
    values["name"] = name
    values["region"] = _region(errors, raw["region"], environ)
    values["account"] = _account(errors, raw.get("account", FROM_CLI), environ)
    for key in ("github_repositories", "github_image_repositories", "deploy_environments"):
        if key in raw:
            if not isinstance(raw[key], list):
                errors.fail(key, raw[key], "a list")
            values[key] = tuple(raw[key])
    if "deploy_environments" in raw:
        values["deploy_environments"] = tuple(_deploy_environment(errors, item, environ) for item in raw["deploy_environments"])
    for key in ("keep_release_images", "untagged_expiry_days"):
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int)):
            errors.fail(key, raw[key], "a whole number")
    if "github_oidc_provider_arn" in raw:
        arn = raw["github_oidc_provider_arn"]
        if not isinstance(arn, str) or not arn.endswith(":oidc-provider/token.actions.githubusercontent.com"):
            errors.fail("github_oidc_provider_arn", arn, "the ARN of the account's token.actions.githubusercontent.com provider")
    errors.run(check_tags, values.get("tags", {}))
    config = DeliveryConfig(**values)
    errors.run(
        ImageRepositoryProps(
            repository_name=config.repository_name,
            keep_release_images=config.keep_release_images,
            untagged_expiry_days=config.untagged_expiry_days,
        ).validate
    )
    try:
        GitHubDeploymentRolesProps(
            repositories=config.github_repositories,
            image_repository=None,  # type: ignore[arg-type]  # not needed to validate
            image_push_repositories=config.github_image_repositories,
            deploy_environments=config.deploy_environments,
            cdk_qualifier=config.cdk_qualifier,
        ).validate()
    except PropsError as error:
        errors.fail(_GITHUB_SETTINGS.get(error.field, f"github_{error.field}"), error.value, error.allowed)
    return config
