"""`ava-olo deploy`: preflight, cdk deploy, watch, verify - in that order, stopping at the first failure.

The subprocess runner is replaced by a recorder, so no cdk or npx ever runs. Most tests also record the
in-process ``ava-olo`` steps; two run the real preflight (botocore Stubber) and the real verify (a local HTTP server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import pytest

from ava_olo_ops import deploy, preflight

from .test_preflight import THURSDAY_10, Aws, deployment, install_aws, one_error_line, prepare_project
from .test_verify import PROXY_VARIABLES, Script, Server, serve

CDK = ["deploy", "-c", "env=staging", "-c", "version=v3.2.1", "--all", "--require-approval", "never"]


class Recorder:
    """Stands in for the subprocess runner and the in-process ``ava-olo`` steps; returns scripted exit codes."""

    def __init__(self, codes: Optional[dict[str, int]] = None) -> None:
        self.codes = codes or {}
        self.calls: list[tuple[str, list[str], Optional[dict[str, str]]]] = []

    def _code(self, key: str) -> int:
        return self.codes.get(key, 0)

    def runner(self, argv: Sequence[str], env: Optional[dict[str, str]] = None) -> int:
        self.calls.append(("process", list(argv), env))
        return self._code("watch" if "watch" in argv else "cdk")

    def ava_olo(self, argv: Sequence[str]) -> int:
        self.calls.append(("ava-olo", list(argv), None))
        return self._code(argv[0])

    @property
    def steps(self) -> list[str]:
        names = []
        for kind, argv, _ in self.calls:
            if kind == "ava-olo":
                names.append(argv[0])
            else:
                names.append("watch" if "watch" in argv else "cdk")
        return names


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return prepare_project(tmp_path, monkeypatch)


def install(monkeypatch: pytest.MonkeyPatch, recorder: Recorder, *, fake_ava_olo: bool = True, watch_in_process: bool = True) -> Recorder:
    monkeypatch.setattr(deploy, "runner", recorder.runner)
    if fake_ava_olo:
        monkeypatch.setattr(deploy, "ava_olo", recorder.ava_olo)
    monkeypatch.setattr(deploy, "watch_available", lambda: watch_in_process)
    monkeypatch.setattr(deploy, "_accepted_options", lambda command: {"--env", "--region", "--profile"})
    return recorder


def run(*extra: str) -> int:
    from ava_olo_ops.cli import main

    return main(["deploy", "--env", "staging", "--version", "v3.2.1", *extra])


def test_all_four_steps_run_in_order_with_the_pinned_cdk(project, monkeypatch, capsys):
    (project / "node_modules" / ".bin").mkdir(parents=True)
    (project / "node_modules" / ".bin" / "cdk").write_text("#!/bin/sh\n")
    recorder = install(monkeypatch, Recorder())
    assert run("--region", "eu-west-1", "--profile", "ops", "--timezone", "Europe/Zagreb", "--attempts", "3") == 0
    assert recorder.steps == ["preflight", "cdk", "watch", "verify"]
    (_, preflight_argv, _), (_, cdk_argv, cdk_env), (_, watch_argv, _), (_, verify_argv, _) = recorder.calls
    assert preflight_argv == ["preflight", "--env", "staging", "--version", "v3.2.1", "--region", "eu-west-1", "--profile",
                              "ops", "--changelog", "CHANGELOG.md", "--timezone", "Europe/Zagreb"]
    assert cdk_argv == ["./node_modules/.bin/cdk", *CDK, "--profile", "ops"]
    assert cdk_env == {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert watch_argv == ["watch", "--env", "staging", "--region", "eu-west-1", "--profile", "ops"]  # watch takes no --version here
    assert verify_argv[:9] == ["verify", "--env", "staging", "--version", "v3.2.1", "--region", "eu-west-1", "--profile", "ops"]
    assert verify_argv[verify_argv.index("--attempts") + 1] == "3"
    assert "deployed v3.2.1 to staging" in capsys.readouterr().out


def test_npx_cdk_without_a_local_cli_and_no_region_environment(project, monkeypatch):
    recorder = install(monkeypatch, Recorder())
    assert run() == 0
    _, cdk_argv, cdk_env = recorder.calls[1]
    assert cdk_argv == ["npx", "cdk", *CDK] and cdk_env is None


def test_preflight_refusal_stops_before_cdk(project, monkeypatch, capsys):
    """The real preflight, with a deployment in progress (botocore Stubber): nothing is deployed, exit 1."""
    monkeypatch.setattr(preflight, "clock", lambda: THURSDAY_10)
    aws = install_aws(monkeypatch, Aws())
    aws.running_version("v3.2.0").stack().deployments(deployment("PRIMARY", "IN_PROGRESS", 8), deployment("ACTIVE", "COMPLETED", 7))
    recorder = install(monkeypatch, Recorder(), fake_ava_olo=False)
    assert run("--region", "us-east-1", "--timezone", "Europe/Zagreb", "--override", "hotfix") == 1
    assert recorder.calls == []
    captured = capsys.readouterr()
    assert "✗ no deployment in progress" in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 1/4 'preflight' (exit 1); not run: cdk deploy, watch, verify"
    )
    aws.assert_all_used()


def test_cdk_failure_stops_before_watch_and_keeps_its_exit_code(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder({"cdk": 3}))
    assert run() == 3
    assert recorder.steps == ["preflight", "cdk"]
    assert one_error_line(capsys.readouterr().err) == (
        "error: deploy stopped at step 2/4 'cdk deploy' (exit 3); not run: watch, verify"
    )


def test_watch_failure_stops_before_verify(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder({"watch": 1}))
    assert run() == 1
    assert recorder.steps == ["preflight", "cdk", "watch"]
    assert "step 3/4 'watch' (exit 1); not run: verify" in capsys.readouterr().err


def test_verify_failure_is_named(project, monkeypatch, capsys):
    install(monkeypatch, Recorder({"verify": 1}))
    assert run() == 1
    assert "step 4/4 'verify' (exit 1); not run: none" in capsys.readouterr().err


def test_watch_runs_as_a_subprocess_when_the_module_is_not_installed(project, monkeypatch):
    recorder = install(monkeypatch, Recorder(), watch_in_process=False)
    monkeypatch.setattr(deploy, "ava_olo_executable", lambda: ["/opt/bin/ava-olo"])
    assert run() == 0
    assert recorder.calls[2] == ("process", ["/opt/bin/ava-olo", "watch", "--env", "staging"], None)


def test_dry_run_prints_the_commands_and_runs_nothing(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder())
    assert run("--dry-run", "--region", "eu-west-1", "--override", "hotfix for login", "--url", "https://ava.example") == 0
    assert recorder.calls == []
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dry run: deploying v3.2.1 to staging would run (nothing was run):"
    assert out[1] == ("  1. ava-olo preflight --env staging --version v3.2.1 --region eu-west-1 --changelog CHANGELOG.md "
                      "--override 'hotfix for login'")
    assert out[2] == ("  2. AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 npx cdk deploy -c env=staging -c version=v3.2.1 "
                      "--all --require-approval never")
    assert out[3] == "  3. ava-olo watch --env staging --region eu-west-1"
    assert out[4].startswith("  4. ava-olo verify --env staging --version v3.2.1 --region eu-west-1 --url https://ava.example ")
    assert len(out) == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--version", "v3.2"], "'v3.2' is not allowed"),
        (["--version", "v3.2.1", "--override", " "], "--override needs a reason"),
        (["--version", "v3.2.1", "--url", "alb.example"], "not an http:// or https:// URL"),
    ],
)
def test_bad_input_runs_nothing_even_in_a_dry_run(project, monkeypatch, capsys, extra, message):
    from ava_olo_ops.cli import main

    recorder = install(monkeypatch, Recorder())
    assert main(["deploy", "--env", "staging", *extra, "--dry-run"]) == 2
    assert recorder.calls == []
    assert message in one_error_line(capsys.readouterr().err)


def test_unknown_environment_is_bad_input(project, monkeypatch, capsys):
    (project / "environments").mkdir()
    (project / "environments" / "staging.json").write_text("{}")
    from ava_olo_ops.cli import main

    recorder = install(monkeypatch, Recorder())
    assert main(["deploy", "--env", "prod", "--version", "v3.2.1"]) == 2
    assert recorder.calls == []
    assert "unknown environment 'prod'" in one_error_line(capsys.readouterr().err)


def test_real_preflight_and_verify_around_a_recorded_cdk_and_watch(project, monkeypatch, capsys):
    """End to end except cdk and watch: preflight on a stubbed AWS, verify against a local HTTP server."""
    monkeypatch.setattr(preflight, "clock", lambda: THURSDAY_10)
    aws = install_aws(monkeypatch, Aws()).settled(running="v3.2.0")
    recorder = install(monkeypatch, Recorder(), fake_ava_olo=False, watch_in_process=False)
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    script = Script()
    serve(script, version="v3.2.1-0123abcd")
    server = Server(script)
    try:
        code = run("--region", "us-east-1", "--timezone", "Europe/Zagreb", "--url", server.url, "--backoff", "0", "--attempts", "2")
    finally:
        server.close()
    out = capsys.readouterr().out
    assert code == 0, out
    assert recorder.steps == ["cdk", "watch"]
    assert "ready: v3.2.1 may be deployed to staging" in out
    assert "✓ verified on attempt 1/2" in out and "commit 0123abcd" in out
    assert out.rstrip().endswith("deployed v3.2.1 to staging: preflight, cdk deploy, watch and verify all passed")
    aws.assert_all_used()
