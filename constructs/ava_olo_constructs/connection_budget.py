"""Will the service's connection pools fit into the database? Checked at synth, not discovered in production.

Seed "Connection Pooling": every task opens up to ``DB_POOL_SIZE + DB_MAX_OVERFLOW`` connections (20 + 30), and
during a deployment at full scale twice as many tasks run (the new beside the old, ``MaximumPercent`` 200).
Seed "Issue 2: Database Connection Errors" is what happens when ``max tasks x that`` exceeds the database's
``max_connections``: new tasks fail their ``/health`` check during a deploy or a scale-out.

``max_connections`` for Aurora PostgreSQL defaults to ``LEAST({DBInstanceClassMemory/9531392}, 5000)``
(Amazon Aurora User Guide, "Maximum connections to an Aurora PostgreSQL DB instance"). ``DBInstanceClassMemory``
is the instance's memory less what RDS reserves for the OS and its own processes, so it is estimated here as
90 % of the class's memory (db.t4g.medium: 4 GiB -> 405, the value AWS documents). For Serverless v2 the
limit follows from the *maximum* capacity: one ACU is about 2 GiB of memory.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional

from .validation import PropsError, is_token

#: ECS runs the new tasks beside the old ones during a deployment (web_service_defaults.MAX_HEALTHY_PERCENT).
DEPLOY_MAX_PERCENT = 200
#: Bytes of DBInstanceClassMemory per connection in AWS's default formula.
BYTES_PER_CONNECTION = 9_531_392
#: Aurora PostgreSQL's ceiling for the default formula.
MAX_CONNECTIONS_CEILING = 5000
#: Share of an instance class's memory that RDS leaves as DBInstanceClassMemory (estimate, see module doc).
USABLE_MEMORY_SHARE = 0.9
#: Memory of one Aurora capacity unit (ACU).
ACU_MEMORY_GIB = 2
GIB = 1024**3

#: Memory (GiB) by Aurora PostgreSQL instance size. Burstable classes (t3, t4g) come in medium/large only.
_MEMORY_GIB_BY_SIZE = {
    "medium": 4, "large": 16, "xlarge": 32, "2xlarge": 64, "4xlarge": 128, "8xlarge": 256,
    "12xlarge": 384, "16xlarge": 512, "24xlarge": 768,
}
_BURSTABLE_MEMORY_GIB = {"medium": 4, "large": 8}
_INSTANCE_CLASS = re.compile(r"(?:db\.)?(?P<family>t3|t4g|r5|r6g|r6i|r7g|r7i|r8g)\.(?P<size>[0-9]*x?large|medium)")


def instance_memory_gib(instance_class: str) -> int:
    """Memory of an Aurora PostgreSQL instance class such as ``r6g.large`` or ``db.t4g.medium``."""
    match = _INSTANCE_CLASS.fullmatch(instance_class) if isinstance(instance_class, str) else None
    if match:
        family, size = match["family"], match["size"]
        table = _BURSTABLE_MEMORY_GIB if family.startswith("t") else _MEMORY_GIB_BY_SIZE
        if size in table and (size != "medium" or family.startswith("t")):
            return table[size]
    raise PropsError(
        "instance_class",
        instance_class,
        "an Aurora PostgreSQL class such as t4g.medium, t4g.large, r6g.large ... r8g.24xlarge (r5, r6g, r6i, r7g, "
        "r7i, r8g; t3/t4g medium or large)",
    )


def database_memory_bytes(
    *, instance_class: Optional[str] = None, serverless_max_capacity: Optional[float] = None
) -> int:
    """Memory of the writer: the instance class's, or that of the Serverless v2 maximum capacity."""
    if (instance_class is None) == (serverless_max_capacity is None):
        raise PropsError("instance_class", instance_class, "give an instance class or a Serverless v2 maximum, not both")
    if instance_class is not None:
        memory_gib: float = instance_memory_gib(instance_class)
    else:
        capacity = serverless_max_capacity
        if isinstance(capacity, bool) or not isinstance(capacity, (int, float)) or not 0 < capacity <= 256:
            raise PropsError("serverless_max_capacity", capacity, "ACUs greater than 0, at most 256")
        memory_gib = float(capacity) * ACU_MEMORY_GIB
    return int(memory_gib * GIB)


def estimate_max_connections(
    *, instance_class: Optional[str] = None, serverless_max_capacity: Optional[float] = None
) -> int:
    """Default ``max_connections`` of the writer (see the module doc for the formula and its source)."""
    memory = database_memory_bytes(instance_class=instance_class, serverless_max_capacity=serverless_max_capacity)
    return min(int(memory * USABLE_MEMORY_SHARE // BYTES_PER_CONNECTION), MAX_CONNECTIONS_CEILING)


def peak_tasks(max_tasks: int, max_healthy_percent: int = DEPLOY_MAX_PERCENT) -> int:
    """Tasks running at once at the worst moment: scaled out to ``max_tasks`` while a deployment starts the
    new tasks beside the old ones (``MaximumPercent``, 200 % by default)."""
    return math.ceil(max_tasks * max_healthy_percent / 100)


def required_connections(
    *, max_tasks: int, pool_size: int, max_overflow: int, reserve: int, max_healthy_percent: int = DEPLOY_MAX_PERCENT
) -> int:
    """Connections the service can open at its largest (every task's pool full, during a deployment at full
    scale) plus a reserve for operators, the migration task and secret rotation."""
    return peak_tasks(max_tasks, max_healthy_percent) * (pool_size + max_overflow) + reserve


def _unresolved(*values: Any) -> bool:
    """A deploy-time value (``CfnParameter``, SSM lookup) cannot be checked at synth; it is skipped, not refused."""
    return any(isinstance(value, (int, float)) and is_token(value) for value in values)


@dataclass(frozen=True)
class ConnectionBudget:
    """Will ``max_tasks`` tasks, each with a full pool, fit into the database during a deployment?

    :param max_tasks: the most tasks autoscaling may run (``AutoScalingProps.max_count``).
    :param pool_size / max_overflow: each task's pool (``ConnectionPoolSettings``).
    :param reserve: connections kept free for operators, migrations and rotation
        (``database_defaults.CONNECTION_RESERVE``, 10).
    :param max_connections: the writer's ``max_connections`` (:func:`estimate_max_connections`).
    :param database: how the database is described in the message, e.g. ``db.r6g.large``.
    :param field: the field the message names. Default ``max_count``.
    :param max_healthy_percent: the deployment's ``MaximumPercent``. Default 200.

    Values that are unresolved tokens are not checked (they are only known at deploy time).
    """

    max_tasks: int
    pool_size: int
    max_overflow: int
    reserve: int
    max_connections: int
    database: str
    field: str = "max_count"
    max_healthy_percent: int = DEPLOY_MAX_PERCENT

    @property
    def checkable(self) -> bool:
        return not _unresolved(
            self.max_tasks, self.pool_size, self.max_overflow, self.reserve, self.max_connections,
            self.max_healthy_percent,
        )

    @property
    def required(self) -> int:
        """Connections needed at the worst moment (see :func:`required_connections`)."""
        return required_connections(
            max_tasks=self.max_tasks, pool_size=self.pool_size, max_overflow=self.max_overflow,
            reserve=self.reserve, max_healthy_percent=self.max_healthy_percent,
        )

    def check(self) -> None:
        """Raise :class:`PropsError` (one line, both numbers, the fixes) when the pools cannot fit."""
        if not self.checkable:
            return
        peak = peak_tasks(self.max_tasks, self.max_healthy_percent)
        needed = self.required
        if needed > self.max_connections:
            raise PropsError(
                self.field,
                self.max_tasks,
                f"{self.max_tasks} tasks ({peak} while a deployment runs at {self.max_healthy_percent} %) x (pool "
                f"{self.pool_size} + overflow {self.max_overflow}) + reserve {self.reserve} = {needed} connections "
                f"exceeds max_connections {self.max_connections} of {self.database}; use fewer tasks, a smaller "
                "pool, or a larger database",
            )


def check_connection_budget(
    *,
    max_tasks: int,
    pool_size: int,
    max_overflow: int,
    reserve: int,
    max_connections: int,
    database: str,
    field: str = "max_count",
    max_healthy_percent: int = DEPLOY_MAX_PERCENT,
) -> None:
    """Raise :class:`PropsError` (one line, both numbers, the fixes) when the pools cannot fit.
    Same as ``ConnectionBudget(...).check()``."""
    ConnectionBudget(
        max_tasks=max_tasks, pool_size=pool_size, max_overflow=max_overflow, reserve=reserve,
        max_connections=max_connections, database=database, field=field, max_healthy_percent=max_healthy_percent,
    ).check()
