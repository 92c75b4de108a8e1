"""``ava-olo migrate``: migrate the schema with the release's image, the seed's way, or refuse (README "Migrations").

1. Production-tier (``"tier"`` in ``environments/<env>.json``): only a version whose migration passed on
   ``--staging`` (its schema-version record), and only inside 02:00-04:00 UTC (``--window``; checked again right
   before RunTask). ``--override "reason"`` overrides both, printed for the record.
2. A real lock: SSM ``<prefix>/migration-lock`` created with ``Overwrite=False`` (a conditional write): of two runs
   exactly one proceeds; the other gets one line naming the holder and since when. Released at the end; kept
   while a started task may still run. One older than the longest possible run is reported stale, never broken.
3. A manual cluster snapshot, waited for with boto3's ``db_cluster_snapshot_available``.
4. The current migration task definition (output ``MigrationTaskDefinitionArn``) registered again with
   ``<repository>:<version>``: the migration runs before the service stack is updated. RunTask, boto3's
   ``tasks_stopped`` waiter, the log.
5. Exit code 0: ``<prefix>/schema-version`` = the version; else the snapshot and the restore commands.

Names come from the stacks (outputs; the service stack's ``.../version`` parameter gives the SSM prefix).
Exit codes: 0 migrated (or would, ``--dry-run``), 1 refused or failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import getpass, json, os, re, socket, sys, uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from . import target as targets, versions
from .cli import CliError, register

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
DEFAULT_WINDOW = "02:00-04:00"  # seed: "Best time: 02:00-04:00 UTC (low farmer activity globally)"
CONTAINER_NAME = STREAM_PREFIX = "migrate"  # ava_olo_constructs.migration_task (not imported: no CDK in ops)
STARTED_BY = "ava-olo-migrate"
SNAPSHOT_DELAY, TASK_DELAY = 15, 10  # seconds between the waiters' calls
DEPLOY_PATH = "ava-olo deploy --env {env} --version {version}"
SERVICE_OUTPUTS = ("ClusterName", "MigrationTaskDefinitionArn", "MigrationSubnetIds", "MigrationSecurityGroupId",
                   "MigrationLogGroupName")


def utc_now() -> datetime:  # the clock (tests replace it)
    return datetime.now(timezone.utc)


class _Stop(Exception):
    """Refused or failed (exit 1); the reason has been printed."""


def _out(line: str) -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Window:
    """A daily UTC window ``HH:MM-HH:MM``; it may wrap past midnight."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> "Window":
        match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*", text or "")
        if not match or match.group(1, 2) == match.group(3, 4):
            raise ValueError(f"expected a non-empty HH:MM-HH:MM in UTC (e.g. {DEFAULT_WINDOW}), got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def contains(self, moment: datetime) -> bool:
        minute = moment.astimezone(timezone.utc).hour * 60 + moment.astimezone(timezone.utc).minute
        return self.start <= minute < self.end if self.start < self.end else minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def _rds(text: str, limit: int) -> str:
    """A valid RDS identifier: lowercase letters, digits, single hyphens, a letter first, at most ``limit``."""
    clean = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")
    clean = clean if clean[:1].isalpha() else f"db-{clean}"
    return clean[:limit].rstrip("-")


def snapshot_identifier(environment: str, version: str, moment: datetime) -> str:
    stamp = moment.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{_rds(f'{environment}-{version}'.replace('.', '-'), 255 - len(stamp) - 1)}-{stamp}"


def image_tag(image: str) -> Optional[str]:
    """The tag of ``registry/repo:tag``; None for a digest or an untagged image."""
    last = image.rsplit("/", 1)[-1]
    return None if "@" in image or ":" not in last else last.rsplit(":", 1)[1]


def restore_commands(snapshot: str, region: str, cluster: dict[str, Any], instance_class: Optional[str],
                     moment: datetime) -> list[str]:
    """Aurora restores a snapshot into a NEW cluster without instances: the commands, named after the source."""
    restored = _rds(f"{cluster.get('DBClusterIdentifier', 'cluster')}-restored-{moment:%Y%m%d-%H%M%S}", 63 - 7)
    engine = cluster.get("Engine") or "aurora-postgresql"
    groups = " ".join(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", []))
    options = [("--engine-version", cluster.get("EngineVersion")), ("--db-subnet-group-name", cluster.get("DBSubnetGroup")),
               ("--vpc-security-group-ids", groups or None), ("--kms-key-id", cluster.get("KmsKeyId")),
               ("--db-cluster-parameter-group-name", cluster.get("DBClusterParameterGroup")), ("--port", cluster.get("Port"))]
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    if {"MinCapacity", "MaxCapacity"} <= set(scaling):
        options.append(("--serverless-v2-scaling-configuration",
                        f"MinCapacity={scaling['MinCapacity']:g},MaxCapacity={scaling['MaxCapacity']:g}"))
    restore = " ".join([f"aws rds restore-db-cluster-from-snapshot --db-cluster-identifier {restored} --snapshot-identifier "
                        f"{snapshot} --engine {engine}"] + [f"{k} {v}" for k, v in options if v]) + f" --region {region}"
    return [restore,
            f"aws rds create-db-instance --db-instance-identifier {restored}-writer --db-cluster-identifier {restored} "
            f"--engine {engine} --db-instance-class {instance_class or '<class of the current writer>'} --region {region}",
            f"aws rds wait db-instance-available --db-instance-identifier {restored}-writer --region {region}"]


def environment_tier(environment: str, config_dir: Path = Path("environments")) -> str:
    """``tier`` of ``environments/<env>.json``: without it nobody can tell whether production's rules apply."""
    path = config_dir / f"{environment}.json"
    try:
        tier = json.loads(path.read_text(encoding="utf-8")).get("tier", "non-production")
    except (OSError, ValueError, AttributeError) as error:
        raise CliError(f"cannot tell whether {environment!r} is production: {path}: {' '.join(str(error).split())}") from None
    if tier not in ("production", "non-production"):
        raise CliError(f"{path}: tier {tier!r} is neither 'production' nor 'non-production'")
    return tier


def parameter_prefix(target: targets.Target) -> str:
    """The service's SSM prefix, from the service stack's own ``.../version`` parameter."""
    pages = target.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=target.service_stack)
    for page in pages:
        for resource in page["StackResourceSummaries"]:
            name = resource.get("PhysicalResourceId", "")
            if resource["ResourceType"] == "AWS::SSM::Parameter" and name.endswith("/version"):
                return name.removesuffix("/version")
    raise targets.TargetError(f"stack {target.service_stack} has no .../version SSM parameter: deploy it first with "
                              f"{DEPLOY_PATH.format(env=target.environment, version='<version>')}")


class Lock:
    """One migration per environment at a time: an SSM parameter created only if it does not exist."""

    def __init__(self, ssm: Any, name: str, stale_after: timedelta) -> None:
        self.ssm, self.name, self.stale_after = ssm, name, stale_after
        run = os.environ.get("GITHUB_RUN_ID")
        who = f"GitHub run {os.environ.get('GITHUB_REPOSITORY', '')}#{run}" if run else f"{getpass.getuser()}@{socket.gethostname()}"
        self.value = json.dumps({"holder": f"{who} (pid {os.getpid()})", "token": uuid.uuid4().hex})
        self.held = False

    def acquire(self, now: datetime) -> None:
        value = json.dumps({**json.loads(self.value), "since": now.isoformat(timespec="seconds")})
        try:
            self.ssm.put_parameter(Name=self.name, Value=value, Type="String", Overwrite=False,
                                   Description="ava-olo migrate: held while a migration runs")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterAlreadyExists":
                raise
            _err(self.refusal(now))
            raise _Stop() from None
        self.value, self.held = value, True

    def refusal(self, now: datetime) -> str:
        try:
            current = json.loads(self.ssm.get_parameter(Name=self.name)["Parameter"]["Value"])
            holder, since = current.get("holder", "?"), datetime.fromisoformat(current["since"])
        except (ClientError, ValueError, KeyError, TypeError):
            return f"refused: another migration holds the lock {self.name} (just released or unreadable); try again"
        stale = (f" - STALE (older than {int(self.stale_after.total_seconds() // 60)} min, longer than any run): if "
                 f"'aws ecs list-tasks --started-by {STARTED_BY}' shows none, remove it: aws ssm delete-parameter --name "
                 f"{self.name}") if now - since > self.stale_after else "; wait until it ends"
        return f"refused: another migration holds the lock {self.name}: {holder} since {since:%Y-%m-%d %H:%M:%S} UTC{stale}"

    def release(self) -> None:  # a lock already removed by hand (the stale-lock advice) is released too
        try:
            if self.held and self.ssm.get_parameter(Name=self.name)["Parameter"]["Value"] == self.value:
                self.ssm.delete_parameter(Name=self.name)
        except self.ssm.exceptions.ParameterNotFound:
            pass
        self.held = False


class Migration:
    """One run; ``snapshot`` / ``task_arn`` / ``stopped`` say how far it got."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.version, self.stopped, self.restore = args, args.version, False, []
        self.snapshot: Optional[str] = None
        self.task_arn: Optional[str] = None
        self.lock: Optional[Lock] = None
        self.record = self.log_group = self.cluster = self.region = "?"

    def _gates(self, target: targets.Target, production: bool, now: datetime) -> None:
        args, refusals = self.args, []
        if not production:
            _out(f"note: {target.environment} is not production-tier: staging record and window apply to production")
            return
        staging = targets.resolve_target(
            args.staging, region=args.staging_region or args.region, profile=args.staging_profile or args.profile,
            project=args.project, service=args.app_service,
        )
        if staging.described_stack() is None:
            refusals.append(f"{args.staging}'s service stack {staging.service_stack} is not deployed in "
                            f"{staging.region or 'the default region'}, so its schema-version record cannot be read "
                            "(--staging-region names the staging environment's region)")
        else:
            name = f"{parameter_prefix(staging)}/schema-version"
            staged = staging.parameter(name)
            if staged != self.version:
                refusals.append(f"{self.version} has not migrated on {args.staging} ({name} is {staged or 'not set'}): "
                                f"run 'ava-olo migrate --env {args.staging} --version {self.version}' first (seed: "
                                "staging first)")
        if not args.window.contains(now):
            refusals.append(f"{now:%H:%M} UTC is outside the low-traffic window {args.window} UTC (seed)")
        for refusal in refusals:
            (_out if args.override else _err)(("overridden: " if args.override else "refused: ") + refusal)
        if refusals and not args.override:
            _err('refused: nothing was changed; --override "<reason>" proceeds anyway and prints the reason')
            raise _Stop()
        if args.override:
            _out(f"override reason: {args.override}")

    def _task_definition(self, ecs: Any, current: str, dry_run: bool) -> str:
        """The current migration task definition registered again with the release's image (unless it has it)."""
        described = ecs.describe_task_definition(taskDefinition=current, include=["TAGS"])
        definition = described["taskDefinition"]
        containers = copy.deepcopy(definition["containerDefinitions"])
        container = next((c for c in containers if c.get("name") == CONTAINER_NAME), None)
        if container is None or image_tag(container.get("image", "")) is None:
            _err(f"refused: task definition {current} has no container {CONTAINER_NAME!r} with a tagged image; deploy "
                 f"the service stack with {DEPLOY_PATH.format(env=self.args.env, version=self.version)}")
            raise _Stop()
        if image_tag(container["image"]) == self.version:
            _out(f"ok: {current} already runs {container['image']}")
            return current
        container["image"] = f"{container['image'].rsplit(':', 1)[0]}:{self.version}"
        if dry_run:
            _out(f"would register a revision of {definition['family']} running {container['image']}")
            return current
        accepted = ecs.meta.service_model.operation_model("RegisterTaskDefinition").input_shape.members
        request = {k: v for k, v in definition.items() if k in accepted}
        request.update(containerDefinitions=containers, **({"tags": described["tags"]} if described.get("tags") else {}))
        arn = ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
        _out(f"registered {arn}: the release's image {container['image']}")
        return arn

    def _wait(self, client: Any, waiter: str, minutes: int, delay: float, failure: str, **request: Any) -> None:
        try:
            client.get_waiter(waiter).wait(WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(minutes * 60 // delay))},
                                           **request)
        except WaiterError as error:
            _err(f"failed: {waiter} after {minutes} min: {' '.join(str(error).split())}; {failure}")
            raise _Stop() from None

    def run(self) -> int:
        args = self.args
        target = targets.from_args(args)
        production = environment_tier(args.env) == "production"
        if production and args.staging == args.env:
            raise CliError(f"--staging: {args.staging!r} is the environment being migrated; name its staging environment")
        cluster_id = target.output("DatabaseClusterIdentifier", target.data_stack)
        outputs = {key: target.output(key) for key in SERVICE_OUTPUTS}
        subnets = [s for s in outputs["MigrationSubnetIds"].split(",") if s.strip()]
        prefix = parameter_prefix(target)
        self.record, self.log_group, self.cluster = f"{prefix}/schema-version", outputs["MigrationLogGroupName"], outputs["ClusterName"]
        if target.parameter(self.record) == self.version:  # e.g. migrated with --override before the deploy
            _out(f"ok: {args.env} is already migrated to {self.version} ({self.record}): nothing to do")
            return EXIT_OK
        now = utc_now()
        _out(f"migrate {args.env} ({'production' if production else 'non-production'} tier) to {self.version}"
             + (" - DRY RUN: nothing is changed" if args.dry_run else ""))
        self._gates(target, production, now)
        rds, ecs, ssm = target.client("rds"), target.client("ecs"), target.client("ssm")
        self.region = target.region or rds.meta.region_name
        cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        if cluster.get("Status") != "available":
            _err(f"refused: database cluster {cluster_id} is {cluster.get('Status')}, a snapshot needs it available")
            raise _Stop()
        writer = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None)
        writers = rds.describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"] if writer else []
        snapshot = snapshot_identifier(args.env, self.version, now)
        self.restore = restore_commands(snapshot, self.region, cluster, writers[0].get("DBInstanceClass") if writers else None, now)
        self.lock = Lock(ssm, f"{prefix}/migration-lock", timedelta(minutes=args.snapshot_timeout + args.task_timeout + 10))
        if args.dry_run:
            task_definition = self._task_definition(ecs, outputs["MigrationTaskDefinitionArn"], True)
            _out(f"would: take the lock {self.lock.name}, snapshot {cluster_id} as {snapshot}, run {task_definition} "
                 f"on {self.cluster} (started by {STARTED_BY}), record {self.version} in {self.record}")
            return EXIT_OK
        self.lock.acquire(now)
        _out(f"ok: lock {self.lock.name} taken")
        task_definition = self._task_definition(ecs, outputs["MigrationTaskDefinitionArn"], False)
        rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot, DBClusterIdentifier=cluster_id)
        self.snapshot = snapshot
        _out(f"snapshot {snapshot} of {cluster_id}: creating")
        self._wait(rds, "db_cluster_snapshot_available", args.snapshot_timeout, SNAPSHOT_DELAY, "not migrating: the "
                   "database is unchanged (the snapshot may still become available)", DBClusterSnapshotIdentifier=snapshot)
        _out(f"snapshot {snapshot}: available")
        if production and not args.window.contains(utc_now()) and not args.override:
            _err(f"refused: {utc_now():%H:%M} UTC is now outside {args.window} UTC: the task was NOT started, the database "
                 f"is unchanged, snapshot {snapshot} is kept")
            raise _Stop()
        return self._migrate(target, ecs, task_definition, subnets, outputs["MigrationSecurityGroupId"])

    def _migrate(self, target: targets.Target, ecs: Any, task_definition: str, subnets: list[str], group: str) -> int:
        response = ecs.run_task(
            cluster=self.cluster, taskDefinition=task_definition, launchType="FARGATE", startedBy=STARTED_BY,
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group],
                                                          "assignPublicIp": "DISABLED"}},
            overrides={"containerOverrides": [{"name": CONTAINER_NAME,
                                               "environment": [{"name": "APP_VERSION", "value": self.version}]}]})
        if not response.get("tasks"):
            _err(f"failed: ECS did not start the task ({response.get('failures')}); the database is unchanged")
            raise _Stop()
        self.task_arn = response["tasks"][0]["taskArn"]
        _out(f"task {self.task_arn} started with {task_definition}")
        self._wait(ecs, "tasks_stopped", self.args.task_timeout, TASK_DELAY, f"the task keeps running, {self.record} is "
                   f"NOT recorded and the lock stays: {self._check()}", cluster=self.cluster, tasks=[self.task_arn])
        self.stopped = True
        task = ecs.describe_tasks(cluster=self.cluster, tasks=[self.task_arn])["tasks"][0]
        self._print_log(target.client("logs"))
        container = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER_NAME), {})
        if container.get("exitCode") != 0:
            _err(f"failed: the migration exited with {container.get('exitCode', 'no exit code')} "
                 f"({task.get('stoppedReason', '')} {container.get('reason', '')}); {self.record} is unchanged")
            self._report_failure()
            raise _Stop()
        target.client("ssm").put_parameter(Name=self.record, Value=self.version, Type="String", Overwrite=True)
        _out(f"migrated {self.args.env} to {self.version}: recorded in {self.record}; snapshot {self.snapshot} is kept")
        return EXIT_OK

    def _check(self) -> str:
        return f"aws ecs describe-tasks --cluster {self.cluster} --tasks {self.task_arn} --region {self.region}"

    def _print_log(self, logs: Any) -> None:
        stream = f"{STREAM_PREFIX}/{CONTAINER_NAME}/{str(self.task_arn).rsplit('/', 1)[-1]}"
        _out(f"log {self.log_group} {stream}:")
        try:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=self.log_group, logStreamNames=[stream]):
                for event in page.get("events", []):
                    _out(f"  | {str(event.get('message', '')).rstrip()}")
        except ClientError as error:
            _out(f"  (no log: {error.response.get('Error', {}).get('Code')}; the container may never have started)")

    def _report_failure(self) -> None:
        if self.snapshot:
            _err(f"the state before the migration is snapshot {self.snapshot}. Alembic runs a PostgreSQL upgrade in a "
                 "transaction, so check the log first; to restore (into a NEW cluster, switched to deliberately):")
            for command in self.restore:
                _err(f"  {command}")

    def finish(self) -> None:
        """Release the lock unless a started task may still be running (then the lock must keep others out)."""
        if self.lock is not None and self.lock.held:
            if self.task_arn and not self.stopped:
                _err(f"the lock {self.lock.name} stays held: the task may still run ({self._check()}); once it has "
                     f"stopped: aws ssm delete-parameter --name {self.lock.name}")
            else:
                self.lock.release()


def _window(value: str) -> Window:
    try:
        return Window.parse(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _minutes(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 1440:
        raise argparse.ArgumentTypeError(f"expected 1 to 1440 minutes, got {value!r}")
    return int(value)


def _arguments(parser: argparse.ArgumentParser) -> None:
    targets.add_target_arguments(parser, env_help="environment to migrate (environments/<env>.json)",
                                 version_help="the release to migrate to, e.g. v3.2.0-schema-button-aurora")
    parser.add_argument("--override", metavar="REASON", help="production: proceed despite the staging record or window")
    parser.add_argument("--dry-run", action="store_true", help="read-only: show the steps, change nothing")
    parser.add_argument("--window", type=_window, default=Window.parse(DEFAULT_WINDOW), metavar="HH:MM-HH:MM",
                        help=f"low-traffic window in UTC, production-tier only (default {DEFAULT_WINDOW}, seed)")
    parser.add_argument("--snapshot-timeout", type=_minutes, default=30, metavar="MINUTES", help="default 30")
    parser.add_argument("--task-timeout", type=_minutes, default=60, metavar="MINUTES", help="default 60")
    add_staging_arguments(parser)


def add_staging_arguments(parser: argparse.ArgumentParser) -> None:
    """Where production's migration must have passed first (``migrate``; ``deploy --migrate`` passes them on)."""
    parser.add_argument("--staging", default="staging", metavar="ENV", help="where production's migration must have passed")
    parser.add_argument("--staging-profile", metavar="PROFILE", help="AWS profile for the staging record (default --profile)")
    parser.add_argument("--staging-region", metavar="REGION", help="region of the staging record (default --region)")


def staging_argv(args: argparse.Namespace) -> list[str]:
    """The options of :func:`add_staging_arguments` as an argument list for ``ava-olo migrate``."""
    return targets.options_argv(
        ("--staging", args.staging), ("--staging-profile", args.staging_profile), ("--staging-region", args.staging_region)
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    try:
        versions.parse(args.version, what="--version")
    except versions.VersionError as error:
        raise CliError(str(error)) from None
    if args.override is not None and not " ".join(args.override.split()):
        raise CliError('--override needs a reason, e.g. --override "hotfix approved by ops"')
    args.override = " ".join(args.override.split()) if args.override else None
    migration = Migration(args)
    try:
        return migration.run()
    except _Stop:
        return EXIT_FAILED
    except KeyboardInterrupt:
        running = " - it KEEPS RUNNING in ECS, the schema version is NOT recorded" if migration.task_arn and not migration.stopped else ""
        _err(f"interrupted: snapshot {migration.snapshot or 'not taken'}; task {migration.task_arn or 'not started'}{running}")
        return EXIT_INTERRUPTED
    except targets.TargetError as error:
        raise CliError(f"{error} (deploy path: {DEPLOY_PATH.format(env=args.env, version=args.version)})") from None
    except (ClientError, BotoCoreError) as error:
        if targets.explain(error) is not None:
            raise CliError(targets.aws_error_line(error)) from None
        _err(targets.aws_error_line(error, prefix="failed: "))
        migration._report_failure()
        return EXIT_FAILED
    finally:
        migration.finish()


register("migrate", "snapshot, migrate with the release's image under a lock, record the schema version "
         "(production: staging first, 02:00-04:00 UTC)", _arguments, cmd_migrate)
