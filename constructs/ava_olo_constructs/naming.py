"""One place that turns (project, environment, service, purpose) into physical names.

Seed, "MANGO RULE" and "What NOT to Do" #3: nothing environment-specific is hard-coded. Every environment gets
names of its own so that two environments can share an AWS account without colliding. The one exception is
the environment that is configured to keep the *seed names* (production): its cluster, service and log group
keep exactly the names the seed's runbook commands use (``ava-olo-production``, ``monitoring-dashboards``,
``/ecs/monitoring-dashboards``), so ``aws logs tail /ecs/monitoring-dashboards --follow`` works verbatim.
Whether an environment keeps seed names is configuration (``seed_names``), not an ``if env == "production"``.

Every name a *service* owns carries the service, so two services with their own databases in one environment
never collide: the database cluster is ``<service>-<environment>`` and its credentials secret
``<project>/<environment>/<service>/database/credentials``. Only :meth:`ResourceNames.environment_secret_name`
and :attr:`ResourceNames.cluster_name` (the ECS cluster) are shared by the environment's services on purpose.
Seed names drop the environment and are meant for one service per account and region (the seed's layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

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
        """The ECS cluster, shared by the environment's services: ``<project>-<environment>``
        (``ava-olo-production`` for production, seed runbook). Create it once per environment."""
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

    def database_identifier(self, database: Optional[str] = None) -> str:
        """RDS cluster identifier of the service's database: ``<database>`` (seed names) or
        ``<database>-<environment>``. ``database`` defaults to the service name, so two services never share
        an identifier (identifiers are unique per account and region). AVA OLO passes ``farmer-crm``."""
        name = self.service if database is None else database
        check_name("database", name, max_length=63 if self.seed_names else 62 - len(self.environment))
        return self._qualified(name)

    def secret_name(self, purpose: str) -> str:
        """Secrets Manager name of one of the service's secrets: ``<project>/<purpose>`` (seed names, e.g.
        ``ava-olo/database/credentials``) or ``<project>/<environment>/<service>/<purpose>``."""
        if self.seed_names:
            return f"{self.project}/{purpose}"
        return f"{self.project}/{self.environment}/{self.service}/{purpose}"

    def environment_secret_name(self, purpose: str) -> str:
        """A secret the whole environment shares (not the service's own): ``<project>/<purpose>`` (seed
        names) or ``<project>/<environment>/<purpose>``. Two services calling this with the same purpose get
        the same name; use :meth:`secret_name` for anything one service owns."""
        return f"{self.project}/{purpose}" if self.seed_names else f"{self.project}/{self.environment}/{purpose}"

    @property
    def database_secret_name(self) -> str:
        """The service's database credentials: :meth:`secret_name` of ``database/credentials``."""
        return self.secret_name("database/credentials")

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
        """``<project>-<environment>-<service>``; also the web ACL's name."""
        return f"{self.project}-{self.environment}-{self.service}"

    @property
    def alarm_topic_name(self) -> str:
        """``<project>-<environment>-<service>-alarms``."""
        return f"{self.project}-{self.environment}-{self.service}-alarms"

    @property
    def metric_namespace(self) -> str:
        """Namespace of the project's own metrics: ``ava-olo/production/monitoring-dashboards``."""
        return f"{self.project}/{self.environment}/{self.service}"

    def role_name(self, purpose: str) -> str:
        """An IAM role another stack must name exactly (IAM names are unique per account):
        ``<project>-<environment>-<service>-<purpose>``, e.g. the migration task's roles, which the GitHub deploy
        role of the environment may pass to ECS (``iam:PassRole`` on exactly these names)."""
        name = f"{self.project}-{self.environment}-{self.service}-{purpose}"
        check_name("role name", name, max_length=64)
        return name

    def stack_name(self, purpose: str) -> str:
        """CloudFormation stack name, always environment-qualified: ``ava-olo-production-network``."""
        return f"{self.project}-{self.environment}-{purpose}"
