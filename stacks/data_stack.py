"""``<Env>Data``: the farmer-crm Aurora PostgreSQL cluster, its KMS key, credentials and ENCRYPTION_KEY.

Stateful: termination-protected in production, never replaced, changed with care. The service stack receives
the database as a construct attribute (CDK exports what it needs) and opens the port from its own security
group, so this stack never depends on the service.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ava_olo_constructs import (
    AuroraPostgresDatabase,
    FernetKeySecret,
    FernetKeySecretProps,
    ResourceNames,
    acknowledge,
)

from .config import EnvironmentConfig


class DataStack(Stack):
    """Attributes: ``database`` (construct), ``encryption_key_secret``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        names: ResourceNames,
        vpc: ec2.IVpc,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        db = config.database
        retain = config.removal_policy  # RETAIN when retain_data, else DESTROY
        self.database = AuroraPostgresDatabase(
            self,
            "Database",
            db.props(
                vpc=vpc,
                cluster_identifier=names.database_identifier("farmer-crm"),
                secret_name=names.environment_secret_name("database/credentials"),
                removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if config.retain_data else RemovalPolicy.SNAPSHOT,
                secret_removal_policy=retain,
            ),
        )
        if not db.deletion_protection:
            reason = (
                "This environment is torn down routinely, so deletion protection is off by configuration; its "
                "removal policy still takes a final snapshot, so no data is lost without a backup."
            )
            acknowledge(self.database.cluster, "AwsSolutions-RDS10", reason)
            acknowledge(self.database.cluster, "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled", reason)

        self.encryption_key_secret: secretsmanager.ISecret
        if config.encryption_key_secret_arn:
            self.encryption_key_secret = FernetKeySecret.from_existing(
                self, "EncryptionKey", config.encryption_key_secret_arn
            )
        else:
            self.encryption_key_secret = FernetKeySecret(
                self,
                "EncryptionKey",
                FernetKeySecretProps(
                    secret_name=names.environment_secret_name("encryption-key"),
                    encryption_key=self.database.kms_key,
                    removal_policy=retain,
                ),
            ).secret

        CfnOutput(self, "DatabaseClusterIdentifier", value=self.database.cluster.cluster_identifier,
                  description="aws rds describe-db-clusters --db-cluster-identifier <this>")
        CfnOutput(self, "DatabaseSecretName", value=self.database.props.secret_name,
                  description="the credentials secret (JSON: host, port, dbname, username, password)")
