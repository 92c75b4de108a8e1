"""SSM Parameter Store: the service's non-secret settings, and the operator's SecureString parameters.

* :class:`ServiceParameters` publishes non-secret configuration under ``/<project>/<env>/<service>/...`` (pool
  settings, database endpoints, the service URL, the deployed version) so that operators and scripts read one
  place instead of digging through stacks (seed "What NOT to Do" #3: use configuration, not hard-coded hosts).
* :class:`SecureParameterSecrets` turns SecureString parameters into ECS secrets. CloudFormation cannot create
  SecureString parameters (the seed's ``aws ssm put-parameter --type SecureString`` is an operator step), so they
  are referenced by name; ECS resolves them at task start and the execution role may read exactly those ARNs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ServiceParametersProps:
    """:param prefix: where the parameters live (required), e.g. ``ResourceNames.parameter_prefix``.
    :param values: setting -> value; each becomes ``<prefix>/<setting>``."""

    prefix: str
    values: Mapping[str, str] = field(default_factory=dict)


class ServiceParameters(Construct):
    """One ``String`` parameter per setting under ``prefix``. Attribute: ``parameters`` (name -> parameter)."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceParametersProps) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(props, ServiceParametersProps):
            raise PropsError("props", props, "a ServiceParametersProps")
        prefix, values = props.prefix, props.values
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


@dataclass(frozen=True)
class SecureParameterSecretsProps:
    """:param names: environment variable -> name of an existing SecureString parameter (``/path/name``).
    :param kms_key_arn: the customer-managed key the parameters are encrypted with. Default: ``alias/aws/ssm``."""

    names: Mapping[str, str] = field(default_factory=dict)
    kms_key_arn: Optional[str] = None


class SecureParameterSecrets(Construct):
    """Existing SecureString parameters as ECS secrets (``container_secrets`` of the service): nothing is created,
    ECS resolves them at task start. Attribute: ``secrets`` (environment variable -> ``ecs.Secret``)."""

    def __init__(self, scope: Construct, construct_id: str, props: SecureParameterSecretsProps) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(props, SecureParameterSecretsProps):
            raise PropsError("props", props, "a SecureParameterSecretsProps")
        key = kms.Key.from_key_arn(self, "Key", props.kms_key_arn) if props.kms_key_arn else None
        self.secrets: dict[str, ecs.Secret] = {}
        for variable, name in props.names.items():
            check_parameter_name(f"secure_parameters.{variable}", name)
            parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
                self, variable, parameter_name=name, encryption_key=key
            )
            self.secrets[variable] = ecs.Secret.from_ssm_parameter(parameter)
