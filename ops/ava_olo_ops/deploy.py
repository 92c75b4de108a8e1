"""``ava-olo deploy``: the project's one deploy path - CloudFormation executes exactly the change sets the guard passed.

It stops at the first step that fails (seed, "What NOT to Do" #4: no check is skipped):

1. ``ava-olo preflight`` (``--env --version``, ``--region`` / ``--profile`` / ``--override`` passed on).
2. ``cdk synth -c env=E -c version=V --quiet --output cdk.out``: the cloud assembly every later step uses.
3. Per stack, each after the stacks it depends on (the assembly's manifest):

   a. ``cdk deploy --app cdk.out STACK --exclusively --method=prepare-change-set --change-set-name ava-olo-V``:
      cdk publishes the assets and creates the change set; nothing is executed.
   b. The guard (:func:`~ava_olo_ops.stateful_guard.guard_change_set`): ``DescribeChangeSet`` plus the deployed
      template's policies. A violation stops here; the change set is left for review, nothing was changed.
   c. The service stack, with ``--migrate``: ``ava-olo migrate`` with the release's image, *before* the service
      update, so no task of the release serves on the old schema (README "Migrations").
   d. The stack policy (:mod:`.stack_policy`) from the deployed and the new template, set before executing.
   e. ``ExecuteChangeSet`` of exactly that change set; for the service stack
      ``ava_olo_ops.watch.follow_release(target, version)`` follows the ECS rollout; then boto3's
      ``stack_create_complete`` / ``stack_update_complete`` waiter: done only when CloudFormation says so.
      A new stack gets its stack policy right after it is created.
4. ``ava-olo verify --env E --version V``.

A deliberate, reviewed replacement: ``--allow-replace LOGICAL_ID --override REASON`` lets the guard pass that
resource and leaves it out of the stack policy for this one deploy; the full policy is set again afterwards.
Ctrl-C while CloudFormation works: the update is not cut short - it continues in AWS (exit 130).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from . import migrate as migrate_module
from . import stack_policy
from . import stateful_guard as guard
from . import target as target_module
from . import versions
from .cli import CliError, register
from .console import emit

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
CLOUD_ASSEMBLY = "cdk.out"
LOCAL_CDK = Path("node_modules") / ".bin" / "cdk"
WAIT_DELAY_SECONDS = 15.0
STACK_TIMEOUT_MINUTES = 120


def change_set_name(version: str) -> str:
    """``ava-olo-<version>`` as a change set name (letters, digits, hyphens; a letter first)."""
    return "ava-olo-" + re.sub(r"[^A-Za-z0-9-]", "-", version)


def run_subprocess(argv: Sequence[str]) -> int:
    sys.stdout.flush()
    try:
        return subprocess.run(list(argv), check=False).returncode
    except OSError as error:
        print(f"error: cannot run {argv[0]}: {error.strerror} (run ./dev.sh setup)", file=sys.stderr)
        return 127


def run_ava_olo(argv: Sequence[str]) -> int:
    from .cli import main

    sys.stdout.flush()
    return main(list(argv))


#: The boundaries the tests replace: a subprocess (cdk), an in-process ``ava-olo`` subcommand.
runner: Callable[[Sequence[str]], int] = run_subprocess
ava_olo: Callable[[Sequence[str]], int] = run_ava_olo


def follow_release(target: Any, version: str) -> int:
    """The ECS rollout of ``version`` on the service stack, as ``ava-olo watch`` follows it (its exit code)."""
    try:
        from .watch import follow_release as follow  # ava_olo_ops.watch.follow_release(target, version) -> int
    except ImportError:
        emit("    note: ava_olo_ops.watch.follow_release is not installed: CloudFormation's waiter alone decides "
             "(it completes an ECS service update only once ECS reports the deployment COMPLETED)\n")
        return 0
    return follow(target, version)


def cdk_command() -> list[str]:
    return [f"./{LOCAL_CDK.as_posix()}"] if LOCAL_CDK.exists() else ["npx", "cdk"]


class Stop(Exception):
    """A step failed: ``code`` is its exit code; the lines have been printed."""

    def __init__(self, step: str, code: int, detail: str = "") -> None:
        super().__init__(step)
        self.step, self.code, self.detail = step, code, detail


class Deploy:
    def __init__(self, args: argparse.Namespace, target: target_module.Target) -> None:
        self.args, self.target = args, target
        self.version, self.change_set = args.version, change_set_name(args.version)
        self.where = target_module.target_argv(args)  # the same stacks for every step: region, profile, project
        self.profile = ["--profile", args.profile] if args.profile else []
        self.done: list[str] = []

    # -- the commands ---------------------------------------------------------------------------------------------

    def preflight(self) -> list[str]:
        override = ["--override", self.args.override] if self.args.override else []
        return ["preflight", "--env", self.args.env, "--version", self.version, *self.where, *override]

    def synth(self) -> list[str]:
        return cdk_command() + ["synth", "-c", f"env={self.args.env}", "-c", f"version={self.version}", "--quiet",
                                "--output", CLOUD_ASSEMBLY, *self.profile]

    def prepare(self, artifact_id: str) -> list[str]:
        return cdk_command() + ["deploy", "--app", CLOUD_ASSEMBLY, artifact_id, "--exclusively",
                                "--method=prepare-change-set", "--change-set-name", self.change_set,
                                "--require-approval", "never", *self.profile]

    def migrate(self) -> list[str]:  # never deploy's --override: the database's gates yield only to their own
        return ["migrate", "--env", self.args.env, "--version", self.version, *self.where,
                *migrate_module.staging_argv(self.args)]

    def verify(self) -> list[str]:
        return ["verify", "--env", self.args.env, "--version", self.version, *self.where]

    def say(self, text: str) -> None:
        emit(text + "\n", flush=True)

    # -- the run --------------------------------------------------------------------------------------------------

    def step(self, name: str, argv: Sequence[str], in_process: bool = True) -> None:
        self.say(f"==> {name}: {shlex.join(['ava-olo', *argv] if in_process else list(argv))}")
        code = ava_olo(argv) if in_process else runner(argv)
        if code != 0:
            raise Stop(name, code)
        self.done.append(name)

    def run(self) -> int:
        self.step("preflight", self.preflight())
        self.step("cdk synth", self.synth(), in_process=False)
        stacks = guard.read_cloud_assembly(CLOUD_ASSEMBLY)
        cloudformation = self.target.client("cloudformation")
        for stack in stacks:
            self.deploy_stack(cloudformation, stack)
        self.step("verify", self.verify())
        self.say(f"deployed {self.version} to {self.args.env}: {', '.join(self.done)}")
        return EXIT_OK

    def deploy_stack(self, cloudformation: Any, stack: guard.StackArtifact) -> None:
        name, allowed = stack.stack_name, self.args.allow_replace
        old = guard.deployed_template(cloudformation, name)
        self.step(f"change set {name}", self.prepare(stack.artifact_id), in_process=False)
        result = guard.guard_change_set(cloudformation, name, self.change_set, stack.template, old)
        emit(guard.render([result], allowed))
        code = guard.exit_code([result], allowed)
        if code != 0:
            raise Stop(f"guard {name}", code, f"; change set {self.change_set} is left for review, not executed")
        service = name == self.target.service_stack
        if result.status == "unchanged":
            if old is not None:
                stack_policy.apply(cloudformation, name, old, stack.template)
            self.say(f"    {name}: no changes; stack policy re-applied")
            return
        if service and self.args.migrate and old is not None:
            self.step("migrate", self.migrate())
        if old is not None:
            protected = stack_policy.apply(cloudformation, name, old, stack.template, allow=allowed)
            self.say(f"    stack policy of {name}: Update:Replace and Update:Delete denied on {len(protected)} "
                     f"stateful resource(s)" + (f"; lifted for this deploy only: {', '.join(allowed)}" if allowed else ""))
        self.say(f"==> execute {self.change_set} on {name}")
        cloudformation.execute_change_set(StackName=name, ChangeSetName=self.change_set)
        try:
            watched = follow_release(self.target, self.version) if service else 0
            self.wait(cloudformation, name, "stack_create_complete" if old is None else "stack_update_complete")
        finally:  # a new stack's first policy; the full policy again after a lift (a lift lasts one deploy)
            try:
                if old is None or allowed:  # else the policy set before executing is already the full one
                    stack_policy.apply(cloudformation, name, old, stack.template)
            except ClientError as error:
                self.say(f"    note: stack policy of {name} not set: {target_module.aws_error_line(error, prefix='')}")
        self.done.append(f"{name} executed")
        if service and self.args.migrate and old is None:
            self.step("migrate", self.migrate())  # a first deploy: the migration task exists only now
        if watched != 0:
            raise Stop(f"watch {name}", watched, "; CloudFormation finished, but the rollout did not pass watch")

    def wait(self, cloudformation: Any, name: str, waiter: str) -> None:
        attempts = max(1, int(self.args.stack_timeout * 60 // WAIT_DELAY_SECONDS))
        try:
            cloudformation.get_waiter(waiter).wait(
                StackName=name, WaiterConfig={"Delay": WAIT_DELAY_SECONDS, "MaxAttempts": attempts})
        except WaiterError as error:
            stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
            status = f"{stacks[0].get('StackStatus')} {stacks[0].get('StackStatusReason', '')}".strip() if stacks else "?"
            raise Stop(f"execute {name}", EXIT_FAILED, f"; {name} is {status} ({' '.join(str(error).split())})") from None
        self.say(f"    {name}: {waiter.removeprefix('stack_').removesuffix('_complete')} complete (CloudFormation)")


# --------------------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------------------


def _minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of minutes, got {value!r}")
    return minutes


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser, version_help="the release to deploy, e.g. v3.2.0-schema-button-aurora")
    parser.add_argument("--override", metavar="REASON", help="passed to preflight (not to migrate: run ava-olo migrate --override first); needed by --allow-replace")
    parser.add_argument("--migrate", action="store_true",
                        help="run ava-olo migrate with the release's image before the service stack is updated")
    migrate_module.add_staging_arguments(parser)  # for --migrate's production gate
    parser.add_argument("--allow-replace", action="append", default=[], metavar="LOGICAL_ID",
                        help="a reviewed replacement/removal of this stateful resource: the guard lets it pass and the "
                             "stack policy is lifted for it for this deploy only (needs --override)")
    parser.add_argument("--stack-timeout", type=_minutes, default=STACK_TIMEOUT_MINUTES, metavar="MINUTES",
                        help=f"how long to wait for CloudFormation per stack (default {STACK_TIMEOUT_MINUTES})")
    parser.add_argument("--dry-run", action="store_true", help="print the steps without running any of them")


def cmd_deploy(args: argparse.Namespace) -> int:
    try:
        versions.parse(args.version, what="--version")
        target = target_module.from_args(args)
    except (versions.VersionError, target_module.TargetError) as error:
        raise CliError(str(error)) from None
    if args.override is not None and not " ".join(args.override.split()):
        raise CliError('--override needs a reason, e.g. --override "replacing the log group, reviewed in #123"')
    if args.allow_replace and not args.override:
        raise CliError("--allow-replace needs --override REASON: a replacement of a stateful resource is reviewed")
    deploy = Deploy(args, target)
    if args.dry_run:
        name = deploy.change_set
        emit(f"dry run: deploying {args.version} to {args.env} would run (nothing was run):\n"
             f"  1. ava-olo {shlex.join(deploy.preflight())}\n  2. {shlex.join(deploy.synth())}\n"
             f"  3. per stack of {CLOUD_ASSEMBLY}, in dependency order: {shlex.join(deploy.prepare('STACK'))}; guard "
             f"change set {name}; " + ("before the service stack: ava-olo " + shlex.join(deploy.migrate()) + "; "
                                       if args.migrate else "")
             + f"set the stack policy; execute {name}; watch the service rollout; wait for CloudFormation\n"
             f"  4. ava-olo {shlex.join(deploy.verify())}\n")
        return EXIT_OK
    try:
        return deploy.run()
    except Stop as stop:
        print(f"error: deploy stopped at '{stop.step}' (exit {stop.code}{stop.detail}); done before: "
              f"{', '.join(deploy.done) or 'nothing'}", file=sys.stderr)
        return stop.code
    except guard.GuardInputError as error:
        raise CliError(str(error)) from None
    except KeyboardInterrupt:
        print(f"error: interrupted; a CloudFormation update already started is not cut short: it continues in AWS "
              f"(follow it: ava-olo watch --env {args.env}); done before: {', '.join(deploy.done) or 'nothing'}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ClientError, BotoCoreError) as error:
        print(f"error: deploy: {target_module.aws_error_line(error)}; done before: {', '.join(deploy.done) or 'nothing'}",
              file=sys.stderr)
        return EXIT_FAILED


register("deploy", "preflight, synth, then per stack a change set that the stateful guard passes, the stack policy, "
         "migrate (--migrate) before the service update, execute, watch; then verify", _arguments, cmd_deploy)
