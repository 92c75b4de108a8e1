"""AVA OLO's reusable CDK constructs: the seed's production practices as infrastructure defaults.

Import the constructs you need; each takes a frozen props dataclass whose fields document their defaults::

    from ava_olo_constructs import Network, NetworkProps, FargateWebService, FargateWebServiceProps

The library reads no files, context or environment variables: everything arrives as props.
"""

from .access_logs import AccessLogBucket, AccessLogBucketProps
from .cluster import ServiceCluster, ServiceClusterProps
from .compliance import acknowledge, acknowledgements, add_compliance_checks
from .connection_budget import check_connection_budget, estimate_max_connections
from .database import AuroraPostgresDatabase, AuroraPostgresDatabaseProps
from .encryption_key import FernetKeySecret
from .naming import ResourceNames
from .network import Network, NetworkProps
from .parameters import ServiceParameters, secure_parameter_secrets
from .tags import apply_standard_tags, standard_tags
from .validation import PropsError
from .web_service import ConnectionPoolSettings, FargateWebService, FargateWebServiceProps

__version__ = "0.2.0"

__all__ = [
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
