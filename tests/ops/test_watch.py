"""``ava-olo watch --version V``: exit 0 only when CloudFormation, ECS's service deployment of V and the serving
revision all say V is live. moto holds the state; tests/ops/aws.py drives the rollout moto lacks."""

from __future__ import annotations

import io

import pytest

from ava_olo_ops import cli
from ava_olo_ops.target import RETRIES
from ava_olo_ops.watch import follow_release

from .aws import FakeTime, world  # noqa: F401  (pytest fixture)

V = "v3.3.0"


def run(world, steps: dict[float, callable], **kwargs) -> tuple[int, str]:
    """follow_release with a fake clock; ``steps[t]`` runs once t seconds have been slept."""
    def on_sleep(slept: float) -> None:
        for moment in sorted(steps):
            if moment <= slept:
                steps.pop(moment)(world)
    time, out = FakeTime(on_sleep), io.StringIO()
    code = follow_release(world.target, V, interval=15, clock=time.clock, sleep=time.sleep, out=out, **kwargs)
    return code, out.getvalue()


def canary_succeeds(world) -> dict[float, callable]:
    r = world.rollout
    r.stack_status = "UPDATE_IN_PROGRESS"
    d = r.deploy(V, alarms={"status": "MONITORING", "alarmNames": ["ava-olo-staging-new-revision-errors"]})

    def stage(name: str, production: float = 0, test: float = 0):
        def move(world) -> None:
            d["lifecycleStage"] = name
            d["targetServiceRevision"].update(runningTaskCount=2, requestedProductionTrafficWeight=production,
                                              requestedTestTrafficWeight=test)
        return move

    def success(world) -> None:
        d["status"], d["lifecycleStage"] = "SUCCESSFUL", "CLEAN_UP"
        world.serve(V)

    return {15: stage("TEST_TRAFFIC_SHIFT", 0, 100), 30: stage("POST_TEST_TRAFFIC_SHIFT", 0, 100),
            45: stage("PRODUCTION_TRAFFIC_SHIFT", 5, 100), 225: stage("BAKE_TIME", 100, 100), 525: success,
            540: lambda w: setattr(w.rollout, "stack_status", "UPDATE_COMPLETE")}


def test_watch_exits_0_when_stack_ecs_and_serving_revision_all_report_the_version(world):
    code, out = run(world, canary_succeeds(world))
    assert code == 0, out
    assert "PRODUCTION_TRAFFIC_SHIFT (shifting production traffic)" in out and "production 5%" in out
    assert out.count("LIVE:") == 1 and out.strip().splitlines()[-1].startswith("✓")


def test_defect_1_ecs_successful_while_the_stack_rolls_back_is_a_failure(world):
    steps = canary_succeeds(world)
    steps[540] = lambda w: setattr(w.rollout, "stack_status", "UPDATE_ROLLBACK_IN_PROGRESS")
    steps[600] = lambda w: setattr(w.rollout, "stack_status", "UPDATE_ROLLBACK_COMPLETE")
    code, out = run(world, steps)
    assert code == 1 and "LIVE" not in out
    assert "FAILED: CloudFormation stack is UPDATE_ROLLBACK_COMPLETE" in out


def test_defect_2_started_during_a_rollback_it_does_not_follow_the_rollback_as_the_release(world):
    r = world.rollout
    r.deploy(V, status="ROLLBACK_SUCCESSFUL", stage="CLEAN_UP", rollback={"reason": "alarm ava-olo-staging-errors in ALARM"})
    r.deploy("v3.2.0", status="SUCCESSFUL", stage="CLEAN_UP")  # CloudFormation's rollback: the old release, successful
    r.stack_status = "UPDATE_ROLLBACK_COMPLETE"
    code, out = run(world, {})
    assert code == 1 and "LIVE" not in out
    assert "ROLLBACK_SUCCESSFUL" in out and "alarm ava-olo-staging-errors in ALARM" in out


def test_ecs_rollback_of_the_version_fails_once_ecs_has_rolled_it_back(world):
    r = world.rollout
    r.stack_status = "UPDATE_IN_PROGRESS"
    d = r.deploy(V, status="ROLLBACK_IN_PROGRESS", stage="PRODUCTION_TRAFFIC_SHIFT",
                 alarms={"status": "TRIGGERED", "triggeredAlarmNames": ["new-revision-errors"]})
    code, out = run(world, {30: lambda w: d.update(status="ROLLBACK_SUCCESSFUL")})
    assert code == 1 and "alarm(s) in ALARM: new-revision-errors" in out


def test_defect_3_a_150_second_network_loss_prints_reconnecting_and_the_watch_goes_on(world):
    steps = canary_succeeds(world)
    steps[60] = lambda w: setattr(w.rollout, "network_down", True)
    steps[210] = lambda w: setattr(w.rollout, "network_down", False)
    code, out = run(world, steps)
    assert code == 0, out
    assert out.count("reconnecting…") == 1 and "reconnected after 2 min 30 s" in out


def test_aws_unreachable_past_the_offline_limit_fails_without_a_traceback(world):
    world.rollout.stack_status = "UPDATE_IN_PROGRESS"
    code, out = run(world, {15: lambda w: setattr(w.rollout, "network_down", True)}, offline_limit=120)
    assert code == 1 and "AWS unreachable for 2 min" in out


def test_one_retry_layer_is_botocores_standard_mode_with_short_timeouts(world):
    client = world.target.client("ecs")
    assert client.meta.config.retries["mode"] == "standard" and RETRIES.connect_timeout <= 10


def test_a_settled_stack_without_a_deployment_of_the_version_fails_after_the_start_limit(world):
    code, out = run(world, {}, start_limit=60)
    assert code == 1 and f"no ECS deployment of {V} began" in out


def test_watch_command_needs_the_version(capsys):
    assert cli.main(["watch", "--env", "staging"]) == 2
    assert "--version" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["3.3.0", "latest"])
def test_watch_command_refuses_a_malformed_version(version, capsys):
    assert cli.main(["watch", "--env", "staging", "--version", version]) == 2
    assert capsys.readouterr().err.count("\n") == 1
