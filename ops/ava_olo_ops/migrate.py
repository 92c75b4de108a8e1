"""``ava-olo migrate``: run the database schema migration the seed's way, or refuse.

Seed "Database Best Practices" -> "Migration Strategy" and "Database Versioning":

1. *Test migrations on staging first.* A production-tier environment (``"tier": "production"`` in
   ``environments/<env>.json``: configuration, not the name) is migrated only to a version that has migrated
   successfully on staging (``--staging``, default ``staging``): SSM ``/<project>/<staging>/<service>/schema-version``
   must hold exactly that version.
2. *Apply during low-traffic hours, 02:00-04:00 UTC.* Production-tier only: the window protects farmers' traffic,
   which only production carries, and staging must be exercised when people are around to look at it. The window
   is checked when the command starts and again right before RunTask, because the snapshot wait can outlast it
   (``--window`` changes it); a refusal at that point keeps the snapshot and starts nothing.
   Both refusals can be overridden only with ``--override "reason"``; the reason is printed for the record.
3. *Always back up before changes.* A manual Aurora cluster snapshot, and nothing runs until it is "available".
4. *Monitor during migration.* The migration task (``MigrationTask`` in the service stack: the deployed image,
   ``alembic upgrade head``) is started with RunTask, followed until it stops, and its log stream is printed.
5. *Track the schema version.* On success ``/<project>/<env>/<service>/schema-version`` is set to the version; on
   failure the snapshot and the exact restore commands are printed instead.

Whatever ``--override`` says, the command refuses to start while another migration task (``startedBy``
``ava-olo-migrate``) is running on the environment's cluster: two migrations must never run at once.

A task that ECS does not know yet right after RunTask (``MISSING``: ECS is eventually consistent) is asked
for again with a backoff for about 2 minutes; after that its outcome is reported as unknown, never as "did not
run". Ctrl-C prints what has already happened (snapshot, task, restore commands) and exits 130.

``--dry-run`` makes only read-only calls and prints what it would do. Exit codes: 0 migrated (or, with
``--dry-run``, would migrate), 1 refused or failed, 2 bad input, missing stack outputs or credentials, 130
interrupted.

Everything is found from the stacks' outputs (nothing is looked up by name): the data stack's
``DatabaseClusterIdentifier`` and the service stack's ``ClusterName``, ``MigrationTaskDefinitionArn``,
``MigrationSubnetIds`` (comma-separated), ``MigrationSecurityGroupId`` and ``MigrationLogGroupName``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ava_olo_constructs.naming import ResourceNames

from . import target as targets
from .cli import CliError, register
from .preflight import override_reason, parse_version

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

#: Seed "Migration Strategy": "Best time: 02:00-04:00 UTC (low farmer activity globally)".
DEFAULT_WINDOW = "02:00-04:00"
DEFAULT_STAGING = "staging"
#: An Aurora cluster snapshot is a storage-level copy: minutes, even for large volumes.
DEFAULT_SNAPSHOT_TIMEOUT_MINUTES = 30
DEFAULT_TASK_TIMEOUT_MINUTES = 60
SNAPSHOT_POLL_SECONDS = 15
TASK_POLL_SECONDS = 10
MAX_LOG_PAGES = 100
#: RunTask -> DescribeTasks may answer MISSING for a while (eventual consistency): retry with a doubling wait
#: (1 s, 2 s, 4 s, ... at most 30 s) for this long in total, measured by the clock and by the waits themselves.
MISSING_GRACE_SECONDS = 120
MISSING_FIRST_WAIT_SECONDS = 1
MISSING_MAX_WAIT_SECONDS = 30
#: RDS: a DB cluster or DB instance identifier has at most 63 characters.
MAX_RDS_IDENTIFIER = 63
RESTORED_WRITER_SUFFIX = "-writer"

#: Must match ``ava_olo_constructs.migration_task`` (not imported here: it would start the CDK runtime).
CONTAINER_NAME = "migrate"
STREAM_PREFIX = "migrate"
STARTED_BY = "ava-olo-migrate"
ENGINE = "aurora-postgresql"
SCHEMA_VERSION_PARAMETER = "schema-version"

#: This command's wording for a malformed ``--version`` and its ``--override`` example.
VERSION_ERROR = (
    "{what}: {text!r} is not a release version; use vMAJOR.MINOR.PATCH[-lowercase-words], e.g. v3.2.0-schema-button-aurora"
)
OVERRIDE_EXAMPLE = "hotfix for the farmer sign-up outage, approved by ops"

#: The outputs this command reads. Data stack:
DATA_OUTPUTS = ("DatabaseClusterIdentifier",)
#: Service stack:
SERVICE_OUTPUTS = (
    "ClusterName",
    "MigrationTaskDefinitionArn",
    "MigrationSubnetIds",
    "MigrationSecurityGroupId",
    "MigrationLogGroupName",
)


def utc_now() -> datetime:
    """The clock (replaced in tests)."""
    return datetime.now(timezone.utc)


def sleep(seconds: float) -> None:
    """The wait between polls (replaced in tests)."""
    time.sleep(seconds)


# --------------------------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A daily UTC window ``HH:MM-HH:MM``; it may wrap past midnight (``23:00-01:00``)."""

    start: int  # minutes after midnight, inclusive
    end: int  # exclusive

    @classmethod
    def parse(cls, text: str) -> "Window":
        match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*", text or "")
        if not match:
            raise ValueError(f"expected HH:MM-HH:MM in UTC (e.g. {DEFAULT_WINDOW}), got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        window = cls(h1 * 60 + m1, h2 * 60 + m2)
        if window.start == window.end:
            raise ValueError(f"the window {text!r} is empty")
        return window

    def contains(self, moment: datetime) -> bool:
        moment = moment.astimezone(timezone.utc)
        minute = moment.hour * 60 + moment.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def _rds_clean(text: str) -> str:
    """Lowercase letters, digits and single hyphens, no hyphen at either end."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")


def snapshot_identifier(environment: str, version: str, moment: datetime) -> str:
    """``<env>-<version, dots as hyphens>-<yyyymmdd-hhmmss UTC>``, made a valid RDS identifier: letters, digits
    and single hyphens, starting with a letter, no trailing hyphen, at most 255 characters (the timestamp kept)."""
    stamp = _stamp(moment)
    head = _rds_clean(f"{environment}-{version.replace('.', '-')}")
    if not head or not head[0].isalpha():
        head = _rds_clean(f"migration-{head}")
    head = head[: 255 - len(stamp) - 1].rstrip("-")
    return f"{head}-{stamp}"


def image_tag(image: str) -> Optional[str]:
    """The tag of ``registry/repo:tag``; None for a digest (``@sha256:...``) or an untagged image."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def restored_identifier(source: str, moment: datetime) -> str:
    """``<source>-restored-<yyyymmdd-hhmmss UTC>``: a second restore (of another run's snapshot) does not collide
    with the first. A valid RDS cluster identifier (letters, digits and single hyphens, starting with a letter, no
    trailing hyphen) short enough that ``<it>-writer`` is a valid instance identifier too (both at most 63)."""
    tail = f"-restored-{_stamp(moment)}"
    head = _rds_clean(source)
    if not head or not head[0].isalpha():
        head = _rds_clean(f"db-{head}")
    head = head[: MAX_RDS_IDENTIFIER - len(RESTORED_WRITER_SUFFIX) - len(tail)].rstrip("-")
    return f"{head}{tail}"


def restore_commands(
    snapshot: str, region: str, cluster: dict[str, Any], instance_class: Optional[str], moment: Optional[datetime] = None
) -> list[str]:
    """The commands that bring the pre-migration snapshot back, as a NEW cluster (Aurora cannot restore in place),
    named after the source cluster and ``moment`` (the snapshot's time; default now)."""
    source = cluster.get("DBClusterIdentifier") or "cluster"
    restored = restored_identifier(source, moment or utc_now())
    parts = [
        "aws rds restore-db-cluster-from-snapshot",
        f"--db-cluster-identifier {restored}",
        f"--snapshot-identifier {snapshot}",
        f"--engine {cluster.get('Engine') or ENGINE}",
    ]
    if cluster.get("EngineVersion"):
        parts.append(f"--engine-version {cluster['EngineVersion']}")
    if cluster.get("DBSubnetGroup"):
        parts.append(f"--db-subnet-group-name {cluster['DBSubnetGroup']}")
    groups = [g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", []) if g.get("VpcSecurityGroupId")]
    if groups:
        parts.append(f"--vpc-security-group-ids {' '.join(groups)}")
    if cluster.get("DBClusterParameterGroup"):
        parts.append(f"--db-cluster-parameter-group-name {cluster['DBClusterParameterGroup']}")
    if cluster.get("KmsKeyId"):
        parts.append(f"--kms-key-id {cluster['KmsKeyId']}")
    if cluster.get("Port"):
        parts.append(f"--port {cluster['Port']}")
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    if "MinCapacity" in scaling and "MaxCapacity" in scaling:
        parts.append(
            f"--serverless-v2-scaling-configuration MinCapacity={scaling['MinCapacity']:g},MaxCapacity={scaling['MaxCapacity']:g}"
        )
    if cluster.get("EnabledCloudwatchLogsExports"):
        parts.append(f"--enable-cloudwatch-logs-exports {' '.join(cluster['EnabledCloudwatchLogsExports'])}")
    parts += ["--copy-tags-to-snapshot", f"--region {region}"]
    instance = f"{restored}{RESTORED_WRITER_SUFFIX}"
    return [
        " ".join(parts),
        f"aws rds create-db-instance --db-instance-identifier {instance} --db-cluster-identifier {restored} "
        f"--engine {cluster.get('Engine') or ENGINE} --db-instance-class {instance_class or '<class of the current writer>'} "
        f"--region {region}",
        f"aws rds wait db-instance-available --db-instance-identifier {instance} --region {region}",
    ]


def environment_tier(environment: str, config_dir: Path = Path("environments")) -> str:
    """``tier`` of ``environments/<env>.json`` (the loader's default is ``non-production``). Unknown = bad input:
    without the file this command cannot tell whether production's safeguards apply, so it does not guess."""
    path = config_dir / f"{environment}.json"
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(
            f"cannot tell whether {environment!r} is production: {path} not found (run ava-olo from the project root)"
        ) from None
    except (OSError, ValueError) as error:
        raise CliError(f"{path}: {' '.join(str(error).split())}") from None
    tier = settings.get("tier", "non-production") if isinstance(settings, dict) else None
    if tier not in ("production", "non-production"):
        raise CliError(f"{path}: tier {tier!r} is neither 'production' nor 'non-production'")
    return tier


# --------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------


def _out(line: str = "") -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Stop(Exception):
    """Refused or failed (exit 1); the reason has been printed."""


class Migration:
    """One ``ava-olo migrate`` run. ``snapshot`` / ``task_arn`` say how far it got (for error reports);
    ``snapshot_requested`` / ``task_requested`` are set BEFORE the mutating call, so that an interruption during
    the call itself is reported as "may have been created/started"."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.version: str = args.version
        self.dry_run: bool = args.dry_run
        self.snapshot: Optional[str] = None
        self.snapshot_requested: Optional[str] = None
        self.snapshot_available = False
        self.task_arn: Optional[str] = None
        self.task_requested = False
        self.stopped_task: Optional[dict[str, Any]] = None
        self.restore: list[str] = []
        self.cluster: str = "<cluster>"
        self.region: Optional[str] = None
        self.record: str = "<schema-version parameter>"
        self.log_group: str = "<log group>"
        self.window_overridden = False

    # -- gates ---------------------------------------------------------------------------------------------------

    def _staging_record(self, target: targets.Target) -> tuple[str, Optional[str]]:
        staging = targets.resolve_target(self.args.staging, profile=self.args.staging_profile or self.args.profile)
        name = ResourceNames(
            environment=staging.environment, service=target.service, project=target.project
        ).parameter_prefix + f"/{SCHEMA_VERSION_PARAMETER}"
        return name, staging.parameter(name)

    def _gates(self, target: targets.Target, production: bool, now: datetime) -> None:
        args = self.args
        refusals: list[str] = []
        if production:
            name, staged = self._staging_record(target)
            if staged == self.version:
                _out(f"ok: {self.version} migrated successfully on {args.staging} ({name})")
            else:
                refusals.append(
                    f"{self.version} has not migrated successfully on {args.staging}: {name} is "
                    f"{staged if staged is not None else 'not set'}; run 'ava-olo migrate --env {args.staging} "
                    f"--version {self.version}' first (seed: test migrations on staging first)"
                )
            if args.window.contains(now):
                _out(f"ok: {now:%H:%M} UTC is inside the low-traffic window {args.window} UTC")
            else:
                self.window_overridden = args.override is not None
                refusals.append(
                    f"{now:%H:%M} UTC is outside the low-traffic window {args.window} UTC (seed: apply migrations "
                    "during low-traffic hours)"
                )
        else:
            _out(
                f"note: {target.environment} is not production-tier: the staging record and the low-traffic window "
                "apply to production only"
            )
        if refusals and args.override is None:
            for refusal in refusals:
                _err(f"refused: {refusal}")
            _err('refused: nothing was changed; --override "<reason>" proceeds anyway and prints the reason')
            raise _Stop()
        for refusal in refusals:
            _out(f"overridden: {refusal}")
        if args.override is not None:
            _out(f"override reason: {args.override}" if refusals else f"note: --override not needed (reason given: {args.override})")

    # -- read-only preparation -----------------------------------------------------------------------------------

    def _task_image(self, ecs: Any, task_definition: str) -> None:
        definition = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        container = next((c for c in definition.get("containerDefinitions", []) if c.get("name") == CONTAINER_NAME), None)
        if container is None:
            raise targets.TargetError(
                f"task definition {task_definition} has no container {CONTAINER_NAME!r}: deploy the current version first"
            )
        image = container.get("image", "")
        tag = image_tag(image)
        if tag is None:
            _out(f"note: the migration image {image} has no tag; cannot check that it is {self.version}")
        elif tag != self.version:
            _err(
                f"refused: the deployed migration task runs image tag {tag}, not {self.version}; deploy {self.version} "
                f"first (npx cdk deploy -c env={self.args.env} -c version={self.version} --all); nothing was changed"
            )
            raise _Stop()
        else:
            _out(f"ok: the deployed migration task runs {image}")

    def _no_other_migration(self, ecs: Any, cluster: str) -> None:
        """Read-only, and not subject to --override: two migrations of one database must never run at once."""
        running = ecs.list_tasks(cluster=cluster, startedBy=STARTED_BY, desiredStatus="RUNNING").get("taskArns") or []
        if running:
            _err(
                f"refused: another migration is running on {cluster} (started by {STARTED_BY}): {' '.join(running)}; "
                "two migrations must never run at once, so --override does not apply. Nothing was changed; wait until "
                f"it stops (aws ecs describe-tasks --cluster {cluster} --tasks {' '.join(running)}{self._region_flag()}) and run "
                "this again"
            )
            raise _Stop()
        _out(f"ok: no other migration task is running on {cluster}")

    def _recheck_window(self, production: bool) -> None:
        """Right before RunTask: the snapshot wait may have pushed the run past the low-traffic window."""
        if not production:
            return
        now, window = utc_now(), self.args.window
        if window.contains(now):
            _out(f"ok: {now:%H:%M} UTC is still inside the low-traffic window {window} UTC")
            return
        if self.args.override is not None:
            if not self.window_overridden:
                _out(f"overridden: {now:%H:%M} UTC is now outside the low-traffic window {window} UTC")
            return
        _err(
            f"refused: {now:%H:%M} UTC is now outside the low-traffic window {window} UTC (the snapshot took until "
            "then): the migration task was NOT started, so the database is unchanged"
        )
        _err(
            f"snapshot {self.snapshot} is kept; re-run inside the window ({window} UTC), which takes a fresh snapshot "
            f"(delete this one if it is not wanted: aws rds delete-db-cluster-snapshot "
            f"--db-cluster-snapshot-identifier {self.snapshot}{self._region_flag()})"
        )
        raise _Stop()

    def _region_flag(self) -> str:
        return f" --region {self.region}" if self.region else ""

    # -- steps ---------------------------------------------------------------------------------------------------

    def _take_snapshot(self, rds: Any, cluster_id: str, snapshot: str) -> None:
        self.snapshot_requested = snapshot
        rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot, DBClusterIdentifier=cluster_id)
        self.snapshot = snapshot
        _out(f"snapshot {snapshot} of {cluster_id}: creating")
        polls = max(1, math.ceil(self.args.snapshot_timeout * 60 / SNAPSHOT_POLL_SECONDS))
        status = "creating"
        for attempt in range(polls + 1):
            found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot)["DBClusterSnapshots"]
            status = found[0].get("Status", "unknown") if found else "missing"
            if status == "available":
                self.snapshot_available = True
                _out(f"snapshot {snapshot}: available")
                return
            if status not in ("creating", "copying"):
                _err(f"failed: snapshot {snapshot} is {status}: not migrating; the database is unchanged")
                raise _Stop()
            if attempt < polls:
                sleep(SNAPSHOT_POLL_SECONDS)
        _err(
            f"failed: snapshot {snapshot} is still {status} after {self.args.snapshot_timeout} min: not migrating; the "
            f"database is unchanged (follow it: aws rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier "
            f"{snapshot})"
        )
        raise _Stop()

    def _run_task(self, ecs: Any, cluster: str, task_definition: str, subnets: list[str], security_group: str) -> str:
        self.task_requested = True
        response = ecs.run_task(
            cluster=cluster,
            taskDefinition=task_definition,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [security_group], "assignPublicIp": "DISABLED"}
            },
            overrides={
                "containerOverrides": [
                    {"name": CONTAINER_NAME, "environment": [{"name": "APP_VERSION", "value": self.version}]}
                ]
            },
            startedBy=STARTED_BY,
        )
        tasks = response.get("tasks") or []
        if not tasks:
            reasons = "; ".join(
                f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip() for f in response.get("failures", [])
            )
            _err(f"failed: ECS did not start the migration task ({reasons or 'no reason given'}); the database is unchanged")
            raise _Stop()
        self.task_arn = tasks[0]["taskArn"]
        return self.task_arn

    def _follow(self, ecs: Any, cluster: str, task_arn: str) -> dict[str, Any]:
        """Poll until the task stops. A task ECS does not know (MISSING) is NOT stopped: right after RunTask that is
        eventual consistency, so it is asked for again with a bounded backoff (:data:`MISSING_GRACE_SECONDS`)."""
        polls = max(1, math.ceil(self.args.task_timeout * 60 / TASK_POLL_SECONDS))
        seen = 0
        last: Optional[str] = None
        missing_since: Optional[datetime] = None
        missing_waited = 0.0
        wait: float = MISSING_FIRST_WAIT_SECONDS
        while True:
            response = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
            tasks = response.get("tasks") or []
            if not tasks:
                now = utc_now()
                if missing_since is None:
                    missing_since, missing_waited, wait = now, 0.0, MISSING_FIRST_WAIT_SECONDS
                    reason = "; ".join(f.get("reason", "") for f in response.get("failures") or [] if f.get("reason"))
                    _out(
                        f"task: not visible in ECS yet ({reason or 'no task returned'}); asking again for up to "
                        f"{MISSING_GRACE_SECONDS} s (ECS is eventually consistent)"
                    )
                    last = "MISSING"
                elapsed = max((now - missing_since).total_seconds(), missing_waited)
                remaining = MISSING_GRACE_SECONDS - elapsed
                if remaining <= 0:
                    self._report_unknown(cluster, task_arn, elapsed)
                    raise _Stop()
                pause = min(wait, remaining)
                sleep(pause)
                missing_waited += pause
                wait = min(wait * 2, MISSING_MAX_WAIT_SECONDS)
                continue
            missing_since = None
            task = tasks[0]
            status = task.get("lastStatus", "UNKNOWN")
            if status != last:
                _out(f"task: {status}")
                last = status
            if status == "RUNNING":
                self.seen_running = True
            if status == "STOPPED":
                self.stopped_task = task
                return task
            if seen >= polls:
                break
            seen += 1
            sleep(TASK_POLL_SECONDS)
        _err(
            f"failed: the migration task is still {last} after {self.args.task_timeout} min; it keeps running and the "
            f"schema version is NOT recorded. Follow it: aws ecs describe-tasks --cluster {cluster} --tasks {task_arn}"
            f"{self._region_flag()}"
        )
        raise _Stop()

    def _check_task(self, cluster: str, task_arn: str) -> str:
        return f"aws ecs describe-tasks --cluster {cluster} --tasks {task_arn}{self._region_flag()}"

    def _log_stream(self, task_arn: str) -> str:
        return f"{STREAM_PREFIX}/{CONTAINER_NAME}/{task_arn.rsplit('/', 1)[-1]}"

    def _report_unknown(self, cluster: str, task_arn: str, elapsed: float) -> None:
        """The task was started but ECS never showed it: nothing may be claimed about the database."""
        _err(
            f"failed: ECS still does not return the migration task {task_arn} after {elapsed:.0f} s; the task's "
            "outcome is UNKNOWN: it may be running, may have finished (migrating the database or not), or may never "
            "have started"
        )
        _err(f"not recorded: {self.record} is unchanged")
        _err(f"check the task: {self._check_task(cluster, task_arn)}")
        _err(
            f"and its log: aws logs tail {self.log_group} --log-stream-names {self._log_stream(task_arn)}"
            f"{self._region_flag()}"
        )
        _err(
            f"if it succeeded, run this command again to record {self.version} (Alembic's upgrade to head is then a "
            "no-op); if it failed, restore as below."
        )
        self._report_failure()

    def _print_logs(self, logs: Any, group: str, stream: str) -> None:
        _out(f"log {group} {stream}:")
        token: Optional[str] = None
        try:
            for _ in range(MAX_LOG_PAGES):
                request: dict[str, Any] = dict(logGroupName=group, logStreamName=stream, startFromHead=True)
                if token is not None:
                    request["nextToken"] = token
                page = logs.get_log_events(**request)
                for event in page.get("events", []):
                    _out(f"  | {str(event.get('message', '')).rstrip()}")
                following = page.get("nextForwardToken")
                if following is None or following == token:
                    return
                token = following
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                _out("  (no log stream: the container never started)")
            else:
                _out(f"  (could not read the log: {code}; aws logs tail {group} --log-stream-names {stream})")

    def _report_failure(self) -> None:
        if not self.snapshot:
            return
        _err(f"the database may be partly migrated. Its state before the migration is snapshot {self.snapshot}.")
        _err(
            "Check the log first: Alembic runs a PostgreSQL upgrade in a transaction, so a failed one has usually "
            "rolled back. To restore, note that Aurora restores a snapshot into a NEW cluster (the current one is "
            "left as it is) without any instance, so add one:"
        )
        for command in self.restore:
            _err(f"  {command}")
        _err(
            "The restored cluster has its own endpoint and is not managed by CloudFormation: the service keeps using "
            "the current cluster (the credentials secret's host) until you switch over deliberately."
        )

    # -- the whole run ---------------------------------------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        target = targets.resolve_target(args.env, region=args.region, profile=args.profile)
        production = environment_tier(args.env) == "production"
        if production and args.staging == args.env:
            raise CliError(f"--staging: {args.staging!r} is the environment being migrated; name its staging environment")
        # Read-only first: the outputs name everything this run touches (and a credentials problem stops it here,
        # before anything is printed or changed).
        outputs = {key: target.output(key, target.data_stack) for key in DATA_OUTPUTS}
        outputs.update({key: target.output(key) for key in SERVICE_OUTPUTS})
        cluster_id = outputs["DatabaseClusterIdentifier"]
        subnets = [s.strip() for s in outputs["MigrationSubnetIds"].split(",") if s.strip()]
        if not subnets:
            raise targets.TargetError(f"stack {target.service_stack} output MigrationSubnetIds is empty")
        now = utc_now()
        record = ResourceNames(
            environment=target.environment, service=target.service, project=target.project
        ).parameter_prefix + f"/{SCHEMA_VERSION_PARAMETER}"
        self.record, self.cluster, self.log_group = record, outputs["ClusterName"], outputs["MigrationLogGroupName"]
        _out(
            f"migrate {target.environment} ({'production' if production else 'non-production'} tier) to {self.version}"
            + (" - DRY RUN: read-only calls only, nothing is changed" if self.dry_run else "")
        )
        self._gates(target, production, now)

        rds, ecs = target.client("rds"), target.client("ecs")
        region = target.region or rds.meta.region_name
        self.region = region

        cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        if cluster.get("Status") != "available":
            _err(f"refused: database cluster {cluster_id} is {cluster.get('Status')}, a snapshot needs it available; nothing was changed")
            raise _Stop()
        writer = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None)
        instance_class = None
        if writer:
            instances = rds.describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"]
            instance_class = instances[0].get("DBInstanceClass") if instances else None
        self._task_image(ecs, outputs["MigrationTaskDefinitionArn"])
        self._no_other_migration(ecs, outputs["ClusterName"])

        snapshot = snapshot_identifier(target.environment, self.version, now)
        self.restore = restore_commands(snapshot, region, cluster, instance_class, now)
        if self.dry_run:
            return self._show_plan(outputs, cluster_id, subnets, snapshot, record, production)

        self._take_snapshot(rds, cluster_id, snapshot)
        self._recheck_window(production)
        task_arn = self._run_task(
            ecs, outputs["ClusterName"], outputs["MigrationTaskDefinitionArn"], subnets, outputs["MigrationSecurityGroupId"]
        )
        task_id = task_arn.rsplit("/", 1)[-1]
        _out(f"task {task_id} started on {outputs['ClusterName']} with APP_VERSION={self.version}")
        task = self._follow(ecs, outputs["ClusterName"], task_arn)
        self._print_logs(target.client("logs"), outputs["MigrationLogGroupName"], self._log_stream(task_arn))

        container = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER_NAME), {})
        exit_code = container.get("exitCode")
        if exit_code != 0:
            detail = "; ".join(
                part
                for part in (
                    f"task stopped: {task['stoppedReason']}" if task.get("stoppedReason") else "",
                    f"container: {container['reason']}" if container.get("reason") else "",
                )
                if part
            )
            # Without an exit code the container either never started or was killed; only a task that was never
            # seen running and has no start time may be reported as "never ran".
            never_ran = exit_code is None and not getattr(self, "seen_running", False) and not task.get("startedAt")
            code = f"exit code {exit_code}" if exit_code is not None else (
                "no exit code (it never ran)" if never_ran else "no exit code (it was stopped while running)"
            )
            _err(f"failed: the migration container exited with {code}" + (f"; {detail}" if detail else ""))
            _err(f"not recorded: {record} is unchanged")
            if never_ran:
                _err(f"the migration never ran, so the database is unchanged (snapshot {snapshot} is kept)")
            else:
                self._report_failure()
            raise _Stop()

        target.client("ssm").put_parameter(Name=record, Value=self.version, Type="String", Overwrite=True)
        _out(f"migrated {target.environment} to {self.version}: recorded in {record}")
        _out(f"snapshot {snapshot} keeps the state before the migration (manual snapshots are kept until deleted)")
        return EXIT_OK

    def _show_plan(
        self, outputs: dict[str, str], cluster_id: str, subnets: list[str], snapshot: str, record: str, production: bool
    ) -> int:
        cluster, task_definition = outputs["ClusterName"], outputs["MigrationTaskDefinitionArn"]
        minutes = (self.args.snapshot_timeout, self.args.task_timeout)
        _out("would:")
        _out(f"  1. create cluster snapshot {snapshot} of {cluster_id} and wait until it is available (up to {minutes[0]} min)")
        if production:
            _out(f"     then re-check the low-traffic window {self.args.window} UTC: outside it, stop (the snapshot is kept)")
        _out(
            f"  2. run task {task_definition} on cluster {cluster} (FARGATE, subnets {','.join(subnets)}, security "
            f"group {outputs['MigrationSecurityGroupId']}, no public IP, APP_VERSION={self.version}, started by "
            f"{STARTED_BY}) and follow it until it stops (up to {minutes[1]} min)"
        )
        _out(f"  3. print log stream {STREAM_PREFIX}/{CONTAINER_NAME}/<task id> of {outputs['MigrationLogGroupName']}")
        _out(f"  4. on exit code 0: put {self.version} into {record} (String, overwrite)")
        _out(f"     otherwise: leave {record} unchanged and print how to restore {snapshot}:")
        for command in self.restore:
            _out(f"       {command}")
        _out("dry run: nothing was changed")
        return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def _minutes(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of minutes, got {value!r}") from None
    if not 1 <= number <= 24 * 60:
        raise argparse.ArgumentTypeError(f"must be 1 to 1440 minutes, got {number}")
    return number


def _window(value: str) -> Window:
    try:
        return Window.parse(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _arguments(parser: argparse.ArgumentParser) -> None:
    targets.add_target_arguments(
        parser,
        env_help="environment to migrate (environments/<env>.json)",
        version_help="the deployed version to migrate to, e.g. v3.2.0-schema-button-aurora",
    )
    parser.add_argument(
        "--override", metavar="REASON",
        help="proceed although production's staging record or low-traffic window says no; the reason is printed",
    )
    parser.add_argument("--dry-run", action="store_true", help="read-only: show every step without changing anything")
    parser.add_argument(
        "--window", type=_window, default=Window.parse(DEFAULT_WINDOW), metavar="HH:MM-HH:MM",
        help=f"low-traffic window in UTC, production-tier only (default {DEFAULT_WINDOW}, seed)",
    )
    parser.add_argument(
        "--snapshot-timeout", type=_minutes, default=DEFAULT_SNAPSHOT_TIMEOUT_MINUTES, metavar="MINUTES",
        help=f"how long to wait for the snapshot (default {DEFAULT_SNAPSHOT_TIMEOUT_MINUTES})",
    )
    parser.add_argument(
        "--task-timeout", type=_minutes, default=DEFAULT_TASK_TIMEOUT_MINUTES, metavar="MINUTES",
        help=f"how long to follow the migration task (default {DEFAULT_TASK_TIMEOUT_MINUTES})",
    )
    parser.add_argument(
        "--staging", default=DEFAULT_STAGING, metavar="ENV",
        help=f"the environment a production migration must have passed first (default {DEFAULT_STAGING})",
    )
    parser.add_argument("--staging-profile", metavar="PROFILE", help="AWS profile for reading the staging record (default --profile)")


def cmd_migrate(args: argparse.Namespace) -> int:
    """Snapshot, run the migration task, record the schema version; refuse production without staging/window."""
    parse_version(args.version, message=VERSION_ERROR)
    args.override = override_reason(args.override, example=OVERRIDE_EXAMPLE)
    migration = Migration(args)
    try:
        return migration.run()
    except _Stop:
        return EXIT_FAILED
    except KeyboardInterrupt:
        _report_interrupt(migration)
        return EXIT_INTERRUPTED
    except targets.TargetError as error:
        _note_progress(migration)
        raise CliError(str(error)) from None
    except (ClientError, BotoCoreError) as error:
        _note_progress(migration)
        if targets.explain(error) is not None:  # credentials: bad input, one line (exit 2)
            raise CliError(targets.aws_error_line(error)) from None
        operation = getattr(error, "operation_name", None)
        _err(targets.aws_error_line(error, prefix=f"failed: {operation + ': ' if operation else ''}"))
        if migration.task_arn:
            migration._report_failure()
        return EXIT_FAILED


def _report_interrupt(migration: Migration) -> None:
    """Ctrl-C: what has already happened, so that the snapshot, the task and the way back are never lost."""
    _err("interrupted (Ctrl-C): this command stopped; what had already happened:")
    check_snapshot = (
        f"aws rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier {migration.snapshot_requested}"
        f"{migration._region_flag()}"
    )
    if migration.snapshot and migration.snapshot_available:
        _err(f"  snapshot {migration.snapshot} (the state before the migration) was taken and is kept ({check_snapshot})")
    elif migration.snapshot:
        _err(
            f"  snapshot {migration.snapshot} (the state before the migration) was requested and is kept; it was not "
            f"yet available (check: {check_snapshot})"
        )
    elif migration.snapshot_requested:
        _err(f"  snapshot {migration.snapshot_requested} may have been requested; check: {check_snapshot}")
    if migration.task_arn:
        if migration.stopped_task is not None:
            _err(f"  the migration task {migration.task_arn} has stopped; the schema version is NOT recorded")
        else:
            _err(
                f"  the migration task {migration.task_arn} was started and KEEPS RUNNING in ECS (Ctrl-C does not stop "
                f"it); the schema version is NOT recorded. Follow it: "
                f"{migration._check_task(migration.cluster, migration.task_arn)}"
            )
        _err(
            f"  its log: aws logs tail {migration.log_group} --log-stream-names {migration._log_stream(migration.task_arn)}"
            f"{migration._region_flag()}"
        )
    elif migration.task_requested:
        _err(
            f"  RunTask was in progress: a migration task may have started and would keep running in ECS; the schema "
            f"version is NOT recorded. Check: aws ecs list-tasks --cluster {migration.cluster} --started-by {STARTED_BY}"
            f"{migration._region_flag()}"
        )
    elif migration.snapshot_requested:
        _err("  the migration task was NOT started: the database is unchanged")
    else:
        _err("  nothing was changed")
    if migration.task_requested:
        migration._report_failure()


def _note_progress(migration: Migration) -> None:
    """Before an error line: what already happened, so that nothing is left unaccounted for."""
    if migration.snapshot:
        _err(f"note: snapshot {migration.snapshot} was taken before the error")
    if migration.task_arn:
        _err(f"note: the migration task {migration.task_arn} was started; it may still be running")


register(
    "migrate",
    "snapshot the database, run the migration task, record the schema version (production: staging first, 02:00-04:00 UTC)",
    _arguments,
    cmd_migrate,
)
