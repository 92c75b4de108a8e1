"""The ECR repository the service's release images live in.

Seed "ECS Deployment Timeline" (GitHub Actions -> ECR -> ECS) and "Version Tagging Strategy": an image is
pushed once per release tag and never overwritten (immutable tags, so ``v3.2.0`` always means the same bits
and a rollback really returns to them), scanned on push, encrypted with a customer-managed key, and cleaned
up by lifecycle rules: untagged layers expire after a few days, and only the last N release images are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from constructs import Construct

from .validation import PropsError, check_range

KEEP_RELEASE_IMAGES = 50
UNTAGGED_EXPIRY_DAYS = 7
RELEASE_TAG_PREFIX = "v"


@dataclass(frozen=True)
class ImageRepositoryProps:
    """:param repository_name: e.g. ``ava-olo-monitoring-dashboards`` (required).
    :param keep_release_images: release images (tags starting with ``v``) kept. Default 50.
    :param untagged_expiry_days: days before untagged images expire. Default 7.
    :param encryption_key: Default: a new customer-managed key with rotation.
    :param removal_policy: Default RETAIN_ON_UPDATE_OR_DELETE (``RetainExceptOnCreate``): released images are
        what rollbacks run, so the repository (fixed name) is kept; only a failed first create removes it (then
        empty), so that the retry does not fail with "already exists"."""

    repository_name: str
    keep_release_images: int = KEEP_RELEASE_IMAGES
    untagged_expiry_days: int = UNTAGGED_EXPIRY_DAYS
    encryption_key: Optional[kms.IKey] = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE

    def validate(self) -> None:
        name = self.repository_name
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*", name) or len(name) > 256:
            raise PropsError("repository_name", name, "an ECR repository name: lower-case letters, digits, . _ - and /")
        check_range("keep_release_images", self.keep_release_images, 1, 10_000)
        check_range("untagged_expiry_days", self.untagged_expiry_days, 1, 3650)


class ImageRepository(Construct):
    """Attributes: ``repository``, ``key``."""

    def __init__(self, scope: Construct, construct_id: str, props: ImageRepositoryProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.key = props.encryption_key or kms.Key(
            self,
            "Key",
            description=f"ECR repository {props.repository_name}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=props.repository_name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.key,
            removal_policy=props.removal_policy,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"Expire untagged images after {props.untagged_expiry_days} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(props.untagged_expiry_days),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"Keep the last {props.keep_release_images} release images",
                    tag_status=ecr.TagStatus.TAGGED,
                    tag_prefix_list=[RELEASE_TAG_PREFIX],
                    max_image_count=props.keep_release_images,
                ),
            ],
        )
