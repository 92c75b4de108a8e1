"""Best-practice defaults for :class:`~ava_olo_constructs.database.AuroraPostgresDatabase`.

Seed sections: "Database Best Practices" (backups, low-traffic window, migrations), "Security Best Practices"
(credentials in Secrets Manager), "Performance Best Practices" (slow queries > 2 s), "Issue 2: Database
Connection Errors" (connection logging, security groups).
"""

from aws_cdk import RemovalPolicy

#: Current Aurora PostgreSQL; cfn-lint W3690 flags deprecated minors (16.6 among them), so keep this moving.
ENGINE_VERSION = "17.9"
#: Database name inside the cluster: generic; an app passes its own (AVA OLO's is ``farmer_crm``). The master
#: user defaults to ``<database_name>_admin``.
DATABASE_NAME = "app"
PORT = 5432
#: The seed's low-traffic window: "Apply during low-traffic hours. Best time: 02:00-04:00 UTC". The default
#: windows, the AWS Backup plan and the credentials rotation are placed in it; it is not a limit: any window RDS
#: accepts is allowed (the rule pack's ``low_traffic_window`` holds a team to its own night).
LOW_TRAFFIC_WINDOW = ("02:00", "04:00")
#: Backups first (02:00-02:30), maintenance after (03:00-03:30): both inside the window, never overlapping.
BACKUP_WINDOW = "02:00-02:30"
MAINTENANCE_WINDOW = "sun:03:00-sun:03:30"
#: "Always backup before changes": two weeks of point-in-time recovery.
BACKUP_RETENTION_DAYS = 14
#: AWS Backup keeps daily recovery points this long (beyond the 14-day point-in-time window).
BACKUP_PLAN_RETENTION_DAYS = 35
#: Secrets Manager rotates the master password monthly.
CREDENTIALS_ROTATION_DAYS = 30
#: PostgreSQL logs (slow statements, connections) in CloudWatch Logs.
LOG_RETENTION_DAYS = 30
#: Enhanced monitoring granularity (seconds).
MONITORING_INTERVAL_SECONDS = 60
#: Seed "Performance Monitoring": log operations slower than 2 seconds.
SLOW_STATEMENT_MS = 2000
#: Cluster parameters: TLS only; slow statements and every connection attempt logged ("Issue 2").
PARAMETERS = {
    "rds.force_ssl": "1",
    "log_min_duration_statement": str(SLOW_STATEMENT_MS),
    "log_connections": "1",
    "log_disconnections": "1",
}
#: Connections kept free for operators, migrations and the rotation function.
CONNECTION_RESERVE = 10
#: Never delete a database without a snapshot; production retains everything.
REMOVAL_POLICY = RemovalPolicy.SNAPSHOT
