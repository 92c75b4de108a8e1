"""`ava-olo timeline`: deployment timeline and worst-case rollback from hand-built template dicts (no CDK)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ava_olo_ops.cli import main
from ava_olo_ops.timeline import (
    NO_ROLLBACK_SENTENCE,
    Assumptions,
    TemplateError,
    circuit_breaker_threshold,
    render,
    timelines,
)

# --------------------------------------------------------------------------------------------------------------
# Template builders
# --------------------------------------------------------------------------------------------------------------


def target_group(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80, "Protocol": "HTTP", **props}}


def service(tg: str = "TG", **props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "LoadBalancers": [{"ContainerName": "web", "ContainerPort": 8080, "TargetGroupArn": {"Ref": tg}}],
            "TaskDefinition": {"Ref": "TaskDef"},
            **props,
        },
    }


def task_definition(stop_timeout: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"Name": "web", "Image": "img"}
    if stop_timeout is not None:
        container["StopTimeout"] = stop_timeout
    return {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [container]}}


def stock_template() -> dict[str, Any]:
    """What a stock ApplicationLoadBalancedFargateService synthesizes: no health check settings, no attributes."""
    return {
        "Resources": {
            "TG": target_group(TargetType="ip"),
            "Service": service(
                DesiredCount=1,
                DeploymentConfiguration={"MaximumPercent": 200, "MinimumHealthyPercent": 50},
                LaunchType="FARGATE",
            ),
            "TaskDef": task_definition(),
        }
    }


def ours_template(**service_props: Any) -> dict[str, Any]:
    """Like AVA OLO's service: interval 30, healthy threshold 2, deregistration 30, circuit breaker with rollback."""
    props: dict[str, Any] = {
        "DesiredCount": 1,
        "HealthCheckGracePeriodSeconds": 60,
        "DeploymentConfiguration": {
            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
            "MaximumPercent": 200,
            "MinimumHealthyPercent": 100,
        },
    }
    props.update(service_props)
    return {
        "Resources": {
            "TG": target_group(
                HealthCheckIntervalSeconds=30,
                HealthCheckPath="/health",
                HealthCheckTimeoutSeconds=10,
                HealthyThresholdCount=2,
                UnhealthyThresholdCount=3,
                TargetGroupAttributes=[
                    {"Key": "stickiness.enabled", "Value": "false"},
                    {"Key": "deregistration_delay.timeout_seconds", "Value": "30"},
                ],
            ),
            "Service": service(**props),
            "TaskDef": task_definition(),
        }
    }


def metric_math_alarm(name: str, period: int = 300, evaluation_periods: int = 1) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": evaluation_periods,
            "Threshold": 5,
            "Metrics": [
                {"Id": "rate", "Expression": "100 * errors / requests", "ReturnData": True},
                {
                    "Id": "errors",
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count"},
                        "Period": period,
                        "Stat": "Sum",
                    },
                },
                {
                    "Id": "requests",
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"},
                        "Period": period,
                        "Stat": "Sum",
                    },
                },
            ],
        },
    }


def only_timeline(template: dict[str, Any], **kwargs: Any):
    result = timelines(template, **kwargs)
    assert len(result) == 1
    return result[0]


def write(tmp_path: Path, template: Any, name: str = "t.template.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(template) if not isinstance(template, str) else template, encoding="utf-8")
    return str(path)


def assert_one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


# --------------------------------------------------------------------------------------------------------------
# Health + draining
# --------------------------------------------------------------------------------------------------------------


def test_stock_defaults_give_450_seconds_and_name_the_defaults() -> None:
    t = only_timeline(stock_template())
    assert (t.health_check_interval_seconds, t.healthy_threshold_count, t.deregistration_delay_seconds) == (30, 5, 300)
    assert t.unhealthy_threshold_count == 2
    assert t.health_check_grace_period_seconds == 0
    assert t.health_and_draining_seconds == 450
    assert t.health_and_draining_formula == "30 s × 5 + 300 s = 450 s"
    defaults = " | ".join(t.defaults_used)
    for name in ("HealthCheckIntervalSeconds = 30", "HealthyThresholdCount = 5", "UnhealthyThresholdCount = 2",
                 "deregistration_delay.timeout_seconds = 300", "HealthCheckGracePeriodSeconds = 0", "StopTimeout = 30"):
        assert name in defaults
    text = render(t, Assumptions())
    assert "30 s × 5 + 300 s = 450 s" in text
    assert "AWS default" in text


def test_ours_like_gives_90_seconds() -> None:
    t = only_timeline(ours_template())
    assert t.health_and_draining_seconds == 90
    assert t.health_and_draining_formula == "30 s × 2 + 30 s = 90 s"
    assert "Health + draining: 30 s × 2 + 30 s = 90 s" in render(t, Assumptions())


def test_explicit_template_values_are_used_and_phases_add_up() -> None:
    template = ours_template(HealthCheckGracePeriodSeconds=45)
    template["Resources"]["TG"]["Properties"].update(
        HealthCheckIntervalSeconds=10, HealthyThresholdCount=3, UnhealthyThresholdCount=4,
        TargetGroupAttributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "15"}],
    )
    template["Resources"]["TaskDef"] = task_definition(stop_timeout=12)
    assumptions = Assumptions(image_pull_seconds=20, app_start_seconds=5, build_seconds=100)
    t = only_timeline(template, assumptions=assumptions)
    assert (t.health_check_interval_seconds, t.healthy_threshold_count, t.unhealthy_threshold_count) == (10, 3, 4)
    assert (t.deregistration_delay_seconds, t.health_check_grace_period_seconds, t.stop_timeout_seconds) == (15, 45, 12)
    assert t.defaults_used == ()
    assert t.task_start_seconds == 25
    assert t.health_check_seconds == 30
    assert t.health_and_draining_seconds == 45
    assert t.wave_seconds == 25 + 30 + 15 + 12  # the grace period overlaps: not added
    assert t.waves == 1
    assert t.rollout_seconds == t.wave_seconds
    assert t.total_seconds == 100 + t.rollout_seconds
    assert sum(p.seconds for p in t.phases) == t.total_seconds


def test_intrinsic_value_falls_back_to_the_named_default() -> None:
    template = ours_template()
    template["Resources"]["TG"]["Properties"]["HealthyThresholdCount"] = {"Ref": "Threshold"}
    t = only_timeline(template)
    assert t.healthy_threshold_count == 5
    assert any("HealthyThresholdCount = 5" in d and "intrinsic" in d for d in t.defaults_used)


def test_waves_follow_minimum_healthy_and_maximum_percent() -> None:
    template = ours_template(DesiredCount=4)
    template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"].update(
        MinimumHealthyPercent=100, MaximumPercent=150
    )
    t = only_timeline(template)
    assert t.waves == 2  # surge floor(4 × 1.5) - 4 = 2, unavailable 0 → ceil(4 / 2)
    assert t.rollout_seconds == 2 * t.wave_seconds


# --------------------------------------------------------------------------------------------------------------
# Rollback
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("desired", "expected"), [(1, 3), (2, 3), (6, 3), (7, 4), (10, 5), (399, 200), (1000, 200)])
def test_circuit_breaker_threshold_follows_the_documented_formula(desired: int, expected: int) -> None:
    assert circuit_breaker_threshold(desired) == expected
    t = only_timeline(ours_template(DesiredCount=desired))
    assert t.circuit_breaker_rollback is not None
    assert t.circuit_breaker_rollback.threshold == expected


def test_circuit_breaker_threshold_configuration_is_honoured() -> None:
    assert circuit_breaker_threshold(1, "UNBOUNDED_PERCENT", 50) == 1
    assert circuit_breaker_threshold(1000, "UNBOUNDED_PERCENT", 50) == 500
    assert circuit_breaker_threshold(10, "COUNT", 7) == 7
    breaker = {"Enable": True, "Rollback": True, "ThresholdConfiguration": {"Type": "COUNT", "Value": 1}}
    template = ours_template()
    template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] = breaker
    assert only_timeline(template).circuit_breaker_rollback.threshold == 1


def test_circuit_breaker_worst_case() -> None:
    t = only_timeline(ours_template())  # desired 1, grace 60, interval 30, unhealthy 3, 1 task in flight
    c = t.circuit_breaker_rollback
    assert c is not None
    assert (c.threshold, c.parallel_tasks, c.failure_rounds) == (3, 1, 3)
    assert c.seconds_per_failed_task == 60 + 60 + 30 * 3
    assert c.rollback_deployment_seconds == 60 + 60 + 30
    assert c.total_seconds == 3 * 210 + 150
    assert t.sooner_rollback == "circuit breaker"
    assert t.rollback_seconds == c.total_seconds


def test_circuit_breaker_parallel_launches_shorten_detection() -> None:
    t = only_timeline(ours_template(DesiredCount=10))  # MaximumPercent 200: 10 new tasks at once, threshold 5
    c = t.circuit_breaker_rollback
    assert (c.threshold, c.parallel_tasks, c.failure_rounds) == (5, 10, 1)


def test_deployment_alarm_with_metric_math_uses_its_300_second_window() -> None:
    template = ours_template()
    config = template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
    del config["DeploymentCircuitBreaker"]
    config["Alarms"] = {"AlarmNames": ["svc-5xx-rate"], "Enable": True, "Rollback": True}
    template["Resources"]["Alarm5xx"] = metric_math_alarm("svc-5xx-rate", period=300, evaluation_periods=1)
    t = only_timeline(template)
    a = t.alarm_rollback
    assert a is not None and t.circuit_breaker_rollback is None
    assert a.alarm_seconds == 300
    (alarm,) = a.alarms
    assert (alarm.known, alarm.kind, alarm.logical_id, alarm.period_seconds) == (True, "metric math", "Alarm5xx", 300)
    assert a.detection_seconds == t.task_start_seconds + t.health_check_seconds + 300
    assert a.total_seconds == a.detection_seconds + a.rollback_deployment_seconds
    assert t.sooner_rollback == "deployment alarms"
    text = render(t, Assumptions())
    assert "= 300 s" in text and "metric math" in text


def test_simple_alarm_uses_period_times_max_of_evaluation_and_datapoints_and_both_mechanisms_compare() -> None:
    template = ours_template()
    config = template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
    config["Alarms"] = {"AlarmNames": ["fast", {"Ref": "Slow"}], "Enable": True, "Rollback": True}
    template["Resources"]["Fast"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {"AlarmName": "fast", "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2},
    }
    template["Resources"]["Slow"] = {  # no AlarmName: referenced by Ref, which returns the name
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {"Period": 60, "EvaluationPeriods": 5},
    }
    t = only_timeline(template)
    seconds = {a.logical_id: a.seconds_to_alarm for a in t.alarm_rollback.alarms}
    assert seconds == {"Fast": 180, "Slow": 300}
    assert t.alarm_rollback.alarm_seconds == 300
    assert t.alarm_rollback.total_seconds == 60 + 60 + 300 + 150  # 570 < circuit breaker 780
    assert t.circuit_breaker_rollback.total_seconds == 780
    assert t.sooner_rollback == "deployment alarms"
    assert t.rollback_seconds == 570


def test_alarm_with_intrinsic_name_is_unknown_and_said_so() -> None:
    template = ours_template()
    config = template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
    del config["DeploymentCircuitBreaker"]
    config["Alarms"] = {"AlarmNames": ["svc-5xx-rate"], "Enable": True, "Rollback": True}
    alarm = metric_math_alarm("ignored")
    alarm["Properties"]["AlarmName"] = {"Fn::Join": ["-", ["svc", "5xx-rate"]]}
    template["Resources"]["Alarm5xx"] = alarm
    t = only_timeline(template)
    assert t.alarm_rollback is not None
    assert t.alarm_rollback.total_seconds is None
    assert t.alarm_rollback.alarms[0].known is False
    assert any("intrinsic" in note and "Alarm5xx" in note for note in t.notes)
    text = render(t, Assumptions())
    assert "cannot estimate" in text
    assert "alarm svc-5xx-rate: unknown" in text and "AlarmName is an intrinsic" in text
    assert NO_ROLLBACK_SENTENCE not in text  # alarms with rollback are configured, just not estimable


def test_no_rollback_configured_says_so_plainly() -> None:
    t = only_timeline(stock_template())
    assert t.automatic_rollback is False
    assert t.rollback_seconds is None
    assert NO_ROLLBACK_SENTENCE == "no automatic rollback: a human must roll back (seed Issue 1)"
    assert NO_ROLLBACK_SENTENCE in render(t, Assumptions())


def test_rollback_false_is_not_automatic_rollback() -> None:
    template = ours_template()
    template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] = {
        "Enable": True, "Rollback": False,
    }
    t = only_timeline(template)
    assert t.automatic_rollback is False
    assert any("Rollback is false" in note for note in t.notes)


# --------------------------------------------------------------------------------------------------------------
# Several services
# --------------------------------------------------------------------------------------------------------------


def two_services() -> dict[str, Any]:
    template = ours_template()
    stock = stock_template()["Resources"]
    template["Resources"]["StockTG"] = stock["TG"]
    template["Resources"]["StockService"] = service("StockTG", DesiredCount=1)
    template["Resources"]["Worker"] = {"Type": "AWS::ECS::Service", "Properties": {"DesiredCount": 1}}
    return template


def test_several_services_one_timeline_each() -> None:
    result = timelines(two_services())
    assert [t.service for t in result] == ["Service", "StockService"]  # Worker has no target group: skipped
    assert [t.health_and_draining_seconds for t in result] == [90, 450]


def test_service_selection() -> None:
    t = only_timeline(two_services(), service="StockService")
    assert (t.service, t.target_group, t.health_and_draining_seconds) == ("StockService", "StockTG", 450)
    with pytest.raises(TemplateError, match="Nope"):
        timelines(two_services(), service="Nope")
    with pytest.raises(TemplateError, match="not behind"):
        timelines(two_services(), service="Worker")


def test_template_without_service_is_an_error() -> None:
    with pytest.raises(TemplateError, match="no AWS::ECS::Service"):
        timelines({"Resources": {"TG": target_group()}})
    with pytest.raises(TemplateError, match="Resources"):
        timelines({"AWSTemplateFormatVersion": "2010-09-09"})


# --------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------


def test_cli_prints_the_90_and_450_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", write(tmp_path, two_services())]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "30 s × 2 + 30 s = 90 s" in captured.out
    assert "30 s × 5 + 300 s = 450 s" in captured.out
    assert "\x1b" not in captured.out  # no ANSI control characters
    assert "Worker" in captured.out  # the skipped service is named


def test_cli_service_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", write(tmp_path, two_services()), "--service", "StockService"]) == 0
    out = capsys.readouterr().out
    assert "450 s" in out and "= 90 s" not in out


def test_cli_json_parses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, ours_template())
    assert main(["timeline", path, "--json", "--image-pull-seconds", "40", "--app-start-seconds", "20",
                 "--build-seconds", "120"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["assumptions"] == {"image_pull_seconds": 40, "app_start_seconds": 20, "build_seconds": 120}
    (svc,) = data["services"]
    assert svc["service"] == "Service"
    assert svc["health_and_draining_seconds"] == 90
    assert svc["task_start_seconds"] == 60
    assert svc["total_seconds"] == 120 + svc["rollout_seconds"]
    assert svc["circuit_breaker_rollback"]["threshold"] == 3
    assert svc["alarm_rollback"] is None


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"Resources": {"TG": target_group()}}), "no AWS::ECS::Service"),
    ],
    ids=["missing-file", "invalid-json", "not-an-object", "no-ecs-service"],
)
def test_cli_bad_input_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, fragment: str
) -> None:
    path = str(tmp_path / "missing.json") if content is None else write(tmp_path, content)
    assert main(["timeline", path]) == 2
    assert fragment in assert_one_error_line(capsys)


def test_cli_unknown_service_and_bad_option_are_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, ours_template())
    assert main(["timeline", path, "--service", "Nope"]) == 2
    assert "Nope" in assert_one_error_line(capsys)
    assert main(["timeline", path, "--image-pull-seconds", "-1"]) == 2
    assert "--image-pull-seconds" in assert_one_error_line(capsys)
