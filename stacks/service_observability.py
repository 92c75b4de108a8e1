"""The dashboard's runbook header: the seed's "Quick Reference Commands" with this environment's names.

Everything else of the service's observability (the seed's two named alarms, the service and database alarms,
the deployment alarms that roll a bad version back, the encrypted alarm topic and the dashboard) comes with the
library's :class:`ava_olo_constructs.WebApplication`; the app only supplies this text (``runbook``).
"""

from __future__ import annotations

from ava_olo_constructs import ResourceNames

from .config import EnvironmentConfig


def runbook(config: EnvironmentConfig, names: ResourceNames) -> str:
    """The seed's "Quick Reference Commands" with this environment's names (no hard-coded production names)."""
    region = config.region
    return "\n".join(
        [
            f"### {names.service_name} ({config.name}) - deployments take 12-17 minutes: monitor, don't interfere",
            "```",
            f"aws ecs describe-services --region {region} --cluster {names.cluster_name} --services {names.service_name}",
            f"aws logs tail {names.log_group_name} --region {region} --follow",
            f"aws ssm get-parameter --region {region} --name {names.parameter_prefix}/service-url   # then curl <url>/health and /version",
            "```",
        ]
    )
