"""One place that turns (project, environment, service) into physical names.

Seed, "MANGO RULE" and "What NOT to Do" #3: nothing environment-specific is hard-coded. Every environment gets
names of its own so that two environments can share an AWS account without colliding. The one exception is
the environment that is configured to keep the *seed names* (production): its cluster, service and log group
keep exactly the names the seed's runbook commands use (``ava-olo-production``, ``monitoring-dashboards``,
``/ecs/monitoring-dashboards``), so ``aws logs tail /ecs/monitoring-dashboards --follow`` works verbatim.
Whether an environment keeps seed names is configuration (``seed_names``), not an ``if env == "production"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .validation import check_name


@dataclass(frozen=True)
class ResourceNames:
    """Physical names for one service in one environment.

    :param project: project prefix. Default ``ava-olo``.
    :param environment: environment name, e.g. ``dev`` or ``production``.
    :param service: service name, e.g. ``monitoring-dashboards``.
    :param seed_names: keep the seed's unqualified service-level names (one environment per account at most).
    """

    environment: str
    service: str
    project: str = "ava-olo"
    seed_names: bool = False

    def __post_init__(self) -> None:
        check_name("project", self.project)
        check_name("environment", self.environment)
        check_name("service", self.service)

    def _qualified(self, name: str) -> str:
        return name if self.seed_names else f"{name}-{self.environment}"

    @property
    def cluster_name(self) -> str:
        """``<project>-<environment>``: ``ava-olo-production`` for production (seed runbook)."""
        return f"{self.project}-{self.environment}"

    @property
    def service_name(self) -> str:
        """The ECS service name: ``monitoring-dashboards`` (seed) or ``monitoring-dashboards-dev``."""
        return self._qualified(self.service)

    @property
    def log_group_name(self) -> str:
        """``/ecs/<service>`` (seed) or ``/ecs/<service>-<environment>`` so environments never share logs."""
        return f"/ecs/{self._qualified(self.service)}"

    @property
    def task_family(self) -> str:
        """Task definition family: ``<project>-<service>`` qualified by environment unless seed names are kept."""
        return self._qualified(f"{self.project}-{self.service}")

    def database_identifier(self, database: str = "farmer-crm") -> str:
        """RDS cluster identifier: ``farmer-crm`` (seed: ``--db-instance-identifier farmer-crm``) or
        ``farmer-crm-dev``. Identifiers are unique per account and region, so environments must differ."""
        return self._qualified(database)

    def secret_name(self, purpose: str) -> str:
        """Secrets Manager name: ``ava-olo/database/credentials`` (seed) or ``ava-olo/dev/database/credentials``."""
        return f"{self.project}/{purpose}" if self.seed_names else f"{self.project}/{self.environment}/{purpose}"

    @property
    def parameter_prefix(self) -> str:
        """SSM prefix for the service's settings, always environment-qualified: ``/ava-olo/production/<service>``."""
        return f"/{self.project}/{self.environment}/{self.service}"

    def alarm_name(self, purpose: str) -> str:
        """``ava-olo-high-error-rate`` (seed) or ``ava-olo-dev-monitoring-dashboards-high-error-rate``."""
        if self.seed_names:
            return f"{self.project}-{purpose}"
        return f"{self.project}-{self.environment}-{self.service}-{purpose}"

    @property
    def dashboard_name(self) -> str:
        return f"{self.project}-{self.environment}-{self.service}"

    @property
    def alarm_topic_name(self) -> str:
        return f"{self.project}-{self.environment}-{self.service}-alarms"

    @property
    def metric_namespace(self) -> str:
        """Namespace of the project's own metrics: ``ava-olo/production/monitoring-dashboards``."""
        return f"{self.project}/{self.environment}/{self.service}"

    def stack_name(self, purpose: str) -> str:
        """CloudFormation stack name, always environment-qualified: ``ava-olo-production-network``."""
        return f"{self.project}-{self.environment}-{purpose}"
