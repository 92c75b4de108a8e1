"""Thresholds and timing of AVA OLO's alarms. Seed: "Monitoring and Alerting", "Performance Monitoring",
"Issue 3: Memory/CPU Issues". Every alarm is explicit about period, evaluation periods and datapoints."""

from aws_cdk import Duration

#: Seed alarm 1: "High error rate (>5% in 5 minutes)".
ERROR_RATE_PERCENT = 5
ERROR_RATE_PERIOD = Duration.minutes(5)
#: Seed alarm 2: "Database connection failures", Sum > 10 over 5 minutes.
DB_CONNECTION_ERRORS = 10
DB_CONNECTION_PERIOD = Duration.minutes(5)
DB_CONNECTION_METRIC = "DatabaseConnectionErrors"
#: Seed "Performance Monitoring": operations slower than 2 s are slow. p95 over 5 minutes.
P95_RESPONSE_SECONDS = 2
#: Seed "Issue 3: Memory/CPU Issues": sustained (5 x 1 minute) CPU or memory above 80 %.
UTILIZATION_PERCENT = 80
SUSTAINED_MINUTES = 5
#: A target failing health checks for 3 consecutive minutes (after 3 x 30 s checks marked it unhealthy).
UNHEALTHY_MINUTES = 3
#: Database: connections above 80 % of max_connections; freeable memory below 10 % of the instance's.
DB_CONNECTIONS_PERCENT_OF_MAX = 80
DB_FREEABLE_MEMORY_FRACTION = 0.10
#: Aurora storage grows by itself; the local disk (temporary files, logs) does not: alarm below 2 GiB.
DB_FREE_LOCAL_STORAGE_BYTES = 2 * 1024**3
