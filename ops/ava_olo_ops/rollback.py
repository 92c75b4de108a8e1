"""``ava-olo rollback --env E [--to VERSION]``: put production back on a known-good release.

In flight (ECS ``PENDING`` / ``IN_PROGRESS``): ``stop_service_deployment(stopType=ROLLBACK)`` - with canary or
blue/green a traffic shift back to the old revision, still running - then follow ECS to ``ROLLBACK_SUCCESSFUL``
(exit 0) or ``ROLLBACK_FAILED`` (1); CloudFormation then rolls its stack update back itself. Otherwise: redeploy the
previous release (the source revision of the serving one's deployment) or ``--to VERSION`` through ``ava-olo
deploy`` (preflight, synth, guard, cdk deploy, watch, verify) with only preflight's ``newer`` and ``window`` checks
overridden ("rollback from X to Y": older by design, and it cannot wait for Monday).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from . import cli
from . import target as target_module
from . import versions
from .cli import CliError, register
from .console import FAIL, PASS, emit, mark
from .preflight import add_preflight_options
from .rollout import why
from .watch import NETWORK_ERRORS, Reader


sleep: Callable[[float], None] = time.sleep  #: waits between polls of the rollback (tests replace it)


def stop_in_flight(reader: Reader, *, interval: float = 10, timeout: float = 30 * 60, out: Any = None) -> Optional[int]:
    """Roll back the deployment in flight and follow it; None when nothing is in flight."""
    briefs = reader.ecs.list_service_deployments(cluster=reader.cluster, service=reader.service, status=["PENDING", "IN_PROGRESS"])["serviceDeployments"]
    if not briefs:
        return None
    arn = briefs[0]["serviceDeploymentArn"]
    reader.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    emit(f"stopping {arn} with rollback: ECS shifts traffic back to the revision that served before\n", out)
    waited, last = 0.0, ""
    while waited < timeout:
        try:
            deployment = reader.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
        except NETWORK_ERRORS as error:
            deployment = {"status": f"reconnecting… ({' '.join(str(error).split())})"}
        status = deployment.get("status", "?")
        if status != last:
            emit(f"  ECS {status} {deployment.get('lifecycleStage', '')}\n", out)
            last = status
        if status == "ROLLBACK_SUCCESSFUL":
            mark(PASS, f"rolled back: {why(deployment)}", out)
            return 0
        if status in ("ROLLBACK_FAILED", "SUCCESSFUL", "STOPPED"):
            mark(FAIL, f"ECS ended {status}: {why(deployment)}", out)
            return 1
        sleep(interval)
        waited += interval
    mark(FAIL, f"rollback not finished after {timeout / 60:g} min; it goes on in AWS: ava-olo status --env ...", out)
    return 1


def previous_release(reader: Reader) -> tuple[Optional[str], Optional[str]]:
    """(serving release, the release the serving revision's deployment replaced)."""
    serving = reader.serving_version()
    for brief in reader.deployments():
        if brief.get("status") != "SUCCESSFUL":
            continue
        deployment = reader.ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])["serviceDeployments"][0]
        sources = [s["arn"] for s in deployment.get("sourceServiceRevisions") or [] if s.get("arn")]
        reader.revision_versions(sources + [brief["targetServiceRevisionArn"]])
        if reader._versions.get(brief["targetServiceRevisionArn"]) != serving:
            continue
        older = [reader._versions.get(s) for s in sources if reader._versions.get(s) not in (None, serving)]
        return serving, (older[0] if older else None)
    return serving, None


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser)
    parser.add_argument("--to", metavar="VERSION", help="release to go back to (default: the one before the serving release)")
    add_preflight_options(parser)


def cmd_rollback(args: argparse.Namespace) -> int:
    if args.to is not None:
        try:
            versions.parse(args.to, what="--to")
        except versions.VersionError as error:
            raise CliError(str(error)) from None
    try:
        target = target_module.from_args(args)
        reader = Reader(target, args.to or "")
        if args.to is None:
            code = stop_in_flight(reader)
            if code is not None:
                return code
        serving, previous = previous_release(reader)
    except target_module.TargetError as error:
        raise CliError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(target_module.aws_error_line(error)) from None
    to = args.to or previous
    if to is None:
        raise CliError(f"no previous release known from ECS (serving {serving}): pass --to VERSION")
    reason = f"rollback from {serving} to {to}"
    emit(f"nothing in flight; redeploying {to} (serving {serving}) through ava-olo deploy\n")
    argv = ["deploy", "--env", target.environment, "--version", to, "--changelog", args.changelog,
            "--override", f"newer={reason}", "--override", f"window={reason}"]
    argv += [word for value in (args.override or "").splitlines() for word in ("--override", value)]
    for option, value in (("--region", args.region), ("--profile", args.profile), ("--timezone", args.timezone)):
        argv += [option, value] if value else []
    sys.stdout.flush()
    return cli.main(argv)


register("rollback", "stop an in-flight deployment with rollback, or redeploy the previous (or --to) release",
         _arguments, cmd_rollback)
