"""``ava-olo watch --env E --version V``: follow the release V until AWS says it is live, or why not.

Each poll (every ``--interval`` s) reads CloudFormation's ``StackStatus``; ECS's service-deployment API -
``list_service_deployments``, ``describe_service_revisions`` (which release each deployment's target revision
runs: its image tag) and ``describe_service_deployments`` of V's deployment (status, lifecycle stage, task counts,
traffic weights, rollback, circuit-breaker and alarm state); and the serving task definition. A line is printed
when what AWS reports changes (at least every 5 minutes). Exit 0 only when :func:`ava_olo_ops.rollout.judge` says
so (stack ``*_COMPLETE`` not rolled back, V's deployment ``SUCCESSFUL``, serving revision on V); 1 failed, rolled
back, unreachable past ``--offline-limit``, no deployment of V within ``--start-limit`` of a settled stack, or
``--timeout``; 2 bad input or credentials.

Network: one retry layer, botocore's (``target.RETRIES``). A poll that still fails with a network error prints
``reconnecting…`` once; the next poll tries again. The deployment goes on in AWS meanwhile.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional, TextIO

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError, HTTPClientError

from . import target as target_mod
from . import versions
from .cli import CliError, number, register
from .console import FAIL, PASS, WARN, emit, mark
from .rollout import DONE, FAILED, Snapshot, judge, stack_state
from .timeline import format_duration as short_duration

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
NETWORK_ERRORS = (BotoConnectionError, HTTPClientError)
HEARTBEAT_SECONDS = 300

Clock, Sleep = Callable[[], datetime], Callable[[float], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Reader:
    """One poll of AWS for ``version``; the version of each (immutable) revision and task definition is cached."""

    def __init__(self, target: Any, version: str) -> None:
        self.target, self.version = target, version
        self.cluster = target.output("ClusterName")
        self.service = target.output("ServiceName")
        self.ecs = target.client("ecs")
        self._versions: dict[str, Optional[str]] = {}

    def task_definition_version(self, arn: str) -> Optional[str]:
        if arn not in self._versions:
            containers = self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]
            tags = [versions.of_image(c.get("image")) for c in containers]
            self._versions[arn] = next((t for t in tags if versions.is_valid(t)), None)
        return self._versions[arn]

    def revision_versions(self, arns: list[str]) -> None:
        unknown = [a for a in arns if a not in self._versions]
        for start in range(0, len(unknown), 20):
            for rev in self.ecs.describe_service_revisions(serviceRevisionArns=unknown[start:start + 20])["serviceRevisions"]:
                tags = [versions.of_image(c.get("image")) for c in rev.get("containerImages") or []]
                tag = next((t for t in tags if versions.is_valid(t)), None)
                self._versions[rev["serviceRevisionArn"]] = tag or self.task_definition_version(rev["taskDefinition"])

    def deployments(self) -> list[dict[str, Any]]:
        briefs = self.ecs.list_service_deployments(cluster=self.cluster, service=self.service)["serviceDeployments"]
        return sorted(briefs, key=lambda b: b.get("createdAt") or datetime.min.replace(tzinfo=timezone.utc), reverse=True)

    def poll(self) -> Snapshot:
        stack = self.target.describe_stack()
        briefs = self.deployments()
        self.revision_versions([b["targetServiceRevisionArn"] for b in briefs if b.get("targetServiceRevisionArn")])
        mine = next((b for b in briefs if self._versions.get(b.get("targetServiceRevisionArn", "")) == self.version), None)
        deployment = None
        if mine is not None:
            deployment = self.ecs.describe_service_deployments(
                serviceDeploymentArns=[mine["serviceDeploymentArn"]])["serviceDeployments"][0]
        newest = None
        if briefs and briefs[0] is not mine:
            newest = f"{self._versions.get(briefs[0].get('targetServiceRevisionArn', '')) or '?'} {briefs[0].get('status')}"
        return Snapshot(stack["StackStatus"] if stack else None, deployment, self.serving_version(), newest)

    def serving_version(self) -> Optional[str]:
        """The release of the task definition the service runs now (None: no service)."""
        services = self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"]
        return self.task_definition_version(services[0]["taskDefinition"]) if services else None


def follow_release(
    target: Any, version: str, *, interval: float = 15, timeout: float = 60 * 60, offline_limit: float = 10 * 60,
    start_limit: float = 5 * 60, clock: Clock = utc_now, sleep: Sleep = time.sleep, out: Optional[TextIO] = None,
) -> int:
    """Follow the release ``version`` of ``target``; the exit code (0 live, 1 not, 2 bad input / credentials).

    What ``ava-olo deploy`` calls after starting ``cdk deploy``. Never raises for AWS or network errors."""
    def say(text: str, status: Optional[str] = None) -> None:
        stamp = clock().astimezone(timezone.utc).strftime("%H:%M:%SZ")
        mark(status, f"{stamp} {text}", out) if status else emit(f"{stamp} {text}\n", out, flush=True)

    try:
        reader = Reader(target, version)
    except (target_mod.TargetError, ClientError, BotoCoreError) as error:
        print(f"error: {target_mod.aws_error_line(error, prefix='')}", file=sys.stderr)
        return EXIT_BAD_INPUT
    start = clock()
    say(f"watching {version} -> ECS service {reader.service} ({reader.cluster}), stack {target.service_stack}")
    last_line, last_at, offline_since, settled_since = "", start, None, None
    while True:
        now = clock()
        try:
            snapshot = reader.poll()
        except NETWORK_ERRORS as error:
            if offline_since is None:
                offline_since = now
                say(f"reconnecting… AWS did not answer ({' '.join(str(error).split())}); the deployment goes on in AWS", WARN)
            elif (now - offline_since).total_seconds() >= offline_limit:
                say(f"FAILED to follow {version}: AWS unreachable for {short_duration(offline_limit)}; check again with "
                    f"'ava-olo watch --env {target.environment} --version {version}'", FAIL)
                return EXIT_FAILED
        except (ClientError, BotoCoreError) as error:
            print(f"error: {target_mod.aws_error_line(error)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        else:
            if offline_since is not None:
                say(f"reconnected after {short_duration((now - offline_since).total_seconds())}")
                offline_since = None
            verdict, reason = judge(snapshot, version)
            line = snapshot.line()
            if line != last_line or (now - last_at).total_seconds() >= HEARTBEAT_SECONDS:
                say(line)
                last_line, last_at = line, now
            if verdict == DONE:
                say(f"LIVE: {reason} (after {short_duration((now - start).total_seconds())})", PASS)
                return EXIT_OK
            if verdict == FAILED:
                say(f"FAILED: {reason}", FAIL)
                say(f"next: ava-olo status --env {target.environment}; aws logs tail "
                    f"{target.outputs().get('LogGroupName', '<LogGroupName output>')} --since 30m")
                return EXIT_FAILED
            settled = snapshot.deployment is None and stack_state(snapshot.stack_status) == "ok"
            settled_since = (settled_since or now) if settled else None
            if settled_since is not None and (now - settled_since).total_seconds() >= start_limit:
                say(f"FAILED: no ECS deployment of {version} began within {short_duration(start_limit)} while the stack "
                    f"was {snapshot.stack_status} (serving {snapshot.serving_version}); was {version} deployed?", FAIL)
                return EXIT_FAILED
        if (clock() - start).total_seconds() >= timeout:
            say(f"TIMED OUT after {short_duration(timeout)}: {version} is not live yet; the deployment goes on in AWS", FAIL)
            return EXIT_FAILED
        sleep(interval)


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_mod.add_target_arguments(parser, version_help="the release to wait for, e.g. v3.3.0 (its image tag)")
    parser.add_argument("--interval", type=number(exclusive=True), default=15, metavar="SECONDS", help="seconds between polls (default 15)")
    parser.add_argument("--timeout", type=number(exclusive=True), default=60, metavar="MINUTES", help="give up after MINUTES (default 60)")
    parser.add_argument("--offline-limit", type=number(exclusive=True), default=10, metavar="MINUTES",
                        help="give up when AWS stays unreachable this long (default 10)")
    parser.add_argument("--start-limit", type=number(exclusive=True), default=5, metavar="MINUTES",
                        help="fail when the stack is settled and no deployment of VERSION begins within MINUTES (default 5)")


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        version = str(versions.parse(args.version, what="--version"))
        target = target_mod.from_args(args)
    except (versions.VersionError, target_mod.TargetError) as error:
        raise CliError(str(error)) from None
    return follow_release(target, version, interval=args.interval, timeout=args.timeout * 60,
                          offline_limit=args.offline_limit * 60, start_limit=args.start_limit * 60)


register("watch", "follow release VERSION until CloudFormation and ECS both report it live (exit 0/1/2)", _arguments, cmd_watch)
