"""Issue 11 item 4: environments that hold real data (staging, production, any with ``retain_data``) serve HTTPS
only; plain HTTP needs ``"allow_plain_http": true`` and an environment that keeps no data."""

from __future__ import annotations

import pytest

from stacks.config import ConfigError, load_environment
from stacks.config.loader import parse_environment

MINIMAL = {
    "region": "eu-central-1",
    "availability_zones": 2,
    "image": {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"},
}
HTTPS = {"domain_name": "monitoring.ava-olo.example", "certificate_arn_parameter": "/ava-olo/test/certificate-arn"}


def parse(**settings):
    return parse_environment("test", {**MINIMAL, **settings}, environ={})


def test_staging_gets_its_certificate_from_a_parameter_like_production() -> None:
    for name in ("staging", "production"):
        config = load_environment(name, environ={})
        assert config.retain_data and not config.allow_plain_http
        assert config.https.certificate_arn_parameter == f"/ava-olo/{name}/certificate-arn"


def test_only_environments_without_data_say_plain_http() -> None:
    for name in ("sandbox", "dev"):
        config = load_environment(name, environ={})
        assert config.https is None and config.allow_plain_http and not config.retain_data


def test_data_is_retained_by_default_so_https_is_the_default_requirement() -> None:
    with pytest.raises(ConfigError) as caught:
        parse()
    assert caught.value.field == "https" and "real data" in caught.value.allowed
    assert parse(https=HTTPS).https.domain_name == "monitoring.ava-olo.example"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"allow_plain_http": True}, "https"),  # retain_data defaults to true
        ({"allow_plain_http": True, "retain_data": True}, "https"),
        ({"allow_plain_http": True, "retain_data": False, "https": HTTPS}, "allow_plain_http"),
        ({"retain_data": False}, "https"),  # plain HTTP must be said, not implied by a missing https
    ],
)
def test_plain_http_is_refused_unless_said_and_harmless(settings, field) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**settings)
    assert caught.value.field == field
    assert len(str(caught.value).splitlines()) == 1


def test_plain_http_where_no_data_is_kept() -> None:
    config = parse(allow_plain_http=True, retain_data=False)
    assert config.https is None and config.allow_plain_http


def test_certificate_must_be_in_the_environments_region() -> None:
    arn = "arn:aws:acm:{}:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    assert parse(https={"domain_name": "m.ava-olo.example", "certificate_arn": arn.format("eu-central-1")}).https
    with pytest.raises(ConfigError) as caught:
        parse(https={"domain_name": "m.ava-olo.example", "certificate_arn": arn.format("us-east-1")})
    assert caught.value.field == "https.certificate_arn" and "eu-central-1" in caught.value.allowed


def test_deployment_strategy_defaults_by_tier_and_keeps_library_defaults_as_none() -> None:
    config = parse(https=HTTPS)
    assert config.deployment.strategy == "rolling"
    assert (config.deployment.canary_percent, config.deployment.canary_bake_minutes, config.deployment.bake_minutes) == (None, None, None)
    production = load_environment("production", environ={})
    assert production.deployment.strategy == "canary"
    chosen = parse(https=HTTPS, deployment={"strategy": "linear", "bake_minutes": 15, "canary_percent": 12.5})
    assert (chosen.deployment.strategy, chosen.deployment.bake_minutes, chosen.deployment.canary_percent) == ("linear", 15, 12.5)
