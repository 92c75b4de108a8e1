"""The timeline command on real synthesized templates: ours (the session's production template) and a stock
``ApplicationLoadBalancedFargateService`` with every default, synthesized here in an App of its own."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns

from ava_olo_ops.cli import main
from ava_olo_ops.timeline import Assumptions, timelines


@pytest.fixture(scope="module")
def stock_template() -> dict:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Stock")
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Service",
        cluster=ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2)),
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1.27")
        ),
    )
    return app.synth().get_stack_artifact("Stock").template


def test_stock_pattern_defaults_take_450_seconds_of_health_checks_and_draining(stock_template):
    (timeline,) = timelines(stock_template, Assumptions())
    assert timeline.health_and_draining_seconds == 450
    assert timeline.health_and_draining_formula == "30 s × 5 + 300 s = 450 s"


def test_production_health_checks_and_draining_take_at_most_90_seconds(production):
    template = production.templates[production.stacks.service.artifact_id]
    (timeline,) = timelines(template, Assumptions())
    assert timeline.health_and_draining_seconds <= 90
    assert timeline.automatic_rollback and timeline.alarm_rollback is not None
    assert {a.name for a in timeline.alarm_rollback.alarms} == {"ava-olo-high-error-rate", "ava-olo-unhealthy-targets"}


def test_timeline_command_prints_the_figures_for_a_synthesized_template(production, tmp_path, capsys):
    path = tmp_path / "service.template.json"
    path.write_text(json.dumps(production.templates[production.stacks.service.artifact_id]))
    assert main(["timeline", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Health + draining: 30 s × 2 + 30 s = 90 s" in out
    assert "ava-olo-high-error-rate" in out
