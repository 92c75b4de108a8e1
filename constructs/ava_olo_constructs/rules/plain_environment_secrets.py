"""AvaOlo-NoPlainSecretEnvironment: a container's plain ``Environment`` holds no secret-looking variable.

``DB_PASSWORD``, ``API_KEY``, ``GITHUB_TOKEN`` ... belong in ``Secrets`` (Secrets Manager / SSM SecureString,
resolved by ECS at start): a plain value is readable by anyone with ``ecs:DescribeTaskDefinition`` and stored in
the template. Names ending in a reference word (``KMS_KEY_ARN``, ``SECRET_NAME``) are references, not secrets.
"""

from __future__ import annotations

import re

from ._support import COMPLIANT, NagRule, Resource, Result, known


def secret_looking(name: str, policy) -> bool:
    if name in policy.allowed_plain_environment:
        return False
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    if not words or words[-1].upper() in policy.reference_suffixes:
        return False
    word = re.compile(rf"^(?:{policy.secret_name_pattern})$", re.IGNORECASE)
    return any(word.match(w) for w in words)


def check(resource: Resource, policy) -> Result:
    findings = []
    containers = known(resource, resource.get("ContainerDefinitions", default=[]), "ContainerDefinitions")
    for container in containers:
        for variable in container.get("Environment") or []:
            name = variable.get("Name")
            if isinstance(name, str) and secret_looking(name, policy):
                findings.append(f"{container.get('Name')}.{name}")
    return findings or COMPLIANT


RULE = NagRule(
    id="NoPlainSecretEnvironment",
    resource_types=("AWS::ECS::TaskDefinition",),
    info="A container has a secret-looking variable (PASSWORD, SECRET, KEY, TOKEN ...) in its plain "
    "Environment instead of Secrets.",
    explanation="Plain environment values are stored in the template and shown by DescribeTaskDefinition; "
    "Secrets are fetched from Secrets Manager or SSM by ECS at task start and never leave the account in clear.",
    check=check,
)
