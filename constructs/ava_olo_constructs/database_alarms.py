"""Aurora alarms: CPU, freeable memory, connections near ``max_connections``, local storage.

Thresholds follow from the database's size (the same estimate the connection budget uses), so a larger
instance class or a higher Serverless v2 maximum moves them with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_rds as rds
from constructs import Construct

from . import alarm_defaults as defaults
from .alarm_factory import threshold_alarm

MINUTE = Duration.minutes(1)


@dataclass(frozen=True)
class DatabaseAlarmsProps:
    """:param cluster: the Aurora cluster. :param max_connections: its writer's ``max_connections`` (estimate).
    :param memory_bytes: memory of the writer (instance class, or Serverless v2 maximum). :param name: names.
    :param local_storage_alarm: alarm on FreeLocalStorage. Default True; off for Serverless v2, whose local
        storage grows and shrinks with its capacity, so a fixed threshold would sit in ALARM at low capacity."""

    cluster: rds.IDatabaseCluster
    max_connections: int
    memory_bytes: int
    name: Callable[[str], str]
    local_storage_alarm: bool = True


class DatabaseAlarms(Construct):
    """Attributes: ``cpu``, ``freeable_memory``, ``connections``, ``local_storage`` and ``all``."""

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        cluster = props.cluster
        sustained = dict(periods=defaults.SUSTAINED_MINUTES, missing=cloudwatch.TreatMissingData.MISSING)
        self.cpu = threshold_alarm(
            self,
            "Cpu",
            name=props.name("db-high-cpu"),
            description="Database CPU above 80 % for 5 minutes: look for slow statements (> 2 s are logged).",
            metric=cluster.metric_cpu_utilization(period=MINUTE, statistic="Maximum"),
            threshold=defaults.UTILIZATION_PERCENT,
            **sustained,
        )
        low_memory = int(props.memory_bytes * defaults.DB_FREEABLE_MEMORY_FRACTION)
        self.freeable_memory = threshold_alarm(
            self,
            "FreeableMemory",
            name=props.name("db-low-memory"),
            description=f"Database freeable memory below {low_memory // 1024**2} MiB (10 %) for 5 minutes.",
            metric=cluster.metric_freeable_memory(period=MINUTE, statistic="Minimum"),
            threshold=low_memory,
            below=True,
            **sustained,
        )
        near_limit = int(props.max_connections * defaults.DB_CONNECTIONS_PERCENT_OF_MAX / 100)
        self.connections = threshold_alarm(
            self,
            "Connections",
            name=props.name("db-connections-near-limit"),
            description=(
                f"More than {near_limit} connections (80 % of max_connections {props.max_connections}) for 5 minutes: "
                "new tasks will fail to connect (seed Issue 2). Check pool sizes and the task count."
            ),
            metric=cluster.metric_database_connections(period=MINUTE, statistic="Maximum"),
            threshold=near_limit,
            **sustained,
        )
        self.local_storage = None if not props.local_storage_alarm else threshold_alarm(
            self,
            "LocalStorage",
            name=props.name("db-low-local-storage"),
            description="Database local storage (temporary files, logs) below 2 GiB for 5 minutes.",
            metric=cluster.metric_free_local_storage(period=MINUTE, statistic="Minimum"),
            threshold=defaults.DB_FREE_LOCAL_STORAGE_BYTES,
            below=True,
            **sustained,
        )
        self.all = [a for a in (self.cpu, self.freeable_memory, self.connections, self.local_storage) if a is not None]
