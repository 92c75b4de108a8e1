"""AvaOlo-DatabaseWindows: backups and maintenance run inside the low-traffic window and never overlap.

Applies to RDS/Aurora clusters and instances. An unset window is non-compliant: RDS then picks a random
30-minute slot per region, which may be the middle of someone's working day. Aurora cluster members have no
backup window of their own (the cluster's applies) but do have a maintenance window.
"""

from __future__ import annotations

from ._support import (
    COMPLIANT,
    NagRule,
    Resource,
    Result,
    daily_minutes,
    known,
    weekly_minutes_of_day,
)


def check(resource: Resource, policy) -> Result:
    allowed = policy.window_minutes
    findings = []
    backup_text = known(resource, resource.get("PreferredBackupWindow"), "PreferredBackupWindow")
    maintenance_text = known(resource, resource.get("PreferredMaintenanceWindow"), "PreferredMaintenanceWindow")
    member = resource.type == "AWS::RDS::DBInstance" and (
        resource.get("DBClusterIdentifier") is not None or resource.get("SourceDBInstanceIdentifier") is not None
    )
    backup = None
    if not member:
        backup = daily_minutes(backup_text) if backup_text is not None else None
        if backup_text is None:
            findings.append("PreferredBackupWindow unset")
        elif backup is None or not backup <= allowed:
            findings.append(f"PreferredBackupWindow {backup_text} outside {policy.window_text}")
    maintenance = weekly_minutes_of_day(maintenance_text) if maintenance_text is not None else None
    if maintenance_text is None:
        findings.append("PreferredMaintenanceWindow unset")
    elif maintenance is None or not maintenance <= allowed:
        findings.append(f"PreferredMaintenanceWindow {maintenance_text} outside {policy.window_text}")
    elif backup is not None and backup & maintenance:
        findings.append(f"PreferredMaintenanceWindow {maintenance_text} overlaps PreferredBackupWindow {backup_text}")
    return findings or COMPLIANT


RULE = NagRule(
    id="DatabaseWindows",
    resource_types=("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"),
    info="The database's backup or maintenance window is unset, lies outside the policy's low-traffic window, "
    "or the two overlap.",
    explanation="Backups and maintenance cost I/O and can restart the database: run them when users sleep "
    "(policy default 02:00-04:00 UTC), one after the other, never at a time RDS picks at random.",
    check=check,
)
