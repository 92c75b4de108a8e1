"""``ava-olo preflight``: the seed's pre-deployment checks and AWS's own prerequisites, one ✓/⚠/✗ line each.

Refused, never overridable: a malformed V (bad input, exit 2); a service deployment ECS lists as PENDING,
IN_PROGRESS or rolling back; a service or data stack ``*_IN_PROGRESS``; a deployment alarm of the service in ALARM
(ECS would roll the new revision back at once); no image tagged V in the ECR repository; a certificate parameter
that is missing or not an ISSUED ACM certificate ARN of the stack's region; more Elastic IPs in use + needed by
new NAT gateways than ``vpc-max-elastic-ips``. Refused unless ``--override NAME="reason"`` names that one check
(repeatable; the reason is printed): ``newer`` (V not newer than the running release, SSM ``.../version``; a
rollback passes it), ``changelog`` (the application's release notes have no heading for V), ``window`` (Friday
15:00 until the end of Sunday in the operator's timezone).

Release notes are the *application's* (see :mod:`ava_olo_ops.versions`): ``--changelog PATH|URL``, the
application repository's ``CHANGELOG.md`` (a file, or an http(s) URL of it or of its release page), default
``$AVA_OLO_RELEASE_NOTES``; this repository's ``CHANGELOG.md`` holds the infrastructure's ``v0.x`` entries.
Names come from AWS or flags: the repository from ``--image-repository`` or the serving task definition's image,
the certificate parameter from ``--certificate-parameter`` or the service stack's parameters, the NAT gateway count
from ``--nat-gateways`` or the network stack. Exit 0 ready, 1 refused, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import urllib.request
from dataclasses import dataclass, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_module
from . import versions
from .cli import CliError, register
from .console import FAIL, PASS, SKIP, WARN, emit, mark

EXIT_READY, EXIT_REFUSED = 0, 1
TIMEZONE_VARIABLE = "AVA_OLO_TIMEZONE"
NOTES_VARIABLE = "AVA_OLO_RELEASE_NOTES"
VERSION_HELP = "release to deploy in the seed's format, e.g. v3.2.0-schema-button-aurora"
OVERRIDABLE = {"newer": "version is newer", "changelog": "release notes", "window": "deploy window"}  #: NAME -> check
FRIDAY_CUTOFF_HOUR = 15
BUSY = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # noqa: E731  (tests fix it)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    overridden: bool = False


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def parse_version(text: str, *, what: str = "--version", message: Optional[str] = None) -> versions.Version:
    """V as a :class:`~ava_olo_ops.versions.Version`; :class:`CliError` (exit 2) when malformed."""
    try:
        return versions.parse(text, what=what)
    except versions.VersionError as error:
        raise CliError(message.format(what=what, text=text) if message is not None else str(error)) from None


def notes_check(text: Optional[str], source: str, version: versions.Version) -> Check:
    """Pass when a heading (``#...``) of the application's release notes names V or its vMAJOR.MINOR.PATCH."""
    if text is None:
        return Check("release notes", FAIL, f"none given: pass --changelog PATH|URL of the application's release notes "
                     f"(or set ${NOTES_VARIABLE}); this repository's CHANGELOG.md is the infrastructure's")
    tokens = [str(version)] + ([version.core] if version.words else [])
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#") and any(versions.heading_mentions(line, t) for t in tokens):
            return Check("release notes", PASS, f"{source} line {number}: {line.strip()}")
    return Check("release notes", FAIL, f"{source} has no heading for {' or '.join(tokens)}: write the application's "
                 "release notes first (seed, What NOT to Do #4)")


def window_check(moment: datetime, zone_label: str) -> Check:
    day = moment.weekday()
    when = f"{_DAYS[day]} {moment:%H:%M} {zone_label}"
    if (day == 4 and moment.hour >= FRIDAY_CUTOFF_HOUR) or day >= 5:
        return Check("deploy window", FAIL, f"{when}: no deploys from Friday {FRIDAY_CUTOFF_HOUR}:00 until Monday "
                     "(seed, What NOT to Do #5)")
    if day in (0, 4):
        return Check("deploy window", WARN, f"{when}: allowed; the seed prefers Tuesday-Thursday")
    return Check("deploy window", PASS, f"{when}")


def newer_check(version: versions.Version, running: Optional[str], parameter: str) -> Check:
    if running is None:
        return Check("version is newer", PASS, f"first deploy: no {parameter} yet")
    try:
        current = versions.parse(running, what=parameter)
    except versions.VersionError:
        return Check("version is newer", FAIL, f"{parameter} holds {running!r}, not a release: cannot compare")
    if version.is_newer_than(current):
        return Check("version is newer", PASS, f"{version} > running {current}")
    relation = "the same release number as" if version.number == current.number else "older than"
    return Check("version is newer", FAIL, f"{version} is {relation} the running {current} ({parameter}); bump "
                 "MAJOR.MINOR.PATCH, or roll back with 'ava-olo rollback'")


def deployment_check(target: Any, service: Optional[dict[str, Any]]) -> Check:
    """Refuse while ECS reports a service deployment that has not ended (``list_service_deployments``)."""
    if service is None:
        return Check("no deployment in progress", PASS, "first deploy: no service yet")
    busy = target.client("ecs").list_service_deployments(
        cluster=service["clusterArn"], service=service["serviceName"], status=BUSY)["serviceDeployments"]
    if busy:
        described = "; ".join(f"{d['serviceDeploymentArn'].rsplit('/', 1)[-1]} {d['status']}" for d in busy)
        return Check("no deployment in progress", FAIL, f"{described}: wait for it ('ava-olo watch'; seed, What NOT to Do #2)")
    return Check("no deployment in progress", PASS, f"{service['serviceName']}: no service deployment in flight")


def parse_overrides(values: Optional[str]) -> dict[str, str]:
    """``--override`` values (``name=reason``, one a line) as {check name: reason}; bad input raises CliError."""
    overrides: dict[str, str] = {}
    for value in (values or "").splitlines():
        name, _, reason = value.partition("=")
        name, reason = name.strip(), " ".join(reason.strip().strip("\"'").split())
        if name not in OVERRIDABLE or not reason:
            raise CliError(f"--override: {value!r} is not allowed; use --override NAME=\"reason\" with NAME one of "
                           f"{', '.join(OVERRIDABLE)} (the others are never overridden)")
        overrides[OVERRIDABLE[name]] = reason
    return overrides


def apply_overrides(checks: list[Check], overrides: dict[str, str]) -> list[Check]:
    return [replace(c, status=WARN, overridden=True, detail=f"{c.detail} - OVERRIDDEN: {overrides[c.name]}")
            if c.status == FAIL and c.name in overrides else c for c in checks]


def read_service(target: Any) -> Optional[dict[str, Any]]:
    """The ECS service from the stack outputs; None before the first deploy (no service stack)."""
    try:
        cluster, name = target.output("ClusterName"), target.output("ServiceName")
    except target_module.TargetError:
        return None
    services = target.client("ecs").describe_services(cluster=cluster, services=[name]).get("services") or []
    return services[0] if services else None


def stacks_check(target: Any) -> Check:
    statuses = [(s, (target.described_stack(s) or {}).get("StackStatus")) for s in (target.service_stack, target.data_stack)]
    busy = [f"{s} is {st}" for s, st in statuses if st and st.endswith("_IN_PROGRESS")]
    if busy:
        return Check("no stack update", FAIL, f"{', '.join(busy)}: another deployment is running (seed, What NOT to Do #2)")
    return Check("no stack update", PASS, ", ".join(f"{s} {st or 'not deployed'}" for s, st in statuses))


def alarms_check(target: Any, service: Optional[dict[str, Any]]) -> Check:
    names = ((service or {}).get("deploymentConfiguration") or {}).get("alarms", {}).get("alarmNames") or []
    if not names:
        return Check("deployment alarms", PASS if service is None else WARN,
                     "first deploy: no service yet" if service is None else "the service has no deployment alarms")
    response = target.client("cloudwatch").describe_alarms(AlarmNames=names[:100], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])
    firing = [f"{a['AlarmName']} ({a.get('StateReason', '')})" for a in alarms if a.get("StateValue") == "ALARM"]
    if firing:
        return Check("deployment alarms", FAIL, f"in ALARM: {'; '.join(firing)} - ECS would roll the new revision back; "
                     "find out why first (ava-olo status)")
    return Check("deployment alarms", PASS, f"{len(alarms)} alarm(s), none in ALARM: {', '.join(names)}")


def _serving_image(target: Any, service: Optional[dict[str, Any]]) -> Optional[str]:
    if not service:
        return None
    containers = target.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"]
    return next((c["image"] for c in containers if ".dkr.ecr." in c.get("image", "")), None)


def image_check(target: Any, version: str, repository: Optional[str], service: Optional[dict[str, Any]]) -> Check:
    if repository is None:
        image = _serving_image(target, service)
        if image is None:
            return Check("image in ECR", FAIL, "cannot tell the ECR repository: pass --image-repository NAME")
        repository = image.split("/", 1)[1].split("@")[0].rsplit(":", 1)[0]
    try:
        found = target.client("ecr").describe_images(repositoryName=repository, imageIds=[{"imageTag": version}])["imageDetails"]
    except ClientError as error:
        if _code(error) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return Check("image in ECR", FAIL, f"{repository}:{version} does not exist ({_code(error)}): build and push it first")
        raise
    pushed = found[0].get("imagePushedAt")
    return Check("image in ECR", PASS, f"{repository}:{version}" + (f" pushed {pushed:%Y-%m-%d %H:%M}" if pushed else ""))


def certificate_check(target: Any, parameter: Optional[str]) -> Check:
    stack_parameters = [p["ParameterValue"] for p in (target.described_stack() or {}).get("Parameters", [])]
    parameter = parameter or next((p for p in stack_parameters if p.startswith("/") and "certificate" in p.lower()), None)
    if parameter is None:
        return Check("certificate", SKIP, "no certificate parameter (--certificate-parameter, or in the service stack)")
    arn, acm = target.parameter(parameter), target.client("acm")
    region = acm.meta.region_name
    if arn is None:
        return Check("certificate", FAIL, f"SSM parameter {parameter} does not exist: put the certificate ARN there")
    if not re.fullmatch(rf"arn:aws[a-z-]*:acm:{re.escape(region)}:\d{{12}}:certificate/[\w-]+", arn):
        return Check("certificate", FAIL, f"{parameter} = {arn!r} is not an ACM certificate ARN in {region}")
    try:
        status = acm.describe_certificate(CertificateArn=arn)["Certificate"].get("Status")
    except ClientError as error:
        status = _code(error)
    return Check("certificate", PASS if status == "ISSUED" else FAIL, f"{parameter} -> {arn} is {status} in {region}")


def elastic_ip_check(target: Any, nat_gateways: Optional[int]) -> Check:
    """Elastic IPs in use + those the network stack's new NAT gateways need, against ``vpc-max-elastic-ips``."""
    try:
        resources = target.client("cloudformation").describe_stack_resources(StackName=target.stack("network"))["StackResources"]
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        resources = []
    have = sum(1 for r in resources if r["ResourceType"] == "AWS::EC2::EIP")
    if nat_gateways is None and have == 0:
        return Check("Elastic IPs", WARN, "first deploy of the network: pass --nat-gateways N to check the account's Elastic IPs")
    ec2, new = target.client("ec2"), max((have if nat_gateways is None else nat_gateways) - have, 0)
    used = len(ec2.describe_addresses()["Addresses"])
    attribute = ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"][0]
    limit = int(attribute["AttributeValues"][0]["AttributeValue"])
    detail = f"{used} of {limit} in use (vpc-max-elastic-ips), the NAT gateways need {new} more"
    fits = used + new <= limit
    return Check("Elastic IPs", PASS if fits else FAIL, detail + ("" if fits else ": release unused ones or ask for more"))


def resolve_timezone(name: Optional[str], environ: Optional[dict[str, str]] = None) -> Optional[tzinfo]:
    """``--timezone``, else ``$AVA_OLO_TIMEZONE``, else None (the machine's local timezone)."""
    source, name = ("--timezone", name) if name is not None else (TIMEZONE_VARIABLE, (os.environ if environ is None else environ).get(TIMEZONE_VARIABLE) or None)
    try:
        return ZoneInfo(name) if name is not None else None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CliError(f"{source}: unknown timezone {name!r}; use an IANA name such as Europe/Zagreb") from None


def override_reason(value: Optional[str], *, example: str = "hotfix for the farmer login outage") -> Optional[str]:
    """A free-text reason on one line (None without one); empty is bad input. (migrate's ``--override``.)"""
    if value is None:
        return None
    reason = " ".join(value.split())
    if not reason:
        raise CliError(f"--override needs a reason, e.g. --override \"{example}\"")
    return reason


class _Overrides(argparse.Action):
    """Repeatable ``--override NAME=reason``, kept as one string (one override a line) so it passes on as one value."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option: Any = None) -> None:
        previous = getattr(namespace, self.dest, None)
        setattr(namespace, self.dest, f"{previous}\n{value}" if previous else value)


def add_preflight_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--changelog", default=os.environ.get(NOTES_VARIABLE, ""), metavar="PATH|URL",
                        help=f"the APPLICATION's release notes (its repository's CHANGELOG.md; default ${NOTES_VARIABLE})")
    parser.add_argument("--timezone", metavar="ZONE", help=f"IANA timezone for the deploy window (default ${TIMEZONE_VARIABLE}, else local)")
    parser.add_argument("--override", action=_Overrides, metavar="NAME=REASON",
                        help=f"bypass one check, repeatable: NAME is {', '.join(OVERRIDABLE)}; the reason is printed")


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser, version_help=VERSION_HELP)
    add_preflight_options(parser)
    parser.add_argument("--image-repository", metavar="NAME", help="ECR repository (default: the serving task definition's)")
    parser.add_argument("--certificate-parameter", metavar="NAME", help="SSM parameter holding the certificate ARN (default: the service stack's)")
    parser.add_argument("--nat-gateways", type=int, metavar="N", help="NAT gateways the network stack will have (default: its current ones)")


def read_notes(source: str) -> Optional[str]:
    """The release notes at ``source`` (a path or an http(s) URL); None when none is given. Unreadable: bad input."""
    if not source:
        return None
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=10) as response:  # only where the operator points it
                return response.read(2_000_000).decode("utf-8", errors="replace")
        return Path(source).read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        raise CliError(f"--changelog: cannot read {source}: {' '.join(str(error).split())}") from None


def evaluate(args: argparse.Namespace, *, now: Optional[Callable[[], datetime]] = None) -> list[Check]:
    """All checks for ``args``, overrides applied; :class:`CliError` for bad input and AWS errors."""
    version = parse_version(args.version)
    overrides = parse_overrides(args.override)
    zone = resolve_timezone(args.timezone)
    notes = notes_check(read_notes(args.changelog), args.changelog, version)
    try:
        target = target_module.from_args(args)
        service = read_service(target)
        running = target.parameter(target.version_parameter)
        checks = [
            Check("version format", PASS, str(version)),
            deployment_check(target, service),
            stacks_check(target),
            alarms_check(target, service),
            image_check(target, str(version), getattr(args, "image_repository", None), service),
            certificate_check(target, getattr(args, "certificate_parameter", None)),
            elastic_ip_check(target, getattr(args, "nat_gateways", None)),
            newer_check(version, running, target.version_parameter),
        ]
    except target_module.TargetError as error:
        raise CliError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(target_module.aws_error_line(error)) from None
    local = (now or clock)().astimezone(zone) if zone is not None else (now or clock)().astimezone()
    checks += [notes, window_check(local, str(zone) if zone is not None else f"{local.tzname()} (local)")]
    return apply_overrides(checks, overrides)


def cmd_preflight(args: argparse.Namespace) -> int:
    checks = evaluate(args)
    out = sys.stdout
    emit(f"preflight: {args.version} -> {args.env}\n", out)
    for check in checks:
        mark(check.status, f"{check.name}: {check.detail}", out)
    refused = [c for c in checks if c.status == FAIL]
    if refused:
        names = [f"{c.name}" + (f" (--override {k}=\"reason\")" if (k := next((k for k, v in OVERRIDABLE.items() if v == c.name), None)) else "")
                 for c in refused]
        emit(f"refused: {', '.join(names)}\n", out)
        return EXIT_REFUSED
    overridden = [c.name for c in checks if c.overridden]
    emit(f"ready: {args.version} may be deployed to {args.env}" + (f" (overridden: {', '.join(overridden)})" if overridden else "") + "\n", out)
    return EXIT_READY


register("preflight", "pre-deployment checks: alarms, image, certificate, Elastic IPs, version, release notes, window",
         _arguments, cmd_preflight)
