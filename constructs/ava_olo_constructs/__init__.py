"""AVA OLO's reusable CDK constructs: the seed's production practices as infrastructure defaults.

Import the constructs you need; each takes a frozen props dataclass whose fields document their defaults::

    from ava_olo_constructs import Network, NetworkProps, FargateWebService, FargateWebServiceProps

The library reads no files, context or environment variables: everything arrives as props.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.8.3"

#: Public name -> submodule. Imported on first use (PEP 562), so that importing a pure-Python module such as
#: ``ava_olo_constructs.naming`` (the operator tools do) does not start the CDK's jsii runtime.
_EXPORTS = {
    "AccessLogBucket": "access_logs",
    "AccessLogBucketProps": "access_logs",
    "AlertTopic": "alerts",
    "AuroraPostgresDatabase": "database",
    "AuroraPostgresDatabaseProps": "database",
    "AutoScalingProps": "autoscaling",
    "ConnectionPoolSettings": "web_service",
    "DatabaseAlarms": "database_alarms",
    "DatabaseAlarmsProps": "database_alarms",
    "DatabaseConnectionFailuresAlarm": "db_connection_alarm",
    "DatabaseConnectionFailuresAlarmProps": "db_connection_alarm",
    "FargateWebService": "web_service",
    "FargateWebServiceProps": "web_service",
    "FernetKeySecret": "encryption_key",
    "GitHubDeploymentRoles": "github_oidc",
    "MigrationTask": "migration_task",
    "MigrationTaskProps": "migration_task",
    "GitHubDeploymentRolesProps": "github_oidc",
    "HighErrorRateAlarm": "error_rate_alarm",
    "HighErrorRateAlarmProps": "error_rate_alarm",
    "ImageRepository": "image_repository",
    "ImageRepositoryProps": "image_repository",
    "Network": "network",
    "NetworkProps": "network",
    "PropsError": "validation",
    "RateLimit": "waf",
    "ResourceNames": "naming",
    "ServiceAlarms": "service_alarms",
    "ServiceAlarmsProps": "service_alarms",
    "ServiceCluster": "cluster",
    "ServiceClusterProps": "cluster",
    "ServiceDashboard": "dashboard",
    "ServiceDashboardProps": "dashboard",
    "ServiceParameters": "parameters",
    "WebApplicationFirewall": "waf",
    "WebApplicationFirewallProps": "waf",
    "acknowledge": "compliance",
    "acknowledgements": "compliance",
    "add_compliance_checks": "compliance",
    "apply_standard_tags": "tags",
    "check_connection_budget": "connection_budget",
    "enable_autoscaling": "autoscaling",
    "estimate_max_connections": "connection_budget",
    "notify": "alerts",
    "secure_parameter_secrets": "parameters",
    "standard_tags": "tags",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
