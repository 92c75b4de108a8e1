"""``ava-olo status``: one screen from moto's AWS plus the service-deployment driver (tests/ops/aws.py)."""

from __future__ import annotations

import json

from ava_olo_ops import cli

from .aws import REGION, client, world  # noqa: F401  (pytest fixture)

ALARM = "ava-olo-staging-monitoring-dashboards-new-revision-errors"


def test_status_puts_the_alarm_in_alarm_first_and_compares_serving_and_parameter(world, capsys):
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                                Statistic="Sum", Period=60, EvaluationPeriods=2, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5XX above 1")
    world.rollout.alarm_names = [ALARM]
    world.rollout.deploy("v3.3.0", status="ROLLBACK_SUCCESSFUL", stage="CLEAN_UP", rollback={"reason": "alarm rollback"})
    assert cli.main(["status", "--env", "staging", "--region", REGION]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"✗ ALARM {ALARM}: 5XX above 1"
    assert any("serves v3.2.0" in line and "/version = v3.2.0" in line for line in out)
    assert any("deployment v3.3.0 ROLLBACK_SUCCESSFUL" in line and "alarm rollback" in line for line in out)


def test_status_json_warns_nothing_when_serving_matches_the_parameter(world, capsys):
    assert cli.main(["status", "--env", "staging", "--region", REGION, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["serving_version"] == data["parameter_version"] == "v3.2.0" and data["alarms_in_alarm"] == {}


def test_status_without_credentials_is_one_line_and_exit_2(monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert cli.main(["status", "--env", "staging", "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no AWS credentials found" in err


def test_status_bad_environment_name_exit_2(capsys):
    assert cli.main(["status", "--env", "Prod!"]) == 2
    assert "--env: 'Prod!' is not an environment name" in capsys.readouterr().err
