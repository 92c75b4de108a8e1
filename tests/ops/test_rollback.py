"""``ava-olo rollback``: stop an in-flight deployment with ECS's rollback, or redeploy the previous release through
``ava-olo deploy`` with only preflight's ``newer`` and ``window`` checks overridden."""

from __future__ import annotations

from ava_olo_ops import cli

from .aws import REGION, world  # noqa: F401  (pytest fixture)


def test_defect_7_rollback_stops_the_deployment_in_flight_with_rollback(world, monkeypatch, capsys):
    r = world.rollout
    d = r.deploy("v3.3.0", status="IN_PROGRESS", stage="PRODUCTION_TRAFFIC_SHIFT")
    monkeypatch.setattr("ava_olo_ops.rollback.sleep", lambda s: d.update(status="ROLLBACK_SUCCESSFUL",
                                                                               rollback={"reason": "stopped by the operator"}))
    assert cli.main(["rollback", "--env", "staging", "--region", REGION]) == 0
    assert r.stopped == [(d["serviceDeploymentArn"], "ROLLBACK")]
    assert "✓ rolled back: stopped by the operator" in capsys.readouterr().out


def test_defect_7_rollback_redeploys_the_previous_release_through_deploy(world, monkeypatch):
    world.rollout.deploy("v3.3.0", status="SUCCESSFUL", stage="CLEAN_UP")
    world.serve("v3.3.0")
    calls = []
    real_main = cli.main
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(argv) or 0)
    assert real_main(["rollback", "--env", "staging", "--region", REGION, "--changelog", "app/CHANGELOG.md"]) == 0
    (argv,) = calls
    assert argv[:5] == ["deploy", "--env", "staging", "--version", "v3.2.0"]
    assert "newer=rollback from v3.3.0 to v3.2.0" in argv and "window=rollback from v3.3.0 to v3.2.0" in argv


def test_rollback_to_a_given_release(world, monkeypatch):
    calls = []
    real_main = cli.main
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(argv) or 0)
    assert real_main(["rollback", "--env", "staging", "--region", REGION, "--to", "v3.1.4"]) == 0
    assert calls[0][4] == "v3.1.4"


def test_rollback_help_exists(capsys):
    assert cli.main(["rollback", "--help"]) == 0
    assert "--to VERSION" in capsys.readouterr().out
