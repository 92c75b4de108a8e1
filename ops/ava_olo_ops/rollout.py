"""What AWS says about one release: the pure verdict shared by ``watch``, ``status`` and ``rollback``.

No AWS calls and no model of ECS: the input is what ``describe_service_deployments``, the stack status and the
serving task definition report. V is done only when all three agree: the stack ``*_COMPLETE`` and not rolled back,
ECS's deployment *whose target revision runs V* ``SUCCESSFUL``, the serving revision on V. A deployment of another
version (CloudFormation's rollback, a newer deploy) is never mistaken for V's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

WAIT, DONE, FAILED = "wait", "done", "failed"

#: ECS service-deployment statuses (boto3 ``ServiceDeploymentStatus``).
ROLLING_BACK = frozenset({"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"})
ENDED_BADLY = frozenset({"STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})

#: What each lifecycle stage means to an operator (boto3 ``ServiceDeploymentLifecycleStage``).
STAGES = {
    "RECONCILE_SERVICE": "reconciling the service",
    "PRE_SCALE_UP": "before starting new tasks",
    "SCALE_UP": "starting the new revision's tasks",
    "POST_SCALE_UP": "new tasks started",
    "TEST_TRAFFIC_SHIFT": "test traffic to the new revision",
    "POST_TEST_TRAFFIC_SHIFT": "pre-traffic check (lifecycle hook) on test traffic",
    "PRODUCTION_TRAFFIC_SHIFT": "shifting production traffic",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "production traffic shifted",
    "BAKE_TIME": "bake: the old revision stays ready for an instant rollback",
    "CLEAN_UP": "cleaning up the old revision",
}


def stack_state(status: Optional[str]) -> str:
    """``ok`` (``*_COMPLETE``, not a rollback), ``busy``, ``rolling-back`` or ``failed``."""
    status = status or "MISSING"
    if "ROLLBACK" in status or status.endswith("_FAILED") or status == "MISSING":
        return "rolling-back" if status.endswith("_IN_PROGRESS") else "failed"
    if status.endswith("_IN_PROGRESS"):
        return "busy"
    return "ok" if status.endswith("_COMPLETE") else "failed"


@dataclass(frozen=True)
class Snapshot:
    """One poll: the stack's status, ECS's deployment of V (None: none yet) and the serving revision's version."""

    stack_status: Optional[str]
    deployment: Optional[dict[str, Any]]
    serving_version: Optional[str]
    newest: Optional[str] = None  #: version and status of the newest deployment, when it is not V's

    def line(self) -> str:
        parts = [f"stack {self.stack_status or 'MISSING'}"]
        d = self.deployment
        if d is None:
            parts.insert(0, "ECS: no deployment of this version yet" + (f" (newest: {self.newest})" if self.newest else ""))
        else:
            stage = d.get("lifecycleStage")
            target = d.get("targetServiceRevision") or {}
            ecs = f"ECS {d.get('status', '?')}" + (f" {stage} ({STAGES.get(stage, stage)})" if stage else "")
            tasks = f"new tasks {target.get('runningTaskCount', 0)}/{target.get('requestedTaskCount', '?')}"
            weights = [f"{label} {target[key]:g}%" for label, key in (("production", "requestedProductionTrafficWeight"),
                                                                        ("test", "requestedTestTrafficWeight")) if key in target]
            parts[:0] = [ecs, tasks + (" | traffic " + ", ".join(weights) if weights else "")]
            alarms, breaker = d.get("alarms") or {}, d.get("deploymentCircuitBreaker") or {}
            if alarms.get("status"):
                triggered = alarms.get("triggeredAlarmNames") or []
                parts.append(f"alarms {alarms['status']}" + (f" ({', '.join(triggered)})" if triggered else ""))
            if breaker.get("status"):
                parts.append(f"circuit breaker {breaker['status']} {breaker.get('failureCount', 0)}/{breaker.get('threshold', '?')}")
        parts.append(f"serving {self.serving_version or '?'}")
        return " | ".join(parts)


def why(deployment: dict[str, Any]) -> str:
    """ECS's own reason: status reason, rollback reason, triggered alarms, a tripped circuit breaker."""
    reasons = [deployment.get("statusReason") or "", (deployment.get("rollback") or {}).get("reason") or ""]
    triggered = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
    if triggered:
        reasons.append("alarm(s) in ALARM: " + ", ".join(triggered))
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "TRIGGERED":
        reasons.append(f"circuit breaker tripped after {breaker.get('failureCount', '?')} failed task(s)")
    return "; ".join(dict.fromkeys(r for r in reasons if r)) or "ECS gave no reason"


def judge(snapshot: Snapshot, version: str) -> tuple[str, str]:
    """``(WAIT | DONE | FAILED, reason)`` for the release ``version``."""
    stack, d = snapshot.stack_status or "MISSING", snapshot.deployment
    state = stack_state(stack)
    if state == "failed":
        return FAILED, f"CloudFormation stack is {stack}" + (f"; ECS: {why(d)}" if d and d.get("status") in ENDED_BADLY else "")
    if d is None:
        return WAIT, f"waiting for ECS to start a deployment of {version} (stack {stack})"
    status = d.get("status")
    if status in ENDED_BADLY:
        if state == "rolling-back":
            return WAIT, f"ECS deployment of {version} is {status} ({why(d)}); CloudFormation is {stack}"
        return FAILED, f"ECS deployment of {version} is {status}: {why(d)}"
    if status in ROLLING_BACK:
        return WAIT, f"ECS is rolling {version} back ({why(d)})"
    if status != "SUCCESSFUL":
        return WAIT, f"ECS deployment of {version} is {status}"
    if state != "ok":
        return WAIT, f"ECS reports {version} SUCCESSFUL; CloudFormation is still {stack}"
    if snapshot.serving_version != version:
        return FAILED, f"ECS reported {version} SUCCESSFUL but the service now serves {snapshot.serving_version}"
    return DONE, f"{version} is live: ECS deployment SUCCESSFUL, stack {stack}, serving revision runs {version}"
