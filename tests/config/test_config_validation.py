"""Validation of environments/<name>.json (stacks/config): one test per class of bad input.

Every rejection must be a ConfigError whose message is one line, names the field, shows the offending value
and says what is allowed. Accepted inputs must yield the values the rest of the project relies on.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stacks.config import ConfigError, EnvironmentConfig, available_environments, load_environment
from stacks.config.loader import parse_environment

ENV = "test"
IMAGE = {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"}
_MISSING = object()


def raw_config(**overrides: Any) -> dict[str, Any]:
    """A minimal valid raw settings dict; ``key=_MISSING`` removes a key."""
    raw: dict[str, Any] = {
        "region": "eu-central-1",
        "availability_zones": 2,
        "image": copy.deepcopy(IMAGE),
        # No real data, so plain HTTP may be chosen (explicitly); see tests/config/test_https_policy.py.
        "retain_data": False,
        "allow_plain_http": True,
    }
    for key, value in overrides.items():
        if value is _MISSING:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def parse(raw: dict[str, Any], *, version: str | None = None, environ: dict[str, str] | None = None) -> EnvironmentConfig:
    return parse_environment(ENV, raw, version=version, environ={} if environ is None else environ)


def rejected(raw: dict[str, Any], field: str, value: Any, *allowed_words: str, **kwargs: Any) -> ConfigError:
    """Assert ``raw`` is rejected on ``field`` with ``value`` and a one-line, self-explaining message."""
    with pytest.raises(ConfigError) as info:
        parse(raw, **kwargs)
    return assert_config_error(info.value, field, value, *allowed_words)


def assert_config_error(error: ConfigError, field: str, value: Any, *allowed_words: str, environment: str = ENV) -> ConfigError:
    message = str(error)
    assert error.field == field, message
    assert error.value == value, message
    assert error.environment == environment
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"config error in environment {environment!r}: {field}: "), message
    assert repr(value)[:117] in message, message
    assert " is not allowed; " in message, message
    assert error.allowed.strip(), message
    assert message.endswith(" ".join(error.allowed.split())), message
    for word in allowed_words:
        assert word in error.allowed, message
    return error


def write_envs(directory: Path, **files: Any) -> Path:
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        (directory / f"{name}.json").write_text(text, encoding="utf-8")
    return directory


# --- the minimal config and the shipped files -----------------------------------------------------------------


def test_minimal_config_is_valid_and_gets_the_seed_defaults() -> None:
    config = parse(raw_config())
    assert config.name == ENV
    assert config.region == "eu-central-1"
    assert config.availability_zones == ()
    assert config.az_count == 2
    assert config.image.repository == IMAGE["repository"]
    assert config.image.tag == "v1.0.0"
    assert config.version == "v1.0.0"
    assert config.account is None
    assert (config.cpu, config.memory) == (512, 1024)
    assert config.container_port == 8080
    assert config.health_check_path == "/health"
    assert config.deregistration_delay_seconds <= 30
    assert (config.db_pool_size, config.db_max_overflow, config.db_pool_recycle_seconds) == (20, 30, 300)
    assert config.min_count <= config.desired_count <= config.max_count
    assert config.seed_names is False


def test_config_is_frozen() -> None:
    config = parse(raw_config())
    with pytest.raises(AttributeError):
        config.cpu = 4096  # type: ignore[misc]


def test_the_shipped_environments_are_the_expected_four() -> None:
    assert set(available_environments()) >= {"sandbox", "dev", "staging", "production"}


@pytest.mark.parametrize("name", available_environments())
def test_every_shipped_environment_loads(name: str) -> None:
    config = load_environment(name, environ={})
    assert config.name == name
    assert config.az_count >= 2
    assert 1 <= config.nat_gateways <= config.az_count
    assert config.version == config.image.tag
    assert config.health_check_path == "/health"
    assert config.deregistration_delay_seconds <= 30
    assert (config.db_pool_size, config.db_max_overflow, config.db_pool_recycle_seconds) == (20, 30, 300)


def test_production_keeps_the_seed_practices() -> None:
    config = load_environment("production", environ={})
    assert config.seed_names is True
    assert config.termination_protection is True
    assert config.retain_data is True
    assert (config.cpu, config.memory) == (512, 1024)
    assert config.health_check_path == "/health"
    assert config.deregistration_delay_seconds <= 30
    assert config.db_pool_size == 20
    assert config.db_max_overflow == 30
    assert config.db_pool_recycle_seconds == 300


def test_default_environment_is_sandbox() -> None:
    assert load_environment(None, environ={}).name == "sandbox"


# --- environment files ----------------------------------------------------------------------------------------


def test_unknown_environment_name(tmp_path: Path) -> None:
    write_envs(tmp_path, alpha=raw_config(), beta=raw_config())
    with pytest.raises(ConfigError) as info:
        load_environment("nope", directory=tmp_path, environ={})
    assert_config_error(info.value, "env", "nope", "alpha", "beta", environment="nope")


def test_environment_from_a_config_dir_loads(tmp_path: Path) -> None:
    write_envs(tmp_path, alpha=raw_config(cpu=1024, memory=2048))
    config = load_environment("alpha", directory=tmp_path, environ={})
    assert (config.name, config.cpu, config.memory) == ("alpha", 1024, 2048)


def test_missing_config_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as info:
        load_environment("alpha", directory=missing, environ={})
    assert_config_error(info.value, "config_dir", str(missing), "directory", environment="alpha")


def test_invalid_json_is_reported_with_its_line(tmp_path: Path) -> None:
    write_envs(tmp_path, broken='{\n  "region": "eu-central-1",\n  "cpu": 512,,\n  "memory": 1024\n}\n')
    with pytest.raises(ConfigError) as info:
        load_environment("broken", directory=tmp_path, environ={})
    assert_config_error(info.value, "broken.json", "line 3", "valid JSON", environment="broken")


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    write_envs(tmp_path, listy="[1, 2]")
    with pytest.raises(ConfigError) as info:
        load_environment("listy", directory=tmp_path, environ={})
    assert_config_error(info.value, "listy.json", "list", "JSON object", environment="listy")


def test_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "latin.json").write_bytes(
        b'{"description": "caf\xe9", "region": "eu-central-1", "availability_zones": 2,'
        b' "image": {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"}}'
    )
    with pytest.raises(ConfigError) as info:
        load_environment("latin", directory=tmp_path, environ={})
    assert info.value.field == "latin.json"


@pytest.mark.parametrize(
    ("name", "text", "field", "value", "allowed"),
    [
        ("nope", None, "delivery", "nope", "choose one of main"),
        ("broken", "{,}", "broken.json", "line 1", "valid JSON (Expecting property name enclosed in double quotes)"),
        ("latin", '{"name": "caf\xe9"}'.encode("latin-1"), "latin.json", "byte 13", "a UTF-8 encoded JSON file"),
        ("twice", '{"project": "a", "project": "b"}', "project", "b", "each setting once"),
        ("listy", "[1, 2]", "listy.json", "list", "JSON object"),
    ],
)
def test_delivery_file_that_is_missing_or_not_a_json_object_is_one_line(
    tmp_path: Path, name: str, text: str | bytes | None, field: str, value: Any, allowed: str
) -> None:
    """``-c delivery=NAME`` (delivery/NAME.json): as for an environment, before any setting is looked at."""
    from stacks.config.delivery import load_delivery

    (tmp_path / "main.json").write_text("{}", encoding="utf-8")
    if isinstance(text, bytes):
        (tmp_path / f"{name}.json").write_bytes(text)
    elif text is not None:
        (tmp_path / f"{name}.json").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_delivery(name, directory=tmp_path, environ={})
    assert_config_error(info.value, field, value, allowed, environment=f"delivery/{name}")


def test_environment_file_name_must_be_a_valid_name(tmp_path: Path) -> None:
    write_envs(tmp_path, Bad_Env=raw_config())
    with pytest.raises(ConfigError) as info:
        load_environment("Bad_Env", directory=tmp_path, environ={})
    assert_config_error(info.value, "env", "Bad_Env", "lower-case", environment="Bad_Env")


# --- Fargate size ---------------------------------------------------------------------------------------------


def test_impossible_cpu_memory_pair() -> None:
    rejected(raw_config(cpu=512, memory=8192), "memory", 8192, "cpu 512", "1024", "4096")


def test_unknown_cpu_value() -> None:
    rejected(raw_config(cpu=300, memory=1024), "cpu", 300, "256", "512", "1024")


def test_valid_explicit_size() -> None:
    config = parse(raw_config(cpu=2048, memory=16384))
    assert (config.cpu, config.memory) == (2048, 16384)


def test_size_profile_high_load() -> None:
    config = parse(raw_config(size_profile="high-load"))
    assert (config.cpu, config.memory) == (1024, 2048)


def test_size_profile_standard() -> None:
    config = parse(raw_config(size_profile="standard"))
    assert (config.cpu, config.memory) == (512, 1024)


def test_size_profile_with_cpu_is_rejected() -> None:
    rejected(raw_config(size_profile="high-load", cpu=1024), "size_profile", "high-load", "not both")


def test_size_profile_with_memory_is_rejected() -> None:
    rejected(raw_config(size_profile="standard", memory=2048), "size_profile", "standard", "not both")


def test_unknown_size_profile() -> None:
    rejected(raw_config(size_profile="huge"), "size_profile", "huge", "standard", "high-load")


def test_cpu_that_is_a_list_is_a_config_error() -> None:
    rejected(raw_config(cpu=[512]), "cpu", [512])


def test_size_profile_that_is_a_list_is_a_config_error() -> None:
    rejected(raw_config(size_profile=["high-load"]), "size_profile", ["high-load"])


# --- port -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", [0, 70000, "80", -1, True, 80.5])
def test_port_out_of_range(port: Any) -> None:
    rejected(raw_config(container_port=port), "container_port", port, "1 to 65535")


@pytest.mark.parametrize("port", [1, 80, 8080, 65535])
def test_port_in_range(port: int) -> None:
    assert parse(raw_config(container_port=port)).container_port == port


# --- names ----------------------------------------------------------------------------------------------------


def test_service_name_with_capitals_and_underscore() -> None:
    rejected(raw_config(service_name="Monitoring_Dashboards"), "service_name", "Monitoring_Dashboards", "lower-case")


def test_project_too_long() -> None:
    name = "ava-olo-" + "x" * 30
    rejected(raw_config(project=name), "project", name, "at most 32")


@pytest.mark.parametrize("name", ["monitoring-", "1monitoring", "monitoring--dashboards", ""])
def test_bad_service_names(name: str) -> None:
    rejected(raw_config(service_name=name), "service_name", name)


def test_valid_names() -> None:
    config = parse(raw_config(project="ava-olo", service_name="monitoring-dashboards", task_family="ava-olo-monitoring-task"))
    assert (config.project, config.service_name, config.task_family) == (
        "ava-olo", "monitoring-dashboards", "ava-olo-monitoring-task"
    )


# --- image tag / version --------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["latest", "3.2.0", "v3.2", "v3.2.0-UPPER", "v3.2.0-", "v03.2.0", "", None])
def test_image_tag_not_in_release_format(tag: Any) -> None:
    raw = raw_config(image={"repository": IMAGE["repository"], "tag": tag})
    rejected(raw, "image.tag", tag, "vMAJOR.MINOR.PATCH")


@pytest.mark.parametrize(
    "tag",
    [
        "v3.2.0-schema-button-aurora",
        "v2.5.4-db-fixed",
        "v2.5.6-schema-nlq-prompt-fix-a1b2c3d4",
        "v3.0.0-breaking-api-changes",
        "v2.5.4",
    ],
)
def test_seed_tags_are_accepted(tag: str) -> None:
    config = parse(raw_config(image={"repository": IMAGE["repository"], "tag": tag}))
    assert config.image.tag == tag
    assert config.version == tag


@pytest.mark.parametrize("version", ["latest", "3.2.0", "v3.2", "v3.2.0-UPPER", ""])
def test_version_override_is_validated(version: str) -> None:
    rejected(raw_config(), "-c version", version, "vMAJOR.MINOR.PATCH", version=version)


def test_valid_version_override_replaces_tag_and_version() -> None:
    config = parse(raw_config(), version="v3.2.1-hotfix")
    assert config.version == "v3.2.1-hotfix"
    assert config.image.tag == "v3.2.1-hotfix"
    assert config.image.repository == IMAGE["repository"]


def test_version_override_does_not_excuse_a_bad_file_tag() -> None:
    raw = raw_config(image={"repository": IMAGE["repository"], "tag": "latest"})
    rejected(raw, "image.tag", "latest", version="v1.2.3")


def test_version_with_trailing_newline_is_rejected() -> None:
    rejected(raw_config(), "-c version", "v1.0.0\n", version="v1.0.0\n")


def test_image_unknown_key() -> None:
    raw = raw_config(image={**IMAGE, "digest": "sha256:abc"})
    rejected(raw, "image.digest", "sha256:abc", "repository and tag")


def test_image_repository_with_tag_is_rejected() -> None:
    raw = raw_config(image={"repository": "Ava-Olo:latest", "tag": "v1.0.0"})
    rejected(raw, "image.repository", "Ava-Olo:latest", "repository")


def test_image_not_an_object() -> None:
    rejected(raw_config(image="ava-olo:v1.0.0"), "image", "ava-olo:v1.0.0", "repository")


# --- required and unknown fields ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["region", "availability_zones", "image"])
def test_missing_required_field(key: str) -> None:
    rejected(raw_config(**{key: _MISSING}), key, None, "required")


@pytest.mark.parametrize("key", ["tag", "repository"])
def test_missing_image_field(key: str) -> None:
    image = {k: v for k, v in IMAGE.items() if k != key}
    rejected(raw_config(image=image), f"image.{key}", None, "required")


def test_unknown_setting_key() -> None:
    error = rejected(raw_config(desired_cout=3), "desired_cout", 3, "unknown setting")
    assert "desired_count" in error.allowed


@pytest.mark.parametrize("key", ["name", "version"])
def test_derived_fields_cannot_be_set(key: str) -> None:
    rejected(raw_config(**{key: "x"}), key, "x", "unknown setting")


def test_az_count_cannot_be_set() -> None:
    rejected(raw_config(az_count=5), "az_count", 5, "unknown setting")


def test_description_is_allowed() -> None:
    assert parse(raw_config(description="a comment")).name == ENV


# --- task counts and ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "field", "value"),
    [
        ({"min_count": 2, "desired_count": 1, "max_count": 4}, "desired_count", 1),
        ({"min_count": 1, "desired_count": 5, "max_count": 4}, "desired_count", 5),
        ({"min_count": 0, "desired_count": 1, "max_count": 4}, "min_count", 0),
        ({"desired_count": "2"}, "desired_count", "2"),
    ],
)
def test_task_counts(counts: dict[str, Any], field: str, value: Any) -> None:
    rejected(raw_config(**counts), field, value)


def test_desired_outside_min_max_names_the_bounds() -> None:
    rejected(raw_config(min_count=2, desired_count=7, max_count=6), "desired_count", 7, "min_count 2", "max_count 6")


def test_valid_task_counts() -> None:
    config = parse(raw_config(min_count=2, desired_count=3, max_count=6))
    assert (config.min_count, config.desired_count, config.max_count) == (2, 3, 6)


def test_deregistration_delay_over_30_is_rejected() -> None:
    rejected(raw_config(deregistration_delay_seconds=300), "deregistration_delay_seconds", 300, "0 to 30")


def test_deregistration_delay_30_is_accepted() -> None:
    assert parse(raw_config(deregistration_delay_seconds=30)).deregistration_delay_seconds == 30


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("health_check_grace_period_seconds", 601),
        ("db_pool_size", 0),
        ("db_max_overflow", -1),
        ("db_pool_recycle_seconds", 0),
    ],
)
def test_other_ranges(key: str, value: int) -> None:
    rejected(raw_config(**{key: value}), key, value, "whole number")


def test_health_check_path_must_be_absolute() -> None:
    rejected(raw_config(health_check_path="health"), "health_check_path", "health", "/health")


@pytest.mark.parametrize("value", [0, 9999, -1, True])
def test_log_retention_never_expire_is_impossible(value: Any) -> None:
    rejected(raw_config(log_retention_days=value), "log_retention_days", value, "3653")


def test_flow_log_retention_is_validated() -> None:
    rejected(raw_config(flow_log_retention_days=0), "flow_log_retention_days", 0, "retention")


def test_log_retention_valid() -> None:
    config = parse(raw_config(log_retention_days=14, flow_log_retention_days=365))
    assert (config.log_retention_days, config.flow_log_retention_days) == (14, 365)


@pytest.mark.parametrize("key", ["seed_names", "termination_protection", "retain_data", "load_balancer_deletion_protection"])
def test_booleans_must_be_booleans(key: str) -> None:
    rejected(raw_config(**{key: "true"}), key, "true", "true or false")


# --- network --------------------------------------------------------------------------------------------------


def test_nat_gateways_more_than_azs() -> None:
    rejected(raw_config(availability_zones=2, nat_gateways=3), "nat_gateways", 3, "1 to 2")


def test_nat_gateways_zero() -> None:
    rejected(raw_config(nat_gateways=0), "nat_gateways", 0, "egress")


def test_nat_gateways_more_than_pinned_azs() -> None:
    rejected(raw_config(availability_zones=["a", "b"], nat_gateways=3), "nat_gateways", 3, "1 to 2")


def test_nat_gateway_per_az() -> None:
    config = parse(raw_config(availability_zones=3, nat_gateways=3))
    assert (config.az_count, config.nat_gateways) == (3, 3)


@pytest.mark.parametrize("zones", [1, 7, 0])
def test_availability_zone_count_out_of_range(zones: int) -> None:
    rejected(raw_config(availability_zones=zones), "availability_zones", zones, "2 to 6")


def test_single_pinned_zone_is_rejected() -> None:
    rejected(raw_config(availability_zones=["a"]), "availability_zones", ["eu-central-1a"], "two")


def test_duplicate_pinned_zones_are_rejected() -> None:
    rejected(raw_config(availability_zones=["a", "a"]), "availability_zones", ["eu-central-1a"] * 2, "distinct")


def test_zone_of_another_region_is_rejected() -> None:
    raw = raw_config(availability_zones=["eu-central-1a", "us-east-1b"])
    rejected(raw, "availability_zones", "us-east-1b", "eu-central-1")


def test_zone_letters_are_expanded_to_names() -> None:
    config = parse(raw_config(availability_zones=["a", "b"]))
    assert config.availability_zones == ("eu-central-1a", "eu-central-1b")
    assert config.az_count == 2


def test_full_zone_names_are_kept() -> None:
    config = parse(raw_config(availability_zones=["eu-central-1a", "eu-central-1c", "eu-central-1b"]))
    assert config.availability_zones == ("eu-central-1a", "eu-central-1c", "eu-central-1b")
    assert config.az_count == 3


@pytest.mark.parametrize("zones", [True, "ab", {"a": 1}])
def test_availability_zones_of_the_wrong_type(zones: Any) -> None:
    rejected(raw_config(availability_zones=zones), "availability_zones", zones, "count")


def test_nested_zone_list_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw_config(availability_zones=[["a"], ["b"]]))
    assert info.value.field == "availability_zones"


@pytest.mark.parametrize(
    ("cidr", "allowed"),
    [
        ("10.0.0.0/8", "/16 to /28"),
        ("300.0.0.0/16", "/16 to /28"),
        ("10.0.0/16", "/16 to /28"),
        ("10.0.0.1/16", "network address"),
        ("10.0.0.0/24", "/18 or larger"),
        ("10.0.0.0/20", "/18 or larger"),
    ],
)
def test_vpc_cidr(cidr: str, allowed: str) -> None:
    rejected(raw_config(vpc_cidr=cidr), "vpc_cidr", cidr, allowed)


@pytest.mark.parametrize(("zones", "cidr"), [(3, "10.0.0.0/19"), (3, "10.0.0.0/20"), (6, "10.0.0.0/18")])
def test_vpc_cidr_the_subnets_cannot_fit_is_one_line_not_a_jsii_trace(zones: int, cidr: str) -> None:
    rejected(raw_config(availability_zones=zones, vpc_cidr=cidr), "vpc_cidr", cidr, f"subnets of {zones} AZs", "or larger")


@pytest.mark.parametrize(("zones", "cidr"), [(2, "10.0.0.0/18"), (3, "10.0.0.0/17"), (6, "10.0.0.0/17"), (2, "172.16.0.0/16")])
def test_vpc_cidr_that_fits_the_subnets_is_accepted(zones: int, cidr: str) -> None:
    assert parse(raw_config(availability_zones=zones, nat_gateways=1, vpc_cidr=cidr)).vpc_cidr == cidr


# --- alarms, account, region, tags ----------------------------------------------------------------------------


def test_alarm_email_that_is_not_an_address() -> None:
    raw = raw_config(alarm_emails=["ops@ava-olo.example", "oncall"])
    rejected(raw, "alarm_emails", "oncall", "e-mail")


def test_alarm_emails_not_a_list() -> None:
    rejected(raw_config(alarm_emails="ops@ava-olo.example"), "alarm_emails", "ops@ava-olo.example", "list")


def test_alarm_emails_valid() -> None:
    config = parse(raw_config(alarm_emails=["ops@ava-olo.example", "dev-alerts@ava-olo.example"]))
    assert config.alarm_emails == ("ops@ava-olo.example", "dev-alerts@ava-olo.example")


@pytest.mark.parametrize("account", ["12345", "1234567890123", "abcdefghijkl", 123456789012])
def test_bad_account(account: Any) -> None:
    rejected(raw_config(account=account), "account", account, "12-digit")


def test_explicit_account() -> None:
    assert parse(raw_config(account="123456789012")).account == "123456789012"


def test_account_from_cli_uses_cdk_default_account() -> None:
    config = parse(raw_config(account="from-cli"), environ={"CDK_DEFAULT_ACCOUNT": "210987654321"})
    assert config.account == "210987654321"


def test_account_from_cli_without_cdk_default_account_is_none() -> None:
    assert parse(raw_config(account="from-cli"), environ={}).account is None
    assert parse(raw_config(), environ={}).account is None


def test_account_from_cli_with_a_bad_cdk_default_account() -> None:
    raw = raw_config(account="from-cli")
    rejected(raw, "account", "oops", "CDK_DEFAULT_ACCOUNT", environ={"CDK_DEFAULT_ACCOUNT": "oops"})


def test_region_from_cli_without_cdk_default_region() -> None:
    rejected(raw_config(region="from-cli"), "region", "", "CDK_DEFAULT_REGION", environ={})


def test_region_from_cli_with_cdk_default_region() -> None:
    raw = raw_config(region="from-cli", availability_zones=["a", "b"])
    config = parse(raw, environ={"CDK_DEFAULT_REGION": "us-west-2"})
    assert config.region == "us-west-2"
    assert config.availability_zones == ("us-west-2a", "us-west-2b")


@pytest.mark.parametrize("region", ["Europe", "eu-central", "EU-CENTRAL-1", None])
def test_bad_region(region: Any) -> None:
    rejected(raw_config(region=region), "region", region, "eu-central-1")


def test_region_with_trailing_newline_is_rejected() -> None:
    rejected(raw_config(region="eu-central-1\n"), "region", "eu-central-1\n")


@pytest.mark.parametrize("key", ["Version", "Project", "Environment", "Service"])
def test_reserved_tag_key(key: str) -> None:
    rejected(raw_config(tags={key: "x"}), "tags", key, "set by the project")


def test_aws_tag_key_is_rejected() -> None:
    rejected(raw_config(tags={"aws:cost": "x"}), "tags", "aws:cost", "aws:")


def test_tag_value_must_be_a_string() -> None:
    rejected(raw_config(tags={"CostCenter": 5}), "tags.CostCenter", 5, "tag values")


def test_tags_not_an_object() -> None:
    rejected(raw_config(tags=["CostCenter"]), "tags", ["CostCenter"], "object")


def test_extra_tags_are_kept() -> None:
    assert dict(parse(raw_config(tags={"CostCenter": "engineering"})).tags) == {"CostCenter": "engineering"}


def test_long_values_are_shortened_in_the_message() -> None:
    name = "x" * 300
    with pytest.raises(ConfigError) as info:
        parse(raw_config(service_name=name))
    message = str(info.value)
    assert info.value.field == "service_name" and info.value.value == name
    assert "\n" not in message and len(message) < 400
    assert repr(name)[:117] + "..." in message


def test_replacing_fields_revalidates_the_whole_configuration() -> None:
    """Tests and tools derive variants with ``dataclasses.replace``; the pydantic models check them again."""
    import dataclasses

    config = parse(raw_config(database={"instance_class": "r6g.large"}))
    changed = dataclasses.replace(config, max_count=6, database=dataclasses.replace(config.database, database_name="farmers"))
    assert (changed.max_count, changed.database.database_name, changed.database.instance_class) == (6, "farmers", "r6g.large")
    with pytest.raises(ValueError, match="desired_count"):
        dataclasses.replace(config, desired_count=9)
