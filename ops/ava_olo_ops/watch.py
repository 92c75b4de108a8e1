"""``ava-olo watch --env E``: follow the environment's ECS deployment until it finishes.

Every ``--interval`` seconds it reads the service (``ecs.describe_services``), its running and recently stopped
tasks (every page of ``ecs.list_tasks``, then ``ecs.describe_tasks`` 100 at a time), the target group's health
(``elbv2.describe_target_health``) and the new events of the service and data stacks
(``cloudformation.describe_stack_events``, printed only), and hands them to :func:`ava_olo_ops.rollout.assess`.
Before it follows a deployment, the service stack's status comes from ``cloudformation.describe_stacks``. It prints:

* each of the seed's phases (ECS task creation -> health checks -> traffic switch / draining -> completion) once,
  when entered, with the phases done and to come;
* a progress bar and an ETA from the expected timeline of the *deployed* template
  (:func:`ava_olo_ops.timeline.timelines`), or from the seed's figures when the template cannot be read;
* when waiting is normal, that it is (seed, "What NOT to Do" #1), and when something is wrong, what: tasks that
  stop (stoppedReason, exit codes), targets that fail their health checks (reason code and description), a
  circuit-breaker or alarm rollback (naming the alarm in ALARM), a CloudFormation rollback.

A new target that stays unhealthy for longer than the plan allows (``Plan.stuck_target_seconds``: (grace period +
interval x unhealthy threshold) x 3, at least 3 minutes; the seed's 10 minutes without a readable template) makes
the deployment *stuck*: watch stops waiting and names the target's health reason, even when ECS has not given up.

Exit status: 0 the deployment COMPLETED; 1 it FAILED, was rolled back, is stuck, or did not finish before
``--timeout``; 2 bad input or AWS credentials.

Output: when stdout is not a terminal (CI) every line is a plain, timestamped line and nothing is repeated: a
status line is printed only when the counts change (or every 5 minutes, so a CI log never looks stuck). On a
terminal one status line is redrawn in place.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional, TextIO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from . import target as target_mod
from .cli import CliError, register
from .cli import _seconds as seconds
from .console import emit
from .rollout import (
    COMPLETED,
    COMPLETION,
    FAILED,
    HEALTH,
    PHASES,
    ROLLED_BACK,
    SUPERSEDED,
    TASKS,
    TRAFFIC,
    Assessment,
    Plan,
    Tracked,
    assess,
    deployments,
    eta,
    mentioned_alarms,
    phase_picture,
    plan_from_timeline,
    progress_bar,
    revision,
    seed_plan,
    short_duration,
)
from .timeline import Assumptions, TemplateError, timelines

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]

#: Error codes AWS uses for throttling; retried with a bounded backoff (botocore's own retries do not run under
#: a Stubber, and a long watch should not die of one throttled call).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
BACKOFF_SECONDS = (1, 2, 4, 8)
#: Without any change, a status line at least this often in non-TTY output.
HEARTBEAT_SECONDS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def call(client: Any, method: str, sleep: Sleep = time.sleep, **kwargs: Any) -> dict[str, Any]:
    """``client.<method>(**kwargs)``, retrying throttling errors after 1, 2, 4, 8 s (through ``sleep``)."""
    for delay in (*BACKOFF_SECONDS, None):
        try:
            return getattr(client, method)(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in THROTTLING_CODES or delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def paginate(client: Any, method: str, key: str, sleep: Sleep = time.sleep, **kwargs: Any) -> list[Any]:
    """Every ``key`` item of every page of ``client.get_paginator(method)``; when a page is throttled the listing
    starts again from the first page after 1, 2, 4, 8 s (through ``sleep``), so no page is skipped or counted twice."""
    for delay in (*BACKOFF_SECONDS, None):
        items: list[Any] = []
        try:
            for page in client.get_paginator(method).paginate(**kwargs):
                items += page.get(key) or []
            return items
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in THROTTLING_CODES or delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def aws_failure(error: BaseException) -> CliError:
    """A :class:`CliError` (exit 2) for an AWS error: credentials via ``target.explain``, else the error itself."""
    if isinstance(error, ClientError):
        prefix = "AWS request failed: "
    elif isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        prefix = "cannot reach AWS: "
    else:
        prefix = ""
    return CliError(target_mod.aws_error_line(error, prefix=prefix), EXIT_BAD_INPUT)


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


# --------------------------------------------------------------------------------------------------------------
# Reading AWS
# --------------------------------------------------------------------------------------------------------------


def read_plan(target: Any, assumptions: Assumptions, sleep: Sleep = time.sleep) -> Plan:
    """The expected timeline of the deployed service template, or the seed's figures (saying why)."""
    try:
        body = call(
            target.client("cloudformation"), "get_template", sleep,
            StackName=target.service_stack, TemplateStage="Original",
        )["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body
        return plan_from_timeline(timelines(template, assumptions)[0])
    except (NoCredentialsError, PartialCredentialsError):
        raise
    except ClientError as error:
        return seed_plan(f"cloudformation:GetTemplate failed: {error.response.get('Error', {}).get('Code', error)}")
    except (TemplateError, ValueError, KeyError, IndexError, TypeError) as error:
        return seed_plan(f"the deployed template of {target.service_stack} cannot be analysed: {' '.join(str(error).split())}")


def describe_service(ecs: Any, cluster: str, service: str, sleep: Sleep = time.sleep) -> dict[str, Any]:
    response = call(ecs, "describe_services", sleep, cluster=cluster, services=[service])
    services = response.get("services") or []
    if not services:
        failures = response.get("failures") or [{}]
        raise CliError(f"ECS service {service} not found in cluster {cluster}: {failures[0].get('reason', 'MISSING')}")
    return services[0]


def service_tasks(ecs: Any, cluster: str, service: str, sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    """The service's running (and pending) tasks and its recently stopped tasks, described.

    Every page of ``list_tasks`` (100 ARNs a page): a stopped task of the new deployment can be on any of them.
    ``describe_tasks`` takes at most 100 ARNs a call.
    """
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        arns += paginate(ecs, "list_tasks", "taskArns", sleep, cluster=cluster, serviceName=service, desiredStatus=status)
    tasks: list[dict[str, Any]] = []
    arns = list(dict.fromkeys(arns))
    for start in range(0, len(arns), 100):
        tasks += call(ecs, "describe_tasks", sleep, cluster=cluster, tasks=arns[start:start + 100]).get("tasks", [])
    return tasks


def target_health(elbv2: Any, target_group_arn: Optional[str], sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    if not target_group_arn:
        return []
    return call(elbv2, "describe_target_health", sleep, TargetGroupArn=target_group_arn).get("TargetHealthDescriptions", [])


def target_group_of(target: Any, service: dict[str, Any]) -> Optional[str]:
    """The ``TargetGroupArn`` output, else the service's first load balancer target group."""
    arn = target.outputs().get("TargetGroupArn")
    if arn:
        return arn
    for balancer in service.get("loadBalancers") or []:
        if balancer.get("targetGroupArn"):
            return balancer["targetGroupArn"]
    return None


def deployment_alarm_names(service: dict[str, Any]) -> list[str]:
    alarms = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
    return [name for name in alarms.get("alarmNames") or [] if isinstance(name, str)]


def stack_events(cloudformation: Any, stack: str, sleep: Sleep = time.sleep) -> Optional[list[dict[str, Any]]]:
    """The newest page of the stack's events (newest first); None when the stack does not exist."""
    try:
        return call(cloudformation, "describe_stack_events", sleep, StackName=stack).get("StackEvents", [])
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def stack_status(cloudformation: Any, stack: str, sleep: Sleep = time.sleep) -> tuple[Optional[str], Optional[datetime]]:
    """``(StackStatus, LastUpdatedTime)`` of ``stack`` from ``describe_stacks``; ``(None, None)`` when it does not
    exist. (Not from the stack events: the stack's own event can be more than a page of events back.)"""
    try:
        stacks = call(cloudformation, "describe_stacks", sleep, StackName=stack).get("Stacks") or []
    except ClientError as error:
        if "does not exist" in str(error):
            return None, None
        raise
    if not stacks:
        return None, None
    return stacks[0].get("StackStatus"), stacks[0].get("LastUpdatedTime")


# --------------------------------------------------------------------------------------------------------------
# The watcher
# --------------------------------------------------------------------------------------------------------------


@dataclass
class WatchSettings:
    interval_seconds: float = 15
    timeout_seconds: float = 30 * 60
    assumptions: Assumptions = Assumptions()


class Watcher:
    def __init__(
        self,
        target: Any,
        settings: WatchSettings,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = time.sleep,
        out: Optional[TextIO] = None,
        tty: bool = False,
    ) -> None:
        self.target = target
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.out = out if out is not None else sys.stdout
        self.tty = tty
        self.tracked: Optional[Tracked] = None
        self.phase: Optional[int] = None
        self.phase_entered: Optional[datetime] = None
        self.said: set[str] = set()
        self.seen_service_events: Optional[set[str]] = None
        self.seen_stack_events: dict[str, set[str]] = {}
        self.unhealthy_since: dict[str, datetime] = {}  #: new target label -> first poll that saw it unhealthy
        self.last_health_problem = ""
        self.last_stop_reason = ""
        self.stopped_count = 0
        self.problem_in_phase = False
        self._status_text = ""
        self._status_signature: Any = None
        self._status_printed_at: Optional[datetime] = None

    # ---- output ------------------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        """A permanent line, timestamped."""
        stamp = self.clock().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"{stamp} {_clean(text)}\n"
        if self.tty and self._status_text:
            emit("\r\x1b[2K" + text + self._status_text, self.out, flush=True)
        else:
            emit(text, self.out, flush=True)

    def say_once(self, key: str, text: str) -> None:
        if key not in self.said:
            self.said.add(key)
            self.line(text)

    def status(self, text: str, signature: Any) -> None:
        """The status line: redrawn on a TTY; elsewhere printed when ``signature`` changes, or as a heartbeat."""
        text = _clean(text)
        now = self.clock()
        if self.tty:  # one terminal row, or the carriage return cannot redraw it
            width = max(shutil.get_terminal_size((120, 24)).columns - 1, 20)
            text = text if len(text) <= width else text[: width - 3] + "..."
            self._status_text = text
            emit("\r\x1b[2K" + text, self.out, flush=True)
            return
        stale = self._status_printed_at is None or (now - self._status_printed_at).total_seconds() >= HEARTBEAT_SECONDS
        if signature != self._status_signature or stale:
            self._status_signature = signature
            self._status_printed_at = now
            self.line("  " + text)

    def end_status(self) -> None:
        if self.tty and self._status_text:
            emit("\r\x1b[2K", self.out, flush=True)
            self._status_text = ""

    # ---- phases ------------------------------------------------------------------------------------------

    def enter_phase(self, phase: int, started: Optional[datetime] = None, a: Optional[Assessment] = None) -> None:
        """Print every phase from the current one up to ``phase`` once (a fast step can pass between polls)."""
        # Starting mid-deployment, the earlier phases were not seen: only the current one is printed (the picture
        # shows them done); afterwards a phase passed between two polls is still printed, marked as such.
        first = phase if self.phase is None else self.phase + 1
        if phase < first:
            return
        now = self.clock()
        for index in range(first, phase + 1):
            passed = " (passed between polls)" if index < phase else ""
            self.line(f"phase {index + 1}/{len(PHASES)}: {PHASES[index]}{passed}  {phase_picture(index)}")
            if not passed:
                self.explain_phase(index, a)
        self.phase = phase
        self.phase_entered = started if (started is not None and started <= now) else now
        self.problem_in_phase = False

    def explain_phase(self, phase: int, a: Optional[Assessment] = None) -> None:
        plan = self.plan
        if phase == TASKS:
            self.line(
                f"  ECS starts the new task beside the old one (the old one keeps serving); expected "
                f"{short_duration(plan.phase_seconds[TASKS])} for image pull + app start"
            )
        elif phase == HEALTH and a is not None and a.health_problems:
            self.line(
                f"  health checks normally take up to {plan.health_check_seconds} s here ({plan.health_check_formula}), "
                "but a new target is already failing them (below); watch calls the deployment stuck when a new target "
                f"stays unhealthy for {short_duration(plan.stuck_target_seconds)} ({plan.stuck_target_formula})"
            )
        elif phase == HEALTH:
            self.line(
                f"  health checks take up to {plan.health_check_seconds} s here ({plan.health_check_formula}); "
                "this is normal - don't force a new deployment (seed What NOT to Do #1)"
            )
        elif phase == TRAFFIC:
            delay = plan.deregistration_seconds
            self.line(
                "  the new tasks are healthy targets and receive traffic; the old ones drain"
                + (f" for up to {delay} s (deregistration delay)" if delay is not None else "")
            )
        elif phase == COMPLETION:
            self.line("  the old tasks stop; ECS then marks the deployment COMPLETED")

    # ---- polling -----------------------------------------------------------------------------------------

    def stack_names(self) -> list[str]:
        return [self.target.service_stack, self.target.data_stack]

    def baseline_stack_events(self) -> None:
        cloudformation = self.target.client("cloudformation")
        for stack in self.stack_names():
            events = stack_events(cloudformation, stack, self.sleep)
            if events is None:
                continue
            self.seen_stack_events[stack] = {e.get("EventId", "") for e in events}

    def service_stack_status(self) -> tuple[str, str]:
        """The service stack's status now, and ``" (since HH:MM:SSZ)"`` from its LastUpdatedTime (or "")."""
        status, updated = stack_status(self.target.client("cloudformation"), self.target.service_stack, self.sleep)
        since = f" (since {updated.astimezone(timezone.utc).strftime('%H:%M:%SZ')})" if isinstance(updated, datetime) else ""
        return status or "", since

    def report_stack_events(self) -> None:
        cloudformation = self.target.client("cloudformation")
        for stack in list(self.seen_stack_events):
            events = stack_events(cloudformation, stack, self.sleep)
            if events is None:
                continue
            seen = self.seen_stack_events[stack]
            for event in reversed(events):  # oldest first
                if event.get("EventId") in seen:
                    continue
                seen.add(event.get("EventId", ""))
                status = str(event.get("ResourceStatus", ""))
                reason = event.get("ResourceStatusReason")
                text = f"CloudFormation {stack}: {event.get('LogicalResourceId', '?')} {status}" + (f" - {reason}" if reason else "")
                if status in ("UPDATE_ROLLBACK_IN_PROGRESS", "ROLLBACK_IN_PROGRESS") and event.get("LogicalResourceId") == stack:
                    self.line(f"PROBLEM: CloudFormation is rolling {stack} back" + (f": {reason}" if reason else ""))
                elif "FAILED" in status:
                    self.line("PROBLEM: " + text)
                else:
                    self.line(text)

    def report_service_events(self, service: dict[str, Any]) -> None:
        events = service.get("events") or []
        if self.seen_service_events is None:  # the first poll is the baseline: history is not news
            self.seen_service_events = {e.get("id", "") for e in events}
            return
        for event in reversed(events):
            if event.get("id") not in self.seen_service_events:
                self.seen_service_events.add(event.get("id", ""))
                self.line(f"ECS: {event.get('message', '')}")

    def poll(self) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        ecs = self.target.client("ecs")
        service = describe_service(ecs, self.cluster, self.service_name, self.sleep)
        tasks = service_tasks(ecs, self.cluster, self.service_name, self.sleep)
        if self.target_group_arn is None:
            self.target_group_arn = target_group_of(self.target, service)
        targets = target_health(self.target.client("elbv2"), self.target_group_arn, self.sleep)
        self.report_stack_events()
        self.report_service_events(service)
        return service, tasks, targets

    # ---- the deployment being followed ---------------------------------------------------------------------

    def track(self, deployment: dict[str, Any], previous: set[str]) -> None:
        task_definition = deployment.get("taskDefinition", "")
        self.tracked = Tracked(
            deployment_id=deployment.get("id", ""),
            task_definition=task_definition,
            created_at=deployment.get("createdAt"),
            previous_task_definitions=frozenset(p for p in previous if p and p != task_definition),
        )
        self.phase = None
        self.unhealthy_since = {}
        created = deployment.get("createdAt")
        since = f", started {created.astimezone(timezone.utc).strftime('%H:%M:%SZ')}" if isinstance(created, datetime) else ""
        self.line(
            f"following deployment {self.tracked.deployment_id}: {revision(task_definition)} "
            f"({deployment.get('rolloutState', 'rollout state not reported')}{since})"
        )

    def report(self, a: Assessment) -> None:
        for finding in a.findings:
            if finding.key in self.said:
                continue
            self.said.add(finding.key)
            if finding.level == "problem":
                self.problem_in_phase = True
                self.line("PROBLEM: " + finding.message)
            else:
                self.line("  " + finding.message)
        if a.health_problems:
            self.last_health_problem = a.health_problems[-1]
        if a.stop_reasons:
            self.last_stop_reason = a.stop_reasons[-1]
            self.stopped_count = a.stopped_new_tasks

    def progress(self, a: Assessment) -> None:
        assert self.phase is not None and self.phase_entered is not None
        now = self.clock()
        in_phase = (now - self.phase_entered).total_seconds()
        remaining, fraction, overdue = eta(self.plan, self.phase, in_phase)
        created = (a.deployment or {}).get("createdAt")
        elapsed = (now - created).total_seconds() if isinstance(created, datetime) else None
        if overdue > 0 and not self.problem_in_phase:
            self.say_once(
                f"overdue:{self.tracked.deployment_id if self.tracked else ''}:{self.phase}",
                f"  phase '{PHASES[self.phase]}' is taking longer than expected ({short_duration(in_phase)} so far, "
                f"expected {short_duration(self.plan.phase_seconds[self.phase])}); nothing has failed, so keep "
                "waiting - don't force a new deployment (seed What NOT to Do #1)",
            )
        eta_text = f"ETA {short_duration(remaining)}" if remaining > 0 else "ETA any moment (past the expected time)"
        text = f"{PHASES[self.phase]} {progress_bar(fraction)} {eta_text} | {a.status_line()}"
        if elapsed is not None:
            text += f" | {short_duration(max(elapsed, 0))} since the deployment began"
        self.status(text, (self.phase, a.status_line()))

    # ---- verdicts ------------------------------------------------------------------------------------------

    def alarm_details(self, a: Assessment, service: dict[str, Any]) -> str:
        configured = deployment_alarm_names(service)
        mentioned = mentioned_alarms(a.failure_reason, configured, self.target.project) if a.failure_reason else []
        names = sorted(set(configured) | set(mentioned))[:100]
        if not names:
            return ""
        # Without AlarmTypes describe_alarms returns metric alarms only; a deployment alarm may be a composite one.
        response = call(self.target.client("cloudwatch"), "describe_alarms", self.sleep, AlarmNames=names,
                        AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        alarms = list(response.get("MetricAlarms", [])) + list(response.get("CompositeAlarms", []))
        in_alarm = [x for x in alarms if x.get("StateValue") == "ALARM"]
        for alarm in in_alarm:
            self.line(f"ALARM: {alarm.get('AlarmName')} is in ALARM: {alarm.get('StateReason', '')}")
        if in_alarm:
            return "alarm in ALARM: " + ", ".join(str(x.get("AlarmName")) for x in in_alarm)
        if mentioned:
            states = {x.get("AlarmName"): x.get("StateValue") for x in alarms}
            return "rolled back by alarm " + ", ".join(f"{n} (now {states.get(n, 'unknown')})" for n in mentioned)
        return ""

    def finish_failed(self, a: Assessment, service: dict[str, Any]) -> int:
        extra: list[str] = []
        if a.kind in ("alarm", "rollback"):  # "rollback": no reason given; a deployment alarm may explain it
            try:
                detail = self.alarm_details(a, service)
            except (ClientError, BotoCoreError) as error:  # the verdict stands; only the detail is missing
                detail = f"alarm states unavailable: {' '.join(str(error).split())}"
            if detail:
                extra.append(detail)
        if self.last_health_problem:
            extra.append(f"last health check failure: {self.last_health_problem}")
        if self.last_stop_reason:
            extra.append(f"{self.stopped_count} new task(s) stopped, last: {self.last_stop_reason}")
        self.end_status()
        label = "ROLLED BACK" if a.verdict == ROLLED_BACK else "FAILED"
        self.line(f"{label}: {a.reason}" + (f" ({'; '.join(extra)})" if extra else ""))
        self.next_steps()
        return EXIT_FAILED

    def next_steps(self) -> None:
        outputs = self.target.outputs()
        hints = []
        if outputs.get("LogGroupName"):
            hints.append(f"aws logs tail {outputs['LogGroupName']} --follow")
        if outputs.get("ServiceUrl"):
            hints.append(f"curl -s {outputs['ServiceUrl'].rstrip('/')}/health")
        hints.append(f"ava-olo status --env {self.target.environment}")
        self.line("next: " + "; ".join(hints) + " (seed Troubleshooting, Issue 1)")

    def stuck_target(self, a: Assessment) -> Optional[tuple[str, str, float]]:
        """``(label, reason, seconds)`` of the new target unhealthy the longest, once past ``plan.stuck_target_seconds``.

        Each new target's clock starts at the first poll that sees it unhealthy and stops when it is not (healthy,
        draining, gone): a target that ECS replaces starts a new clock with its new address.
        """
        now = self.clock()
        current = dict(a.unhealthy_new_targets)
        self.unhealthy_since = {label: self.unhealthy_since.get(label, now) for label in current}
        worst: Optional[tuple[str, str, float]] = None
        for label, since in self.unhealthy_since.items():
            seconds = (now - since).total_seconds()
            if seconds >= self.plan.stuck_target_seconds and (worst is None or seconds > worst[2]):
                worst = (label, current[label], seconds)
        return worst

    def finish_stuck(self, a: Assessment, label: str, reason: str, seconds: float) -> int:
        assert self.tracked is not None
        self.end_status()
        self.line(
            f"FAILED: deployment {self.tracked.deployment_id} ({revision(self.tracked.task_definition)}) is stuck: new target "
            f"{label} has been unhealthy for {short_duration(seconds)}, longer than its health checks can take "
            f"({short_duration(self.plan.stuck_target_seconds)}: {self.plan.stuck_target_formula})"
            + (f": {reason}" if reason else ": no reason given by the load balancer")
            + f" ({a.status_line()}). ECS has not given up: the deployment continues in AWS until the circuit breaker "
            "or CloudFormation stops it; fix the health endpoint or roll back (seed Issue 1)"
        )
        self.next_steps()
        return EXIT_FAILED

    def finish_completed(self, a: Assessment) -> int:
        if self.phase is None:  # already finished before the first poll: nothing to follow
            self.end_status()
            self.line(f"nothing to wait for: the last deployment is COMPLETED - {a.reason}")
            return EXIT_OK
        if self.phase < COMPLETION:
            self.enter_phase(COMPLETION)
        self.end_status()
        created = (a.deployment or {}).get("createdAt")
        took = ""
        if isinstance(created, datetime):
            took = (
                f"; took {short_duration(max((self.clock() - created).total_seconds(), 0))} "
                f"(expected {short_duration(self.plan.total_seconds)})"
            )
        self.line(f"COMPLETED: {a.reason}{took}")
        return EXIT_OK

    def finish_timeout(self, a: Optional[Assessment]) -> int:
        self.end_status()
        minutes = short_duration(self.settings.timeout_seconds)
        if a is None or self.tracked is None:
            self.line(f"TIMED OUT after {minutes}: CloudFormation has not started an ECS deployment of {self.service_name}")
        else:
            where = PHASES[self.phase] if self.phase is not None else "an unknown phase"
            state = (a.deployment or {}).get("rolloutState", "IN_PROGRESS")
            self.line(
                f"TIMED OUT after {minutes}: deployment {self.tracked.deployment_id} ({revision(self.tracked.task_definition)}) "
                f"is still {state} in {where} ({a.status_line()}); it continues in AWS. Don't force a new deployment; "
                "check the health endpoint and the logs, and if tasks keep restarting roll back (seed Issue 1)"
                + (f"; last health check failure: {self.last_health_problem}" if self.last_health_problem else "")
            )
        return EXIT_FAILED

    # ---- main loop -----------------------------------------------------------------------------------------

    def run(self) -> int:
        start = self.clock()
        deadline_seconds = self.settings.timeout_seconds
        self.cluster = self.target.output("ClusterName")
        self.service_name = self.target.output("ServiceName")
        outputs = self.target.outputs()
        self.target_group_arn: Optional[str] = outputs.get("TargetGroupArn")
        self.plan = read_plan(self.target, self.settings.assumptions, self.sleep)
        self.baseline_stack_events()

        region = self.target.region or "the default region"
        self.line(f"watching ECS service {self.service_name} in cluster {self.cluster} ({self.target.service_stack}, {region})")
        if outputs.get("ServiceUrl"):
            self.line(f"  url: {outputs['ServiceUrl']}")
        self.line(("  " if self.plan.source == "template" else "  NOTE: ") + self.plan.description)

        waiting_since: Optional[dict[str, Any]] = None
        a: Optional[Assessment] = None
        while True:
            service, tasks, targets = self.poll()
            primary, others = deployments(service)
            if primary is None:
                raise CliError(f"ECS service {self.service_name} has no PRIMARY deployment")

            if self.tracked is None and waiting_since is None:
                settled = primary.get("rolloutState") in ("COMPLETED", None) and not [o for o in others if o.get("status") == "ACTIVE"]
                # Only a settled service needs the stack's status: is CloudFormation about to start a deployment?
                status, since = self.service_stack_status() if settled else ("", "")
                if settled and status.endswith("_IN_PROGRESS"):
                    waiting_since = primary
                    self.line(
                        f"{self.target.service_stack} is {status}{since}; waiting for "
                        f"CloudFormation to start the ECS deployment (now running {revision(primary.get('taskDefinition'))})"
                    )
                else:
                    self.track(primary, {o.get("taskDefinition", "") for o in others})
            elif self.tracked is None and waiting_since is not None:
                if primary.get("id") != waiting_since.get("id"):
                    previous = {waiting_since.get("taskDefinition", "")} | {o.get("taskDefinition", "") for o in others}
                    self.track(primary, previous)
                else:
                    status, _ = self.service_stack_status()
                    if status and not status.endswith("_IN_PROGRESS"):
                        self.end_status()
                        if "ROLLBACK" in status or "FAILED" in status:
                            self.line(f"FAILED: {self.target.service_stack} ended {status} before the ECS service changed")
                            return EXIT_FAILED
                        self.line(
                            f"COMPLETED: {self.target.service_stack} is {status} without a new ECS deployment: the service "
                            f"is unchanged and runs {revision(primary.get('taskDefinition'))}"
                        )
                        return EXIT_OK
                    self.status("waiting for CloudFormation to update the ECS service", ("waiting",))

            if self.tracked is not None:
                a = assess(service, tasks, targets, self.tracked, breaker_threshold=self.plan.circuit_breaker_threshold)
                if a.phase is not None and a.verdict != COMPLETED:
                    started = self.tracked.created_at if a.phase == TASKS else None
                    self.enter_phase(a.phase, started, a)
                self.report(a)
                if a.verdict == SUPERSEDED:
                    self.line("WARNING: " + a.reason + "; following the new deployment")
                    previous = set(self.tracked.previous_task_definitions) | {self.tracked.task_definition}
                    self.track(primary, previous)
                    a = assess(service, tasks, targets, self.tracked, breaker_threshold=self.plan.circuit_breaker_threshold)
                    if a.phase is not None and a.verdict != COMPLETED:
                        self.enter_phase(a.phase, self.tracked.created_at if a.phase == TASKS else None, a)
                    self.report(a)
                if a.verdict == COMPLETED:
                    return self.finish_completed(a)
                if a.verdict in (FAILED, ROLLED_BACK):
                    return self.finish_failed(a, service)
                if a.verdict != SUPERSEDED:
                    stuck = self.stuck_target(a)
                    if stuck is not None:
                        return self.finish_stuck(a, *stuck)
                    self.progress(a)

            elapsed = (self.clock() - start).total_seconds()
            if elapsed >= deadline_seconds:
                return self.finish_timeout(a)
            self.sleep(min(self.settings.interval_seconds, deadline_seconds - elapsed))


def watch(
    target: Any,
    settings: WatchSettings = WatchSettings(),
    *,
    clock: Clock = utc_now,
    sleep: Sleep = time.sleep,
    out: Optional[TextIO] = None,
    tty: Optional[bool] = None,
) -> int:
    """Follow ``target``'s deployment; returns 0 (COMPLETED) or 1 (failed, rolled back, timed out).

    Raises :class:`CliError` (exit 2) for bad input and AWS credential problems.
    """
    out = out if out is not None else sys.stdout
    if tty is None:
        isatty = getattr(out, "isatty", None)
        tty = bool(isatty()) if callable(isatty) else False
    watcher = Watcher(target, settings, clock=clock, sleep=sleep, out=out, tty=tty)
    try:
        return watcher.run()
    except target_mod.TargetError as error:
        raise CliError(str(error)) from None
    except (ClientError, BotoCoreError) as error:
        raise aws_failure(error) from None
    finally:
        watcher.end_status()


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def _positive(kind: str, cast: Callable[[str], float] = float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = cast(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {kind}, got {value!r}") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
        return number
    return parse


def _arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Assumptions()
    target_mod.add_target_arguments(parser)
    parser.add_argument("--interval", type=_positive("seconds"), default=15, metavar="SECONDS",
                        help="seconds between polls (default 15)")
    parser.add_argument("--timeout", type=_positive("minutes"), default=30, metavar="MINUTES",
                        help="give up (exit 1) after this many minutes (default 30)")
    parser.add_argument("--assume-image-pull", type=seconds, default=defaults.image_pull_seconds, metavar="S",
                        help=f"assumed image pull seconds for the ETA (default {defaults.image_pull_seconds})")
    parser.add_argument("--assume-app-start", type=seconds, default=defaults.app_start_seconds, metavar="S",
                        help=f"assumed app start seconds for the ETA (default {defaults.app_start_seconds})")


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        target = target_mod.resolve_target(args.env, region=args.region, profile=args.profile)
    except target_mod.TargetError as error:
        raise CliError(str(error)) from None
    settings = WatchSettings(
        interval_seconds=args.interval,
        timeout_seconds=args.timeout * 60,
        assumptions=Assumptions(image_pull_seconds=args.assume_image_pull, app_start_seconds=args.assume_app_start),
    )
    return watch(target, settings)


register(
    "watch",
    "follow the environment's ECS deployment until it finishes: phases, ETA, and why it fails (exit 0/1/2)",
    _arguments,
    cmd_watch,
)
