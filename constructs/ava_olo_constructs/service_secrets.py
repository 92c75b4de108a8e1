"""The database's credentials (and other secrets of the data side) as ECS secrets, without a dependency cycle.

``ecs.Secret.from_secrets_manager(database.secret, "password")`` grants the task's execution role read access
*on the secret's side*: the role ARN lands in the KMS key policy of the database's stack. With the database in
a ``Data`` stack and the service in a ``Service`` stack, ``Data`` then depends on ``Service`` while ``Service``
depends on ``Data`` for the secret: a cycle that ``cdk synth`` refuses.

:class:`DatabaseSecrets` references each secret and its key *by ARN* in the caller's (the service's) stack, so
every grant is an identity policy of the caller's execution role: exact secret ARNs, and ``kms:Decrypt`` on
exactly the secrets' keys, only through Secrets Manager in this region. The data stack never learns about its
readers. The same construct works unchanged when service and database share one stack.

Usage (in the service's stack)::

    secrets = DatabaseSecrets(self, "DatabaseSecrets", DatabaseSecretsProps(database=data.database))
    FargateWebServiceProps(..., secrets={**secrets.secrets, ...})
    secrets.grant_read(web_service.task_definition.obtain_execution_role())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .container_environment import check_environment_names
from .database import AuroraPostgresDatabase
from .validation import PropsError

#: Container variable -> JSON field of the generated credentials secret (``rds.Credentials.from_generated_secret``).
DATABASE_FIELDS: Mapping[str, str] = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "DB_PASSWORD": "password",
}


@dataclass(frozen=True)
class DatabaseSecretsProps:
    """Props for :class:`DatabaseSecrets`. Required: ``database``.

    :param database: the :class:`AuroraPostgresDatabase`, in this stack or another one.
    :param fields: container variable -> JSON field of its credentials secret. Default :data:`DATABASE_FIELDS`
        (``DB_HOST``, ``DB_PORT``, ``DB_NAME``, ``DB_USER``, ``DB_PASSWORD``).
    :param extra_secrets: more whole-value secrets by container variable, e.g. ``{"ENCRYPTION_KEY": secret}``.
        Secrets this app created (in any stack) are encrypted with the database's key unless they carry a key of
        their own; imported secrets (``Secret.from_secret_complete_arn``) are used as given. Default none.
    :param extra_key_arns: KMS keys of imported secrets that Secrets Manager must decrypt with (an operator's
        own key). Default none.
    """

    database: AuroraPostgresDatabase
    fields: Mapping[str, str] = field(default_factory=lambda: dict(DATABASE_FIELDS))
    extra_secrets: Mapping[str, secretsmanager.ISecret] = field(default_factory=dict)
    extra_key_arns: Sequence[str] = ()

    def validate(self) -> None:
        if not isinstance(self.database, AuroraPostgresDatabase):
            raise PropsError("database", type(self.database).__name__, "an AuroraPostgresDatabase construct")
        if not self.fields:
            raise PropsError("fields", dict(self.fields), "at least one container variable -> JSON field")
        clash = sorted(set(self.fields) & set(self.extra_secrets))
        if clash:
            raise PropsError("extra_secrets", clash[0], "already set from the credentials secret (fields)")
        # Names only: a secret-looking name is exactly what belongs here.
        check_environment_names({}, {**dict.fromkeys(self.fields), **dict.fromkeys(self.extra_secrets)})


class DatabaseSecrets(Construct):
    """ECS secrets for the database's credentials, referenced from the caller's stack.

    Attributes: ``secrets`` (container variable -> ``ecs.Secret``), ``credentials`` (the credentials secret as
    referenced here), ``key_arns`` (the KMS keys a reader must be allowed to decrypt with) and ``props``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseSecretsProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.props = props
        database = props.database
        assert database.secret is not None, "AuroraPostgresDatabase always generates its credentials secret"
        database_key = kms.Key.from_key_arn(self, "DatabaseKey", database.kms_key.key_arn)
        self.key_arns: list[str] = [database.kms_key.key_arn]
        self.credentials = secretsmanager.Secret.from_secret_attributes(
            self, "Credentials", secret_complete_arn=database.secret.secret_full_arn, encryption_key=database_key
        )
        self.secrets: dict[str, ecs.Secret] = {
            variable: ecs.Secret.from_secrets_manager(self.credentials, json_field)
            for variable, json_field in props.fields.items()
        }
        for variable, secret in props.extra_secrets.items():
            self.secrets[variable] = ecs.Secret.from_secrets_manager(self._referenced(variable, secret, database_key))
        for arn in props.extra_key_arns:
            if arn not in self.key_arns:
                self.key_arns.append(arn)

    def _referenced(self, variable: str, secret: secretsmanager.ISecret, database_key: kms.IKey) -> secretsmanager.ISecret:
        """A secret this app created is re-referenced by its full ARN here (grants stay on our side); an imported
        one already is a reference."""
        if not isinstance(secret, secretsmanager.Secret):
            return secret
        own_key = secret.encryption_key
        key: kms.IKey = database_key
        if own_key is not None and own_key.key_arn != self.props.database.kms_key.key_arn:
            key = kms.Key.from_key_arn(self, f"{variable}Key", own_key.key_arn)
            if own_key.key_arn not in self.key_arns:
                self.key_arns.append(own_key.key_arn)
        return secretsmanager.Secret.from_secret_attributes(
            self, f"{variable}Secret", secret_complete_arn=secret.secret_full_arn, encryption_key=key
        )

    def decrypt_statement(self) -> iam.PolicyStatement:
        """``kms:Decrypt`` on exactly the secrets' keys, only when Secrets Manager of this region asks."""
        return iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=list(self.key_arns),
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"}},
        )

    def grant_read(self, role: iam.IRole) -> None:
        """Let ``role`` (a task's execution role) decrypt the secrets. ``ecs.Secret`` already grants
        ``secretsmanager:GetSecretValue`` on each secret when the container uses it; the key grant is explicit
        because CDK does not add one for a key referenced by ARN."""
        role.add_to_principal_policy(self.decrypt_statement())
