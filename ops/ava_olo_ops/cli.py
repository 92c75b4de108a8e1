"""``ava-olo``: AVA OLO's operator command line.

One ``register(name, help, add_arguments, run)`` per subcommand (modules in :data:`COMMAND_MODULES` register
themselves on import). Exit 0 on success, 2 on bad input: ONE ``error:`` line on stderr, never a traceback - raise
:class:`CliError` (or let a :class:`~ava_olo_ops.timeline.TemplateError` escape).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

from .console import emit
from .timeline import Assumptions, TemplateError, render, timelines, to_json_dict

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class CliError(Exception):
    """Bad input: printed as one ``error:`` line on stderr, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


class Command(NamedTuple):
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
    """argparse, but a usage error raises :class:`CliError` (one line) instead of printing usage and exiting.

    A subcommand's own options are added when that subcommand is parsed (``add_arguments_later``): ``ava-olo
    preflight`` builds preflight's options, not those of every command (argparse checks each option with a help
    formatter as it is added, most of the cost of building the parser). ``ava-olo --help`` lists the commands
    from their names and help alone."""

    _add_arguments: Callable[[argparse.ArgumentParser], None] | None = None

    def add_arguments_later(self, add_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
        self._add_arguments = add_arguments

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        if self._add_arguments is not None:
            add_arguments, self._add_arguments = self._add_arguments, None
            add_arguments(self)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message}")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def number(cast: Callable[[str], Any] = float, *, minimum: float = 0, exclusive: bool = False,
           maximum: float = float("inf")) -> Callable[[str], Any]:
    """An argparse type: a ``cast`` number from ``minimum`` (excluded with ``exclusive``) to ``maximum``."""
    def parse(value: str) -> Any:
        try:
            result = cast(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {'whole ' if cast is int else ''}number, got {value!r}") from None
        if not (result > minimum if exclusive else result >= minimum) or not result <= maximum or result != result:
            bound = f"greater than {minimum:g}" if exclusive else f"at least {minimum:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}" + (f" and at most {maximum:g}" if maximum < float("inf") else "") + f", got {value}")
        return result
    return parse


_seconds = number(int)


def read_template(path: str) -> dict[str, Any]:
    """A JSON template from ``path`` (``-`` for stdin); :class:`CliError` when missing or not JSON."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"template not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read template {path}: {_one_line(str(exc))}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"template {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise CliError(f"template {path} is not a JSON object")
    return data



def _timeline_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Assumptions()
    parser.add_argument("template", help="synthesized CloudFormation template (JSON), e.g. cdk.out/ProductionService.template.json; - for stdin")
    parser.add_argument("--service", metavar="LOGICAL_ID", help="only this AWS::ECS::Service (default: every service behind a target group)")
    parser.add_argument("--json", action="store_true", help="print the computed numbers as JSON")
    parser.add_argument("--explain", action="store_true", help="also print the reasoning behind each figure")
    for name, help_text in (("image-pull", "image pull"), ("app-start", "app start until /health answers"),
                            ("hook", "pre-traffic lifecycle hook run")):
        default = getattr(defaults, f"{name.replace('-', '_')}_seconds")
        parser.add_argument(f"--{name}-seconds", type=_seconds, default=default, metavar="S",
                            help=f"assumed {help_text} time (default {default})")


def cmd_timeline(args: argparse.Namespace) -> int:
    """Expected ECS deployment phases, bad-version exposure and rollback mechanism, from a synthesized template."""
    template = read_template(args.template)
    assumptions = Assumptions(image_pull_seconds=args.image_pull_seconds, app_start_seconds=args.app_start_seconds,
                              hook_seconds=args.hook_seconds)
    items = timelines(template, assumptions, service=args.service)
    if args.json:
        emit(json.dumps(to_json_dict(items, assumptions), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    emit("\n".join(render(item, assumptions, explain=args.explain) for item in items))
    return EXIT_OK


register(
    "timeline",
    "ECS deployment phases, bad-version exposure (traffic share x minutes) and rollback mechanism, from a template",
    _timeline_arguments,
    cmd_timeline,
)


# --------------------------------------------------------------------------------------------------------------
# guard (the work is in stateful_guard.py)
# --------------------------------------------------------------------------------------------------------------


def _guard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", nargs="?", metavar="OLD.json", help="offline: the template deployed now (- for stdin)")
    parser.add_argument("new", nargs="?", metavar="NEW.json", help="offline: the template about to be deployed")
    parser.add_argument("--cdk-out", metavar="DIR", help="every stack of this cloud assembly (needs AWS credentials): "
                        "its change set (--change-set), else its deployed template compared offline")
    parser.add_argument("--change-set", metavar="NAME", help="with --cdk-out: guard the change set NAME of each stack "
                        "(DescribeChangeSet: CloudFormation's own Replacement / Remove / PolicyAction verdict)")
    parser.add_argument("--allow", action="append", default=[], metavar="LOGICAL_ID",
                        help="a reviewed, deliberate replacement or removal of this resource (repeatable; README)")
    parser.add_argument("--region", help="with --cdk-out: region of the stacks (default AWS_REGION / the profile's)")
    parser.add_argument("--profile", help="with --cdk-out: AWS profile")


def cmd_guard(args: argparse.Namespace) -> int:
    """Exit 1 when a deploy would delete or replace a stateful resource (0 safe, 2 bad input / not verified)."""
    from . import stateful_guard as guard

    try:
        if args.cdk_out is not None:
            if args.old is not None:
                raise CliError("give either OLD.json NEW.json or --cdk-out DIR, not both")
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                client = boto3.Session(profile_name=args.profile, region_name=args.region).client("cloudformation")
                results = guard.guard_assembly(client, args.cdk_out, args.change_set)
            except (BotoCoreError, ClientError) as error:
                raise CliError(f"guard: {_one_line(str(error))} (AWS credentials and region needed for --cdk-out)") from None
        elif args.new is None or args.change_set is not None:
            raise CliError("give OLD.json NEW.json, or --cdk-out DIR [--change-set NAME]")
        else:
            violations = guard.compare(read_template(args.old), read_template(args.new))
            results = [guard.StackResult(args.new, "checked", tuple(violations), f"offline, against {args.old}")]
    except guard.GuardInputError as exc:
        raise CliError(str(exc)) from None
    emit(guard.render(results, args.allow))
    return guard.exit_code(results, args.allow)


register(
    "guard",
    "fail when a deploy would delete or replace a stateful resource (database, secret, key, log group, bucket, ...)",
    _guard_arguments,
    cmd_guard,
)


#: Operator commands that talk to AWS (``ops/ava_olo_ops/<name>.py``), in --help order.
COMMAND_MODULES = ("preflight", "deploy", "watch", "verify", "rollback", "status", "migrate")


def _load_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}")



def build_parser() -> argparse.ArgumentParser:
    _load_command_modules()
    parser = _Parser(prog="ava-olo", description="AVA OLO operator tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS.values():
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        sub.add_arguments_later(command.add_arguments)
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
