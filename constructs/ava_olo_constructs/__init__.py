"""AVA OLO's reusable CDK constructs: the seed's production practices as infrastructure defaults.

Import the constructs you need; each takes a frozen props dataclass whose fields document their defaults::

    from ava_olo_constructs import Network, NetworkProps, FargateWebService, FargateWebServiceProps

The library reads no files, context or environment variables: everything arrives as props. The seed's policy is
the ``AvaOlo`` cdk-nag pack (:class:`AvaOloChecks`, parameters in :class:`AvaOloChecksProps`).

Importing this package loads aws-cdk-lib (and so starts jsii's Node.js runtime); the operator tool
(``ava_olo_ops``, a separate distribution) never imports it.
"""

from __future__ import annotations

__version__ = "0.11.14"

from .access_logs import AccessLogBucket, AccessLogBucketProps
from .alerts import AlertTopic, AlertTopicProps
from .autoscaling import AutoScalingProps
from .cluster import ServiceCluster, ServiceClusterProps
from .compliance import acknowledge, acknowledgements, add_compliance_checks, synth_or_exit
from .connection_budget import ConnectionBudget, check_connection_budget, estimate_max_connections
from .deployment_strategy import DeploymentSettings
from .dashboard import ServiceDashboard, ServiceDashboardProps
from .database import AuroraPostgresDatabase, AuroraPostgresDatabaseProps
from .database_alarms import DatabaseAlarms, DatabaseAlarmsProps
from .db_connection_alarm import DatabaseConnectionFailuresAlarm, DatabaseConnectionFailuresAlarmProps
from .encryption_key import FernetKeySecret, FernetKeySecretProps
from .error_rate_alarm import HighErrorRateAlarm, HighErrorRateAlarmProps
from .github_oidc import GitHubDeploymentRoles, GitHubDeploymentRolesProps, ReleaseResources
from .image_repository import ImageRepository, ImageRepositoryProps
from .migration_task import MigrationTask, MigrationTaskProps
from .naming import ResourceNames
from .network import Network, NetworkProps
from .pre_traffic_hook import PreTrafficCheck, PreTrafficCheckProps
from .parameters import SecureParameterSecrets, SecureParameterSecretsProps, ServiceParameters, ServiceParametersProps
from .revision_alarms import RevisionAlarms, RevisionAlarmsProps
from .rotation_redeploy import RedeployOnSecretRotation, RedeployOnSecretRotationProps
from .rules import AvaOloChecks, AvaOloChecksProps
from .service_alarms import ServiceAlarms, ServiceAlarmsProps
from .service_secrets import DatabaseSecrets, DatabaseSecretsProps
from .tags import apply_standard_tags, standard_tags
from .validation import PropsError
from .waf import RateLimit, WebApplicationFirewall, WebApplicationFirewallProps
from .web_application import WebApplication, WebApplicationProps
from .web_service import ConnectionPoolSettings, FargateWebService, FargateWebServiceProps

__all__ = [
    "AccessLogBucket",
    "AccessLogBucketProps",
    "AlertTopic",
    "AlertTopicProps",
    "AuroraPostgresDatabase",
    "AuroraPostgresDatabaseProps",
    "AutoScalingProps",
    "AvaOloChecks",
    "AvaOloChecksProps",
    "ConnectionBudget",
    "ConnectionPoolSettings",
    "DatabaseAlarms",
    "DatabaseAlarmsProps",
    "DatabaseConnectionFailuresAlarm",
    "DatabaseConnectionFailuresAlarmProps",
    "DatabaseSecrets",
    "DatabaseSecretsProps",
    "DeploymentSettings",
    "FargateWebService",
    "FargateWebServiceProps",
    "FernetKeySecret",
    "FernetKeySecretProps",
    "GitHubDeploymentRoles",
    "GitHubDeploymentRolesProps",
    "ReleaseResources",
    "HighErrorRateAlarm",
    "HighErrorRateAlarmProps",
    "ImageRepository",
    "ImageRepositoryProps",
    "MigrationTask",
    "MigrationTaskProps",
    "Network",
    "NetworkProps",
    "PreTrafficCheck",
    "PreTrafficCheckProps",
    "PropsError",
    "RateLimit",
    "RedeployOnSecretRotation",
    "RedeployOnSecretRotationProps",
    "ResourceNames",
    "RevisionAlarms",
    "RevisionAlarmsProps",
    "SecureParameterSecrets",
    "SecureParameterSecretsProps",
    "ServiceAlarms",
    "ServiceAlarmsProps",
    "ServiceCluster",
    "ServiceClusterProps",
    "ServiceDashboard",
    "ServiceDashboardProps",
    "ServiceParameters",
    "ServiceParametersProps",
    "WebApplication",
    "WebApplicationFirewall",
    "WebApplicationFirewallProps",
    "WebApplicationProps",
    "acknowledge",
    "acknowledgements",
    "add_compliance_checks",
    "apply_standard_tags",
    "check_connection_budget",
    "estimate_max_connections",
    "standard_tags",
    "synth_or_exit",
]
