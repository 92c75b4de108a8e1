"""`ava-olo deploy`: preflight, cdk synth, guard, cdk deploy (background) with watch (foreground), verify.

No subprocess ever runs and nothing sleeps: the foreground runner (cdk synth, a subprocess watch) is a recorder, the
background launcher returns a :class:`FakeCdk` that ends after a number of seconds on the recorder's clock (which
only the recorded ``sleep`` advances) with the exit code the test chooses, and the service stack's state (what
deploy polls before it starts watch) is scripted. Most tests also record the in-process ``ava-olo`` steps; some run
the real preflight (botocore Stubber), the real guard (a cloud assembly on disk, a fake CloudFormation client) and
the real verify (a local HTTP server).
"""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import pytest

from ava_olo_ops import deploy, preflight, stateful_guard

from .test_preflight import STACK, THURSDAY_10, Aws, deployment, install_aws, one_error_line, prepare_project
from .test_verify import PROXY_VARIABLES, Script, Server, serve

SYNTH = ["synth", "-c", "env=staging", "-c", "version=v3.2.1", "--quiet", "--output", "cdk.out"]
DEPLOY = ["deploy", "--app", "cdk.out", "--all", "--require-approval", "never"]
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 5, 14, 8, 3, tzinfo=timezone.utc)
SETTLED = deploy.StackState("UPDATE_COMPLETE", T0)
UPDATING = deploy.StackState("UPDATE_IN_PROGRESS", T1)

State = Union[deploy.StackState, None, Exception]


class FakeCdk:
    """The background ``cdk deploy``: running for ``runs_for`` seconds on the recorder's clock (None: forever), or
    until ``ends_after_polls`` polls; then ``poll()`` returns ``code`` (and records "cdk ended" once)."""

    pid = 4242

    def __init__(self, code: int = 0, *, runs_for: Optional[float] = 60.0, ends_after_polls: Optional[int] = None,
                 stop_code: int = -signal.SIGINT, log_text: str = "") -> None:
        self.code = code
        self.runs_for = runs_for
        self.ends_after_polls = ends_after_polls
        self.stop_code = stop_code
        self.log_text = log_text
        self.finished = False
        self.polls = 0
        self.events: list[str] = []
        self.clock: Any = lambda: 0.0
        self.started_at = 0.0

    def poll(self) -> Optional[int]:
        self.polls += 1
        if not self.finished and (
            (self.ends_after_polls is not None and self.polls > self.ends_after_polls)
            or (self.runs_for is not None and self.clock() - self.started_at >= self.runs_for)
        ):
            self.finished = True
            self.events.append("cdk ended")
        return self.code if self.finished else None

    def wait(self) -> int:
        raise AssertionError("deploy must poll cdk deploy (with heartbeats and --cdk-timeout), not block in wait()")

    def stop(self) -> int:
        self.events.append("cdk stop")
        self.finished = True
        self.code = self.stop_code
        return self.stop_code


class Recorder:
    """Stands in for the runner, the launcher, the stack reads and the in-process ``ava-olo`` steps."""

    def __init__(self, codes: Optional[dict[str, int]] = None, *, cdk: Optional[FakeCdk] = None,
                 states: Sequence[State] = (SETTLED, SETTLED, UPDATING), real: Sequence[str] = (),
                 watch_raises: Optional[BaseException] = None, interrupted_sleeps: int = 0) -> None:
        self.codes = codes or {}
        self.cdk = cdk or FakeCdk()
        self.cdk.events = self.events = []
        self.calls: list[tuple[str, list[str], Optional[dict[str, str]]]] = []
        self.states = list(states)
        self.real = set(real)
        self.watch_raises = watch_raises
        self.interrupted_sleeps = interrupted_sleeps  # that many sleeps raise KeyboardInterrupt (a Ctrl-C)
        self.cdk_running_during_watch: Optional[bool] = None
        self.watch_at: Optional[float] = None
        self.clock = 0.0
        self.cdk.clock = lambda: self.clock
        self.launched_log: Optional[Path] = None

    def _code(self, key: str) -> int:
        return self.codes.get(key, 0)

    def _watch(self) -> int:
        self.cdk_running_during_watch = self.cdk.poll() is None
        self.watch_at = self.clock
        if self.watch_raises is not None:
            raise self.watch_raises
        return self._code("watch")

    def runner(self, argv: Sequence[str], env: Optional[dict[str, str]] = None) -> int:
        self.calls.append(("process", list(argv), env))
        name = "watch" if "watch" in argv else "synth"
        self.events.append(name)
        return self._watch() if name == "watch" else self._code(name)

    def launcher(self, argv: Sequence[str], env: Optional[dict[str, str]], log: Path) -> FakeCdk:
        self.calls.append(("launch", list(argv), env))
        self.events.append("cdk deploy")
        self.launched_log = log
        self.cdk.started_at = self.clock
        if self.cdk.log_text:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(self.cdk.log_text)
        return self.cdk

    def ava_olo(self, argv: Sequence[str]) -> int:
        self.events.append(argv[0])
        if argv[0] in self.real:
            return deploy.run_ava_olo(argv)
        self.calls.append(("ava-olo", list(argv), None))
        return self._watch() if argv[0] == "watch" else self._code(argv[0])

    def stack_state(self, target: Any) -> Optional[deploy.StackState]:
        self.events.append("stack?")
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if isinstance(state, Exception):
            raise state
        return state

    def sleep(self, seconds: float) -> None:
        if self.interrupted_sleeps:
            self.interrupted_sleeps -= 1
            raise KeyboardInterrupt
        self.clock += seconds

    @property
    def steps(self) -> list[str]:
        """The events without the stack reads."""
        return [e for e in self.events if e != "stack?"]

    def argv(self, name: str) -> tuple[list[str], Optional[dict[str, str]]]:
        for kind, argv, env in self.calls:
            if (kind == "launch" and name == "cdk deploy") or (kind == "ava-olo" and argv[0] == name) or (
                    kind == "process" and name in argv and name in ("synth", "watch")):
                return argv, env
        raise AssertionError(f"{name} did not run: {self.calls}")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return prepare_project(tmp_path, monkeypatch)


def install(monkeypatch: pytest.MonkeyPatch, recorder: Recorder, *, watch_in_process: bool = True,
            real_stack_state: bool = False) -> Recorder:
    monkeypatch.setattr(deploy, "runner", recorder.runner)
    monkeypatch.setattr(deploy, "launcher", recorder.launcher)
    monkeypatch.setattr(deploy, "ava_olo", recorder.ava_olo)
    if not real_stack_state:
        monkeypatch.setattr(deploy, "stack_state", recorder.stack_state)
    monkeypatch.setattr(deploy, "sleep", recorder.sleep)
    monkeypatch.setattr(deploy, "monotonic", lambda: recorder.clock)
    monkeypatch.setattr(deploy, "watch_available", lambda: watch_in_process)
    monkeypatch.setattr(deploy, "_accepted_options", lambda command: {"--env", "--region", "--profile"})
    return recorder


def run(*extra: str) -> int:
    from ava_olo_ops.cli import main

    return main(["deploy", "--env", "staging", "--version", "v3.2.1", *extra])


ALL = ["preflight", "synth", "guard", "cdk deploy", "watch", "cdk ended", "verify"]

# ----------------------------------------------------------------------------------------------------------------
# Order and arguments
# ----------------------------------------------------------------------------------------------------------------


def test_all_six_steps_in_order_with_the_pinned_cdk(project, monkeypatch, capsys):
    (project / "node_modules" / ".bin").mkdir(parents=True)
    (project / "node_modules" / ".bin" / "cdk").write_text("#!/bin/sh\n")
    recorder = install(monkeypatch, Recorder())
    assert run("--region", "eu-west-1", "--profile", "ops", "--timezone", "Europe/Zagreb", "--attempts", "3") == 0
    assert recorder.steps == ALL
    region = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert recorder.argv("preflight") == (["preflight", "--env", "staging", "--version", "v3.2.1", "--region", "eu-west-1",
                                           "--profile", "ops", "--changelog", "CHANGELOG.md", "--timezone", "Europe/Zagreb"], None)
    assert recorder.argv("synth") == (["./node_modules/.bin/cdk", *SYNTH, "--profile", "ops"], region)
    assert recorder.argv("guard") == (["guard", "--cdk-out", "cdk.out", "--region", "eu-west-1", "--profile", "ops"], None)
    assert recorder.argv("cdk deploy") == (["./node_modules/.bin/cdk", *DEPLOY, "--profile", "ops"], region)
    assert recorder.launched_log == Path("cdk.out/ava-olo-deploy.log")
    assert recorder.argv("watch") == (["watch", "--env", "staging", "--region", "eu-west-1", "--profile", "ops"], None)
    verify_argv, _ = recorder.argv("verify")
    assert verify_argv[:9] == ["verify", "--env", "staging", "--version", "v3.2.1", "--region", "eu-west-1", "--profile", "ops"]
    assert verify_argv[verify_argv.index("--attempts") + 1] == "3"
    out = capsys.readouterr().out
    assert "==> step 3/6 guard: ava-olo guard --cdk-out cdk.out" in out
    assert "==> step 4/6 cdk deploy (in the background): AWS_REGION=eu-west-1" in out
    assert "> cdk.out/ava-olo-deploy.log 2>&1 &" in out
    assert "==> step 5/6 watch (while cdk deploy runs, pid 4242): ava-olo watch --env staging" in out
    assert "    cdk deploy finished (exit 0)" in out
    assert out.rstrip().endswith("deployed v3.2.1 to staging: preflight, cdk synth, guard, cdk deploy, watch and verify all passed")


def test_npx_cdk_without_a_local_cli_and_no_region_environment(project, monkeypatch):
    recorder = install(monkeypatch, Recorder())
    assert run() == 0
    assert recorder.argv("synth") == (["npx", "cdk", *SYNTH], None)
    assert recorder.argv("guard") == (["guard", "--cdk-out", "cdk.out"], None)
    assert recorder.argv("cdk deploy") == (["npx", "cdk", *DEPLOY], None)


def test_preflight_refusal_stops_before_anything_else(project, monkeypatch, capsys):
    """The real preflight, with a deployment in progress (botocore Stubber): nothing is synthesized or deployed."""
    monkeypatch.setattr(preflight, "clock", lambda: THURSDAY_10)
    aws = install_aws(monkeypatch, Aws())
    aws.running_version("v3.2.0").stack().deployments(deployment("PRIMARY", "IN_PROGRESS", 8), deployment("ACTIVE", "COMPLETED", 7))
    aws.stack_statuses()
    recorder = install(monkeypatch, Recorder(real=("preflight",)))
    assert run("--region", "us-east-1", "--timezone", "Europe/Zagreb", "--override", "hotfix") == 1
    assert recorder.steps == ["preflight"]
    captured = capsys.readouterr()
    assert "✗ no deployment in progress" in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 1/6 'preflight' (exit 1); not run: cdk synth, guard, cdk deploy, watch, verify"
    )
    aws.assert_all_used()


def test_preflight_refuses_while_another_deploy_updates_the_data_stack(project, monkeypatch, capsys):
    """A second ``ava-olo deploy`` while the first one is still on the data stack (ECS quiet): nothing runs."""
    monkeypatch.setattr(preflight, "clock", lambda: THURSDAY_10)
    aws = install_aws(monkeypatch, Aws())
    aws.running_version("v3.2.0").stack().deployments(deployment()).stack_statuses(data="UPDATE_IN_PROGRESS")
    recorder = install(monkeypatch, Recorder(real=("preflight",)))
    assert run("--region", "us-east-1", "--timezone", "Europe/Zagreb", "--override", "hotfix") == 1
    assert recorder.steps == ["preflight"]
    captured = capsys.readouterr()
    assert "✗ no stack update in progress: ava-olo-staging-data is UPDATE_IN_PROGRESS" in captured.out
    assert one_error_line(captured.err).startswith("error: deploy stopped at step 1/6 'preflight' (exit 1)")
    aws.assert_all_used()


def test_synth_failure_stops_before_the_guard(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder({"synth": 1}))
    assert run() == 1
    assert recorder.steps == ["preflight", "synth"]
    assert one_error_line(capsys.readouterr().err) == (
        "error: deploy stopped at step 2/6 'cdk synth' (exit 1); not run: guard, cdk deploy, watch, verify"
    )


@pytest.mark.parametrize(
    ("code", "meaning"),
    [(1, "a stateful resource would be deleted or replaced"), (2, "not every stack could be verified")],
)
def test_a_guard_refusal_stops_before_cdk_deploy(project, monkeypatch, capsys, code, meaning):
    recorder = install(monkeypatch, Recorder({"guard": code}))
    assert run() == code
    assert recorder.steps == ["preflight", "synth", "guard"]
    assert not any(kind == "launch" for kind, _, _ in recorder.calls)
    assert one_error_line(capsys.readouterr().err) == (
        f"error: deploy stopped at step 3/6 'guard' (exit {code}: {meaning}); not run: cdk deploy, watch, verify"
    )


# ----------------------------------------------------------------------------------------------------------------
# The real guard on the assembly that cdk synth wrote
# ----------------------------------------------------------------------------------------------------------------


def database(name: str) -> dict[str, Any]:
    return {"Resources": {"Database": {
        "Type": "AWS::RDS::DBCluster", "DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot",
        "Properties": {"Engine": "aurora-postgresql", "DatabaseName": name},
    }}}


class DeployedTemplates:
    """A CloudFormation client that answers get_template with the deployed template (the guard's only call)."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.requests: list[dict[str, Any]] = []

    def get_template(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"TemplateBody": json.dumps(self.template)}


def write_assembly(project: Path, template: dict[str, Any]) -> None:
    """What ``cdk synth`` would have written into cdk.out."""
    (project / "cdk.out").mkdir()
    (project / "cdk.out" / "StagingData.template.json").write_text(json.dumps(template))
    (project / "cdk.out" / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {"StagingData": {
        "type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
        "properties": {"templateFile": "StagingData.template.json", "stackName": "ava-olo-staging-data"},
    }}}))


@pytest.mark.parametrize(("synthesized", "code"), [("farmer_crm", 0), ("farmer_crm_v2", 1)])
def test_the_real_guard_checks_the_synthesized_assembly(project, monkeypatch, capsys, synthesized, code):
    write_assembly(project, database(synthesized))
    client = DeployedTemplates(database("farmer_crm"))
    factory_calls: list[tuple[Optional[str], Optional[str]]] = []

    def factory(region: Optional[str], profile: Optional[str]) -> DeployedTemplates:
        factory_calls.append((region, profile))
        return client

    monkeypatch.setattr(stateful_guard, "cloudformation_client", factory)
    recorder = install(monkeypatch, Recorder(real=("guard",)))
    assert run("--region", "eu-west-1", "--profile", "ops") == code
    assert factory_calls == [("eu-west-1", "ops")]
    assert client.requests == [{"StackName": "ava-olo-staging-data", "TemplateStage": "Original"}]
    captured = capsys.readouterr()
    if code == 0:
        assert recorder.steps == ALL
        assert "guard: OK" in captured.out
    else:
        assert recorder.steps == ["preflight", "synth", "guard"]  # cdk deploy never started
        assert "DatabaseName" in captured.out and "guard: FAILED" in captured.out
        assert one_error_line(captured.err) == (
            "error: deploy stopped at step 3/6 'guard' (exit 1: a stateful resource would be deleted or replaced); "
            "not run: cdk deploy, watch, verify"
        )


# ----------------------------------------------------------------------------------------------------------------
# cdk deploy in the background, watch in the foreground
# ----------------------------------------------------------------------------------------------------------------


def test_watch_runs_while_cdk_deploy_is_running_once_cloudformation_updates_the_service_stack(project, monkeypatch, capsys):
    # baseline, then one poll with the stack unchanged (cdk still publishing assets), then UPDATE_IN_PROGRESS
    recorder = install(monkeypatch, Recorder(states=[SETTLED, SETTLED, UPDATING]))
    assert run() == 0
    assert recorder.events == ["preflight", "synth", "guard", "stack?", "cdk deploy", "stack?", "stack?", "watch",
                               "cdk ended", "verify"]
    assert recorder.cdk_running_during_watch is True
    assert recorder.watch_at == deploy.POLL_SECONDS  # slept once between the two polls
    out = capsys.readouterr().out
    assert f"waiting for CloudFormation to start updating {STACK}" in out
    assert "watch ended (exit 0): cdk deploy (pid 4242) is still running, waiting for it to finish" in out


def test_a_changed_last_updated_time_also_starts_watch(project, monkeypatch):
    """An update that began and ended between two polls: the stack's LastUpdatedTime moved."""
    recorder = install(monkeypatch, Recorder(states=[SETTLED, deploy.StackState("UPDATE_COMPLETE", T1)]))
    assert run() == 0
    assert recorder.steps == ALL and recorder.cdk_running_during_watch is True


def test_a_long_wait_for_cloudformation_says_so(project, monkeypatch, capsys):
    polls = int(deploy.NOTE_SECONDS // deploy.POLL_SECONDS) + 1
    install(monkeypatch, Recorder(states=[SETTLED] * (polls + 1) + [UPDATING], cdk=FakeCdk(runs_for=600)))
    assert run() == 0
    out = capsys.readouterr().out
    assert out.count(f"still waiting for CloudFormation to start updating {STACK} (2 min 00 s; cdk deploy is running, "
                     "pid 4242)") == 1


def test_cdk_failure_after_watch_is_reported_as_cdk_deploy_with_both_exit_codes(project, monkeypatch, capsys):
    """watch saw the ECS deployment roll back (exit 1); CloudFormation rolled the stack back, cdk exits 1."""
    log = "\n".join(f"line {n}" for n in range(1, 51)) + "\n❌ ava-olo-staging-service failed: UPDATE_ROLLBACK_COMPLETE"
    recorder = install(monkeypatch, Recorder({"watch": 1}, cdk=FakeCdk(3, log_text=log)))
    assert run() == 3
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "watch", "cdk ended"]
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 4/6 'cdk deploy' (exit 3; watch exit 1); not run: verify"
    )
    assert "watch ended (exit 1): cdk deploy (pid 4242) is still running" in captured.out
    assert f"---- last {deploy.LOG_TAIL_LINES} lines of cdk.out/ava-olo-deploy.log ----" in captured.out
    assert "UPDATE_ROLLBACK_COMPLETE" in captured.out and "line 12\n" in captured.out and "line 11\n" not in captured.out


def test_cdk_failure_is_reported_even_when_watch_passed(project, monkeypatch, capsys):
    install(monkeypatch, Recorder(cdk=FakeCdk(1)))
    assert run() == 1
    assert one_error_line(capsys.readouterr().err) == (
        "error: deploy stopped at step 4/6 'cdk deploy' (exit 1; watch exit 0); not run: verify"
    )


def test_cdk_failure_before_cloudformation_starts_skips_watch(project, monkeypatch, capsys):
    """cdk fails publishing assets (or on the data stack): the service stack never changes, nothing to watch."""
    recorder = install(monkeypatch, Recorder(cdk=FakeCdk(1, ends_after_polls=2), states=[SETTLED]))
    assert run() == 1
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "cdk ended"]
    captured = capsys.readouterr()
    assert f"CloudFormation had not started updating {STACK} when cdk deploy ended" in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 4/6 'cdk deploy' (exit 1); not run: watch, verify"
    )


def test_cdk_success_without_a_service_stack_update_watches_afterwards(project, monkeypatch, capsys):
    """No change to the service stack: cdk ends first; watch then runs as a summary."""
    recorder = install(monkeypatch, Recorder(cdk=FakeCdk(0, ends_after_polls=1), states=[SETTLED]))
    assert run() == 0
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "cdk ended", "watch", "verify"]
    assert recorder.cdk_running_during_watch is False
    assert "==> step 5/6 watch (after cdk deploy): ava-olo watch --env staging" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("baseline", "note"),
    [
        (None, f"note: {STACK} does not exist yet (a first deploy: cdk deploy creates it)"),
        (deploy.target_module.TargetError("no AWS region"), f"note: cannot read {STACK} (no AWS region)"),
    ],
)
def test_without_a_readable_service_stack_watch_runs_after_cdk(project, monkeypatch, capsys, baseline, note):
    recorder = install(monkeypatch, Recorder(states=[baseline]))
    assert run() == 0
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "cdk ended", "watch", "verify"]
    assert recorder.events.count("stack?") == 1  # the baseline only: no polling
    out = capsys.readouterr().out
    assert note in out
    assert "watch runs after cdk deploy: cdk deploy (pid 4242) is still running, waiting for it to finish" in out


def test_a_stack_read_failing_while_polling_waits_for_cdk_then_watches(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder(states=[SETTLED, deploy.target_module.TargetError("expired"), SETTLED]))
    assert run() == 0
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "cdk ended", "watch", "verify"]
    assert f"note: cannot read {STACK} (expired)" in capsys.readouterr().out


def test_watch_failure_with_cdk_success_is_reported_as_watch(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder({"watch": 1}))
    assert run() == 1
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "watch", "cdk ended"]
    assert one_error_line(capsys.readouterr().err) == (
        "error: deploy stopped at step 5/6 'watch' (exit 1; cdk deploy exit 0); not run: verify"
    )


def test_verify_failure_is_named(project, monkeypatch, capsys):
    install(monkeypatch, Recorder({"verify": 1}))
    assert run() == 1
    assert one_error_line(capsys.readouterr().err) == "error: deploy stopped at step 6/6 'verify' (exit 1); not run: none"


def test_watch_runs_as_a_subprocess_when_the_module_is_not_installed(project, monkeypatch):
    recorder = install(monkeypatch, Recorder(), watch_in_process=False)
    monkeypatch.setattr(deploy, "ava_olo_executable", lambda: ["/opt/bin/ava-olo"])
    assert run() == 0
    assert recorder.steps == ALL and recorder.cdk_running_during_watch is True
    assert recorder.argv("watch") == (["/opt/bin/ava-olo", "watch", "--env", "staging"], None)


# ----------------------------------------------------------------------------------------------------------------
# Waiting for cdk deploy: heartbeats and --cdk-timeout (cdk is never stopped by the timeout)
# ----------------------------------------------------------------------------------------------------------------

HEARTBEAT = "cdk deploy still running ({} min); log: cdk.out/ava-olo-deploy.log"


def test_a_long_cdk_deploy_after_watch_prints_a_heartbeat_every_few_minutes(project, monkeypatch, capsys):
    """watch gave up at 10 s; CloudFormation still waits for ECS: a line every HEARTBEAT_SECONDS, none in between."""
    runs_for = 2 * deploy.HEARTBEAT_SECONDS + 60  # 7 min
    recorder = install(monkeypatch, Recorder(cdk=FakeCdk(runs_for=runs_for)))
    assert run() == 0
    assert recorder.steps == ALL
    assert runs_for <= recorder.clock < runs_for + deploy.CDK_POLL_SECONDS  # polled, not one long sleep
    out = capsys.readouterr().out
    heartbeats = [line.strip() for line in out.splitlines() if "cdk deploy still running" in line]
    assert heartbeats == [HEARTBEAT.format(3), HEARTBEAT.format(6)]
    assert "    cdk deploy finished (exit 0)" in out


def test_cdk_timeout_stops_waiting_but_leaves_cdk_deploy_running(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder(cdk=FakeCdk(runs_for=None)))  # CloudFormation waits for ECS for hours
    assert run() == deploy.EXIT_CDK_TIMEOUT
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "watch"]  # no "cdk stop", no verify
    assert not recorder.cdk.finished
    limit = deploy.CDK_TIMEOUT_MINUTES * 60  # the default, 120 min
    assert limit <= recorder.clock < limit + deploy.CDK_POLL_SECONDS
    captured = capsys.readouterr()
    heartbeats = [line for line in captured.out.splitlines() if "cdk deploy still running" in line]
    assert len(heartbeats) == int((limit - deploy.POLL_SECONDS) // deploy.HEARTBEAT_SECONDS)
    assert ("gave up waiting for cdk deploy after 120 min (--cdk-timeout 120): it was NOT stopped - a deployment is "
            "not cut short - and keeps running in the background (pid 4242), writing to cdk.out/ava-olo-deploy.log; "
            "follow it with 'tail -f cdk.out/ava-olo-deploy.log' and 'ava-olo watch --env staging'") in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 4/6 'cdk deploy' (exit 124, still running after --cdk-timeout 120 min: not "
        "stopped, log: cdk.out/ava-olo-deploy.log; watch exit 0); not run: verify"
    )


def test_cdk_timeout_while_waiting_for_cloudformation_skips_watch(project, monkeypatch, capsys):
    """cdk hangs publishing assets: the service stack never changes; --cdk-timeout 1 ends the wait after a minute."""
    recorder = install(monkeypatch, Recorder(cdk=FakeCdk(runs_for=None), states=[SETTLED]))
    assert run("--cdk-timeout", "1") == deploy.EXIT_CDK_TIMEOUT
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy"]
    assert 60 <= recorder.clock < 60 + deploy.POLL_SECONDS
    captured = capsys.readouterr()
    assert "gave up waiting for cdk deploy after 1 min (--cdk-timeout 1): it was NOT stopped" in captured.out
    assert "still running, waiting for it to finish" not in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 4/6 'cdk deploy' (exit 124, still running after --cdk-timeout 1 min: not "
        "stopped, log: cdk.out/ava-olo-deploy.log); not run: watch, verify"
    )


def test_cdk_ending_before_the_timeout_is_not_a_timeout(project, monkeypatch):
    recorder = install(monkeypatch, Recorder(cdk=FakeCdk(runs_for=25 * 60)))
    assert run("--cdk-timeout", "30") == 0
    assert recorder.steps == ALL


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf"])
def test_a_bad_cdk_timeout_is_bad_input(project, monkeypatch, capsys, value):
    recorder = install(monkeypatch, Recorder())
    assert run("--cdk-timeout", value) == 2
    assert recorder.events == []
    assert "--cdk-timeout" in one_error_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------------------------------
# Interrupts and errors while cdk deploy runs: cdk is never left running
# ----------------------------------------------------------------------------------------------------------------


def test_ctrl_c_in_watch_waits_for_cdk_deploy_instead_of_cutting_it_short(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder(watch_raises=KeyboardInterrupt()), watch_in_process=False)
    assert run() == 130
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "watch", "cdk ended"]
    assert recorder.cdk.finished and "cdk stop" not in recorder.events
    captured = capsys.readouterr()
    assert ("interrupted: cdk deploy (pid 4242) is still running, waiting for it to finish - a deployment is not cut "
            "short; Ctrl-C again stops cdk deploy") in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 5/6 'watch' (exit 130; cdk deploy exit 0); not run: verify"
    )


def test_an_in_process_watch_interrupted_reports_130_and_deploy_still_waits(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder({"watch": 130}))  # cli.main turns the Ctrl-C into exit 130
    assert run() == 130
    assert recorder.steps[-2:] == ["watch", "cdk ended"]
    assert "watch was interrupted: cdk deploy (pid 4242) is still running" in capsys.readouterr().out


def test_ctrl_c_while_waiting_for_cloudformation_waits_for_cdk(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder(states=[SETTLED], interrupted_sleeps=1))
    assert run() == 130
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "cdk ended"]
    assert "'watch' (exit 130; cdk deploy exit 0)" in one_error_line(capsys.readouterr().err)


def test_a_second_ctrl_c_stops_cdk_deploy_and_says_so(project, monkeypatch, capsys):
    # the stack updates at the first poll (no sleep before watch); the first sleep while waiting for cdk: a Ctrl-C
    recorder = install(monkeypatch, Recorder(states=[SETTLED, UPDATING], watch_raises=KeyboardInterrupt(),
                                             interrupted_sleeps=1), watch_in_process=False)
    assert run() == 130
    assert recorder.steps == ["preflight", "synth", "guard", "cdk deploy", "watch", "cdk stop"]
    captured = capsys.readouterr()
    assert ("stopped cdk deploy (exit 130). A CloudFormation update it had started continues in AWS - follow it with "
            "'ava-olo watch --env staging'") in captured.out
    assert one_error_line(captured.err) == (
        "error: deploy stopped at step 4/6 'cdk deploy' (exit 130, stopped by Ctrl-C; watch exit 130); not run: verify"
    )


def test_an_unexpected_error_in_watch_waits_for_cdk_then_propagates(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder(watch_raises=RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        run()
    assert recorder.steps[-2:] == ["watch", "cdk ended"] and recorder.cdk.finished
    assert "error while cdk deploy runs (RuntimeError: boom): cdk deploy (pid 4242) is still running" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------------------
# The real launcher and background process (a fake Popen: nothing is started)
# ----------------------------------------------------------------------------------------------------------------


class FakePopen:
    def __init__(self, argv: list[str], **options: Any) -> None:
        self.argv, self.options = argv, options
        self.pid = 777
        self.returncode: Optional[int] = None
        self.waits: list[Optional[float]] = []
        self.slow = True

    def poll(self) -> Optional[int]:
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        self.waits.append(timeout)
        if timeout is not None and self.slow:
            raise subprocess.TimeoutExpired(self.argv, timeout)
        self.returncode = -9
        return self.returncode


def test_the_launcher_starts_cdk_in_its_own_session_with_its_output_in_the_log(project, monkeypatch):
    started: list[FakePopen] = []

    def popen(argv: list[str], **options: Any) -> FakePopen:
        started.append(FakePopen(argv, **options))
        return started[-1]

    monkeypatch.setattr(deploy.subprocess, "Popen", popen)
    process = deploy.start_background(["npx", "cdk", "deploy"], {"AWS_REGION": "eu-west-1"}, Path("cdk.out/x.log"))
    (fake,) = started
    assert fake.argv == ["npx", "cdk", "deploy"] and process.pid == 777
    assert fake.options["start_new_session"] is True
    assert fake.options["stdin"] == subprocess.DEVNULL and fake.options["stderr"] == subprocess.STDOUT
    assert Path(fake.options["stdout"].name) == Path("cdk.out/x.log") and (project / "cdk.out" / "x.log").is_file()
    assert fake.options["env"]["AWS_REGION"] == "eu-west-1"


def test_the_launcher_reports_a_missing_cdk_as_exit_127(project, monkeypatch, capsys):
    def missing(argv: list[str], **options: Any) -> None:
        raise FileNotFoundError(argv[0])

    monkeypatch.setattr(deploy.subprocess, "Popen", missing)
    process = deploy.start_background(["npx", "cdk", "deploy"], None, Path("cdk.out/x.log"))
    assert process.poll() == 127 and process.wait() == 127
    assert one_error_line(capsys.readouterr().err).startswith("error: command not found: npx")


def test_stopping_sends_sigint_to_the_process_group_then_sigkill(monkeypatch):
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(deploy.os, "killpg", lambda pid, number: sent.append((pid, number)))
    fake = FakePopen(["cdk"])
    process = deploy.BackgroundProcess(fake, grace_seconds=5)  # type: ignore[arg-type]
    assert deploy._exit_code(process.stop()) == 137
    assert sent == [(777, signal.SIGINT), (777, signal.SIGKILL)]
    assert fake.waits == [5, None]


# ----------------------------------------------------------------------------------------------------------------
# Dry run and bad input
# ----------------------------------------------------------------------------------------------------------------


def test_dry_run_prints_the_six_commands_in_order_and_runs_nothing(project, monkeypatch, capsys):
    recorder = install(monkeypatch, Recorder())
    assert run("--dry-run", "--region", "eu-west-1", "--override", "hotfix for login", "--url", "https://ava.example") == 0
    assert recorder.events == [] and recorder.calls == []
    region = "AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dry run: deploying v3.2.1 to staging would run (nothing was run):"
    assert out[1] == ("  1. ava-olo preflight --env staging --version v3.2.1 --region eu-west-1 --changelog CHANGELOG.md "
                      "--override 'hotfix for login'")
    assert out[2] == f"  2. {region} npx cdk synth -c env=staging -c version=v3.2.1 --quiet --output cdk.out"
    assert out[3] == "  3. ava-olo guard --cdk-out cdk.out --region eu-west-1"
    assert out[4] == (f"  4. {region} npx cdk deploy --app cdk.out --all --require-approval never "
                      "> cdk.out/ava-olo-deploy.log 2>&1 &")
    assert out[5] == (f"  5. ava-olo watch --env staging --region eu-west-1  # while step 4 runs, from when CloudFormation "
                      f"starts updating {STACK}")
    assert out[6].startswith("  6. ava-olo verify --env staging --version v3.2.1 --region eu-west-1 --url https://ava.example ")
    assert out[6].endswith("  # after steps 4 and 5 passed")
    assert len(out) == 7


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
    assert recorder.events == []
    assert message in one_error_line(capsys.readouterr().err)


def test_unknown_environment_is_bad_input(project, monkeypatch, capsys):
    (project / "environments").mkdir()
    (project / "environments" / "staging.json").write_text("{}")
    from ava_olo_ops.cli import main

    recorder = install(monkeypatch, Recorder())
    assert main(["deploy", "--env", "prod", "--version", "v3.2.1"]) == 2
    assert recorder.events == []
    assert "unknown environment 'prod'" in one_error_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------------------------------
# End to end, except cdk and watch
# ----------------------------------------------------------------------------------------------------------------


def test_real_preflight_stack_polling_and_verify_around_a_recorded_cdk_and_watch(project, monkeypatch, capsys):
    """preflight and the wait for CloudFormation on a stubbed AWS, verify against a local HTTP server."""
    monkeypatch.setattr(preflight, "clock", lambda: THURSDAY_10)
    aws = install_aws(monkeypatch, Aws()).settled(running="v3.2.0")
    for status, updated in (("UPDATE_COMPLETE", T0), ("UPDATE_COMPLETE", T0), ("UPDATE_IN_PROGRESS", T1)):
        aws.stubbers["cloudformation"].add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": STACK, "CreationTime": T0, "LastUpdatedTime": updated, "StackStatus": status}]},
            {"StackName": STACK},
        )
    recorder = install(monkeypatch, Recorder(real=("preflight", "verify")), watch_in_process=False,
                       real_stack_state=True)
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
    assert recorder.steps == ALL and recorder.cdk_running_during_watch is True
    assert "ready: v3.2.1 may be deployed to staging" in out
    assert "✓ verified on attempt 1/2" in out and "commit 0123abcd" in out
    assert out.rstrip().endswith("deployed v3.2.1 to staging: preflight, cdk synth, guard, cdk deploy, watch and verify all passed")
    aws.assert_all_used()
