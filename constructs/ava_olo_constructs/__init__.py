"""AVA OLO's reusable CDK constructs: the seed's production practices as infrastructure defaults.

Import the constructs you need; each takes a frozen props dataclass whose fields document their defaults::

    from ava_olo_constructs import Network, NetworkProps, FargateWebService, FargateWebServiceProps

The library reads no files, context or environment variables: everything arrives as props.
"""

from .access_logs import AccessLogBucket, AccessLogBucketProps
from .alerts import AlertTopic, notify
from .autoscaling import AutoScalingProps, enable_autoscaling
from .cluster import ServiceCluster, ServiceClusterProps
from .compliance import acknowledge, acknowledgements, add_compliance_checks
from .connection_budget import check_connection_budget, estimate_max_connections
from .dashboard import ServiceDashboard, ServiceDashboardProps
from .database_alarms import DatabaseAlarms, DatabaseAlarmsProps
from .db_connection_alarm import DatabaseConnectionFailuresAlarm, DatabaseConnectionFailuresAlarmProps
from .error_rate_alarm import HighErrorRateAlarm, HighErrorRateAlarmProps
from .database import AuroraPostgresDatabase, AuroraPostgresDatabaseProps
from .encryption_key import FernetKeySecret
from .naming import ResourceNames
from .network import Network, NetworkProps
from .service_alarms import ServiceAlarms, ServiceAlarmsProps
from .parameters import ServiceParameters, secure_parameter_secrets
from .waf import RateLimit, WebApplicationFirewall, WebApplicationFirewallProps
from .tags import apply_standard_tags, standard_tags
from .validation import PropsError
from .web_service import ConnectionPoolSettings, FargateWebService, FargateWebServiceProps

__version__ = "0.4.0"

__all__ = [
    "RateLimit",
    "WebApplicationFirewall",
    "WebApplicationFirewallProps",
    "AlertTopic",
    "AutoScalingProps",
    "DatabaseAlarms",
    "DatabaseAlarmsProps",
    "DatabaseConnectionFailuresAlarm",
    "DatabaseConnectionFailuresAlarmProps",
    "HighErrorRateAlarm",
    "HighErrorRateAlarmProps",
    "ServiceAlarms",
    "ServiceAlarmsProps",
    "ServiceDashboard",
    "ServiceDashboardProps",
    "enable_autoscaling",
    "notify",
    "AccessLogBucket",
    "AccessLogBucketProps",
    "AuroraPostgresDatabase",
    "AuroraPostgresDatabaseProps",
    "FernetKeySecret",
    "ServiceParameters",
    "check_connection_budget",
    "estimate_max_connections",
    "secure_parameter_secrets",
    "ConnectionPoolSettings",
    "FargateWebService",
    "FargateWebServiceProps",
    "Network",
    "NetworkProps",
    "PropsError",
    "ResourceNames",
    "ServiceCluster",
    "ServiceClusterProps",
    "acknowledge",
    "acknowledgements",
    "add_compliance_checks",
    "apply_standard_tags",
    "standard_tags",
]
