"""``ava-olo``: AVA OLO's operator command line.

One function per subcommand, registered in :data:`COMMANDS`. To add a subcommand (``preflight``, ``watch``,
``verify``, ``status``, ``migrate``, ...)::

    def _timeline_arguments(parser: argparse.ArgumentParser) -> None: ...   # declare its arguments
    def cmd_timeline(args: argparse.Namespace) -> int: ...                  # run it, return the exit code
    register("timeline", "one-line help", _timeline_arguments, cmd_timeline)

Conventions: exit 0 on success, 2 on bad input (usage errors included). Bad input is reported as ONE line on
stderr starting with ``error:`` and never as a traceback: raise :class:`CliError` (or let a
:class:`~ava_olo_ops.timeline.TemplateError` escape) from the command function.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .console import emit
from .timeline import Assumptions, TemplateError, ecs_services, render, timelines, to_json_dict

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """Bad input: printed as one ``error:`` line on stderr, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: Subcommand registry, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {}


def register(
    name: str,
    help: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    if name in COMMANDS:
        raise ValueError(f"subcommand {name!r} is already registered")
    COMMANDS[name] = Command(name, help, add_arguments, run)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises :class:`CliError` (one line) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message}")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _seconds(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {number}")
    return number


def read_template(path: str) -> dict[str, Any]:
    """A JSON template from ``path`` (``-`` for stdin); :class:`CliError` when missing or not JSON."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"template not found: {path}") from None
    except IsADirectoryError:
        raise CliError(f"template is a directory, not a file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read template {path}: {_one_line(str(exc))}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"template {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise CliError(f"template {path} is not a JSON object")
    return data


# --------------------------------------------------------------------------------------------------------------
# timeline
# --------------------------------------------------------------------------------------------------------------


def _timeline_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Assumptions()
    parser.add_argument("template", help="synthesized CloudFormation template (JSON), e.g. cdk.out/SandboxService.template.json; - for stdin")
    parser.add_argument("--service", metavar="LOGICAL_ID", help="only this AWS::ECS::Service (default: every service behind a target group)")
    parser.add_argument("--json", action="store_true", help="print the computed numbers as JSON")
    parser.add_argument(
        "--image-pull-seconds", type=_seconds, default=defaults.image_pull_seconds, metavar="S",
        help=f"assumed image pull time (default {defaults.image_pull_seconds})",
    )
    parser.add_argument(
        "--app-start-seconds", type=_seconds, default=defaults.app_start_seconds, metavar="S",
        help=f"assumed time from container start until the app answers its health check (default {defaults.app_start_seconds})",
    )
    parser.add_argument(
        "--build-seconds", type=_seconds, default=defaults.build_seconds, metavar="S",
        help=f"assumed CI build + image push before CloudFormation starts (default {defaults.build_seconds}: outside the template)",
    )


def cmd_timeline(args: argparse.Namespace) -> int:
    """Expected ECS deployment timeline and worst-case automatic rollback, from a synthesized template."""
    template = read_template(args.template)
    assumptions = Assumptions(
        image_pull_seconds=args.image_pull_seconds,
        app_start_seconds=args.app_start_seconds,
        build_seconds=args.build_seconds,
    )
    items = timelines(template, assumptions, service=args.service)
    if args.json:
        emit(json.dumps(to_json_dict(items, assumptions), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    rendered = [render(item, assumptions) for item in items]
    emit(("\n" + "-" * 78 + "\n\n").join(rendered))
    skipped = [s for s in ecs_services(template) if s not in {i.service for i in items}]
    if skipped and args.service is None:
        emit(f"\nnote: skipped service(s) not behind a target group of this template: {', '.join(skipped)}\n")
    return EXIT_OK


register(
    "timeline",
    "expected ECS deployment timeline (phase by phase) and worst-case automatic rollback, from a template",
    _timeline_arguments,
    cmd_timeline,
)


# --------------------------------------------------------------------------------------------------------------
# guard (the work is in stateful_guard.py)
# --------------------------------------------------------------------------------------------------------------


def _guard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", nargs="?", metavar="OLD.json", help="the template deployed now (- for stdin)")
    parser.add_argument("new", nargs="?", metavar="NEW.json", help="the template about to be deployed, e.g. cdk.out/StagingData.template.json")
    parser.add_argument("--cdk-out", metavar="DIR", help="instead of OLD NEW: every stack of this cloud assembly against its deployed template (needs AWS credentials)")
    parser.add_argument("--region", help="with --cdk-out: region of the deployed stacks (default: each artifact's environment)")
    parser.add_argument("--profile", help="with --cdk-out: AWS profile to read the deployed templates with")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def cmd_guard(args: argparse.Namespace) -> int:
    """Exit 1 when a deploy would delete or replace a stateful resource (exit 0 safe, 2 bad input / not verified)."""
    from . import stateful_guard as guard  # imported here: only this command needs it (and boto3 for --cdk-out)

    try:
        if args.cdk_out is not None:
            if args.old is not None:
                raise CliError("give either OLD.json NEW.json or --cdk-out DIR, not both")
            results = guard.guard_cloud_assembly(args.cdk_out, region=args.region, profile=args.profile)
        elif args.new is None:
            raise CliError("give OLD.json NEW.json, or --cdk-out DIR")
        else:
            results = [guard.guard_templates(read_template(args.old), read_template(args.new))]
    except guard.GuardInputError as exc:
        raise CliError(str(exc)) from None
    emit(guard.render_json(results) if args.json else guard.render_text(results))
    code = guard.exit_code(results)
    if code == EXIT_BAD_INPUT:
        print(f"error: {_one_line(guard.unverified_summary(results))}", file=sys.stderr)
    return code


register(
    "guard",
    "fail when a deploy would delete or replace a stateful resource (database, secret, key, log group, bucket, ...)",
    _guard_arguments,
    cmd_guard,
)


# --------------------------------------------------------------------------------------------------------------
# Subcommands kept in modules of their own (they call register() when imported)
# --------------------------------------------------------------------------------------------------------------

#: Operator commands that talk to AWS (``ops/ava_olo_ops/<name>.py``), in --help order.
COMMAND_MODULES = ("preflight", "deploy", "watch", "verify", "status", "migrate")


def _load_command_modules() -> None:
    import importlib
    import importlib.util

    for name in COMMAND_MODULES:
        module = f"{__package__}.{name}"
        if importlib.util.find_spec(module) is not None:  # a module is optional until written; errors inside it are not
            importlib.import_module(module)


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    _load_command_modules()
    parser = _Parser(prog="ava-olo", description="AVA OLO operator tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS.values():
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ava-olo``; returns the exit code (never raises SystemExit)."""
    try:
        args = build_parser().parse_args(list(argv) if argv is not None else None)
        return args._run(args)
    except (CliError, TemplateError) as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.code if isinstance(exc, CliError) else EXIT_BAD_INPUT
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
