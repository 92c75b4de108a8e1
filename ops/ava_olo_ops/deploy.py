"""``ava-olo deploy``: preflight, ``cdk deploy``, watch, verify - stopping at the first step that fails.

1. ``ava-olo preflight`` (same options; a refusal stops here, nothing is deployed)
2. ``cdk deploy -c env=E -c version=V --all --require-approval never`` in the current directory, with the
   project's pinned CLI ``./node_modules/.bin/cdk`` when it exists, else ``npx cdk``. ``--profile`` is passed to
   cdk; ``--region`` becomes ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` for it (what environments with
   ``"region": "from-cli"`` deploy to).
3. ``ava-olo watch --env E`` (run in this process when ``ava_olo_ops.watch`` is installed, else as the
   subprocess ``ava-olo watch``); ``--region`` / ``--profile`` / ``--version`` are passed on when watch accepts them.
4. ``ava-olo verify`` (same ``--url`` / ``--attempts`` / ``--backoff`` / ``--timeout`` options).

The exit code is the first failing step's own exit code, and one ``error:`` line on stderr names that step and
the steps that did not run. ``--dry-run`` checks the arguments and prints the four commands without running
any of them (no AWS access, no preflight).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import target as target_module
from .cli import COMMANDS, CliError, register
from .preflight import add_preflight_options, add_target_arguments, emit, override_reason, parse_version, resolve_timezone
from .verify import add_verify_options, check_url

EXIT_OK = 0

#: The project's pinned CDK CLI (package.json), relative to the directory deploy runs in.
LOCAL_CDK = Path("node_modules") / ".bin" / "cdk"

#: Options of deploy that are passed on to ``watch`` when its parser declares them.
WATCH_FORWARDED = ("--region", "--profile", "--version")


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    in_process: bool  # an ``ava-olo`` subcommand run through cli.main, else a subprocess
    env: dict[str, str] = field(default_factory=dict)  # extra environment variables for a subprocess

    def display(self) -> str:
        words = (["ava-olo"] + self.argv) if self.in_process else self.argv
        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in self.env.items())
        return prefix + shlex.join(words)


def run_subprocess(argv: Sequence[str], env: Optional[dict[str, str]] = None) -> int:
    """Run ``argv`` in the current directory with the inherited output; its exit code (127: not found)."""
    sys.stdout.flush()
    try:
        return subprocess.run(list(argv), env={**os.environ, **env} if env else None, check=False).returncode
    except FileNotFoundError:
        print(f"error: command not found: {argv[0]} (install Node.js >= 20 and run ./dev.sh setup)", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"error: cannot execute {argv[0]}", file=sys.stderr)
        return 126


#: The subprocess runner (tests replace it): (argv, extra environment) -> exit code.
runner: Callable[[Sequence[str], Optional[dict[str, str]]], int] = run_subprocess


def run_ava_olo(argv: Sequence[str]) -> int:
    """An ``ava-olo`` subcommand in this process (its errors are printed by cli.main as usual)."""
    from .cli import main

    sys.stdout.flush()
    return main(list(argv))


#: Runs an in-process ``ava-olo`` step (tests may replace it): argv without "ava-olo" -> exit code.
ava_olo: Callable[[Sequence[str]], int] = run_ava_olo


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


def plan(args: argparse.Namespace, *, in_process_watch: bool) -> list[Step]:
    """The four steps for ``args``, in order."""
    env, version = args.env, args.version
    where = _pairs(("--region", args.region), ("--profile", args.profile))
    preflight = ["preflight", "--env", env, "--version", version, *where, "--changelog", args.changelog]
    preflight += _pairs(("--timezone", args.timezone), ("--override", args.override))

    cdk = cdk_command() + ["deploy", "-c", f"env={env}", "-c", f"version={version}", "--all", "--require-approval", "never"]
    cdk += _pairs(("--profile", args.profile))
    cdk_env = {"AWS_REGION": args.region, "AWS_DEFAULT_REGION": args.region} if args.region else {}

    accepted = _accepted_options("watch") if in_process_watch else None
    values = {"--region": args.region, "--profile": args.profile, "--version": version}
    watch = ["watch", "--env", env] + _pairs(*(
        (option, values[option]) for option in WATCH_FORWARDED
        if (option in accepted if accepted is not None else option != "--version")
    ))

    verify = ["verify", "--env", env, "--version", version, *where, *_pairs(("--url", args.url))]
    verify += ["--attempts", str(args.attempts), "--backoff", f"{args.backoff:g}", "--max-backoff", f"{args.max_backoff:g}",
               "--timeout", f"{args.timeout:g}"]
    return [
        Step("preflight", preflight, in_process=True),
        Step("cdk deploy", cdk, in_process=False, env=cdk_env),
        Step("watch", watch, in_process=True) if in_process_watch else Step("watch", ava_olo_executable() + watch, in_process=False),
        Step("verify", verify, in_process=True),
    ]


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    add_preflight_options(parser)
    add_verify_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the commands of the four steps instead of running them")


def _check_input(args: argparse.Namespace) -> None:
    """Bad input fails before any step runs (dry run included)."""
    parse_version(args.version)
    override_reason(args.override)
    resolve_timezone(args.timezone)
    if args.url is not None:
        check_url(args.url)
    try:
        target_module.resolve_target(args.env, region=args.region, profile=args.profile)
    except target_module.TargetError as error:
        raise CliError(str(error)) from None


def cmd_deploy(args: argparse.Namespace) -> int:
    _check_input(args)
    steps = plan(args, in_process_watch=watch_available())
    out = sys.stdout
    if args.dry_run:
        emit(out, f"dry run: deploying {args.version} to {args.env} would run (nothing was run):\n")
        for number, step in enumerate(steps, start=1):
            emit(out, f"  {number}. {step.display()}\n")
        return EXIT_OK
    for number, step in enumerate(steps, start=1):
        emit(out, f"==> step {number}/{len(steps)} {step.name}: {step.display()}\n")
        code = ava_olo(step.argv) if step.in_process else runner(step.argv, step.env or None)
        if code != 0:
            skipped = ", ".join(s.name for s in steps[number:]) or "none"
            out.flush()
            print(f"error: deploy stopped at step {number}/{len(steps)} '{step.name}' (exit {code}); not run: {skipped}",
                  file=sys.stderr)
            return code
    emit(out, f"deployed {args.version} to {args.env}: preflight, cdk deploy, watch and verify all passed\n")
    return EXIT_OK


register(
    "deploy",
    "preflight, then cdk deploy --all, then watch, then verify; stops at the first failing step",
    _arguments,
    cmd_deploy,
)
