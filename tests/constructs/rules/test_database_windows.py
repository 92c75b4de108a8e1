"""AvaOlo-DatabaseWindows: backup and maintenance windows inside the low-traffic window, not overlapping."""

from __future__ import annotations

import pytest
from aws_cdk import aws_rds as rds

from ava_olo_constructs import AvaOloChecksProps, PropsError

from .helpers import findings, new_stack

RULE = "AvaOlo-DatabaseWindows"


def cluster(stack, name, backup=None, maintenance=None):
    rds.CfnDBCluster(stack, name, engine="aurora-postgresql", preferred_backup_window=backup,
                     preferred_maintenance_window=maintenance)


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    cluster(stack, "Good", "02:00-02:30", "sun:03:00-sun:03:30")
    cluster(stack, "Unset")
    cluster(stack, "BackupAtNoon", "12:00-12:30", "sun:03:00-sun:03:30")
    cluster(stack, "MaintenanceLate", "02:00-02:30", "sun:04:00-sun:04:30")
    cluster(stack, "Overlapping", "02:00-02:30", "sun:02:15-sun:02:45")
    cluster(stack, "SaoPauloNight", "05:00-05:30", "mon:06:00-mon:06:30")
    cluster(stack, "AcrossMidnight", "23:30-00:00", "tue:00:15-tue:00:45")
    rds.CfnDBInstance(stack, "Member", db_instance_class="db.r6g.large", db_cluster_identifier="c",
                      preferred_maintenance_window="sun:03:00-sun:03:30")
    rds.CfnDBInstance(stack, "MemberWithoutWindow", db_instance_class="db.r6g.large", db_cluster_identifier="c")
    rds.CfnDBInstance(stack, "StandaloneWithoutBackupWindow", db_instance_class="db.t4g.micro",
                      preferred_maintenance_window="sun:03:00-sun:03:30")
    return stack


def test_windows_inside_02_04_utc_one_after_the_other_are_compliant(stack):
    result = findings(stack)
    for construct in ("Good", "Member"):
        assert RULE not in {r.split("[")[0] for r in result.get(construct, set())}, construct


def test_unset_outside_or_overlapping_windows_are_refused(stack):
    result = findings(stack)
    for construct in ("Unset", "BackupAtNoon", "MaintenanceLate", "Overlapping", "SaoPauloNight",
                      "MemberWithoutWindow", "StandaloneWithoutBackupWindow"):
        assert RULE in {r.split("[")[0] for r in result.get(construct, set())}, construct
    assert f"{RULE}[PreferredMaintenanceWindow sun:02:15-sun:02:45 overlaps PreferredBackupWindow 02:00-02:30]" in result["Overlapping"]


def test_the_window_is_a_policy_parameter_and_may_wrap_past_midnight(stack):
    result = findings(stack, AvaOloChecksProps(low_traffic_window=("05:00", "07:00")), RULE)
    assert "SaoPauloNight" not in result and "Good" in result
    result = findings(stack, AvaOloChecksProps(low_traffic_window=("23:00", "01:00")), RULE)
    assert "AcrossMidnight" not in result


def test_a_malformed_window_policy_is_one_line_naming_the_field():
    with pytest.raises(PropsError, match="low_traffic_window"):
        AvaOloChecksProps(low_traffic_window=("2am", "4am"))
