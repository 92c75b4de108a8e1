"""The pack as cdk-nag 3 runs it: registered with ``Validations.of(app).add_plugins``, findings fail synth under
the plugin name ``AvaOlo``, and ``acknowledge()`` suppresses exactly one (finding-level ids included)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs

from ava_olo_constructs import AvaOloChecks, PropsError, acknowledge, acknowledgements
from ava_olo_constructs.rules import RULES

REASON = "The sandbox pulls the moving tag on purpose; nothing is deployed from it to a shared account."


def report_of(tmp_path, build) -> dict:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False, tree_metadata=False)
    Validations.of(app).add_plugins(AvaOloChecks(app))
    build(Stack(app, "S"))
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    path = tmp_path / "validation-report.json"
    return {p["pluginName"]: p for p in json.loads(path.read_text())["pluginReports"]} if path.exists() else {}


def task(stack: Stack) -> ecs.CfnTaskDefinition:
    return ecs.CfnTaskDefinition(stack, "Task", container_definitions=[
        ecs.CfnTaskDefinition.ContainerDefinitionProperty(name="web", image="nginx:latest")])


def test_pack_has_at_least_eight_rules_with_distinct_ids():
    assert len(RULES) >= 8 and len({rule.id for rule in RULES}) == len(RULES)


def test_a_finding_fails_synth_under_the_plugin_name_ava_olo(tmp_path):
    plugins = report_of(tmp_path, task)
    assert plugins["AvaOlo"]["conclusion"] == "failure"
    assert [v["ruleName"] for v in plugins["AvaOlo"]["violations"]] == ["AvaOlo-VersionedImage[web:latest]"]


def test_an_acknowledged_finding_is_suppressed_and_listed(tmp_path):
    def build(stack):
        acknowledge(task(stack), "AvaOlo-VersionedImage[web:latest]", REASON)
        logs.CfnLogGroup(stack, "Logs", retention_in_days=7)

    plugins = report_of(tmp_path, build)
    assert plugins["AvaOlo"]["conclusion"] == "success" and plugins["AvaOlo"]["violations"] == []
    assert [v["ruleName"] for v in plugins["AvaOlo"]["suppressedViolations"]] == ["AvaOlo-VersionedImage[web:latest]"]


def test_acknowledgements_lists_ava_olo_ones(tmp_path):
    stack = Stack(App(builtin_cloud_formation_validation=False), "S")
    acknowledge(task(stack), "AvaOlo-VersionedImage[web:latest]", REASON)
    assert acknowledgements(stack) == [("S/Task", "AvaOlo-VersionedImage[web:latest]", REASON)]


def test_the_pack_refuses_props_of_another_type():
    with pytest.raises(PropsError, match="props"):
        AvaOloChecks(None, {"max_percent": 200})  # type: ignore[arg-type]


def test_a_value_only_known_at_deploy_time_is_a_rule_error_the_team_can_acknowledge(tmp_path):
    from aws_cdk import CfnParameter
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

    def build(stack, acknowledged):
        interval = CfnParameter(stack, "Interval", type="Number").value_as_number
        group = elbv2.CfnTargetGroup(
            stack, "Group", protocol="HTTP", health_check_path="/health", health_check_interval_seconds=interval,
            healthy_threshold_count=2, target_group_attributes=[elbv2.CfnTargetGroup.TargetGroupAttributeProperty(
                key="deregistration_delay.timeout_seconds", value="30")])
        if acknowledged:
            acknowledge(group, "AvaOlo-TargetGroupHealthCheck", "The interval is a deploy-time parameter, reviewed per stack set.")

    plugin = report_of(tmp_path / "a", lambda stack: build(stack, False))["AvaOlo"]
    assert [(v["ruleName"], v["description"][:27]) for v in plugin["violations"]] == [
        ("AvaOlo-TargetGroupHealthCheck", "Rule threw an error during ")]
    plugin = report_of(tmp_path / "b", lambda stack: build(stack, True))["AvaOlo"]
    assert plugin["conclusion"] == "success"


def test_help_shows_the_packs_real_signature():
    import inspect

    assert list(inspect.signature(AvaOloChecks).parameters) == ["scope", "props", "verbose"]


def test_a_policy_without_the_ava_olo_pack_is_refused_not_ignored():
    from ava_olo_constructs import AvaOloChecksProps, add_compliance_checks

    with pytest.raises(PropsError, match="policy"):
        add_compliance_checks(App(builtin_cloud_formation_validation=False), ["AwsSolutions"], policy=AvaOloChecksProps())
