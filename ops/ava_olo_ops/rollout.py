"""Classify one snapshot of an ECS rolling deployment: pure logic shared by ``ava-olo watch`` and ``ava-olo status``.

No AWS calls here. The input is what the APIs returned, as plain dicts in boto3's shapes:
``ecs.describe_services`` (one service), ``ecs.describe_tasks`` (the service's running and recently stopped
tasks) and ``elbv2.describe_target_health``. The output is an :class:`Assessment`: a verdict, the seed's
deployment phase the rollout is in, and :class:`Finding` s, each with a stable ``key`` so that a caller that
polls can print every finding exactly once.

Phases (seed, "ECS Deployment Timeline", phases 4-7), decided from the snapshot:

1. ECS task creation        - the new deployment has no running task registered with the load balancer yet
2. health checks            - a new task runs (or is a target), but fewer new targets are healthy than desired
3. traffic switch / draining - every new task is a healthy target, or an old task's target is draining
4. completion               - the old deployments run no task any more; ECS has not yet marked the rollout COMPLETED

Verdicts:

* ``COMPLETED``   - the watched deployment is PRIMARY, its rolloutState is COMPLETED (or absent, for services without
  the circuit breaker), running == desired, and no other deployment is left;
* ``FAILED``      - the watched deployment's rolloutState is FAILED (circuit breaker, deployment alarm) and ECS
  does not roll it back;
* ``ROLLED_BACK`` - it FAILED and a rollback is under way, or a new PRIMARY runs a task definition that was running
  before the watched deployment (circuit-breaker or alarm rollback, or CloudFormation rolling the stack back);
* ``SUPERSEDED``  - a new PRIMARY runs yet another task definition: someone deployed again (seed, What NOT to Do #2);
* ``IN_PROGRESS`` - anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

from .timeline import ServiceTimeline, format_duration

__all__ = [
    "Assessment",
    "Finding",
    "PHASES",
    "Plan",
    "SEED_PHASE_SECONDS",
    "Tracked",
    "assess",
    "deployments",
    "eta",
    "health_summary",
    "mentioned_alarms",
    "phase_picture",
    "plan_from_timeline",
    "progress_bar",
    "revision",
    "seed_plan",
    "short_duration",
    "target_label",
    "task_ips",
]

#: The seed's four ECS phases ("ECS Deployment Timeline", phases 4-7), in order.
PHASES: tuple[str, ...] = ("ECS task creation", "health checks", "traffic switch / draining", "completion")
TASKS, HEALTH, TRAFFIC, COMPLETION = range(4)

#: The seed's own figures for those phases, upper ends: task creation 1 min, health checks 5-10 min, traffic
#: switch 1-2 min, completion 30 s. (Its 12-17 minutes also count push, CI and the image build, outside ECS.)
SEED_PHASE_SECONDS: tuple[int, int, int, int] = (60, 600, 120, 30)

IN_PROGRESS, COMPLETED, FAILED, ROLLED_BACK, SUPERSEDED = "IN_PROGRESS", "COMPLETED", "FAILED", "ROLLED_BACK", "SUPERSEDED"

#: A new target unhealthy for longer than (grace + interval x unhealthy threshold) x this margin is stuck: by then
#: ECS should have replaced its task (or the target recovered). Never less than STUCK_TARGET_FLOOR_SECONDS.
STUCK_TARGET_MARGIN = 3
STUCK_TARGET_FLOOR_SECONDS = 180


# --------------------------------------------------------------------------------------------------------------
# The expected timeline: phase durations and ETA
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Expected seconds per phase for the whole rollout (all waves), and where the numbers come from."""

    phase_seconds: tuple[int, int, int, int]
    source: str  #: "template" (ava_olo_ops.timeline) or "seed" (fallback)
    description: str  #: one line: how the numbers were obtained
    health_check_seconds: int  #: one task's health checks (interval x healthy threshold, or the seed's 10 min)
    health_check_formula: str
    deregistration_seconds: Optional[int] = None
    circuit_breaker_threshold: Optional[int] = None
    deployment_alarm_rollback: bool = False
    #: How long a new target may stay unhealthy before the deployment is called stuck, and how that was computed.
    stuck_target_seconds: int = SEED_PHASE_SECONDS[1]
    stuck_target_formula: str = "the seed's 10 minutes of health checks"

    @property
    def total_seconds(self) -> int:
        return sum(self.phase_seconds)


def plan_from_timeline(timeline: ServiceTimeline) -> Plan:
    """Per-phase seconds from the template's timeline: task start, health checks, draining, completion, x waves."""
    w = timeline.waves
    seconds = (
        timeline.task_start_seconds * w,
        timeline.health_check_seconds * w,
        timeline.draining_seconds * w,
        timeline.completion_seconds * w,
    )
    waves = f" x {w} waves" if w > 1 else ""
    grace = timeline.health_check_grace_period_seconds
    interval = timeline.health_check_interval_seconds
    unhealthy = timeline.unhealthy_threshold_count
    stuck = max(STUCK_TARGET_FLOOR_SECONDS, (grace + interval * unhealthy) * STUCK_TARGET_MARGIN)
    return Plan(
        phase_seconds=seconds,
        source="template",
        description=(
            f"expected rollout {short_duration(timeline.rollout_seconds)} from the deployed template: task start "
            f"{timeline.task_start_seconds} s + health checks {timeline.health_check_seconds} s + draining "
            f"{timeline.draining_seconds} s + completion {timeline.completion_seconds} s{waves}"
        ),
        health_check_seconds=timeline.health_check_seconds,
        health_check_formula=(
            f"interval {timeline.health_check_interval_seconds} s x {timeline.healthy_threshold_count} healthy checks"
        ),
        deregistration_seconds=timeline.deregistration_delay_seconds,
        circuit_breaker_threshold=(
            timeline.circuit_breaker_rollback.threshold if timeline.circuit_breaker_rollback is not None else None
        ),
        deployment_alarm_rollback=timeline.alarm_rollback is not None,
        stuck_target_seconds=stuck,
        stuck_target_formula=(
            f"(grace {grace} s + interval {interval} s x {unhealthy} unhealthy checks) x {STUCK_TARGET_MARGIN}"
            + (f", at least {STUCK_TARGET_FLOOR_SECONDS} s" if stuck == STUCK_TARGET_FLOOR_SECONDS else "")
        ),
    )


def seed_plan(reason: str) -> Plan:
    """The fallback when the deployed template cannot be analysed: the seed's own phase figures."""
    return Plan(
        phase_seconds=SEED_PHASE_SECONDS,
        source="seed",
        description=(
            f"expected timeline unavailable ({reason}); using the seed's figures instead: 12-17 minutes end to end, "
            "of which ECS takes task creation 1 min + health checks 5-10 min + traffic switch 1-2 min + completion "
            f"30 s = up to {short_duration(sum(SEED_PHASE_SECONDS))}"
        ),
        health_check_seconds=SEED_PHASE_SECONDS[HEALTH],
        health_check_formula="the seed's 5-10 minutes",
        stuck_target_seconds=SEED_PHASE_SECONDS[HEALTH],
        stuck_target_formula="the seed's 10 minutes of health checks",
    )


def eta(plan: Plan, phase: int, seconds_in_phase: float) -> tuple[int, float, int]:
    """``(remaining seconds, fraction done, seconds overdue)`` in ``phase`` after ``seconds_in_phase`` in it.

    Remaining = what is left of the current phase (never below 0) + every later phase. The fraction is
    1 - remaining / total, at most 0.99 until the deployment completes. Overdue: how far past the expected end
    of the current phase.
    """
    durations = plan.phase_seconds
    in_phase = max(0.0, float(seconds_in_phase))
    left_here = max(0.0, durations[phase] - in_phase)
    remaining = left_here + sum(durations[phase + 1:])
    total = max(plan.total_seconds, 1)
    fraction = min(max(1.0 - remaining / total, 0.0), 0.99)
    overdue = int(max(0.0, in_phase - durations[phase]))
    return int(round(remaining)), fraction, overdue


def progress_bar(fraction: float, width: int = 24) -> str:
    """``[#########---------------]  38%`` (ASCII only)."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(fraction * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {int(fraction * 100):3d}%"


def phase_picture(current: Optional[int], done: bool = False) -> str:
    """``[x] ECS task creation > [>] health checks > [ ] traffic switch / draining > [ ] completion``."""
    parts = []
    for index, name in enumerate(PHASES):
        if done or (current is not None and index < current):
            mark = "x"
        elif current == index:
            mark = ">"
        else:
            mark = " "
        parts.append(f"[{mark}] {name}")
    return " > ".join(parts)


def short_duration(seconds: float) -> str:
    """``45 s``, ``4 min 10 s``, ``1 h 2 min``, ``3 d 2 h``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds >= 86400:
        days, hours = seconds // 86400, (seconds % 86400) // 3600
        return f"{days} d" + (f" {hours} h" if hours else "")
    text = format_duration(seconds)
    return text[text.index("(") + 1:-1]


# --------------------------------------------------------------------------------------------------------------
# Reading the snapshot
# --------------------------------------------------------------------------------------------------------------


def revision(task_definition_arn: Optional[str]) -> str:
    """``family:revision`` from a task definition ARN (the ARN's last path part)."""
    if not task_definition_arn:
        return "(unknown task definition)"
    return task_definition_arn.rsplit("/", 1)[-1]


def _short_task(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1][:12]


def deployments(service: dict[str, Any]) -> tuple[Optional[dict[str, Any]], list[dict[str, Any]]]:
    """The PRIMARY deployment and the others (ACTIVE, INACTIVE), newest first."""
    items = [d for d in service.get("deployments") or [] if isinstance(d, dict)]
    primary = next((d for d in items if d.get("status") == "PRIMARY"), None)
    others = [d for d in items if d is not primary]
    others.sort(key=lambda d: d.get("createdAt") or datetime.min, reverse=True)
    return primary, others


def task_ips(task: dict[str, Any]) -> set[str]:
    """Private IPv4 addresses of an awsvpc task (its targets' ids in an ``ip`` target group)."""
    found: set[str] = set()
    for attachment in task.get("attachments") or []:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                found.add(detail["value"])
    for container in task.get("containers") or []:
        for interface in container.get("networkInterfaces") or []:
            if interface.get("privateIpv4Address"):
                found.add(interface["privateIpv4Address"])
    return found


def _containers(task: dict[str, Any]) -> str:
    parts = []
    for container in task.get("containers") or []:
        bits = []
        if container.get("exitCode") is not None:
            bits.append(f"exit code {container['exitCode']}")
        if container.get("reason"):
            bits.append(str(container["reason"]))
        if bits:
            parts.append(f"{container.get('name', '?')}: {', '.join(bits)}")
    return "; ".join(parts)


def target_label(description: dict[str, Any]) -> str:
    target = description.get("Target") or {}
    port = target.get("Port")
    return f"{target.get('Id', '?')}:{port}" if port is not None else str(target.get("Id", "?"))


def _health_text(health: dict[str, Any]) -> str:
    reason = health.get("Reason")
    text = health.get("Description")
    if reason and text:
        return f"{reason} - {text}"
    return str(reason or text or "")


def health_summary(targets: Sequence[dict[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """Counts per state (``{"healthy": 2, "unhealthy": 1}``) and one line per target that is not healthy."""
    counts: dict[str, int] = {}
    problems: list[str] = []
    for description in targets:
        health = description.get("TargetHealth") or {}
        state = health.get("State", "unknown")
        counts[state] = counts.get(state, 0) + 1
        if state != "healthy":
            text = _health_text(health)
            problems.append(f"{target_label(description)} {state}" + (f": {text}" if text else ""))
    return counts, problems


def mentioned_alarms(text: str, known: Iterable[str], project: str = "ava-olo") -> list[str]:
    """Alarm names in ``text``: the service's deployment alarms it mentions, else ``<project>-...`` names in it."""
    text = text or ""
    names = [name for name in known if name and name in text]
    if not names:
        names = re.findall(rf"(?<![A-Za-z0-9_-]){re.escape(project)}-[A-Za-z0-9_.-]*[A-Za-z0-9]", text)
    seen: list[str] = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return seen


# --------------------------------------------------------------------------------------------------------------
# Assessment
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    """The deployment being followed, and the task definitions that ran before it (a rollback returns to one)."""

    deployment_id: str
    task_definition: str
    created_at: Optional[datetime]
    previous_task_definitions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    key: str  #: stable: a poller prints each key once
    level: str  #: "info", "normal" (waiting is expected) or "problem"
    message: str


@dataclass(frozen=True)
class Assessment:
    verdict: str
    phase: Optional[int]  #: index into PHASES; None when the watched deployment is gone
    reason: str = ""
    kind: str = ""  #: "circuit breaker", "alarm", "rollback", "failed" for FAILED / ROLLED_BACK
    failure_reason: str = ""  #: what ECS said (rolloutStateReason or the service event), verbatim
    deployment: Optional[dict[str, Any]] = None  #: the watched deployment in this snapshot
    primary: Optional[dict[str, Any]] = None
    others: tuple[dict[str, Any], ...] = ()
    new_targets: dict[str, int] = field(default_factory=dict)  #: state -> count, targets of the new tasks
    old_targets: dict[str, int] = field(default_factory=dict)
    stopped_new_tasks: int = 0
    health_problems: tuple[str, ...] = ()  #: unhealthy new targets, "ip:port unhealthy: Reason - Description"
    #: (label, "Reason - Description") of every unhealthy target of a running new task (not of a stopped one)
    unhealthy_new_targets: tuple[tuple[str, str], ...] = ()
    stop_reasons: tuple[str, ...] = ()  #: stoppedReason (+ containers) of the new tasks that stopped
    findings: tuple[Finding, ...] = ()

    @property
    def terminal(self) -> bool:
        return self.verdict != IN_PROGRESS

    def status_line(self) -> str:
        """Counts for a one-line status: new tasks, old tasks, targets."""
        d = self.deployment or {}
        parts = [
            f"new {d.get('runningCount', 0)}/{d.get('desiredCount', 0)} running"
            + (f", {d['pendingCount']} pending" if d.get("pendingCount") else "")
            + (f", {d['failedTasks']} failed" if d.get("failedTasks") else "")
        ]
        old_running = sum(o.get("runningCount", 0) for o in self.others)
        if self.others:
            parts.append(f"old {old_running} running")
        if self.new_targets:
            parts.append("new targets " + ", ".join(f"{n} {s}" for s, n in sorted(self.new_targets.items())))
        if self.old_targets:
            parts.append("old targets " + ", ".join(f"{n} {s}" for s, n in sorted(self.old_targets.items())))
        return "; ".join(parts)


def _after(moment: Any, start: Optional[datetime]) -> bool:
    if start is None or not isinstance(moment, datetime):
        return True
    try:
        return moment >= start - timedelta(seconds=5)
    except TypeError:  # naive vs aware: be permissive
        return True


def _failure_kind(reason: str) -> str:
    lowered = reason.lower()
    if "alarm" in lowered:
        return "alarm"
    if "circuit breaker" in lowered:
        return "circuit breaker"
    return "failed"


def _event_reason(service: dict[str, Any], tracked: Tracked) -> str:
    """The newest service event about the watched deployment failing or rolling back, if any."""
    for event in service.get("events") or []:
        message = str(event.get("message", ""))
        if tracked.deployment_id in message and re.search(r"fail|roll", message, re.IGNORECASE):
            if _after(event.get("createdAt"), tracked.created_at):
                return message
    return ""


def assess(
    service: dict[str, Any],
    tasks: Sequence[dict[str, Any]],
    targets: Sequence[dict[str, Any]],
    tracked: Tracked,
    *,
    breaker_threshold: Optional[int] = None,
) -> Assessment:
    """Verdict, phase and findings for ``tracked`` in one snapshot.

    ``tasks``: ``describe_tasks`` results for the service's running and recently stopped tasks (any task
    definition). ``targets``: ``TargetHealthDescriptions`` of the service's target group.
    """
    primary, others = deployments(service)
    by_id = {d.get("id"): d for d in service.get("deployments") or [] if isinstance(d, dict)}
    mine = by_id.get(tracked.deployment_id)
    findings: list[Finding] = []
    rev = revision(tracked.task_definition)

    # Tasks: new ones (this deployment's task definition, started since it began) and old ones.
    new_ips: set[str] = set()
    old_ips: set[str] = set()
    failed_ips: set[str] = set()
    stopped: list[dict[str, Any]] = []
    for task in tasks:
        is_new = task.get("taskDefinitionArn") == tracked.task_definition and _after(task.get("createdAt"), tracked.created_at)
        stopped_task = task.get("lastStatus") == "STOPPED" or task.get("desiredStatus") == "STOPPED"
        if is_new and stopped_task:
            stopped.append(task)
            failed_ips |= task_ips(task)
        elif is_new:
            new_ips |= task_ips(task)
        elif not stopped_task:
            old_ips |= task_ips(task)
    stopped.sort(key=lambda t: t.get("stoppedAt") or t.get("stoppingAt") or t.get("createdAt") or datetime.min)
    stop_reasons: list[str] = []
    for count, task in enumerate(stopped, start=1):
        reason = str(task.get("stoppedReason") or "no stoppedReason")
        containers = _containers(task)
        stop_reasons.append(reason + (f" ({containers})" if containers else ""))
        findings.append(Finding(
            f"stopped:{task.get('taskArn')}",
            "problem",
            f"new task {_short_task(str(task.get('taskArn', '?')))} ({rev}) stopped: {reason}"
            + (f"; {containers}" if containers else "")
            + f" [{count} stopped so far]",
        ))
    if len(stopped) >= 2:
        limit = f"; the circuit breaker rolls back after {breaker_threshold} failed tasks" if breaker_threshold else ""
        findings.append(Finding(
            f"stopping-repeatedly:{tracked.deployment_id}",
            "problem",
            f"tasks of {rev} are stopping repeatedly ({len(stopped)} so far{limit}): the new version does not stay up "
            "- check its logs (seed Issue 1)",
        ))

    # Targets: which belong to the new tasks.
    new_targets: dict[str, int] = {}
    old_targets: dict[str, int] = {}
    health_problems: list[str] = []
    unhealthy_new_targets: list[tuple[str, str]] = []
    draining_old = False
    for description in targets:
        target_id = (description.get("Target") or {}).get("Id")
        health = description.get("TargetHealth") or {}
        state = health.get("State", "unknown")
        if target_id in new_ips:
            owner, bucket = "new task", new_targets
        elif target_id in failed_ips:  # a new task that stopped; its target leaves (draining) soon
            owner, bucket = "stopped new task", (new_targets if state != "draining" else None)
        elif new_ips or old_ips or failed_ips:
            owner, bucket = "old task", old_targets
        else:  # no task information at all: a target still being checked is taken as new
            owner, bucket = ("new task", new_targets) if state in ("initial", "unhealthy") else ("old task", old_targets)
        if bucket is not None:
            bucket[state] = bucket.get(state, 0) + 1
        text = _health_text(health)
        label = target_label(description)
        if state == "draining" and owner == "old task":
            draining_old = True
        if state == "healthy" and owner != "new task":
            continue  # old targets serving traffic: the normal state, nothing to say
        level = "problem" if state == "unhealthy" else "info"
        message = f"target {label} ({owner}) {state}" + (f": {text}" if text else "")
        if state == "unhealthy" and owner != "old task":
            health_problems.append(f"{label} unhealthy: {text}" if text else f"{label} unhealthy")
            if owner == "new task":
                unhealthy_new_targets.append((label, text))
        findings.append(Finding(f"target:{label}:{state}:{health.get('Reason', '')}", level, message))

    base = dict(
        deployment=mine,
        primary=primary,
        others=tuple(o for o in others if o is not mine) if mine is not None else tuple(others),
        new_targets=new_targets,
        old_targets=old_targets,
        stopped_new_tasks=len(stopped),
        health_problems=tuple(health_problems),
        unhealthy_new_targets=tuple(unhealthy_new_targets),
        stop_reasons=tuple(stop_reasons),
    )

    # A new PRIMARY: rollback (previous task definition) or superseded (another new one).
    if primary is not None and primary.get("id") != tracked.deployment_id:
        reason = str((mine or {}).get("rolloutStateReason") or "") or _event_reason(service, tracked)
        primary_rev = revision(primary.get("taskDefinition"))
        returned = primary.get("taskDefinition") in tracked.previous_task_definitions
        if returned or (mine is not None and mine.get("rolloutState") == "FAILED"):
            kind = _failure_kind(reason) if reason else "rollback"
            text = (
                f"deployment {tracked.deployment_id} ({rev}): ECS now runs the previous task definition {primary_rev} "
                f"(new PRIMARY deployment {primary.get('id')})"
            )
            if reason:
                text += f". Reason: {reason}"
            return Assessment(ROLLED_BACK, None, text, kind, reason, findings=tuple(findings), **base)
        if primary.get("taskDefinition") != tracked.task_definition:
            text = (
                f"a newer deployment {primary.get('id')} ({primary_rev}) replaced {tracked.deployment_id} ({rev}) "
                "before it finished - seed What NOT to Do #2: don't deploy while a deployment is in progress"
            )
            return Assessment(SUPERSEDED, None, text, "", findings=tuple(findings), **base)
        # Same task definition, new deployment id (e.g. a forced redeploy): follow it like a superseding one.
        text = (
            f"a new deployment {primary.get('id')} of the same task definition {rev} replaced {tracked.deployment_id} "
            "(forced new deployment?) - seed What NOT to Do #1: don't force a new deployment while one is running"
        )
        return Assessment(SUPERSEDED, None, text, "", findings=tuple(findings), **base)

    if mine is None:
        return Assessment(
            FAILED, None,
            f"deployment {tracked.deployment_id} ({rev}) is gone and the service has no PRIMARY deployment",
            "failed", findings=tuple(findings), **base,
        )

    rollout_state = mine.get("rolloutState")
    if rollout_state == "FAILED":
        reason = str(mine.get("rolloutStateReason") or "") or _event_reason(service, tracked) or "no reason given"
        kind = _failure_kind(reason)
        text = f"deployment {tracked.deployment_id} ({rev}): {reason}"
        return Assessment(FAILED, None, text, kind, reason, findings=tuple(findings), **base)

    running = int(mine.get("runningCount", 0))
    desired = int(mine.get("desiredCount", 0))
    pending = int(mine.get("pendingCount", 0))
    remaining_others = [o for o in others if o is not mine and o.get("status") != "INACTIVE"]
    done = (rollout_state in ("COMPLETED", None)) and running == desired and not remaining_others
    if rollout_state is None:
        done = done and pending == 0
    if done:
        text = f"deployment {tracked.deployment_id} ({rev}): {running}/{desired} tasks running, old deployments gone"
        return Assessment(COMPLETED, COMPLETION, text, findings=tuple(findings), **base)

    # In progress: which phase.
    healthy_new = new_targets.get("healthy", 0)
    old_running = sum(int(o.get("runningCount", 0)) for o in remaining_others)
    all_new_healthy = healthy_new >= desired or (rollout_state == "COMPLETED" and running == desired)
    if all_new_healthy and old_running == 0:
        phase = COMPLETION
    elif all_new_healthy or draining_old:
        phase = TRAFFIC
    elif running > 0 or sum(new_targets.values()) > 0:
        phase = HEALTH
    else:
        phase = TASKS
    if mine.get("failedTasks") and not stopped:
        findings.append(Finding(
            f"failed-tasks:{mine['failedTasks']}", "problem",
            f"ECS counts {mine['failedTasks']} failed task(s) for {rev}"
            + (f"; the circuit breaker rolls back after {breaker_threshold}" if breaker_threshold else ""),
        ))
    return Assessment(IN_PROGRESS, phase, "", findings=tuple(findings), **base)
