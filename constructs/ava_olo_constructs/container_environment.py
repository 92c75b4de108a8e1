"""The rule for a container's plain environment, shared by every task the library defines.

Seed "Security Best Practices": never put credentials where anyone with ``ecs:DescribeTaskDefinition`` can
read them. Names are letters, digits and underscores; secret-looking names must be ECS secrets; a variable is
either plain environment or a secret, never both.
"""

from __future__ import annotations

from typing import Mapping

from .validation import PropsError
from .web_service_defaults import SECRET_LIKE_NAME_FRAGMENTS


def check_environment_names(environment: Mapping[str, str], secrets: Mapping[str, object]) -> None:
    """The container-environment rule of :class:`~ava_olo_constructs.web_service.FargateWebServiceProps`: names
    are letters, digits and underscores; secret-looking names (same fragments) must be ECS secrets; a variable is
    either plain environment or a secret, never both."""
    for name in list(environment) + list(secrets):
        if not isinstance(name, str) or not name or not name.replace("_", "A").isalnum() or not name[0].isalpha():
            raise PropsError("environment", name, "variable names are letters, digits and underscores")
    for name, value in environment.items():
        if any(fragment in name.upper() for fragment in SECRET_LIKE_NAME_FRAGMENTS):
            raise PropsError(
                "environment",
                name,
                "secret-looking variables must be passed as secrets (ecs.Secret), never as plain environment",
            )
        if not isinstance(value, str):
            raise PropsError("environment", name, "values are strings")
    overlap = sorted(set(environment) & set(secrets))
    if overlap:
        raise PropsError("secrets", overlap[0], "a variable is either plain environment or a secret, not both")
