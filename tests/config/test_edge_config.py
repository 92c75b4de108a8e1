"""Configuration of the production tier, HTTPS and WAF rate limits: bad input is one clear line."""

from __future__ import annotations

import pytest

from ava_olo_constructs import waf_defaults
from ava_olo_constructs.waf import RateLimit
from stacks.config import ConfigError, load_environment
from stacks.config.loader import parse_environment

PRODUCTION_TIER = {
    "region": "eu-central-1",
    "availability_zones": 2,
    "image": {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"},
    "tier": "production",
    "termination_protection": True,
    "retain_data": True,
    "load_balancer_deletion_protection": True,
    "https": {"domain_name": "monitoring.ava-olo.example", "certificate_arn_parameter": "/ava-olo/prod/certificate-arn"},
}


def parse(**overrides):
    raw = {**PRODUCTION_TIER, **overrides}
    raw = {k: v for k, v in raw.items() if v is not None}
    return parse_environment("prod-eu", raw, environ={})


def rejected(field: str, **overrides) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(**overrides)
    assert caught.value.field == field, str(caught.value)
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_valid_production_tier_environment_loads():
    config = parse()
    assert config.tier == "production" and config.https.certificate_arn_parameter == "/ava-olo/prod/certificate-arn"
    assert [(r.name, r.path_prefix, r.limit, r.window_seconds) for r in config.waf.rate_limits] == list(
        waf_defaults.SEED_RATE_LIMITS
    )


def test_production_tier_without_a_certificate_is_rejected():
    error = rejected("https", https=None)
    assert "must serve HTTPS" in str(error)


@pytest.mark.parametrize("key", ["retain_data", "termination_protection", "load_balancer_deletion_protection"])
def test_production_tier_must_keep_its_safety_settings(key):
    rejected(key, **{key: False})


def test_production_tier_keeps_database_deletion_protection():
    rejected("database.deletion_protection", database={"deletion_protection": False})


def test_unknown_tier_is_rejected():
    rejected("tier", tier="prod")


@pytest.mark.parametrize(
    ("https", "field"),
    [
        ({"domain_name": "monitoring.ava-olo.example"}, "https"),
        ({"domain_name": "monitoring.ava-olo.example", "certificate_arn": "arn:aws:acm:eu-central-1:123456789012:certificate/11111111-2222-3333-4444-555555555555", "certificate_arn_parameter": "/x/y"}, "https"),
        ({"domain_name": "Monitoring.AVA", "certificate_arn_parameter": "/x/y"}, "https.domain_name"),
        ({"domain_name": "monitoring.ava-olo.example", "certificate_arn": "arn:aws:acm:eu-central-1:123:certificate/x"}, "https.certificate_arn"),
        ({"domain_name": "monitoring.ava-olo.example", "certificate_arn_parameter": "relative/name"}, "https.certificate_arn_parameter"),
        ({"domain_name": "monitoring.ava-olo.example", "hosted_zone_id": "Z123ABC", "hosted_zone_name": "other.example"}, "https.hosted_zone_name"),
        ({"domain_name": "monitoring.ava-olo.example", "hosted_zone_id": "not-a-zone", "hosted_zone_name": "ava-olo.example"}, "https.hosted_zone_id"),
        ({"domain_name": "monitoring.ava-olo.example", "certificate_arn_parameter": "/x/y", "hosted_zone_name": "ava-olo.example"}, "https.hosted_zone_name"),
        ({"domain_name": "monitoring.ava-olo.example", "certificate_arn_parameter": "/x/y", "port": 443}, "https.port"),
        ("https://monitoring.ava-olo.example", "https"),
    ],
)
def test_bad_https_settings_name_the_field(https, field):
    rejected(field, https=https)


def test_hosted_zone_issues_the_certificate():
    config = parse(https={"domain_name": "monitoring.ava-olo.example", "hosted_zone_id": "Z0123456789ABCDEFGHIJ", "hosted_zone_name": "ava-olo.example"})
    assert config.https.hosted_zone_name == "ava-olo.example"


@pytest.mark.parametrize(
    ("limit", "field", "allowed"),
    [
        ({"name": "api", "limit": 5, "window_seconds": 60}, "waf.rate_limits.api.limit", "WAF's rate-based rule limits"),
        ({"name": "api", "limit": 100, "window_seconds": 3600}, "waf.rate_limits.api.window_seconds", "60, 120, 300, 600"),
        ({"name": "api", "limit": 100, "window_seconds": 60, "path_prefix": "api"}, "waf.rate_limits.api.path_prefix", "URL path"),
        ({"name": "API rule", "limit": 100, "window_seconds": 60}, "waf.rate_limits.name", "lower-case"),
        ({"name": "api", "limit": 100}, "waf.rate_limits", "window_seconds"),
    ],
)
def test_rate_limits_outside_what_waf_supports_are_rejected(limit, field, allowed):
    error = rejected(field, waf={"rate_limits": [limit]})
    assert allowed in str(error)


def test_duplicate_rate_limit_names_are_rejected():
    rule = {"name": "api", "limit": 100, "window_seconds": 60}
    rejected("waf.rate_limits", waf={"rate_limits": [rule, rule]})


def test_rate_limits_and_waf_log_retention_come_from_config():
    config = parse(waf={"rate_limits": [{"name": "everything", "limit": 2000, "window_seconds": 300}], "log_retention_days": 30})
    assert config.waf.rate_limits == (RateLimit(name="everything", limit=2000, window_seconds=300),)
    assert config.waf.log_retention_days == 30
    rejected("waf.log_retention_days", waf={"log_retention_days": 0})
    rejected("waf.mode", waf={"mode": "count"})


def test_shipped_production_is_production_tier_with_https_from_a_parameter():
    config = load_environment("production", environ={})
    assert config.tier == "production"
    assert config.https.domain_name and config.https.certificate_arn_parameter.startswith("/ava-olo/production/")
    for name in ("sandbox", "dev", "staging"):
        assert load_environment(name, environ={}).tier == "non-production"


def test_own_encryption_key_secret_may_name_its_kms_key():
    secret = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:ava-olo/key-AbC123"
    key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = parse(encryption_key_secret_arn=secret, encryption_key_secret_kms_key_arn=key)
    assert config.encryption_key_secret_kms_key_arn == key
    rejected("encryption_key_secret_kms_key_arn", encryption_key_secret_kms_key_arn=key)  # without the secret
    rejected("encryption_key_secret_kms_key_arn", encryption_key_secret_arn=secret, encryption_key_secret_kms_key_arn="alias/x")
