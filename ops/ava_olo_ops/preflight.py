"""``ava-olo preflight``: the seed's pre-deployment checks, before anything is deployed.

Seed, "What NOT to Do" #4 ("DON'T Skip Pre-Deployment Checks": changelog updated, version bumped), #2 ("DON'T Deploy
Multiple Versions Simultaneously") and #5 ("DON'T Deploy on Fridays After 3 PM"). Every check is printed with
✓ (pass), ⚠ (warning) or ✗ (refusal); where stdout cannot encode those, ``OK`` / ``WARN`` / ``FAIL``.

=========================  ==========================================================================  ===========
check                      refuses when                                                                --override
=========================  ==========================================================================  ===========
version format             V is not ``vMAJOR.MINOR.PATCH[-lowercase-words]``: bad input, exit **2**    never
no deployment in progress  the ECS service has more than one (non-INACTIVE) deployment, or its          never
                           PRIMARY deployment's rolloutState is IN_PROGRESS
no stack update in         the service stack or the data stack has a StackStatus ending in               never
progress                   ``_IN_PROGRESS`` (another ``ava-olo deploy`` publishing assets or updating
                           the data stack, before ECS changes); a stack that does not exist passes
version is newer           MAJOR.MINOR.PATCH of V is not greater than the running version (SSM          never
                           ``<parameter prefix>/version``); no parameter = first deploy, passes
changelog entry            no heading line (``#...``) of the changelog names V or its vMAJOR.MINOR.PATCH  yes
deploy window              Friday 15:00 until Sunday 24:00 in the operator's timezone                  yes
=========================  ==========================================================================  ===========

The deploy window, decided: the seed forbids Friday after 3 PM because "if something breaks, you'll spend
the weekend fixing it". A Saturday or Sunday deploy is the same risk, so the refusal runs from Friday 15:00 to
the end of Sunday. Monday and Friday before 15:00 pass with a warning (the seed: "Deploy Tuesday-Thursday");
Tuesday to Thursday pass. The operator's timezone is ``--timezone`` (an IANA name such as ``Europe/Zagreb``), else
``AVA_OLO_TIMEZONE``, else the machine's local timezone.

``--override "reason"`` turns a refused changelog entry or deploy window into a warning that prints the
reason (a hotfix on Friday evening). It never overrides a deployment or stack update in progress or a version
that is not newer: those are not judgement calls, deploying over them breaks things. An empty reason is bad input.

Exit codes: 0 ready to deploy, 1 refused, 2 bad input (malformed version, unknown environment or timezone,
unreadable changelog, missing credentials, a stack that is not deployed while the service parameter exists).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Optional, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_module
from . import versions
from .cli import CliError, register
from .console import emit

EXIT_READY = 0
EXIT_REFUSED = 1

TIMEZONE_VARIABLE = "AVA_OLO_TIMEZONE"
#: Help of ``--version`` for preflight, verify and deploy.
VERSION_HELP = "release to deploy in the seed's format, e.g. v3.2.0-schema-button-aurora"

PASS, WARN, FAIL = "pass", "warn", "fail"
SYMBOLS = {PASS: "✓", WARN: "⚠", FAIL: "✗"}
ASCII_SYMBOLS = {PASS: "OK  ", WARN: "WARN", FAIL: "FAIL"}

#: The datetime provider: returns an aware datetime (a naive one is read as local time); tests fix it.
clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # noqa: E731

#: Refuse from Friday at this hour (seed: "after 3 PM") until the end of Sunday.
FRIDAY_CUTOFF_HOUR = 15
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    overridable: bool = False
    overridden: bool = False


# --------------------------------------------------------------------------------------------------------------
# The checks (pure functions where possible)
# --------------------------------------------------------------------------------------------------------------


def parse_version(text: str, *, what: str = "--version", message: Optional[str] = None) -> versions.Version:
    """V as a :class:`~ava_olo_ops.versions.Version`; :class:`CliError` (exit 2) when malformed.

    The error is :func:`versions.parse`'s, or ``message`` with ``{what}`` and ``{text!r}`` filled in.
    """
    try:
        return versions.parse(text, what=what)
    except versions.VersionError as error:
        raise CliError(message.format(what=what, text=text) if message is not None else str(error)) from None


def changelog_check(text: str, path: str, version: versions.Version) -> Check:
    """Pass when a heading line of the changelog names ``version`` or its ``vMAJOR.MINOR.PATCH``."""
    tokens = [str(version)] + ([version.core] if version.words else [])
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#") and any(versions.heading_mentions(line, token) for token in tokens):
            return Check("changelog entry", PASS, f"{path} line {number}: {line.strip()}", overridable=True)
    wanted = " or ".join(tokens)
    return Check(
        "changelog entry", FAIL,
        f"{path} has no heading for {wanted}; add a '## {version} - type: summary' entry (seed, What NOT to Do #4)",
        overridable=True,
    )


def window_check(moment: datetime, zone_label: str) -> Check:
    """The deploy window at ``moment`` (already in the operator's timezone)."""
    day = moment.weekday()
    when = f"{_DAYS[day]} {moment:%H:%M} {zone_label}"
    if (day == 4 and moment.hour >= FRIDAY_CUTOFF_HOUR) or day >= 5:
        return Check(
            "deploy window", FAIL,
            f"{when}: no deploys from Friday {FRIDAY_CUTOFF_HOUR}:00 until Monday - if something breaks, you'll "
            "spend the weekend fixing it (seed, What NOT to Do #5)",
            overridable=True,
        )
    if day in (0, 4):
        return Check("deploy window", WARN, f"{when}: allowed, but the seed prefers Tuesday-Thursday for easier issue resolution",
                     overridable=True)
    return Check("deploy window", PASS, f"{when}: Tuesday-Thursday, the seed's preferred days", overridable=True)


def newer_check(version: versions.Version, running: Optional[str], parameter: str) -> Check:
    """Pass when ``version`` is newer than ``running`` (None: no parameter, the first deploy)."""
    if running is None:
        return Check("version is newer", PASS, f"first deploy: no parameter {parameter} yet, nothing runs to compare with")
    try:
        current = versions.parse(running, what=parameter)
    except versions.VersionError:
        return Check("version is newer", FAIL,
                     f"{parameter} holds {running!r}, not a release version: cannot tell whether {version} is newer")
    if version.is_newer_than(current):
        return Check("version is newer", PASS, f"{version} > running {current} ({parameter})")
    relation = "the same release number as" if version.number == current.number else "older than"
    return Check(
        "version is newer", FAIL,
        f"{version} is {relation} the running {current} ({parameter}); bump MAJOR.MINOR.PATCH (seed, What NOT to Do #4)",
    )


def _task_definition(arn: Any) -> str:
    return str(arn).rsplit("/", 1)[-1] if arn else "?"


def _describe_deployment(deployment: dict[str, Any]) -> str:
    return (
        f"{deployment.get('status', '?')} {deployment.get('rolloutState', '?')} {_task_definition(deployment.get('taskDefinition'))} "
        f"({deployment.get('runningCount', '?')}/{deployment.get('desiredCount', '?')} running)"
    )


def deployment_check(service: dict[str, Any], cluster: str) -> Check:
    """Refuse while ECS rolls out: more than one live deployment, or the PRIMARY one still IN_PROGRESS."""
    name = service.get("serviceName", "?")
    live = [d for d in service.get("deployments", []) if d.get("status") != "INACTIVE"]
    primary = next((d for d in live if d.get("status") == "PRIMARY"), None)
    described = "; ".join(_describe_deployment(d) for d in live) or "no deployments"
    where = f"{cluster}/{name}"
    if len(live) > 1 or (primary is not None and primary.get("rolloutState") == "IN_PROGRESS"):
        return Check(
            "no deployment in progress", FAIL,
            f"{where} is deploying ({described}): wait for it to finish - 'ava-olo watch' (seed, What NOT to Do #2)",
        )
    if primary is not None and primary.get("rolloutState") == "FAILED":
        return Check("no deployment in progress", WARN, f"{where}: nothing in progress, but the last rollout FAILED ({described})")
    return Check("no deployment in progress", PASS, f"{where}: {described}")


def stacks_check(statuses: Sequence[tuple[str, Optional[str]]]) -> Check:
    """Refuse while CloudFormation works on a stack: (stack name, StackStatus or None when it does not exist)."""
    busy = [(name, status) for name, status in statuses if status is not None and status.endswith("_IN_PROGRESS")]
    described = ", ".join(f"{name} {status or 'not deployed'}" for name, status in statuses)
    if busy:
        names = ", ".join(f"{name} is {status}" for name, status in busy)
        return Check(
            "no stack update in progress", FAIL,
            f"{names}: another deployment is running - wait for it to finish ('ava-olo watch', or the CloudFormation "
            "console) (seed, What NOT to Do #2)",
        )
    return Check("no stack update in progress", PASS, described)


# --------------------------------------------------------------------------------------------------------------
# Reading AWS
# --------------------------------------------------------------------------------------------------------------


def read_running_version(target: target_module.Target) -> tuple[Optional[str], str]:
    """(the SSM version parameter's value or None when it does not exist, the parameter name)."""
    name = f"{target.names.parameter_prefix}/version"
    return target.parameter(name), name


def read_stack_status(target: target_module.Target, stack_name: str) -> Optional[str]:
    """The StackStatus of ``stack_name``; None when the stack does not exist. Other AWS errors raise."""
    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return str(stacks[0].get("StackStatus", "")) if stacks else None


def read_stacks(target: target_module.Target) -> Check:
    return stacks_check([(name, read_stack_status(target, name)) for name in (target.service_stack, target.data_stack)])


def read_deployments(target: target_module.Target, *, first_deploy: bool) -> Check:
    try:
        cluster = target.output("ClusterName")
        service_name = target.output("ServiceName")
    except target_module.TargetError as error:
        if first_deploy:  # no version parameter and no service stack (outputs): nothing runs, nothing rolls out
            return Check("no deployment in progress", PASS, f"first deploy: {error}")
        raise
    response = target.client("ecs").describe_services(cluster=cluster, services=[service_name])
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", [])) or "INACTIVE"
        raise target_module.TargetError(f"ECS service {service_name} not found in cluster {cluster} ({reasons})")
    return deployment_check(services[0], cluster)


# --------------------------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------------------------


def resolve_timezone(name: Optional[str], environ: Optional[dict[str, str]] = None) -> Optional[tzinfo]:
    """``--timezone``, else ``AVA_OLO_TIMEZONE``, else None (the machine's local timezone)."""
    environ = os.environ if environ is None else environ
    source = "--timezone"
    if name is None:
        name, source = environ.get(TIMEZONE_VARIABLE) or None, TIMEZONE_VARIABLE
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CliError(f"{source}: unknown timezone {name!r}; use an IANA name such as Europe/Zagreb") from None


def override_reason(value: Optional[str], *, example: str = "hotfix for the farmer login outage") -> Optional[str]:
    """``--override``'s reason on one line (None without ``--override``); an empty reason is bad input (exit 2)."""
    if value is None:
        return None
    reason = " ".join(value.split())
    if not reason:
        raise CliError(f"--override needs a reason, e.g. --override \"{example}\"")
    return reason


def apply_override(checks: Sequence[Check], reason: Optional[str]) -> list[Check]:
    """Refused overridable checks become warnings that carry ``reason``; the others stay as they are."""
    if reason is None:
        return list(checks)
    return [
        replace(c, status=WARN, overridden=True, detail=f"{c.detail} - OVERRIDDEN: {reason}")
        if c.status == FAIL and c.overridable else c
        for c in checks
    ]


def symbols_for(stream: Any) -> dict[str, str]:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(SYMBOLS.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_SYMBOLS
    return SYMBOLS


def render(checks: Sequence[Check], symbols: dict[str, str]) -> str:
    return "".join(f"{symbols[c.status]} {c.name}: {c.detail}\n" for c in checks)


# --------------------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------------------


def add_preflight_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--changelog", default="CHANGELOG.md", metavar="PATH", help="changelog that must name the version (default CHANGELOG.md)")
    parser.add_argument("--timezone", metavar="ZONE",
                        help=f"operator's IANA timezone for the deploy window, e.g. Europe/Zagreb (default: ${TIMEZONE_VARIABLE}, else local)")
    parser.add_argument("--override", metavar="REASON",
                        help="deploy despite a missing changelog entry or the Friday-15:00-to-weekend window; the reason is printed")


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser, version_help=VERSION_HELP)
    add_preflight_options(parser)


def evaluate(args: argparse.Namespace, *, now: Optional[Callable[[], datetime]] = None) -> list[Check]:
    """All checks for ``args`` (after the override); :class:`CliError` for bad input and AWS errors."""
    version = parse_version(args.version)
    reason = override_reason(args.override)
    zone = resolve_timezone(args.timezone)
    try:
        changelog = Path(args.changelog).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"changelog not found: {args.changelog} (run in the project directory or pass --changelog PATH)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read changelog {args.changelog}: {' '.join(str(error).split())}") from None

    try:
        target = target_module.resolve_target(args.env, region=args.region, profile=args.profile)
        running, parameter = read_running_version(target)
        deployment = read_deployments(target, first_deploy=running is None)
        stacks = read_stacks(target)
    except target_module.TargetError as error:
        raise CliError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(target_module.aws_error_line(error)) from None

    moment = (now or clock)()
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    zone_label = str(zone) if zone is not None else f"{local.tzname()} (local)"
    checks = [
        Check("version format", PASS, f"{version}"),
        deployment,
        stacks,
        newer_check(version, running, parameter),
        changelog_check(changelog, args.changelog, version),
        window_check(local, zone_label),
    ]
    return apply_override(checks, reason)


def cmd_preflight(args: argparse.Namespace) -> int:
    checks = evaluate(args)
    reason = override_reason(args.override)
    out = sys.stdout
    emit(f"preflight: {args.version} -> {args.env}\n", out)
    emit(render(checks, symbols_for(out)), out)
    refused = [c for c in checks if c.status == FAIL]
    warnings = [c for c in checks if c.status == WARN]
    if refused:
        names = ", ".join(c.name for c in refused)
        line = f"refused: {len(refused)} check(s) failed: {names}"
        overridable = [c.name for c in refused if c.overridable]  # only possible without --override
        if overridable:
            line += f" (--override \"reason\" may override: {', '.join(overridable)})"
        elif reason is not None:
            line += " (--override does not apply to these)"
        emit(line + "\n", out)
        return EXIT_REFUSED
    overridden = [c.name for c in checks if c.overridden]
    line = f"ready: {args.version} may be deployed to {args.env}"
    if overridden:
        line += f", overriding {', '.join(overridden)} because: {reason}"
    elif reason is not None:
        line += " (--override was not needed)"
    if warnings:
        line += f" ({len(warnings)} warning(s))"
    emit(line + "\n", out)
    return EXIT_READY


register(
    "preflight",
    "pre-deployment checks: version format and bump, no deployment or stack update in progress, changelog entry, "
    "not Friday after 15:00",
    _arguments,
    cmd_preflight,
)
