"""Customer-managed KMS encryption for CloudWatch Logs log groups (NIST 800-53 R5 AU-9(3), SC-28).

A log group can only use a key whose policy lets the regional CloudWatch Logs service use it, scoped here by
the encryption context to log groups of this account and region. The key is retained: deleting it would make
every retained log group unreadable.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def allow_cloudwatch_logs(key: kms.Key) -> kms.Key:
    """Let CloudWatch Logs in this region encrypt and decrypt this account's log groups with ``key``."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                }
            },
        )
    )
    return key


def log_encryption_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A rotating key for the log groups of one stack."""
    key = kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN
    )
    return allow_cloudwatch_logs(key)
