"""SSM Parameter Store: the service's non-secret settings, and the operator's SecureString parameters.

* :class:`ServiceParameters` publishes non-secret configuration under ``/<project>/<env>/<service>/...`` (pool
  settings, database endpoints, the service URL, the deployed version) so that operators and scripts read one
  place instead of digging through stacks (seed "What NOT to Do" #3: use configuration, not hard-coded hosts).
* :func:`secure_parameter_secrets` turns SecureString parameters into ECS secrets. CloudFormation cannot create
  SecureString parameters (the seed's ``aws ssm put-parameter --type SecureString`` is an operator step), so they
  are referenced by name; ECS resolves them at task start and the execution role may read exactly those ARNs.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .validation import PropsError

_PARAMETER_NAME = re.compile(r"(/[A-Za-z0-9_.\-]+)+")


def check_parameter_name(field: str, name: str) -> None:
    if not isinstance(name, str) or not _PARAMETER_NAME.fullmatch(name) or len(name) > 1011:
        raise PropsError(field, name, "an absolute SSM parameter name such as /ava-olo/production/db-password")


class ServiceParameters(Construct):
    """One ``String`` parameter per setting under ``prefix``. Attribute: ``parameters`` (name -> parameter)."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, values: Mapping[str, str]) -> None:
        super().__init__(scope, construct_id)
        check_parameter_name("prefix", prefix)
        self.prefix = prefix.rstrip("/")
        self.parameters: dict[str, ssm.StringParameter] = {}
        for key, value in values.items():
            check_parameter_name("parameter", f"{self.prefix}/{key}")
            self.parameters[key] = ssm.StringParameter(
                self,
                "".join(part.capitalize() for part in re.split(r"[-_/.]", key)),
                parameter_name=f"{self.prefix}/{key}",
                string_value=value,
                description=f"{key} (managed by CloudFormation; change the configuration, not this value)",
            )


def secure_parameter_secrets(
    scope: Construct, names: Mapping[str, str], *, kms_key_arn: Optional[str] = None
) -> dict[str, ecs.Secret]:
    """``{"ENV_VAR": "/path/name"}`` -> ECS secrets read from existing SecureString parameters."""
    key = kms.Key.from_key_arn(scope, "SecureParameterKey", kms_key_arn) if kms_key_arn else None
    secrets: dict[str, ecs.Secret] = {}
    for variable, name in names.items():
        check_parameter_name(f"secure_parameters.{variable}", name)
        parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
            scope, f"SecureParameter{variable}", parameter_name=name, encryption_key=key
        )
        secrets[variable] = ecs.Secret.from_ssm_parameter(parameter)
    return secrets
