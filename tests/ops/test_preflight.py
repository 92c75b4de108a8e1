"""``ava-olo preflight``: every check a ✓/✗ line, against moto's AWS (tests/ops/aws.py adds the service's
deployment alarms, which moto's ECS does not keep). Each override names the one check it bypasses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pytest

from ava_olo_ops import preflight
from ava_olo_ops.cli import main

from .aws import REGION, REPOSITORY, client, world  # noqa: F401  (pytest fixture)

V = "v3.3.0"
TUESDAY = datetime(2026, 6, 2, 10, 0, tzinfo=timezone.utc)
FRIDAY_EVENING = datetime(2026, 6, 5, 17, 0, tzinfo=timezone.utc)
ALARM = "ava-olo-staging-monitoring-dashboards-new-revision-errors"


@lru_cache(maxsize=1)
def certificate() -> tuple[bytes, bytes]:
    """A certificate for the domain and its key (PEM), made once: ECDSA P-256, which ACM imports like RSA. A
    certificate *requested* from moto's ACM costs a fresh 2048-bit RSA key per test (~50 ms), and is only ISSUED
    after ``ACM_VALIDATION_WAIT``; an imported one is ISSUED at once, and ``issued`` is all preflight reads."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key, now = ec.generate_private_key(ec.SECP256R1()), datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "monitoring.example")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("monitoring.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@pytest.fixture
def ready(world, tmp_path, monkeypatch):
    """Everything passes: image pushed, notes written, alarm OK, certificate issued, a Tuesday."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    ecr.put_image(repositoryName=REPOSITORY, imageTag=V, imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": []}))
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                                Statistic="Sum", Period=60, EvaluationPeriods=2, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    world.rollout.alarm_names = [ALARM]
    body, key = certificate()
    arn = client("acm").import_certificate(Certificate=body, PrivateKey=key)["CertificateArn"]
    client("ssm").put_parameter(Name="/ava-olo/staging/certificate-arn", Value=arn, Type="String")
    notes = tmp_path / "CHANGELOG.md"
    notes.write_text(f"# Changelog\n\n## {V} - feat: field notes\n", encoding="utf-8")
    monkeypatch.setattr(preflight, "clock", lambda: TUESDAY)
    monkeypatch.delenv("AVA_OLO_TIMEZONE", raising=False)
    return {"world": world, "notes": str(notes), "cloudwatch": cloudwatch}


def run(ready, *extra: str) -> int:
    return main(["preflight", "--env", "staging", "--version", V, "--region", REGION, "--timezone", "UTC",
                 "--changelog", ready["notes"], "--certificate-parameter", "/ava-olo/staging/certificate-arn", *extra])


def lines(out: str) -> dict[str, str]:
    return {line.split(":", 1)[0][2:]: line[0] for line in out.splitlines() if line[:1] in "✓✗⚠-"}


def test_ready_when_every_check_passes_each_on_its_own_line(ready, capsys):
    assert run(ready, "--nat-gateways", "1") == 0
    out = capsys.readouterr().out
    assert lines(out) == {"version format": "✓", "no deployment in progress": "✓", "no stack update": "✓",
                          "deployment alarms": "✓", "image in ECR": "✓", "certificate": "✓", "Elastic IPs": "✓",
                          "version is newer": "✓", "release notes": "✓", "deploy window": "✓"}
    assert out.splitlines()[-1] == f"ready: {V} may be deployed to staging"


def test_defect_5_preflight_refuses_while_a_deployment_alarm_is_in_alarm(ready, capsys):
    ready["cloudwatch"].set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5XX above 1 for 2 datapoints")
    assert run(ready) == 1
    out = capsys.readouterr().out
    assert f"✗ deployment alarms: in ALARM: {ALARM} (5XX above 1 for 2 datapoints)" in out
    assert run(ready, "--override", "window=it is not even Friday") == 1  # no override exists for it


def test_defect_6_release_notes_are_the_applications_and_the_override_names_its_check(ready, tmp_path, capsys):
    infrastructure = tmp_path / "infra-CHANGELOG.md"
    infrastructure.write_text("## v0.8.3 - refactor: one unknown-setting check\n", encoding="utf-8")
    ready["notes"] = str(infrastructure)
    assert run(ready) == 1
    assert "✗ release notes:" in capsys.readouterr().out
    assert run(ready, "--override", "changelog=notes are in the release ticket") == 0
    assert "⚠ release notes:" in capsys.readouterr().out


def test_defect_6_the_changelog_override_does_not_silence_the_friday_rule(ready, monkeypatch, capsys):
    monkeypatch.setattr(preflight, "clock", lambda: FRIDAY_EVENING)
    assert run(ready, "--override", "changelog=irrelevant") == 1
    assert "✗ deploy window: Friday 17:00 UTC" in capsys.readouterr().out
    assert run(ready, "--override", "window=hotfix for the farmer login outage") == 0
    assert "OVERRIDDEN: hotfix for the farmer login outage" in capsys.readouterr().out


def test_defect_7_not_newer_is_overridable_by_name_for_a_rollback(ready, capsys):
    client("ssm").put_parameter(
        Name="/ava-olo/staging/monitoring-dashboards/version", Value="v3.4.0", Type="String", Overwrite=True)
    assert run(ready) == 1
    assert run(ready, "--override", "newer=rollback from v3.4.0 to v3.3.0") == 0


@pytest.mark.parametrize("value", ["hotfix", "alarms=please", "changelog="])
def test_an_override_must_name_one_overridable_check_and_give_a_reason(ready, capsys, value):
    assert run(ready, "--override", value) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NAME one of newer, changelog, window" in err


def test_the_image_tag_must_exist_in_ecr(ready, capsys):
    client("ecr").batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": V}])
    assert run(ready) == 1
    assert f"✗ image in ECR: {REPOSITORY}:{V} does not exist (ImageNotFoundException)" in capsys.readouterr().out


def test_the_certificate_parameter_must_exist_and_name_an_acm_certificate_of_the_region(ready, capsys):
    ssm = client("ssm")
    ssm.put_parameter(Name="/ava-olo/staging/certificate-arn", Type="String", Overwrite=True,
                      Value="arn:aws:acm:us-east-1:123456789012:certificate/abc")
    assert run(ready) == 1
    assert f"is not an ACM certificate ARN in {REGION}" in capsys.readouterr().out
    ssm.delete_parameter(Name="/ava-olo/staging/certificate-arn")
    assert run(ready) == 1
    assert "✗ certificate: SSM parameter /ava-olo/staging/certificate-arn does not exist" in capsys.readouterr().out


def test_the_account_needs_an_elastic_ip_for_each_new_nat_gateway(ready, capsys):
    ec2 = client("ec2")
    limit = int(ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"][0]["AttributeValues"][0]["AttributeValue"])
    for _ in range(limit - 1):
        ec2.allocate_address(Domain="vpc")
    assert run(ready, "--nat-gateways", "1") == 0
    assert run(ready, "--nat-gateways", "3") == 1
    assert f"✗ Elastic IPs: {limit - 1} of {limit} in use (vpc-max-elastic-ips), the NAT gateways need 3 more" in capsys.readouterr().out


def test_missing_release_notes_refuse_by_name_and_an_unreadable_file_is_bad_input(ready, capsys):
    ready["notes"] = ""
    assert run(ready) == 1
    assert "✗ release notes: none given: pass --changelog PATH|URL" in capsys.readouterr().out
    assert run(ready, "--override", "changelog=hotfix, notes follow") == 0
    ready["notes"] = "/nonexistent/CHANGELOG.md"
    assert run(ready) == 2
    assert "--changelog: cannot read /nonexistent/CHANGELOG.md" in capsys.readouterr().err


def test_a_service_deployment_in_flight_refuses_and_cannot_be_overridden(ready, capsys):
    ready["world"].rollout.deploy("v3.2.1", status="ROLLBACK_IN_PROGRESS")
    assert run(ready, "--override", "newer=x", "--override", "window=y", "--override", "changelog=z") == 1
    assert "✗ no deployment in progress: d2 ROLLBACK_IN_PROGRESS" in capsys.readouterr().out
