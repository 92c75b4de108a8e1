"""AuroraPostgresDatabaseProps.validate() and window_minutes(): the database's rules, checked before synthesis.

``validate`` never looks at the VPC, so the props are built with ``vpc=None`` and nothing is synthesized.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import RemovalPolicy

from ava_olo_constructs import database_defaults as defaults
from ava_olo_constructs.database import AuroraPostgresDatabaseProps, window_minutes, windows_overlap
from ava_olo_constructs.validation import PropsError


def props(**overrides: Any) -> AuroraPostgresDatabaseProps:
    values: dict[str, Any] = dict(vpc=None, cluster_identifier="farmer-crm", secret_name="ava-olo/database/credentials")
    values.update(overrides)
    return AuroraPostgresDatabaseProps(**values)


def rejected(field: str, **overrides: Any) -> PropsError:
    with pytest.raises(PropsError) as caught:
        props(**overrides).validate()
    error = caught.value
    message = str(error)
    assert error.field == field, message
    assert "\n" not in message, message
    assert message.startswith(f"{field}: "), message
    return error


# --------------------------------------------------------------------------------------------- defaults


def test_defaults_validate() -> None:
    assert props().validate() is None


def test_defaults_are_the_seed_practices() -> None:
    p = props()
    assert p.engine_version == "17.9"
    assert p.database_name == "app" and p.master_user == "app_admin"
    assert p.instance_class is None and p.reader_count == 0
    assert p.backup_window == "02:00-02:30"
    assert p.maintenance_window == "sun:03:00-sun:03:30"
    assert p.backup_retention_days == 14
    assert p.deletion_protection is True
    assert p.removal_policy == RemovalPolicy.SNAPSHOT
    assert p.secret_removal_policy == RemovalPolicy.RETAIN
    assert p.rotation_days == 30


def test_default_windows_lie_inside_the_low_traffic_window_and_do_not_overlap() -> None:
    assert defaults.LOW_TRAFFIC_WINDOW == ("02:00", "04:00")
    backup = window_minutes("backup_window", defaults.BACKUP_WINDOW, weekly=False)
    maintenance = window_minutes("maintenance_window", defaults.MAINTENANCE_WINDOW, weekly=True)
    assert backup == (120, 150)
    assert maintenance == (180, 210)
    low, high = 2 * 60, 4 * 60
    for start, end in (backup, maintenance):
        assert low <= start < end <= high
        assert end - start >= 30
    assert backup[1] <= maintenance[0] or maintenance[1] <= backup[0]


def test_a_provisioned_production_shape_validates() -> None:
    props(instance_class="r6g.large", reader_count=1, removal_policy=RemovalPolicy.RETAIN).validate()


# --------------------------------------------------------------------------------------------- windows


@pytest.mark.parametrize(
    "window",
    [
        pytest.param("02:00-02:15", id="shorter-than-30-minutes"),
        pytest.param("23:50-00:10", id="shorter-than-30-minutes-past-midnight"),
        pytest.param("12:00-12:00", id="empty"),
        pytest.param("2:00-2:30", id="single-digit-hours"),
        pytest.param("24:00-24:30", id="hour-24"),
        pytest.param("02:60-03:30", id="minute-60"),
        pytest.param("02:00-02:30 ", id="trailing-space"),
        pytest.param("sun:02:00-sun:02:30", id="weekly-format"),
        pytest.param(None, id="none"),
        pytest.param(230, id="number"),
    ],
)
def test_backup_windows_rds_refuses_are_refused_in_one_line(window: Any) -> None:
    error = rejected("backup_window", backup_window=window)
    assert error.value == window
    assert "hh24:mi-hh24:mi" in str(error) and "30 minutes" in str(error)


@pytest.mark.parametrize(
    ("window", "minutes"),
    [
        pytest.param("12:00-12:30", (720, 750), id="noon-exactly-30-minutes"),
        pytest.param("23:45-00:15", (1425, 1455), id="past-midnight"),
        pytest.param("08:30-08:00", (510, 1440 + 480), id="all-day-but-the-maintenance-half-hour"),
        pytest.param("05:00-07:00", (300, 420), id="sao-paulo-night"),
    ],
)
def test_any_backup_window_rds_accepts_is_accepted(window: str, minutes: tuple[int, int]) -> None:
    """The seed's 02:00-04:00 UTC is the default, not a limit (it is 23:00-01:00 in Sao Paulo)."""
    assert window_minutes("backup_window", window, weekly=False) == minutes
    props(backup_window=window, maintenance_window="wed:08:00-wed:08:30").validate()


@pytest.mark.parametrize(
    "window",
    [
        pytest.param("sun:03:00-sun:03:15", id="too-short"),
        pytest.param("sun:23:50-mon:00:10", id="too-short-past-midnight"),
        pytest.param("03:00-03:30", id="daily-format"),
        pytest.param("Sun:03:00-Sun:03:30", id="capitalised-day"),
        pytest.param("sunday:03:00-sunday:03:30", id="long-day"),
        pytest.param("sun:03:00-sun:03:00", id="empty"),
    ],
)
def test_maintenance_windows_rds_refuses_are_refused_in_one_line(window: str) -> None:
    error = rejected("maintenance_window", maintenance_window=window)
    assert "ddd:hh24:mi-ddd:hh24:mi" in str(error) and "30 minutes" in str(error)


@pytest.mark.parametrize(
    "window",
    [
        pytest.param("sun:04:00-sun:04:30", id="after-the-seed-window"),
        pytest.param("mon:21:00-tue:03:30", id="two-days"),
        pytest.param("sun:23:45-mon:00:15", id="past-midnight"),
        pytest.param("sat:13:00-sat:13:30", id="afternoon"),
    ],
)
def test_any_maintenance_window_rds_accepts_is_accepted(window: str) -> None:
    props(maintenance_window=window, backup_window="20:00-20:30").validate()


def test_maintenance_overlapping_the_backup_window_is_rejected() -> None:
    error = rejected("maintenance_window", maintenance_window="sun:02:00-sun:02:30")
    assert "overlap" in str(error)
    assert error.value == "sun:02:00-sun:02:30"


def test_partial_overlap_is_rejected() -> None:
    error = rejected("maintenance_window", backup_window="02:00-03:00", maintenance_window="wed:02:45-wed:03:15")
    assert "overlap" in str(error)


@pytest.mark.parametrize(
    ("backup", "maintenance", "overlap"),
    [
        ("23:30-00:30", "mon:00:00-mon:00:45", True),  # the backup window of Sunday night runs into Monday
        ("23:30-00:30", "sun:23:00-mon:01:00", True),
        ("00:00-00:30", "sun:23:45-mon:00:15", True),  # the maintenance window wraps past the week's end
        ("02:00-02:30", "sun:02:30-sun:03:00", False),  # touching is not overlapping
        ("02:00-02:30", "sat:23:00-sun:02:00", False),
        ("02:00-02:30", "mon:00:00-tue:03:00", True),  # a day-long window meets every daily backup
    ],
)
def test_overlap_is_checked_across_midnight_and_the_week(backup: str, maintenance: str, overlap: bool) -> None:
    assert windows_overlap(backup, maintenance) is overlap
    if overlap:
        rejected("maintenance_window", backup_window=backup, maintenance_window=maintenance)
    else:
        props(backup_window=backup, maintenance_window=maintenance).validate()


def test_window_minutes_returns_minutes_after_midnight() -> None:
    assert window_minutes("w", "sun:03:00-sun:03:30", weekly=True) == (180, 210)
    assert window_minutes("w", "02:15-03:40", weekly=False) == (135, 220)


def test_window_minutes_names_the_field_it_was_given() -> None:
    with pytest.raises(PropsError) as caught:
        window_minutes("database.backup_window", "01:00-01:15", weekly=False)
    assert caught.value.field == "database.backup_window"


# --------------------------------------------------------------------------------------------- engine


def test_default_engine_version_is_17_9() -> None:
    assert defaults.ENGINE_VERSION == "17.9"
    assert props().engine_version == "17.9"


@pytest.mark.parametrize("version", ["latest", "17", "9.6", "17.9.1", " 17.9", 17.9, None])
def test_bad_engine_versions_are_rejected(version: Any) -> None:
    rejected("engine_version", engine_version=version)


# --------------------------------------------------------------------------------------------- data safety


def test_destroy_removal_policy_is_rejected() -> None:
    error = rejected("removal_policy", removal_policy=RemovalPolicy.DESTROY)
    assert "SNAPSHOT, RETAIN_ON_UPDATE_OR_DELETE or RETAIN" in str(error)


@pytest.mark.parametrize("policy", [RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, RemovalPolicy.RETAIN])
def test_snapshot_and_retain_are_allowed(policy: RemovalPolicy) -> None:
    props(removal_policy=policy).validate()


@pytest.mark.parametrize("days", [1001, 0, -1, True, 30.0])
def test_rotation_days_outside_secrets_managers_1_to_1000_are_rejected(days: Any) -> None:
    rejected("rotation_days", rotation_days=days)


@pytest.mark.parametrize("days", [1, 30, 31, 1000])
def test_rotation_days_bounds_are_accepted(days: int) -> None:
    props(rotation_days=days).validate()


@pytest.mark.parametrize("days", [0, 36])
def test_backup_retention_outside_rds_limits_is_rejected(days: int) -> None:
    rejected("backup_retention_days", backup_retention_days=days)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cluster_identifier": "Farmer_CRM"}, "cluster_identifier"),
        ({"database_name": "farmer-crm"}, "database_name"),
        ({"secret_name": "ava olo"}, "secret_name"),
        ({"log_retention_days": 0}, "log_retention_days"),
        ({"monitoring_interval_seconds": 0}, "monitoring_interval_seconds"),
    ],
)
def test_other_fields_are_validated(overrides: dict[str, Any], field: str) -> None:
    rejected(field, **overrides)


# --------------------------------------------------------------------------------------------- capacity


def test_readers_need_an_instance_class() -> None:
    error = rejected("reader_count", reader_count=1)
    assert "instance_class" in str(error)


def test_reader_count_is_bounded_with_an_instance_class() -> None:
    rejected("reader_count", instance_class="r6g.large", reader_count=16)
    rejected("reader_count", instance_class="r6g.large", reader_count=-1)
    props(instance_class="r6g.large", reader_count=15).validate()


@pytest.mark.parametrize(
    "capacities",
    [
        pytest.param({"serverless_min_capacity": 0.25}, id="min-0.25"),
        pytest.param({"serverless_min_capacity": 4, "serverless_max_capacity": 2}, id="max-below-min"),
        pytest.param({"serverless_min_capacity": 0, "serverless_max_capacity": 0.5}, id="max-0.5"),
        pytest.param({"serverless_max_capacity": 1.25}, id="max-not-a-half-step"),
        pytest.param({"serverless_max_capacity": 257}, id="max-over-256"),
        pytest.param({"serverless_min_capacity": -0.5}, id="negative-min"),
        pytest.param({"serverless_max_capacity": "4"}, id="max-string"),
        pytest.param({"serverless_max_capacity": float("nan")}, id="max-nan"),
    ],
)
def test_bad_serverless_capacities_are_rejected(capacities: dict[str, Any]) -> None:
    with pytest.raises(PropsError) as caught:
        props(**capacities).validate()
    assert caught.value.field in ("serverless_min_capacity", "serverless_max_capacity")


@pytest.mark.parametrize("minimum", [0.25, -0.5])
def test_bad_serverless_minimum_is_reported_on_the_minimum(minimum: float) -> None:
    error = rejected("serverless_min_capacity", serverless_min_capacity=minimum)
    assert error.value == minimum


def test_boolean_serverless_capacity_is_rejected() -> None:
    with pytest.raises(PropsError):
        props(serverless_max_capacity=True).validate()


@pytest.mark.parametrize(
    "capacities",
    [
        {"serverless_min_capacity": 0, "serverless_max_capacity": 1},
        {"serverless_min_capacity": 0.5, "serverless_max_capacity": 1.5},
        {"serverless_min_capacity": 4, "serverless_max_capacity": 4},
        {"serverless_min_capacity": 0.5, "serverless_max_capacity": 256},
    ],
)
def test_good_serverless_capacities_are_accepted(capacities: dict[str, Any]) -> None:
    props(**capacities).validate()


@pytest.mark.parametrize("instance_class", ["m5.large", "r6g.medium", "t4g.xlarge", 42])
def test_instance_class_is_validated_by_the_connection_budget_module(instance_class: Any) -> None:
    error = rejected("instance_class", instance_class=instance_class)
    assert error.value == instance_class


def test_instance_class_with_db_prefix_is_accepted() -> None:
    props(instance_class="db.r6g.large").validate()


# --------------------------------------------------------------------------------------------- derived values


def test_max_connections_and_description_for_a_provisioned_class() -> None:
    p = props(instance_class="r6g.large")
    assert p.max_connections == 1622
    assert p.description == "db.r6g.large"
    prefixed = props(instance_class="db.r6g.large")
    assert prefixed.max_connections == 1622
    assert prefixed.description == "db.r6g.large"


def test_max_connections_and_description_for_serverless() -> None:
    p = props(serverless_max_capacity=4)
    assert p.max_connections == 811
    assert p.description == "Serverless v2 at 4 ACU"
    assert props().max_connections == 811  # default maximum: 4 ACU


def test_instance_class_wins_over_serverless_capacity_for_derived_values() -> None:
    p = props(instance_class="t4g.medium", serverless_max_capacity=64)
    assert p.max_connections == 405
    assert p.description == "db.t4g.medium"


def test_props_are_frozen() -> None:
    p = props()
    with pytest.raises(AttributeError):
        p.instance_class = "r6g.large"  # type: ignore[misc]
