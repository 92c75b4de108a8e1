"""A corpus of careless environment files (issue 14 item 8, issue 11 item 4 and the classic mistakes): each one
yields exactly ONE line naming the field, the value and what is allowed, and never a synthesized template.

Every case is a whole file on disk, loaded the way ``cdk synth -c env=NAME -c config_dir=DIR`` loads it. The last
test runs ``app.main()`` itself on every file (in-process, no synthesis happens) and checks exit status 2, one
line on stderr and an empty cloud assembly.
"""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from stacks.config import ConfigError, load_environment

#: A valid file (no real data, plain HTTP chosen explicitly); each case changes one thing.
BASE: dict[str, Any] = {
    "region": "eu-central-1",
    "availability_zones": 2,
    "image": {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"},
    "retain_data": False,
    "allow_plain_http": True,
}
CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/11111111-2222-3333-4444-555555555555"
HTTPS = {"domain_name": "monitoring.ava-olo.example", "certificate_arn_parameter": "/ava-olo/test/certificate-arn"}
PRODUCTION = {
    "tier": "production", "retain_data": True, "termination_protection": True, "allow_plain_http": None,
    "load_balancer_deletion_protection": True, "https": HTTPS,
}


def _file(**changes: Any) -> dict[str, Any]:
    """BASE with top-level changes; a value of None removes the key, ``image__tag=...`` changes a nested key."""
    raw = copy.deepcopy(BASE)
    for key, value in changes.items():
        if "__" in key:
            outer, inner = key.split("__")
            raw.setdefault(outer, {})[inner] = value
        elif value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


# (case id, file content (dict or raw JSON text), field, value, words the "allowed" part must contain)
CASES: list[tuple[str, Any, str, Any, tuple[str, ...]]] = [
    # --- issue 14 item 8: these synthesized a template before ---------------------------------------------------
    ("unknown-region", _file(region="xx-nowhere-9"), "region", "xx-nowhere-9", ("AWS region",)),
    ("region-that-does-not-exist", _file(region="us-east-7"), "region", "us-east-7", ("AWS region", "us-east-1")),
    ("az-not-in-region", _file(region="us-east-1", availability_zones=["us-east-1a", "us-east-1z"]),
     "availability_zones", "us-east-1z", ("us-east-1a", "us-east-1f", "count")),
    ("az-letter-not-in-region", _file(availability_zones=["a", "z"]), "availability_zones", "eu-central-1z", ("eu-central-1c",)),
    ("az-us-west-1b", _file(region="us-west-1", availability_zones=["a", "b"]), "availability_zones", "us-west-1b", ("us-west-1c",)),
    ("cidr-host-address", _file(vpc_cidr="10.0.0.1/16"), "vpc_cidr", "10.0.0.1/16", ("network address",)),
    ("cidr-too-small-for-3-azs-19", _file(availability_zones=3, vpc_cidr="10.0.0.0/19"), "vpc_cidr", "10.0.0.0/19", ("3 AZs", "/17 or larger")),
    ("cidr-too-small-for-3-azs-20", _file(availability_zones=3, vpc_cidr="10.0.0.0/20"), "vpc_cidr", "10.0.0.0/20", ("3 AZs", "/17 or larger")),
    ("repository-with-latest", _file(image__repository="ava-olo-monitoring-dashboards:latest"),
     "image.repository", "ava-olo-monitoring-dashboards:latest", ("without :tag",)),
    ("repository-uri-with-tag", _file(image__repository="123456789012.dkr.ecr.eu-central-1.amazonaws.com/ava-olo:v1.0.0"),
     "image.repository", "123456789012.dkr.ecr.eu-central-1.amazonaws.com/ava-olo:v1.0.0", ("without :tag",)),
    ("repository-with-digest", _file(image__repository="ava-olo@sha256:" + "a" * 64), "image.repository", "ava-olo@sha256:" + "a" * 64, ("@digest",)),
    ("repository-upper-case", _file(image__repository="Ava-Olo"), "image.repository", "Ava-Olo", ("ECR repository name",)),
    ("repository-double-slash", _file(image__repository="ava//olo"), "image.repository", "ava//olo", ("ECR repository name",)),
    ("seed-names-outside-production", _file(seed_names=True), "seed_names", True, ("production tier",)),
    ("certificate-of-another-region",
     _file(retain_data=True, allow_plain_http=None, https={"domain_name": "monitoring.ava-olo.example", "certificate_arn": CERTIFICATE.format(region="us-east-1")}),
     "https.certificate_arn", CERTIFICATE.format(region="us-east-1"), ("eu-central-1",)),
    ("key-given-twice", json.dumps(BASE)[:-1] + ', "desired_count": 1, "desired_count": 2}', "desired_count", 2, ("once",)),
    ("nested-key-given-twice",
     '{"region": "eu-central-1", "availability_zones": 2, "retain_data": false, "allow_plain_http": true, '
     '"image": {"repository": "ava-olo", "tag": "v1.0.0", "tag": "v2.0.0"}}', "image.tag", "v2.0.0", ("once",)),
    ("key-given-twice-in-a-list-item",
     '{"region": "eu-central-1", "availability_zones": 2, "retain_data": false, "allow_plain_http": true, '
     '"image": {"repository": "ava-olo", "tag": "v1.0.0"}, "waf": {"rate_limits": [{"name": "a", "limit": 100, '
     '"window_seconds": 60, "limit": 200}]}}', "waf.rate_limits.0.limit", 200, ("once",)),
    # --- issue 11 item 4: HTTPS wherever real data lives ------------------------------------------------------
    ("real-data-without-https", _file(retain_data=True, allow_plain_http=None), "https", None, ("real data", "certificate")),
    ("real-data-plain-http", _file(retain_data=True), "https", None, ("real data",)),
    ("plain-http-not-said", _file(allow_plain_http=None), "https", None, ("allow_plain_http",)),
    ("plain-http-and-https", _file(https=HTTPS), "allow_plain_http", True, ("not both",)),
    ("production-plain-http", _file(**{**PRODUCTION, "https": None, "allow_plain_http": True}), "https", None, ("must serve HTTPS",)),
    ("allow-plain-http-not-boolean", _file(allow_plain_http="yes"), "allow_plain_http", "yes", ("true or false",)),
    # --- deployment ---------------------------------------------------------------------------------------------
    ("unknown-strategy", _file(deployment={"strategy": "big-bang"}), "deployment.strategy", "big-bang", ("canary", "rolling")),
    ("canary-percent-zero", _file(deployment={"canary_percent": 0}), "deployment.canary_percent", 0, ("0.1",)),
    ("canary-percent-not-tenths", _file(deployment={"canary_percent": 2.55}), "deployment.canary_percent", 2.55, ("multiple of 0.1",)),
    ("canary-percent-string", _file(deployment={"canary_percent": "5"}), "deployment.canary_percent", "5", ("a number",)),
    ("bake-minutes-too-long", _file(deployment={"bake_minutes": 2000}), "deployment.bake_minutes", 2000, ("0 to 1440",)),
    ("deployment-unknown-key", _file(deployment={"canary_percnt": 10}), "deployment.canary_percnt", 10, ("canary_percent",)),
    # --- the classics -------------------------------------------------------------------------------------------
    ("typo", _file(desired_cout=2), "desired_cout", 2, ("unknown setting", "desired_count")),
    ("image-tag-latest", _file(image__tag="latest"), "image.tag", "latest", ("vMAJOR.MINOR.PATCH",)),
    ("image-missing-tag", _file(image={"repository": "ava-olo"}), "image.tag", None, ("required",)),
    ("missing-region", _file(region=None), "region", None, ("required",)),
    ("fargate-size", _file(cpu=512, memory=8192), "memory", 8192, ("cpu 512",)),
    ("size-profile-and-cpu", _file(size_profile="standard", cpu=512), "size_profile", "standard", ("not both",)),
    ("port-as-string", _file(container_port="8080"), "container_port", "8080", ("1 to 65535",)),
    ("desired-above-max", _file(desired_count=5, max_count=4), "desired_count", 5, ("max_count 4",)),
    ("nat-more-than-azs", _file(nat_gateways=3), "nat_gateways", 3, ("1 to 2",)),
    ("az-count-one", _file(availability_zones=1), "availability_zones", 1, ("2 to 6",)),
    ("retention-never-expire", _file(log_retention_days=0), "log_retention_days", 0, ("3653",)),
    ("boolean-as-string", _file(termination_protection="true"), "termination_protection", "true", ("true or false",)),
    ("budget", _file(max_count=10, database={"instance_class": "t4g.medium"}), "max_count", 10, ("max_connections",)),
    ("database-typo", _file(database={"backup_retension_days": 7}), "database.backup_retension_days", 7, ("backup_retention_days",)),
    ("reserved-tag", _file(tags={"Version": "x"}), "tags", "Version", ("set by the project",)),
    ("bad-email", _file(alarm_emails=["oncall"]), "alarm_emails", "oncall", ("e-mail",)),
    ("https-two-sources", _file(allow_plain_http=None, retain_data=True, https={**HTTPS, "certificate_arn": CERTIFICATE.format(region="eu-central-1")}),
     "https", ["certificate_arn", "certificate_arn_parameter"], ("exactly one",)),
    ("production-without-termination-protection", _file(**{**PRODUCTION, "termination_protection": False}),
     "termination_protection", False, ("production-tier",)),
    ("null-arn", {**BASE, "encryption_key_secret_arn": None}, "encryption_key_secret_arn", None, ("a value",)),
    ("account-short", _file(account="12345"), "account", "12345", ("12-digit",)),
    ("account-number", _file(account=123456789012), "account", 123456789012, ("12-digit",)),
    ("region-upper-case", _file(region="EU-CENTRAL-1"), "region", "EU-CENTRAL-1", ("AWS region",)),
    ("zones-nested", _file(availability_zones=[["a"], ["b"]]), "availability_zones", [["a"], ["b"]], ("count",)),
    ("zones-duplicate", _file(availability_zones=["a", "a"]), "availability_zones", ["eu-central-1a"] * 2, ("distinct",)),
    ("zone-of-another-region", _file(availability_zones=["eu-central-1a", "us-east-1b"]), "availability_zones", "us-east-1b", ("eu-central-1",)),
    ("cidr-ipv6", _file(vpc_cidr="fd00::/56"), "vpc_cidr", "fd00::/56", ("IPv4",)),
    ("cidr-number", _file(vpc_cidr=16), "vpc_cidr", 16, ("a string",)),
    ("health-check-relative", _file(health_check_path="health"), "health_check_path", "health", ("/health",)),
    ("draining-300", _file(deregistration_delay_seconds=300), "deregistration_delay_seconds", 300, ("0 to 30",)),
    ("aws-tag-key", _file(tags={"aws:cost": "x"}), "tags", "aws:cost", ("aws:",)),
    ("https-domain-upper-case", _file(allow_plain_http=None, retain_data=True, https={**HTTPS, "domain_name": "Monitoring.AVA"}),
     "https.domain_name", "Monitoring.AVA", ("DNS name",)),
    ("https-zone-not-of-domain", _file(allow_plain_http=None, retain_data=True, https={"domain_name": "monitoring.ava-olo.example",
     "hosted_zone_id": "Z123ABC", "hosted_zone_name": "other.example"}), "https.hosted_zone_name", "other.example", ("zone",)),
    ("https-unknown-key", _file(allow_plain_http=None, retain_data=True, https={**HTTPS, "port": 443}), "https.port", 443, ("domain_name",)),
    ("https-not-an-object", _file(allow_plain_http=None, retain_data=True, https="https://monitoring.ava-olo.example"),
     "https", "https://monitoring.ava-olo.example", ("domain_name",)),
    ("waf-limit-too-low", _file(waf={"rate_limits": [{"name": "api", "limit": 5, "window_seconds": 60}]}), "waf.rate_limits.api.limit", 5, ("WAF",)),
    ("waf-window", _file(waf={"rate_limits": [{"name": "api", "limit": 100, "window_seconds": 3600}]}), "waf.rate_limits.api.window_seconds", 3600, ("600",)),
    ("secure-parameter-reserved", _file(secure_parameters={"DB_PASSWORD": "/x/y"}), "secure_parameters", "DB_PASSWORD", ("UPPER_CASE",)),
    ("secure-parameter-relative", _file(secure_parameters={"STRIPE": "x/y"}), "secure_parameters.STRIPE", "x/y", ("SSM parameter",)),
    ("kms-without-secret", _file(encryption_key_secret_kms_key_arn="arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
     "encryption_key_secret_kms_key_arn", "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", ("only together",)),
    ("database-both-sizings", _file(database={"instance_class": "r6g.large", "serverless_max_capacity": 4}), "database.instance_class", "r6g.large", ("not both",)),
    ("database-window-outside", _file(database={"backup_window": "12:00-12:30"}), "database.backup_window", "12:00-12:30", ()),
    ("database-rotation-quarterly", _file(database={"rotation_days": 90}), "database.rotation_days", 90, ("1 to 30",)),
    ("database-not-an-object", _file(database=[]), "database", [], ("database settings",)),
    ("tier-unknown", _file(tier="prod"), "tier", "prod", ("production, non-production",)),
    ("production-database-unprotected", _file(**{**PRODUCTION, "database": {"deletion_protection": False}}), "database.deletion_protection", False, ("production-tier",)),
    ("version-image-tag-v-less", _file(image__tag="3.2.0"), "image.tag", "3.2.0", ("vMAJOR",)),
    ("image-not-an-object", _file(image="ava-olo:v1.0.0"), "image", "ava-olo:v1.0.0", ("repository",)),
    ("service-name-upper", _file(service_name="Monitoring_Dashboards"), "service_name", "Monitoring_Dashboards", ("lower-case",)),
    ("derived-field", _file(az_count=3), "az_count", 3, ("unknown setting",)),
    ("not-an-object", "[1, 2]", "case.json", "list", ("JSON object",)),
    ("invalid-json", '{"region": "eu-central-1",,}', "case.json", "line 1", ("valid JSON",)),
]


def _write(directory: Path, content: Any) -> Path:
    text = content if isinstance(content, str) else json.dumps(content, indent=2)
    (directory / "case.json").write_text(text, encoding="utf-8")
    return directory


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    config = load_environment("case", directory=_write(tmp_path, BASE), environ={})
    assert config.allow_plain_http and config.https is None and not config.retain_data


def test_the_corpus_covers_every_case_of_issue_14_item_8() -> None:
    fields = {field for _, _, field, _, _ in CASES}
    assert {"region", "availability_zones", "vpc_cidr", "image.repository", "seed_names", "https.certificate_arn"} <= fields
    assert len(CASES) >= 80


@pytest.mark.parametrize(("case", "content", "field", "value", "allowed"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_file_is_one_line_naming_field_value_and_what_is_allowed(
    tmp_path: Path, case: str, content: Any, field: str, value: Any, allowed: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_environment("case", directory=_write(tmp_path, content), environ={})
    error = caught.value
    message = str(error)
    assert (error.field, error.value) == (field, value), message
    assert len(message.splitlines()) == 1, message
    assert f": {field}: {repr(value)[:117]}" in message and " is not allowed; " in message, message
    for word in allowed:
        assert word in error.allowed, message


def test_app_stops_every_bad_file_with_one_line_and_synthesizes_nothing(tmp_path: Path, monkeypatch) -> None:
    """``cdk synth -c env=case -c config_dir=DIR`` on each file: exit 2, one stderr line, an empty assembly."""
    import app
    from stacks.composition import create_app

    for case, content, field, _, _ in CASES:
        directory = tmp_path / case
        directory.mkdir()
        _write(directory, content)
        outdir = tmp_path / f"{case}.out"
        context = {"env": "case", "config_dir": str(directory)}
        monkeypatch.setattr(app, "cli_options", lambda: context)  # the CLI path itself: tests/test_cli.py
        monkeypatch.setattr(app, "create_app", lambda: create_app(outdir=str(outdir), context=context, validation=False))
        stderr = io.StringIO()
        with redirect_stderr(stderr):
            status = app.main()
        lines = stderr.getvalue().splitlines()
        assert status == 2, case
        assert len(lines) == 1 and lines[0].startswith("error: config error") and f": {field}: " in lines[0], (case, lines)
        assert not outdir.exists() or not list(outdir.glob("*.template.json")), case
