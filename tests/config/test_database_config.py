"""The ``database`` object of an environment file, the connection budget, ENCRYPTION_KEY and secure parameters.

Every rejection is a :class:`ConfigError` (never a TypeError / KeyError) whose message is one line naming the
field. No synthesis: ``parse_environment`` on a minimal raw dict, ``load_environment`` for the shipped files.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import ConfigError, EnvironmentConfig, available_environments, load_environment
from stacks.config.loader import parse_environment
from stacks.config.model import DatabaseConfig

ENV = "test"
MINIMAL: dict[str, Any] = {
    "region": "eu-central-1",
    "availability_zones": 2,
    "image": {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"},
    "retain_data": False,
    "allow_plain_http": True,
}
SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:ava-olo/key-AbC123"
KMS_ARN = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def raw_config(**overrides: Any) -> dict[str, Any]:
    raw = copy.deepcopy(MINIMAL)
    raw.update(overrides)
    return raw


def parse(**overrides: Any) -> EnvironmentConfig:
    return parse_environment(ENV, raw_config(**overrides), environ={})


def rejected(field: str, **overrides: Any) -> ConfigError:
    """Parse ``overrides`` and assert a one-line ConfigError on ``field``."""
    with pytest.raises(ConfigError) as caught:
        parse(**overrides)
    error = caught.value
    message = str(error)
    assert error.field == field, message
    assert error.environment == ENV
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"config error in environment {ENV!r}: {field}: "), message
    return error


# --------------------------------------------------------------------------------------------- defaults


def test_minimal_config_gets_the_default_database() -> None:
    config = parse()
    assert config.database == DatabaseConfig()
    assert config.database.instance_class is None
    assert config.database.serverless_max_capacity == 4
    assert config.encryption_key_secret_arn is None
    assert config.secure_parameters == {}
    assert config.secure_parameters_kms_key_arn is None


def test_database_settings_are_carried_into_the_config() -> None:
    config = parse(database={"instance_class": "r6g.large", "reader_count": 2, "backup_retention_days": 21})
    assert config.database.instance_class == "r6g.large"
    assert config.database.reader_count == 2
    assert config.database.backup_retention_days == 21


def test_database_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        parse().database.reader_count = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------------- connection budget


def test_issue_acceptance_ten_tasks_do_not_fit_a_t4g_medium() -> None:
    error = rejected(
        "max_count", max_count=10, min_count=1, desired_count=2, database={"instance_class": "t4g.medium"}
    )
    message = str(error)
    assert error.value == 10
    assert "1010" in message and "405" in message
    assert "db.t4g.medium" in message
    assert len(message.splitlines()) == 1


def test_issue_acceptance_same_tasks_fit_serverless_at_16_acu() -> None:
    # 20 x 50 + 10 = 1010 <= 3244 (16 ACU)
    config = parse(max_count=10, min_count=1, desired_count=2, database={"serverless_max_capacity": 16})
    assert config.max_count == 10
    assert config.database.serverless_max_capacity == 16


def test_seed_default_counts_fit_serverless_at_4_acu() -> None:
    """The default max_count (4) with the seed's pool, doubled during a deploy: 8 x 50 + 10 = 410 <= 811."""
    config = parse(database={"serverless_max_capacity": 4})
    assert 2 * config.max_count * (config.db_pool_size + config.db_max_overflow) + config.database.connection_reserve == 410


def test_budget_uses_the_configured_pool_and_reserve() -> None:
    # 2 x 4 x (20 + 30) + 5 = 405: exactly a t4g.medium (4 tasks, 8 during a deployment).
    parse(max_count=4, desired_count=1, database={"instance_class": "t4g.medium", "connection_reserve": 5})
    error = rejected(
        "max_count", max_count=4, desired_count=1, database={"instance_class": "t4g.medium", "connection_reserve": 6}
    )
    assert "406" in str(error) and "405" in str(error)
    error = rejected(
        "max_count", max_count=4, desired_count=1, db_pool_size=21, database={"instance_class": "t4g.medium", "connection_reserve": 5}
    )
    assert "413" in str(error)


def test_smaller_pool_makes_it_fit() -> None:
    # 20 x (5 + 10) + 10 = 310 <= 405
    parse(max_count=10, desired_count=2, db_pool_size=5, db_max_overflow=10, database={"instance_class": "t4g.medium"})


def test_default_serverless_maximum_is_used_for_the_budget() -> None:
    # No database object: Serverless v2 at 4 ACU = 811 connections; 2 x 9 x 50 + 10 = 910 does not fit.
    error = rejected("max_count", max_count=9)
    assert "910" in str(error) and "811" in str(error) and "Serverless v2 at 4 ACU" in str(error)


# --------------------------------------------------------------------------------------------- database keys and types


@pytest.mark.parametrize("key", ["instance_type", "instanceClass", "readers", "serverless_max_acu", "vpc"])
def test_unknown_database_key_names_the_key(key: str) -> None:
    error = rejected(f"database.{key}", database={key: "x"})
    assert "unknown setting" in str(error)
    assert "instance_class" in str(error), "the known keys are listed"


def test_instance_class_and_serverless_maximum_are_exclusive() -> None:
    error = rejected("database.instance_class", database={"instance_class": "r6g.large", "serverless_max_capacity": 4})
    assert "not both" in str(error)


@pytest.mark.parametrize("minimum", [0.5, -1])
def test_instance_class_and_serverless_minimum_are_exclusive(minimum: float) -> None:
    rejected("database.instance_class", database={"instance_class": "r6g.large", "serverless_min_capacity": minimum})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("deletion_protection", "yes"),
        ("deletion_protection", 1),
        ("deletion_protection", None),
        ("reader_count", "1"),
        ("reader_count", 1.0),
        ("reader_count", True),
        ("backup_retention_days", "14"),
        ("rotation_days", 30.0),
        ("log_retention_days", None),
        ("monitoring_interval_seconds", "60"),
        ("connection_reserve", [10]),
        ("serverless_max_capacity", "4"),
        ("serverless_max_capacity", True),
        ("serverless_max_capacity", None),
        ("serverless_min_capacity", "0.5"),
        ("serverless_min_capacity", {"acu": 1}),
        ("engine_version", 17.9),
        ("database_name", 5),
        ("instance_class", 42),
        ("instance_class", ["r6g.large"]),
        ("backup_window", None),
        ("maintenance_window", 3),
    ],
)
def test_wrong_types_are_config_errors_naming_the_field(key: str, value: Any) -> None:
    database: dict[str, Any] = {key: value}
    if key == "reader_count":
        database["instance_class"] = "r6g.large"  # readers are only allowed when provisioned
    error = rejected(f"database.{key}", database=database)
    assert error.value == value


@pytest.mark.parametrize("value", [None, [], "serverless", 4])
def test_database_must_be_an_object(value: Any) -> None:
    rejected("database", database=value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("backup_window", "01:30-02:00"),
        ("backup_window", "03:45-04:15"),
        ("backup_window", "02:00-02:15"),
        ("maintenance_window", "sun:04:00-sun:04:30"),
        ("maintenance_window", "sun:01:00-sun:01:30"),
        ("maintenance_window", "mon:03:00-tue:03:30"),
    ],
)
def test_windows_outside_the_low_traffic_window_are_rejected(key: str, value: str) -> None:
    error = rejected(f"database.{key}", database={key: value})
    assert "02:00-04:00" in str(error)


@pytest.mark.parametrize("days", [31, 90, 1000])
def test_rotation_beyond_the_projects_30_days_is_one_line_though_secrets_manager_allows_it(days: int) -> None:
    error = rejected("database.rotation_days", database={"rotation_days": days})
    assert "1 to 30" in str(error) and "\n" not in str(error)


def test_rotation_every_30_days_is_accepted() -> None:
    assert parse(database={"rotation_days": 30}).database.rotation_days == 30


def test_maintenance_overlapping_backup_is_rejected() -> None:
    error = rejected("database.maintenance_window", database={"maintenance_window": "sun:02:00-sun:02:30"})
    assert "overlap" in str(error)


@pytest.mark.parametrize(
    ("database", "field"),
    [
        ({"instance_class": "m5.large"}, "database.instance_class"),
        ({"reader_count": 1}, "database.reader_count"),
        ({"serverless_max_capacity": 0.5, "serverless_min_capacity": 0}, "database.serverless_max_capacity"),
        ({"engine_version": "latest"}, "database.engine_version"),
        ({"rotation_days": 1001}, "database.rotation_days"),
        ({"backup_retention_days": 0}, "database.backup_retention_days"),
        ({"connection_reserve": -1}, "database.connection_reserve"),
        ({"database_name": "farmer-crm"}, "database.database_name"),
    ],
)
def test_library_rules_are_reported_with_the_database_prefix(database: dict[str, Any], field: str) -> None:
    rejected(field, database=database)


# --------------------------------------------------------------------------------------------- encryption key


def test_complete_secret_arn_is_accepted() -> None:
    assert parse(encryption_key_secret_arn=SECRET_ARN).encryption_key_secret_arn == SECRET_ARN


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("arn:aws:secretsmanager:eu-central-1:123456789012:secret:ava-olo/key", id="partial-arn"),
        pytest.param("arn:aws:secretsmanager:eu-central-1:123456789012:secret:ava-olo/key-AbC12", id="5-char-suffix"),
        pytest.param("ava-olo/key", id="name"),
        pytest.param("ava-olo/key-AbC123", id="name-with-suffix"),
        pytest.param("arn:aws:secretsmanager:eu-central-1:1234:secret:ava-olo/key-AbC123", id="short-account"),
        pytest.param("arn:aws:ssm:eu-central-1:123456789012:parameter/ava-olo/key-AbC123", id="not-secrets-manager"),
        pytest.param(SECRET_ARN + "\n", id="trailing-newline"),
        pytest.param(None, id="none"),
        pytest.param(123, id="number"),
    ],
)
def test_bad_encryption_key_secret_arns_are_rejected(arn: Any) -> None:
    error = rejected("encryption_key_secret_arn", encryption_key_secret_arn=arn)
    assert error.value == arn


# --------------------------------------------------------------------------------------------- secure parameters


def test_secure_parameter_is_accepted() -> None:
    config = parse(secure_parameters={"STRIPE_TOKEN": "/ava-olo/production/stripe-token"})
    assert config.secure_parameters == {"STRIPE_TOKEN": "/ava-olo/production/stripe-token"}


@pytest.mark.parametrize("variable", ["stripe_token", "Stripe_Token", "1STRIPE", "STRIPE-TOKEN", ""])
def test_variable_names_must_be_upper_case(variable: str) -> None:
    error = rejected("secure_parameters", secure_parameters={variable: "/ava-olo/production/stripe-token"})
    assert error.value == variable


@pytest.mark.parametrize("variable", ["DB_PASSWORD", "ENCRYPTION_KEY", "APP_VERSION", "DB_HOST", "DB_POOL_SIZE"])
def test_reserved_variable_names_are_rejected(variable: str) -> None:
    error = rejected("secure_parameters", secure_parameters={variable: "/ava-olo/production/x"})
    assert error.value == variable


@pytest.mark.parametrize("name", ["ava-olo/production/stripe-token", "stripe-token", "", "/", "/a b", None, 5])
def test_parameter_names_must_be_absolute(name: Any) -> None:
    error = rejected("secure_parameters.STRIPE_TOKEN", secure_parameters={"STRIPE_TOKEN": name})
    assert error.value == name


@pytest.mark.parametrize("value", [[], None, "STRIPE_TOKEN=/x"])
def test_secure_parameters_must_be_an_object(value: Any) -> None:
    rejected("secure_parameters", secure_parameters=value)


def test_kms_key_arn_is_accepted() -> None:
    assert parse(secure_parameters_kms_key_arn=KMS_ARN).secure_parameters_kms_key_arn == KMS_ARN


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("arn:aws:kms:eu-central-1:123456789012:alias/ava-olo", id="alias"),
        pytest.param("1234abcd-12ab-34cd-56ef-1234567890ab", id="bare-key-id"),
        pytest.param("arn:aws:kms:eu-central-1:123456789012:key/1234abcd", id="short-key-id"),
        pytest.param(KMS_ARN.replace("1234abcd", "1234ABCD"), id="upper-case-key-id"),
        pytest.param(KMS_ARN + " ", id="trailing-space"),
        pytest.param(None, id="none"),
    ],
)
def test_bad_kms_key_arns_are_rejected(arn: Any) -> None:
    error = rejected("secure_parameters_kms_key_arn", secure_parameters_kms_key_arn=arn)
    assert error.value == arn


# --------------------------------------------------------------------------------------------- shipped environments

SHIPPED = available_environments()


def _load(name: str) -> EnvironmentConfig:
    return load_environment(name, environ={})


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_environment_fits_its_connection_budget(name: str) -> None:
    from ava_olo_constructs.connection_budget import estimate_max_connections

    config = _load(name)
    database = config.database
    if database.instance_class is not None:
        limit = estimate_max_connections(instance_class=database.instance_class)
    else:
        limit = estimate_max_connections(serverless_max_capacity=database.serverless_max_capacity)
    needed = config.max_count * (config.db_pool_size + config.db_max_overflow) + database.connection_reserve
    assert needed <= limit, f"{name}: {needed} > {limit}"


def test_production_database_is_provisioned_highly_available_and_protected() -> None:
    assert "production" in SHIPPED
    database = _load("production").database
    assert database.instance_class is not None
    assert database.reader_count >= 1
    assert database.backup_retention_days >= 14
    assert database.deletion_protection is True
