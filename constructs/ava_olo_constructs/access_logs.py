"""An S3 bucket for load balancer access logs: encrypted, private, TLS-only, expiring, retained.

Access logs are how a "5xx for farmers in one country" incident is investigated after the fact (seed
"Troubleshooting Guide"). ALB access logging supports only SSE-S3 encryption, so the bucket uses S3-managed
keys. The bucket is retained on stack deletion (it holds evidence); its lifecycle rule empties it, so a
retained bucket costs nothing once its logs have expired.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .compliance import acknowledge
from .validation import check_range

#: Default days an access log object is kept.
EXPIRATION_DAYS = 90


@dataclass(frozen=True)
class AccessLogBucketProps:
    """:param expiration_days: days before log objects expire. Default 90.
    :param removal_policy: Default RETAIN_ON_UPDATE_OR_DELETE (CloudFormation ``RetainExceptOnCreate``): kept on
        stack deletion (a non-empty bucket cannot be deleted by CloudFormation anyway), but removed when the
        stack's first create fails, so nothing is left behind for a retry to trip over."""

    expiration_days: int = EXPIRATION_DAYS
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


class AccessLogBucket(Construct):
    """Attribute: ``bucket``."""

    def __init__(self, scope: Construct, construct_id: str, props: AccessLogBucketProps = AccessLogBucketProps()):
        super().__init__(scope, construct_id)
        check_range("access_log_expiration_days", props.expiration_days, 1, 3650)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,  # an overwritten or deleted log object stays recoverable until it expires
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(props.expiration_days),
                    noncurrent_version_expiration=Duration.days(props.expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=props.removal_policy,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "This bucket only receives load balancer access logs; server access logging for it would need another "
            "log bucket that in turn needs one. It is private (public access blocked, objects owned by the bucket "
            "owner, TLS only), so only IAM principals of this account can read it; object reads are not logged.",
        )
