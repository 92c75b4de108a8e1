"""``ava-olo timeline`` on small hand-made templates: phases, bad-version exposure and rollback mechanism from the
standard CloudFormation properties of each strategy."""

from __future__ import annotations

import copy
import json

import pytest

from ava_olo_ops.cli import main
from ava_olo_ops.timeline import Assumptions, TemplateError, timelines


def template(deployment: dict, *, period: int = 60, evaluation: int = 1, desired: int = 2) -> dict:
    return {"Resources": {
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "DesiredCount": desired, "DeploymentConfiguration": deployment,
            "LoadBalancers": [{"TargetGroupArn": {"Ref": "Blue"}, "ContainerName": "web", "ContainerPort": 8080,
                               "AdvancedConfiguration": {"AlternateTargetGroupArn": {"Ref": "Green"},
                                                         "ProductionListenerRule": {"Ref": "Prod"}, "TestListenerRule": {"Ref": "Test"},
                                                         "RoleArn": "arn:aws:iam::1:role/x"}}]}},
        "Blue": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "HealthCheckIntervalSeconds": 10, "HealthyThresholdCount": 2,
            "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]}},
        "Green": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {}},
        "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": "new-revision-errors", "Period": period, "EvaluationPeriods": evaluation, "DatapointsToAlarm": evaluation}},
        "Unhealthy": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": "new-revision-unhealthy", "EvaluationPeriods": 1,
            "Metrics": [{"Id": "m", "MetricStat": {"Period": 60, "Stat": "Maximum", "Metric": {"MetricName": "UnHealthyHostCount"}}}]}},
    }}


ALARMS = {"AlarmNames": [{"Ref": "Errors"}, "new-revision-unhealthy"], "Enable": True, "Rollback": True}
HOOK = {"HookTargetArn": "arn:aws:lambda:eu-central-1:1:function:pre-traffic", "RoleArn": "arn:aws:iam::1:role/hook",
        "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
CANARY = {"Strategy": "CANARY", "BakeTimeInMinutes": 5, "Alarms": ALARMS, "LifecycleHooks": [HOOK],
          "CanaryConfiguration": {"CanaryPercent": 5, "CanaryBakeTimeInMinutes": 3}}


def test_canary_exposure_is_5_percent_for_2_minutes_and_the_rollback_is_a_traffic_shift():
    (t,) = timelines(template(CANARY))
    assert (t.exposure_percent, t.exposure_seconds) == (5, 120) and t.exposure == "5 % × 2 min"
    assert "shifts production traffic back" in t.rollback and "no new deployment" in t.rollback
    assert [p.name for p in t.phases] == ["new tasks start", "test traffic + pre-traffic check", "canary 5 %",
                                          "full shift + final bake", "clean up"]
    assert [p.production_percent for p in t.phases[:3]] == [0, 0, 5]


def test_an_alarm_slower_than_the_canary_bake_exposes_all_traffic():
    (t,) = timelines(template(CANARY, period=60, evaluation=5))
    assert (t.exposure_percent, t.exposure_seconds) == (100, 300 + 60)  # + the minute until the metric is published


def test_linear_exposure_is_the_step_reached_when_the_alarm_decides():
    linear = {**CANARY, "Strategy": "LINEAR", "LinearConfiguration": {"StepPercent": 10, "StepBakeTimeInMinutes": 1}}
    linear.pop("CanaryConfiguration")
    (t,) = timelines(template(linear))
    assert (t.exposure_percent, t.exposure_seconds) == (20, 120)


def test_blue_green_exposes_all_traffic_until_the_alarm_decides():
    (t,) = timelines(template({**CANARY, "Strategy": "BLUE_GREEN"}))
    assert t.exposure == "100 % × 2 min"


def test_rolling_exposure_lasts_until_a_rollback_deployment_replaced_the_new_tasks():
    (t,) = timelines(template({"MaximumPercent": 200, "MinimumHealthyPercent": 100, "Alarms": ALARMS}), Assumptions())
    start = 30 + 30 + 10 * 2
    assert t.strategy == "ROLLING" and t.exposure_percent == 50 and t.exposure_seconds == 120 + start + 30
    assert "new deployment of the previous revision" in t.rollback


def test_without_alarm_rollback_the_exposure_is_unbounded():
    (t,) = timelines(template({"Strategy": "CANARY", "CanaryConfiguration": {"CanaryPercent": 5}}))
    assert t.exposure_seconds is None and "a human must" in t.exposure


def test_timeline_command_prints_at_most_15_lines_and_explains_on_request(tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template(CANARY)))
    assert main(["timeline", str(path)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) <= 15
    assert "bad-version exposure: 5 % × 2 min" in out and "rollback: ECS shifts production traffic back" in out
    assert main(["timeline", str(path), "--explain"]) == 0
    assert "deployment alarms decide within 120 s (slowest: 60 s × 1, + 60 s until the metric is published)" in capsys.readouterr().out
    assert main(["timeline", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["services"][0]["exposure"] == "5 % × 2 min"


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t["Resources"].pop("Blue"), "no AWS::ECS::Service behind a target group in this template"),
    (lambda t: t["Resources"]["Service"]["Properties"]["DeploymentConfiguration"].update(BakeTimeInMinutes={"Ref": "P"}),
     "Service.DeploymentConfiguration.BakeTimeInMinutes is an intrinsic function"),
    (lambda t: t["Resources"]["Blue"]["Properties"].update(HealthyThresholdCount="two"), "Blue.HealthyThresholdCount = 'two' is not a number"),
])
def test_unreadable_templates_fail_with_one_line_naming_the_property(change, message, tmp_path, capsys):
    broken = copy.deepcopy(template(CANARY))
    change(broken)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(broken))
    assert main(["timeline", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_missing_template_is_one_line(capsys):
    assert main(["timeline", "/nonexistent.json"]) == 2
    assert capsys.readouterr().err == "error: template not found: /nonexistent.json\n"


def test_service_option_must_name_a_service():
    with pytest.raises(TemplateError, match="--service: 'Blue' is not an AWS::ECS::Service"):
        timelines(template(CANARY), service="Blue")
