"""The timeline command on real synthesized templates: the session's production template (its strategy is the
library's choice) and a stock ``ApplicationLoadBalancedFargateService`` (the rolling path)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns

from ava_olo_ops.cli import main
from ava_olo_ops.timeline import timelines


@pytest.fixture(scope="module")
def stock_template() -> dict:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Stock")
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack, "Service", cluster=ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2)),
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1.27")))
    return app.synth().get_stack_artifact("Stock").template


def test_stock_pattern_rolls_with_no_alarm_rollback_and_unbounded_exposure(stock_template):
    (t,) = timelines(stock_template)
    assert t.strategy == "ROLLING" and t.exposure_seconds is None
    assert [p.seconds for p in t.phases] == [30 + 30 + 30 * 5, 300, 300]  # AWS defaults: 30 s x 5, 300 s draining


def test_production_bad_version_exposure_is_at_most_5_percent_for_2_minutes(production, tmp_path, capsys):
    template = production.templates[production.stacks.service.artifact_id]
    (t,) = timelines(template)
    if t.strategy == "ROLLING":
        pytest.skip("production still rolls on this branch: the CANARY service (issue 12 item 1) lands separately")
    assert t.exposure_percent <= 5 and t.exposure_seconds is not None and t.exposure_seconds <= 120
    assert "no new deployment" in t.rollback
    path = tmp_path / "service.template.json"
    path.write_text(json.dumps(template))
    assert main(["timeline", str(path)]) == 0
    out = capsys.readouterr().out
    assert "bad-version exposure:" in out and len(out.splitlines()) <= 15


def test_production_template_timeline_reads_its_deployment_alarms(production):
    (t,) = timelines(production.templates[production.stacks.service.artifact_id])
    assert t.alarm_rollback and all(window is not None and window <= 120 or t.strategy == "ROLLING" for _, window, _ in t.alarms)
    assert {name for name, _, _ in t.alarms} >= {"ava-olo-high-error-rate"} or t.strategy != "ROLLING"
