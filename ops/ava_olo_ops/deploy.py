"""``ava-olo deploy``: preflight, synth, stateful guard, ``cdk deploy`` watched live, verify.

It stops at the first step that fails (seed, "What NOT to Do" #4: no check is skipped):

1. ``ava-olo preflight`` (same options; a refusal stops here, nothing is deployed).
2. ``cdk synth -c env=E -c version=V --quiet --output cdk.out``: the cloud assembly that steps 3 and 4 share.
3. ``ava-olo guard --cdk-out cdk.out`` (in this process; ``--region`` / ``--profile`` passed on). Exit 1: a stateful
   resource (database, secret, key, log group, bucket, ...) would be deleted or replaced; exit 2: a stack could not
   be verified. Either stops here, before anything is deployed.
4. ``cdk deploy --app cdk.out --all --require-approval never``: exactly the assembly the guard checked (no second
   synth), started in the **background**. Its output goes to ``cdk.out/ava-olo-deploy.log`` (the last lines are
   printed when it fails), so it does not garble watch's status line.
5. ``ava-olo watch --env E`` in the foreground **while step 4 runs**, so the operator sees the phases, progress and
   ETA during the 12-17 minutes CloudFormation waits for ECS. watch, started while the service stack is not being
   updated, would find the last ECS deployment COMPLETED and end at once ("nothing to wait for"); and cdk first
   publishes assets and deploys the data stack. So deploy polls the service stack
   (``cloudformation:DescribeStacks`` every :data:`POLL_SECONDS`) and starts watch when the stack is
   ``*_IN_PROGRESS`` or its ``LastUpdatedTime`` changed; watch then says it waits for CloudFormation to start the
   ECS deployment and follows it. watch runs *after* cdk instead - as a summary, and only when cdk succeeded - when
   cdk finishes first (no change to the service stack), when the service stack does not exist yet (a first deploy:
   its outputs appear only when it is created) or when the stack cannot be read.
   After watch, deploy waits for cdk deploy - CloudFormation may wait for ECS for up to 3 hours after watch gave up -
   polling it every :data:`CDK_POLL_SECONDS` and printing ``cdk deploy still running (N min); log:
   cdk.out/ava-olo-deploy.log`` every :data:`HEARTBEAT_SECONDS`. Result: cdk deploy failed -> stop at step 4 with
   cdk's exit code (and watch's, printed too); else watch failed -> stop at step 5 with watch's exit code; else step 6.
   ``--cdk-timeout MINUTES`` (default :data:`CDK_TIMEOUT_MINUTES`, counted from the start of cdk deploy): when it is
   exceeded deploy stops *waiting* - cdk deploy is not stopped (a deployment is not cut short), it keeps running in
   the background writing to its log - and stops at step 4 with exit :data:`EXIT_CDK_TIMEOUT`.
6. ``ava-olo verify`` (same ``--url`` / ``--attempts`` / ``--backoff`` / ``--timeout`` options).

cdk is the project's pinned CLI ``./node_modules/.bin/cdk`` when it exists, else ``npx cdk``; ``--profile`` is
passed to cdk synth and deploy, ``--region`` becomes ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` for both (what
environments with ``"region": "from-cli"`` deploy to). watch is run in this process when ``ava_olo_ops.watch`` is
installed, else as the subprocess ``ava-olo watch``; ``--region`` / ``--profile`` / ``--version`` are passed on
when watch accepts them.

Interrupts - decided: a deployment is not cut short (seed). cdk deploy runs in a session of its own, so Ctrl-C
reaches deploy and watch but not cdk. Ctrl-C (or an unexpected error in watch) while cdk deploy runs: deploy says
that cdk deploy is still running and waits for it to finish, then stops at the step it was in (exit 130 for
Ctrl-C; an unexpected error is re-raised). A *second* Ctrl-C stops cdk (SIGINT to its process group, SIGKILL after
:data:`STOP_GRACE_SECONDS`) and says so: a CloudFormation update cdk has already started continues in AWS (follow
it with ``ava-olo watch``), stacks it has not started are not deployed. So deploy never returns with its cdk
still running - except after ``--cdk-timeout`` (above); only then, or when deploy itself is killed (SIGKILL,
SIGTERM), does cdk finish on its own, writing to the log.

The exit code is the failing step's own exit code, and one ``error:`` line on stderr names that step and the steps
that did not run. ``--dry-run`` checks the arguments and prints the six commands in order without running any of
them (no AWS access, no preflight).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_module
from .cli import COMMANDS, CliError, register
from .console import emit
from .preflight import VERSION_HELP, add_preflight_options, override_reason, parse_version, resolve_timezone
from .verify import add_verify_options, check_url

EXIT_OK = 0
EXIT_INTERRUPTED = 130
#: deploy gave up waiting for cdk deploy (``--cdk-timeout``); cdk keeps running (as timeout(1) reports a time-out).
EXIT_CDK_TIMEOUT = 124

#: The project's pinned CDK CLI (package.json), relative to the directory deploy runs in.
LOCAL_CDK = Path("node_modules") / ".bin" / "cdk"

#: The cloud assembly: written by step 2, checked by step 3, deployed by step 4.
CLOUD_ASSEMBLY = "cdk.out"

#: Where the background ``cdk deploy`` writes its output.
CDK_LOG = f"{CLOUD_ASSEMBLY}/ava-olo-deploy.log"

#: Lines of the cdk log printed when cdk deploy fails.
LOG_TAIL_LINES = 40

#: Seconds between two reads of the service stack while waiting for CloudFormation to start updating it.
POLL_SECONDS = 10.0

#: While waiting for CloudFormation, a "still waiting" line at least this often.
NOTE_SECONDS = 120.0

#: Seconds between two checks whether cdk deploy has ended, while deploy waits for it.
CDK_POLL_SECONDS = 5.0

#: While deploy waits for cdk deploy, a "cdk deploy still running" line at least this often.
HEARTBEAT_SECONDS = 180.0

#: Default of ``--cdk-timeout``: minutes after which deploy stops waiting for cdk deploy (and leaves it running).
CDK_TIMEOUT_MINUTES = 120.0

#: After SIGINT, seconds cdk gets to stop before SIGKILL.
STOP_GRACE_SECONDS = 30.0

#: Options of deploy that are passed on to ``watch`` when its parser declares them.
WATCH_FORWARDED = ("--region", "--profile", "--version")

#: What a guard exit code means (``ava-olo guard``: 0 safe, 1 violations, 2 not verified).
GUARD_MEANING = {1: "a stateful resource would be deleted or replaced", 2: "not every stack could be verified"}


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    in_process: bool  # an ``ava-olo`` subcommand run through cli.main, else a subprocess
    env: dict[str, str] = field(default_factory=dict)  # extra environment variables for a subprocess
    log: Optional[str] = None  # run in the background with its output in this file
    note: Optional[str] = None  # when it runs, for the dry run

    def display(self) -> str:
        words = (["ava-olo"] + self.argv) if self.in_process else self.argv
        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in self.env.items())
        text = prefix + shlex.join(words)
        return text + f" > {shlex.quote(self.log)} 2>&1 &" if self.log else text


# --------------------------------------------------------------------------------------------------------------
# Running things (each replaceable by the tests)
# --------------------------------------------------------------------------------------------------------------


def _environment(env: Optional[dict[str, str]]) -> Optional[dict[str, str]]:
    return {**os.environ, **env} if env else None


def _not_runnable(argv: Sequence[str], error: OSError) -> int:
    if isinstance(error, FileNotFoundError):
        print(f"error: command not found: {argv[0]} (install Node.js >= 20 and run ./dev.sh setup)", file=sys.stderr)
        return 127
    print(f"error: cannot execute {argv[0]}", file=sys.stderr)
    return 126


def run_subprocess(argv: Sequence[str], env: Optional[dict[str, str]] = None) -> int:
    """Run ``argv`` in the current directory with the inherited output; its exit code (127: not found)."""
    sys.stdout.flush()
    try:
        return subprocess.run(list(argv), env=_environment(env), check=False).returncode
    except (FileNotFoundError, PermissionError) as error:
        return _not_runnable(argv, error)


#: The foreground subprocess runner (tests replace it): (argv, extra environment) -> exit code.
runner: Callable[[Sequence[str], Optional[dict[str, str]]], int] = run_subprocess


class Background(Protocol):
    """A process running in the background (what :data:`launcher` returns)."""

    pid: int

    def poll(self) -> Optional[int]:
        """Its exit code, or None while it runs."""

    def wait(self) -> int:
        """Block until it ends; its exit code."""

    def stop(self) -> int:
        """Stop it (SIGINT, then SIGKILL after a grace period); its exit code."""


class BackgroundProcess:
    """A :class:`subprocess.Popen` started in a session of its own (Ctrl-C in the terminal does not reach it)."""

    def __init__(self, popen: "subprocess.Popen[bytes]", grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.grace_seconds = grace_seconds

    def poll(self) -> Optional[int]:
        return self.popen.poll()

    def wait(self) -> int:
        return self.popen.wait()

    def _signal(self, number: int) -> None:
        try:
            if os.name == "posix":
                os.killpg(self.popen.pid, number)  # the whole group: npx, node and whatever cdk started
            elif number == signal.SIGINT:
                self.popen.terminate()
            else:
                self.popen.kill()
        except (ProcessLookupError, PermissionError):
            pass  # already gone

    def stop(self) -> int:
        if self.popen.poll() is not None:
            return self.popen.returncode
        self._signal(signal.SIGINT)  # what Ctrl-C would have sent it: cdk stops its own work
        try:
            return self.popen.wait(timeout=self.grace_seconds)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))
            return self.popen.wait()


class NotStarted:
    """A background command that could not be started: it has already "ended" with ``code``."""

    pid = 0

    def __init__(self, code: int) -> None:
        self.code = code

    def poll(self) -> Optional[int]:
        return self.code

    def wait(self) -> int:
        return self.code

    def stop(self) -> int:
        return self.code


def start_background(argv: Sequence[str], env: Optional[dict[str, str]], log: Path) -> Background:
    """Start ``argv`` in its own session, stdin closed, stdout and stderr into ``log`` (overwritten)."""
    sys.stdout.flush()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:  # the child has its own copy of the descriptor
        try:
            popen = subprocess.Popen(
                list(argv), env=_environment(env), stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=os.name == "posix",
            )
        except (FileNotFoundError, PermissionError) as error:
            return NotStarted(_not_runnable(argv, error))
    return BackgroundProcess(popen)


#: Starts a background subprocess (tests replace it): (argv, extra environment, log file) -> :class:`Background`.
launcher: Callable[[Sequence[str], Optional[dict[str, str]], Path], Background] = start_background


def run_ava_olo(argv: Sequence[str]) -> int:
    """An ``ava-olo`` subcommand in this process (its errors are printed by cli.main as usual)."""
    from .cli import main

    sys.stdout.flush()
    return main(list(argv))


#: Runs an in-process ``ava-olo`` step (tests may replace it): argv without "ava-olo" -> exit code.
ava_olo: Callable[[Sequence[str]], int] = run_ava_olo


@dataclass(frozen=True)
class StackState:
    status: str
    last_updated: Optional[datetime]


def read_stack_state(target: Any) -> Optional[StackState]:
    """The service stack's status and LastUpdatedTime; None when the stack does not exist. AWS errors raise."""
    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=target.service_stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return StackState(str(stacks[0].get("StackStatus", "")), stacks[0].get("LastUpdatedTime"))


#: Reads the service stack (tests replace it): target -> :class:`StackState` or None (no such stack).
stack_state: Callable[[Any], Optional[StackState]] = read_stack_state

#: Waiting and the clock of the wait for CloudFormation (tests replace them).
sleep: Callable[[float], None] = time.sleep
monotonic: Callable[[], float] = time.monotonic


def watch_available() -> bool:
    return importlib.util.find_spec(f"{__package__}.watch") is not None


def cdk_command() -> list[str]:
    return [f"./{LOCAL_CDK.as_posix()}"] if LOCAL_CDK.exists() else ["npx", "cdk"]


def ava_olo_executable() -> list[str]:
    """``ava-olo`` on PATH, else the one beside this Python, else this Python importing the entry point."""
    found = shutil.which("ava-olo")
    if found:
        return [found]
    beside = Path(sys.executable).with_name("ava-olo")
    if beside.is_file():
        return [str(beside)]
    # not ``-m ava_olo_ops.cli``: run as __main__, cli.py would hold a second, empty command registry
    return [sys.executable, "-c", "import sys; from ava_olo_ops.cli import main; sys.exit(main())"]


# --------------------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------------------


def _accepted_options(command: str) -> Optional[set[str]]:
    """The option strings a registered subcommand declares, or None when it is not registered here."""
    if command not in COMMANDS:
        return None
    parser = argparse.ArgumentParser(add_help=False)
    COMMANDS[command].add_arguments(parser)
    return {option for action in parser._actions for option in action.option_strings}


def _pairs(*pairs: tuple[str, Optional[object]]) -> list[str]:
    words: list[str] = []
    for option, value in pairs:
        if value is not None:
            words += [option, str(value)]
    return words


def plan(args: argparse.Namespace, *, in_process_watch: bool, service_stack: str = "the service stack") -> list[Step]:
    """The six steps for ``args``, in order."""
    env, version = args.env, args.version
    where = _pairs(("--region", args.region), ("--profile", args.profile))
    preflight = ["preflight", "--env", env, "--version", version, *where, "--changelog", args.changelog]
    preflight += _pairs(("--timezone", args.timezone), ("--override", args.override))

    cdk_env = {"AWS_REGION": args.region, "AWS_DEFAULT_REGION": args.region} if args.region else {}
    profile = _pairs(("--profile", args.profile))
    synth = cdk_command() + ["synth", "-c", f"env={env}", "-c", f"version={version}", "--quiet", "--output", CLOUD_ASSEMBLY]
    guard = ["guard", "--cdk-out", CLOUD_ASSEMBLY, *where]
    deploy = cdk_command() + ["deploy", "--app", CLOUD_ASSEMBLY, "--all", "--require-approval", "never"]

    accepted = _accepted_options("watch") if in_process_watch else None
    values = {"--region": args.region, "--profile": args.profile, "--version": version}
    watch = ["watch", "--env", env] + _pairs(*(
        (option, values[option]) for option in WATCH_FORWARDED
        if (option in accepted if accepted is not None else option != "--version")
    ))
    watch_note = f"while step 4 runs, from when CloudFormation starts updating {service_stack}"

    verify = ["verify", "--env", env, "--version", version, *where, *_pairs(("--url", args.url))]
    verify += ["--attempts", str(args.attempts), "--backoff", f"{args.backoff:g}", "--max-backoff", f"{args.max_backoff:g}",
               "--timeout", f"{args.timeout:g}"]
    return [
        Step("preflight", preflight, in_process=True),
        Step("cdk synth", synth + profile, in_process=False, env=cdk_env),
        Step("guard", guard, in_process=True),
        Step("cdk deploy", deploy + profile, in_process=False, env=cdk_env, log=CDK_LOG),
        Step("watch", watch, in_process=True, note=watch_note) if in_process_watch
        else Step("watch", ava_olo_executable() + watch, in_process=False, note=watch_note),
        Step("verify", verify, in_process=True, note="after steps 4 and 5 passed"),
    ]


# --------------------------------------------------------------------------------------------------------------
# Steps 4 and 5: cdk deploy in the background, watch in the foreground
# --------------------------------------------------------------------------------------------------------------


def _exit_code(code: int) -> int:
    """A subprocess killed by signal N reports -N; the shell's 128 + N instead."""
    return 128 - code if code < 0 else code


def _run(step: Step) -> int:
    return ava_olo(step.argv) if step.in_process else runner(step.argv, step.env or None)


def _started(before: StackState, now: StackState) -> bool:
    updating = now.status.endswith("_IN_PROGRESS") and now.status != "REVIEW_IN_PROGRESS"
    return updating or now.last_updated != before.last_updated


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


@dataclass
class Concurrent:
    """What steps 4 and 5 did. ``watch_code`` is None when watch did not run."""

    cdk_code: int
    watch_code: Optional[int] = None
    stopped: bool = False  # cdk deploy was stopped by a second Ctrl-C
    timed_out: bool = False  # deploy stopped waiting after --cdk-timeout; cdk deploy is still running


class DeployAndWatch:
    def __init__(self, cdk: Step, watch: Step, target: Any, out: Any,
                 timeout_minutes: float = CDK_TIMEOUT_MINUTES) -> None:
        self.cdk, self.watch, self.target, self.out = cdk, watch, target, out
        self.timeout_minutes = timeout_minutes
        self.process: Optional[Background] = None
        self.started = 0.0  # monotonic() when cdk deploy was started
        self.stopped = False
        self.timed_out = False

    def running_for(self) -> float:
        return monotonic() - self.started

    def out_of_time(self) -> bool:
        """True (and remembered) once cdk deploy has run longer than ``--cdk-timeout``."""
        if self.running_for() >= self.timeout_minutes * 60:
            self.timed_out = True
        return self.timed_out

    def give_up(self) -> None:
        """Say that deploy stops waiting for cdk deploy, which keeps running (it is not cut short)."""
        assert self.process is not None
        log = self.cdk.log or CDK_LOG
        self.say(
            f"    gave up waiting for cdk deploy after {int(self.running_for() // 60)} min (--cdk-timeout "
            f"{self.timeout_minutes:g}): it was NOT stopped - a deployment is not cut short - and keeps running in the "
            f"background (pid {self.process.pid}), writing to {log}; follow it with 'tail -f {log}' and "
            f"'ava-olo watch --env {self.target.environment}'"
        )

    def say(self, text: str) -> None:
        emit(text + "\n", self.out)
        self.out.flush()

    def baseline(self) -> tuple[Optional[StackState], Optional[str]]:
        """The service stack before cdk deploy starts, or why watch has to wait for cdk."""
        stack = self.target.service_stack
        try:
            state = stack_state(self.target)
        except (ClientError, BotoCoreError, target_module.TargetError) as error:
            return None, f"cannot read {stack} ({' '.join(str(error).split())})"
        if state is None:
            return None, f"{stack} does not exist yet (a first deploy: cdk deploy creates it)"
        return state, None

    def wait_for_cloudformation(self, before: StackState) -> bool:
        """True once CloudFormation updates the service stack while cdk runs; False when cdk ended first or the
        stack could not be read."""
        assert self.process is not None
        stack = self.target.service_stack
        self.say(f"    waiting for CloudFormation to start updating {stack}: cdk deploy first publishes the assets and "
                 f"deploys the stacks it depends on (its output: {self.cdk.log})")
        start = monotonic()
        next_note = start + NOTE_SECONDS
        while self.process.poll() is None:
            if self.out_of_time():
                return False
            try:
                state = stack_state(self.target)
            except (ClientError, BotoCoreError, target_module.TargetError) as error:
                self.say(f"    note: cannot read {stack} ({' '.join(str(error).split())})")
                return False
            if state is not None and _started(before, state):
                return True
            now = monotonic()
            if now >= next_note:
                next_note = now + NOTE_SECONDS
                self.say(f"    still waiting for CloudFormation to start updating {stack} ({_minutes(now - start)}; "
                         f"cdk deploy is running, pid {self.process.pid})")
            sleep(POLL_SECONDS)
        self.say(f"    CloudFormation had not started updating {stack} when cdk deploy ended")
        return False

    def wait_for_cdk(self, lead: str, *, interrupted: bool = False) -> Optional[int]:
        """cdk deploy's exit code, once it has ended; None when it still runs after ``--cdk-timeout`` (it is left
        running, see :meth:`give_up`). A Ctrl-C meanwhile stops it (and says so)."""
        assert self.process is not None
        process = self.process
        if process.poll() is None:
            if self.out_of_time():
                return None
            hint = (" - a deployment is not cut short; Ctrl-C again stops cdk deploy (an update CloudFormation has "
                    "started continues in AWS either way)") if interrupted else ""
            self.say(f"    {lead}: cdk deploy (pid {process.pid}) is still running, waiting for it to finish{hint}")
        try:
            next_heartbeat = monotonic() + HEARTBEAT_SECONDS
            while (status := process.poll()) is None:
                if self.out_of_time():
                    return None
                now = monotonic()
                if now >= next_heartbeat:
                    next_heartbeat = now + HEARTBEAT_SECONDS
                    self.say(f"    cdk deploy still running ({int(self.running_for() // 60)} min); "
                             f"log: {self.cdk.log or CDK_LOG}")
                sleep(CDK_POLL_SECONDS)
            code = _exit_code(status)
            self.say(f"    cdk deploy finished (exit {code})")
            return code
        except KeyboardInterrupt:
            self.say(f"\n    stopping cdk deploy (pid {process.pid}) ...")
            code = _exit_code(process.stop())
            self.stopped = True
            self.say(
                f"    stopped cdk deploy (exit {code}). A CloudFormation update it had started continues in AWS - follow "
                f"it with 'ava-olo watch --env {self.target.environment}'; stacks it had not started are not deployed"
            )
            return code

    def run(self, number: int, total: int) -> Concurrent:
        """Start cdk deploy (step ``number``), watch while it runs, wait for it."""
        before, why_not = self.baseline()
        self.process = launcher(self.cdk.argv, self.cdk.env or None, Path(self.cdk.log or CDK_LOG))
        self.started = monotonic()
        process = self.process
        watch_step = f"step {number + 1}/{total} {self.watch.name}"
        try:
            try:
                if why_not is not None:
                    self.say(f"    note: {why_not}")
                if before is None or not self.wait_for_cloudformation(before):
                    cdk_code = self.wait_for_cdk("watch runs after cdk deploy")
                    if cdk_code is None:
                        self.give_up()
                        return Concurrent(EXIT_CDK_TIMEOUT, None, timed_out=True)
                    if cdk_code != 0:
                        return Concurrent(cdk_code, None, self.stopped)
                    emit(f"==> {watch_step} (after cdk deploy): {self.watch.display()}\n", self.out)
                    return Concurrent(cdk_code, _run(self.watch), self.stopped)
                emit(f"==> {watch_step} (while cdk deploy runs, pid {process.pid}): {self.watch.display()}\n", self.out)
                watch_code = _run(self.watch)
                # an in-process watch reports a Ctrl-C as 130 (cli.main), a subprocess one by raising here
                lead, interrupted = (("watch was interrupted", True) if watch_code == EXIT_INTERRUPTED
                                     else (f"watch ended (exit {watch_code})", False))
            except KeyboardInterrupt:
                self.say("")  # after the ^C
                watch_code, lead, interrupted = EXIT_INTERRUPTED, "interrupted", True
            cdk_code = self.wait_for_cdk(lead, interrupted=interrupted)
            if cdk_code is None:
                self.give_up()
                return Concurrent(EXIT_CDK_TIMEOUT, watch_code, timed_out=True)
            return Concurrent(cdk_code, watch_code, self.stopped)
        except BaseException as error:  # an unexpected error in watch or while waiting: cdk is not left running
            if process.poll() is None:  # (unless --cdk-timeout runs out meanwhile)
                if self.wait_for_cdk(f"error while cdk deploy runs ({type(error).__name__}: "
                                     f"{' '.join(str(error).split())})") is None:
                    self.give_up()
            raise

    def log_tail(self) -> None:
        path = Path(self.cdk.log or CDK_LOG)
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        if lines:
            emit(f"---- last {min(len(lines), LOG_TAIL_LINES)} lines of {path} ----\n", self.out)
            emit("".join(line + "\n" for line in lines[-LOG_TAIL_LINES:]), self.out)
            emit("----\n", self.out)


# --------------------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------------------


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser, version_help=VERSION_HELP)
    add_preflight_options(parser)
    add_verify_options(parser)
    parser.add_argument("--cdk-timeout", type=_timeout_minutes, default=CDK_TIMEOUT_MINUTES, metavar="MINUTES",
                        help=f"stop waiting for cdk deploy after MINUTES (default {CDK_TIMEOUT_MINUTES:g}); cdk deploy is "
                             f"not stopped, it keeps running and writing to {CDK_LOG}")
    parser.add_argument("--dry-run", action="store_true", help="print the commands of the six steps instead of running them")


def _timeout_minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of minutes, got {value!r}") from None
    if not minutes > 0 or minutes == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of minutes, got {value!r}")
    return minutes


def _check_input(args: argparse.Namespace) -> target_module.Target:
    """Bad input fails before any step runs (dry run included)."""
    parse_version(args.version)
    override_reason(args.override)
    resolve_timezone(args.timezone)
    if args.url is not None:
        check_url(args.url)
    try:
        return target_module.resolve_target(args.env, region=args.region, profile=args.profile)
    except target_module.TargetError as error:
        raise CliError(str(error)) from None


def _stop(out: Any, steps: Sequence[Step], number: int, code: int, detail: str = "", *, ran: Sequence[str] = ()) -> int:
    """One ``error:`` line naming step ``number`` and the later steps that did not run (``ran``: those that did)."""
    skipped = ", ".join(s.name for s in steps[number:] if s.name not in ran) or "none"
    out.flush()
    print(f"error: deploy stopped at step {number}/{len(steps)} '{steps[number - 1].name}' (exit {code}{detail}); "
          f"not run: {skipped}", file=sys.stderr)
    return code


def cmd_deploy(args: argparse.Namespace) -> int:
    target = _check_input(args)
    steps = plan(args, in_process_watch=watch_available(), service_stack=target.service_stack)
    out = sys.stdout
    total = len(steps)
    if args.dry_run:
        emit(f"dry run: deploying {args.version} to {args.env} would run (nothing was run):\n", out)
        for number, step in enumerate(steps, start=1):
            emit(f"  {number}. {step.display()}" + (f"  # {step.note}" if step.note else "") + "\n", out)
        return EXIT_OK

    for number, step in enumerate(steps, start=1):
        if step.name == "watch":
            continue  # run by the cdk deploy step, while cdk deploy runs
        if step.log is not None:  # cdk deploy in the background, watch in the foreground
            emit(f"==> step {number}/{total} {step.name} (in the background): {step.display()}\n", out)
            both = DeployAndWatch(step, steps[number], target, out, args.cdk_timeout)
            result = both.run(number, total)
            watched = f"; watch exit {result.watch_code}" if result.watch_code is not None else ""
            if result.timed_out:
                both.log_tail()
                return _stop(out, steps, number, result.cdk_code,
                             f", still running after --cdk-timeout {args.cdk_timeout:g} min: not stopped, "
                             f"log: {step.log}{watched}", ran=("watch",) if result.watch_code is not None else ())
            if result.cdk_code != 0:
                both.log_tail()
                stopped = ", stopped by Ctrl-C" if result.stopped else ""
                return _stop(out, steps, number, result.cdk_code, stopped + watched,
                             ran=("watch",) if result.watch_code is not None else ())
            if result.watch_code != 0:
                return _stop(out, steps, number + 1, result.watch_code if result.watch_code is not None else 1,
                             "; cdk deploy exit 0")
            continue
        emit(f"==> step {number}/{total} {step.name}: {step.display()}\n", out)
        code = _run(step)
        if code != 0:
            meaning = f": {GUARD_MEANING[code]}" if step.name == "guard" and code in GUARD_MEANING else ""
            return _stop(out, steps, number, code, meaning)
    emit(f"deployed {args.version} to {args.env}: {', '.join(s.name for s in steps[:-1])} and {steps[-1].name} "
         "all passed\n", out)
    return EXIT_OK


register(
    "deploy",
    "preflight, cdk synth, stateful guard, then cdk deploy --all with watch following it live, then verify; "
    "stops at the first failing step",
    _arguments,
    cmd_deploy,
)
