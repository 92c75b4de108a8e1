"""``ava-olo guard``: fail before a deploy that would delete or replace a stateful resource.

The seed's practice "Nothing stateful is lost": the farmer-crm database, its secrets, the KMS keys, log groups,
buckets and ECR repositories must survive every deploy. CloudFormation loses them in four ways, and the guard
compares the template that is deployed (OLD) with the one about to be deployed (NEW) for each of them, on every
resource whose type is in :data:`STATEFUL_TYPES`:

1. **Deleted.** The logical ID is in OLD but not in NEW. That includes a *rename*: a changed construct id gives a
   new logical ID, and CloudFormation creates the new resource empty and deletes (or, with ``DeletionPolicy``
   Retain, orphans) the old one. When NEW has an added resource of the same type with the same physical name
   (:data:`NAME_PROPERTIES`), or with nearly the same properties once ``Ref``/``GetAtt`` targets are ignored, the
   report says "probably renamed from X to Y".
2. **Type changed** under the same logical ID: always a replacement.
3. **A replacing property changed**: one that the CloudFormation reference documents as "Update requires:
   Replacement" for that type (:data:`REPLACEMENT_RULES`). Values are compared after normalising: key order does not
   matter, ``5432`` equals ``"5432"`` and ``true`` equals ``"true"`` (CloudFormation passes scalars as strings),
   list order does matter, and intrinsic functions compare structurally, so a changed ``Ref`` target is a change.
   An absent property differs from any value.
4. **A protection weakened**: ``DeletionPolicy`` or ``UpdateReplacePolicy`` goes from Retain / RetainExceptOnCreate
   / Snapshot to Delete (explicitly, or by removing the attribute where the default is Delete). Defaults, from the
   attribute references: ``DeletionPolicy`` is Snapshot for ``AWS::RDS::DBCluster`` and for an
   ``AWS::RDS::DBInstance`` without ``DBClusterIdentifier``, Delete for everything else; ``UpdateReplacePolicy`` is
   Delete. Retain -> Snapshot is not reported: the data survives as a snapshot.

Also reported: a stateful resource that gets a (different) ``Condition`` in NEW, because CloudFormation deletes it
whenever that condition is false.

Not seen by a template comparison: a changed *parameter* value behind a ``Ref`` (use a change set for that), nested
stacks, and resources replaced because a property *outside* the table changed in a way the service refuses.

Replacement table (``*`` = conditional: reported as "may require replacement"; ``!`` = immutable: CloudFormation
fails the update rather than replacing). Source: the "Update requires" line of each property in the AWS
CloudFormation Template Reference, ``https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/``
+ the page named below (checked 2026 against the current pages), which is generated from the CloudFormation
registry schemas; ``tests/ops/test_stateful_guard.py`` checks the table against the ``createOnlyProperties``
of those schemas as bundled with cfn-lint (every create-only property is in the table; DBCluster
AvailabilityZones, "Replacement" on the page, is only *conditionally* create-only in the schema).

========================================  ========================================  ================================
type (page)                               replacement                               conditional / immutable
========================================  ========================================  ================================
AWS::RDS::DBCluster                       AvailabilityZones, ClusterScalability-    Engine*, MasterUsername* (page:
(aws-resource-rds-dbcluster.html)         Type, DBClusterIdentifier, DBSubnetGroup- "Some interruptions"; registry:
                                          Name, DBSystemId, DatabaseName,           conditionally create-only, an
                                          EngineMode, KmsKeyId, PubliclyAccessible, engine or master user cannot be
                                          RestoreToTime, RestoreType, Snapshot-     changed in place)
                                          Identifier, SourceDBClusterIdentifier,
                                          SourceDbClusterResourceId, SourceRegion,
                                          StorageEncrypted, UseLatestRestorableTime
AWS::RDS::DBInstance                      BackupTarget, CharacterSetName, Custom-   AvailabilityZone* (Aurora cluster
(aws-resource-rds-dbinstance.html)        IAMInstanceProfile, DBClusterIdentifier,  members only: page "Some
                                          DBInstanceIdentifier, DBName, DBSubnet-   interruptions", registry
                                          GroupName, DBSystemId, KmsKeyId, Master-  conditional), Engine*, DBSnapshot-
                                          Username, NcharCharacterSetName,          Identifier*, DBClusterSnapshot-
                                          SourceRegion, StorageEncrypted, Timezone  Identifier*, SourceDBInstance-
                                                                                    Identifier*, SourceDBCluster-
                                                                                    Identifier*, RestoreTime*,
                                                                                    UseLatestRestorableTime*,
                                                                                    SourceDBInstanceAutomatedBackups-
                                                                                    Arn*, SourceDbiResourceId*
AWS::RDS::DBSubnetGroup                   DBSubnetGroupName
(aws-resource-rds-dbsubnetgroup.html)
AWS::RDS::DBClusterParameterGroup         DBClusterParameterGroupName, Description,
(aws-resource-rds-dbclusterparametergroup Family
.html)
AWS::RDS::DBParameterGroup                DBParameterGroupName, Description, Family
(aws-resource-rds-dbparametergroup.html)
AWS::SecretsManager::Secret               Name
(aws-resource-secretsmanager-secret.html)
AWS::KMS::Key                             (none; Description is updated in place)   KeySpec!, KeyUsage!, Origin!,
(aws-resource-kms-key.html)                                                         MultiRegion! ("the update request
                                                                                    fails, regardless of the value of
                                                                                    the UpdateReplacePolicy")
AWS::Logs::LogGroup                       LogGroupName
(aws-resource-logs-loggroup.html)
AWS::S3::Bucket                           BucketName, BucketNamePrefix,
(aws-resource-s3-bucket.html)             BucketNamespace
AWS::ECR::Repository                      RepositoryName, EncryptionConfiguration
(aws-resource-ecr-repository.html)
AWS::Backup::BackupVault                  BackupVaultName, EncryptionKeyArn
(aws-resource-backup-backupvault.html)
AWS::DynamoDB::Table                      TableName, ImportSourceSpecification      KeySchema*
(aws-resource-dynamodb-table.html)
========================================  ========================================  ================================

Left out on purpose (conditional in the registry only for RDS Custom, restores or read replicas, and updated in
place otherwise, so they would only raise false alarms): DBInstance AutoMinorVersionUpgrade,
BackupRetentionPeriod, DBParameterGroupName, MultiAZ, PerformanceInsightsKMSKeyId, PreferredMaintenanceWindow;
DBCluster GlobalClusterIdentifier (leaving a global cluster is an in-place update).

Policies: ``aws-attribute-deletionpolicy.html`` ("The default policy is Snapshot for AWS::RDS::DBCluster resources
and for AWS::RDS::DBInstance resources that don't specify the DBClusterIdentifier property") and
``aws-attribute-updatereplacepolicy.html`` ("By default, CloudFormation then deletes the old resource").

Library: :func:`compare` (pure, no AWS), :class:`Violation`, :func:`format_violation`. The CLI (``ava-olo guard``,
registered in ``cli.py``) adds :func:`guard_templates` (two files) and :func:`guard_cloud_assembly` (every stack of
a ``cdk.out`` against ``cloudformation:GetTemplate``, ``TemplateStage=Original``, through boto3, which only that
mode imports).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

__all__ = [
    "DOCS",
    "NAME_PROPERTIES",
    "REPLACEMENT_RULES",
    "STATEFUL_TYPES",
    "GuardInputError",
    "NoCredentials",
    "ReplacementRule",
    "StackArtifact",
    "StackResult",
    "Violation",
    "cloudformation_client",
    "compare",
    "exit_code",
    "format_violation",
    "guard_cloud_assembly",
    "guard_templates",
    "read_cloud_assembly",
    "render_json",
    "render_text",
    "unverified_summary",
]

DOCS_BASE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"

#: Resource types whose loss loses data (or the key that decrypts it). Page of each in the Template Reference.
DOCS: dict[str, str] = {
    "AWS::RDS::DBCluster": DOCS_BASE + "aws-resource-rds-dbcluster.html",
    "AWS::RDS::DBInstance": DOCS_BASE + "aws-resource-rds-dbinstance.html",
    "AWS::RDS::DBSubnetGroup": DOCS_BASE + "aws-resource-rds-dbsubnetgroup.html",
    "AWS::RDS::DBClusterParameterGroup": DOCS_BASE + "aws-resource-rds-dbclusterparametergroup.html",
    "AWS::RDS::DBParameterGroup": DOCS_BASE + "aws-resource-rds-dbparametergroup.html",
    "AWS::SecretsManager::Secret": DOCS_BASE + "aws-resource-secretsmanager-secret.html",
    "AWS::KMS::Key": DOCS_BASE + "aws-resource-kms-key.html",
    "AWS::Logs::LogGroup": DOCS_BASE + "aws-resource-logs-loggroup.html",
    "AWS::S3::Bucket": DOCS_BASE + "aws-resource-s3-bucket.html",
    "AWS::ECR::Repository": DOCS_BASE + "aws-resource-ecr-repository.html",
    "AWS::Backup::BackupVault": DOCS_BASE + "aws-resource-backup-backupvault.html",
    "AWS::DynamoDB::Table": DOCS_BASE + "aws-resource-dynamodb-table.html",
}
DELETION_POLICY_DOCS = DOCS_BASE + "aws-attribute-deletionpolicy.html"
UPDATE_REPLACE_POLICY_DOCS = DOCS_BASE + "aws-attribute-updatereplacepolicy.html"

STATEFUL_TYPES: frozenset[str] = frozenset(DOCS)

REPLACEMENT = "replacement"
CONDITIONAL = "conditional"
IMMUTABLE = "immutable"


@dataclass(frozen=True)
class ReplacementRule:
    """One property of one type whose change does not update the resource in place.

    :param effect: :data:`REPLACEMENT` ("Update requires: Replacement"), :data:`CONDITIONAL` (replacement in some
        cases; reported as "may require replacement") or :data:`IMMUTABLE` (CloudFormation fails the update).
    :param note: why, for conditional and immutable entries (goes into the report).
    :param cluster_members_only: only for a DBInstance that has ``DBClusterIdentifier`` (an Aurora member).
    """

    property: str
    effect: str = REPLACEMENT
    note: str = ""
    cluster_members_only: bool = False


def _replacing(*names: str) -> tuple[ReplacementRule, ...]:
    return tuple(ReplacementRule(name) for name in names)


_ENGINE_NOTE = "the engine family cannot change in place"
_RESTORE_NOTE = "a different restore source restores a new resource and deletes the old one"
_KMS_NOTE = "AWS::KMS::Key: the update fails whatever the UpdateReplacePolicy"

#: Per stateful type, the properties whose change replaces the resource. See the table in the module docstring.
REPLACEMENT_RULES: dict[str, tuple[ReplacementRule, ...]] = {
    "AWS::RDS::DBCluster": _replacing(
        "AvailabilityZones", "ClusterScalabilityType", "DBClusterIdentifier", "DBSubnetGroupName", "DBSystemId",
        "DatabaseName", "EngineMode", "KmsKeyId", "PubliclyAccessible", "RestoreToTime", "RestoreType",
        "SnapshotIdentifier", "SourceDBClusterIdentifier", "SourceDbClusterResourceId", "SourceRegion",
        "StorageEncrypted", "UseLatestRestorableTime",
    ) + (
        ReplacementRule("Engine", CONDITIONAL, _ENGINE_NOTE),
        ReplacementRule("MasterUsername", CONDITIONAL, "the master user name cannot change in place"),
    ),
    "AWS::RDS::DBInstance": _replacing(
        "BackupTarget", "CharacterSetName", "CustomIAMInstanceProfile", "DBClusterIdentifier",
        "DBInstanceIdentifier", "DBName", "DBSubnetGroupName", "DBSystemId", "KmsKeyId", "MasterUsername",
        "NcharCharacterSetName", "SourceRegion", "StorageEncrypted", "Timezone",
    ) + (
        ReplacementRule("AvailabilityZone", CONDITIONAL, "an Aurora instance cannot move to another AZ",
                        cluster_members_only=True),
        ReplacementRule("Engine", CONDITIONAL, _ENGINE_NOTE),
        ReplacementRule("DBSnapshotIdentifier", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("DBClusterSnapshotIdentifier", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("SourceDBInstanceIdentifier", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("SourceDBClusterIdentifier", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("RestoreTime", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("UseLatestRestorableTime", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("SourceDBInstanceAutomatedBackupsArn", CONDITIONAL, _RESTORE_NOTE),
        ReplacementRule("SourceDbiResourceId", CONDITIONAL, _RESTORE_NOTE),
    ),
    "AWS::RDS::DBSubnetGroup": _replacing("DBSubnetGroupName"),
    "AWS::RDS::DBClusterParameterGroup": _replacing("DBClusterParameterGroupName", "Description", "Family"),
    "AWS::RDS::DBParameterGroup": _replacing("DBParameterGroupName", "Description", "Family"),
    "AWS::SecretsManager::Secret": _replacing("Name"),
    "AWS::KMS::Key": tuple(
        ReplacementRule(name, IMMUTABLE, _KMS_NOTE) for name in ("KeySpec", "KeyUsage", "Origin", "MultiRegion")
    ),
    "AWS::Logs::LogGroup": _replacing("LogGroupName"),
    "AWS::S3::Bucket": _replacing("BucketName", "BucketNamePrefix", "BucketNamespace"),
    "AWS::ECR::Repository": _replacing("RepositoryName", "EncryptionConfiguration"),
    "AWS::Backup::BackupVault": _replacing("BackupVaultName", "EncryptionKeyArn"),
    "AWS::DynamoDB::Table": _replacing("TableName", "ImportSourceSpecification")
    + (ReplacementRule("KeySchema", CONDITIONAL, "a different key schema needs a new table"),),
}

#: The physical-name property per type: the same value under a new logical ID means "renamed", not "new".
NAME_PROPERTIES: dict[str, str] = {
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
    "AWS::RDS::DBClusterParameterGroup": "DBClusterParameterGroupName",
    "AWS::RDS::DBParameterGroup": "DBParameterGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::DynamoDB::Table": "TableName",
}

#: Without a physical name, the added resource of the same type whose properties (Ref/GetAtt targets ignored)
#: agree on at least this share of keys is taken as the renamed one, unless another candidate scores as high.
RENAME_SIMILARITY = 0.75

#: Policies under which the data survives the resource.
_PROTECTING = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})


class GuardInputError(Exception):
    """Bad input (a file, a template, a cloud assembly, AWS access): one line, exit code 2 in the CLI."""


class NoCredentials(GuardInputError):
    """No AWS credentials: stops the whole ``--cdk-out`` run (every stack would fail the same way)."""


@dataclass(frozen=True)
class Violation:
    """One way a stateful resource would be lost. ``property`` names what changed ("logical ID", "Type",
    a property name, "DeletionPolicy", ...); ``old``/``new`` are its values (``None`` = absent)."""

    logical_id: str
    resource_type: str
    reason: str
    property: Optional[str] = None
    old: Any = None
    new: Any = None


def _show(value: Any, limit: int = 160) -> str:
    if value is None:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_violation(v: Violation) -> str:
    """``<logical id> (<type>): <what> — <property>: <old> -> <new>``, on one line."""
    line = f"{v.logical_id} ({v.resource_type}): {v.reason}"
    if v.property is not None:
        line += f" — {v.property}: {_show(v.old)} -> {_show(v.new)}"
    return " ".join(line.split())


# ----------------------------------------------------------------------------------------------------------------
# Comparison (pure)
# ----------------------------------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """Order-free, type-tolerant form for comparing: dicts stay dicts (order never mattered), scalars become the
    strings CloudFormation would pass (``True`` -> ``"true"``, ``5.0`` -> ``"5"``), lists keep their order."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _same(a: Any, b: Any) -> bool:
    return _canonical(a) == _canonical(b)


def _resources(template: Any, label: str) -> dict[str, dict[str, Any]]:
    if not isinstance(template, Mapping):
        raise GuardInputError(f"{label} is not a JSON object")
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        raise GuardInputError(f"{label} has no Resources object: not a CloudFormation template")
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping) or not isinstance(resource.get("Type"), str):
            raise GuardInputError(f"{label}: resource {logical_id} has no Type")
        if not isinstance(resource.get("Properties", {}), Mapping):
            raise GuardInputError(f"{label}: resource {logical_id} has Properties that are not an object")
    return dict(resources)


def _properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    return resource.get("Properties") or {}


def _is_cluster_member(resource: Mapping[str, Any]) -> bool:
    return "DBClusterIdentifier" in _properties(resource)


def _effective_policy(resource: Mapping[str, Any], attribute: str) -> Any:
    value = resource.get(attribute)
    if value is not None:
        return value
    if attribute == "DeletionPolicy":
        kind = resource.get("Type")
        if kind == "AWS::RDS::DBCluster" or (kind == "AWS::RDS::DBInstance" and not _is_cluster_member(resource)):
            return "Snapshot"
    return "Delete"


def _fate_on_removal(resource: Mapping[str, Any], subject: str = "the old one") -> str:
    policy = _effective_policy(resource, "DeletionPolicy")
    if policy in ("Retain", "RetainExceptOnCreate"):
        return f"{subject} is orphaned, not deleted (DeletionPolicy {policy})"
    if policy == "Snapshot":
        return f"{subject} is deleted after a final snapshot (DeletionPolicy Snapshot)"
    if policy == "Delete":
        return f"{subject} is DELETED with its data (DeletionPolicy Delete)"
    return f"{subject} is deleted unless its DeletionPolicy expression says otherwise"


def _fate_on_replacement(resource: Mapping[str, Any]) -> str:
    policy = _effective_policy(resource, "UpdateReplacePolicy")
    if policy in ("Retain", "RetainExceptOnCreate"):
        return f"the old one is orphaned, not deleted (UpdateReplacePolicy {policy})"
    if policy == "Snapshot":
        return "the old one is deleted after a snapshot (UpdateReplacePolicy Snapshot)"
    if policy == "Delete":
        return "the old one is DELETED with its data (UpdateReplacePolicy Delete)"
    return "the UpdateReplacePolicy is an expression the guard cannot evaluate"


def _masked(value: Any, logical_ids: frozenset[str]) -> Any:
    """``value`` with every Ref/GetAtt target that is a resource of either template replaced by ``<ref>``."""
    if isinstance(value, Mapping):
        if set(value) == {"Ref"} and value["Ref"] in logical_ids:
            return {"Ref": "<ref>"}
        if set(value) == {"Fn::GetAtt"} and isinstance(value["Fn::GetAtt"], list) and value["Fn::GetAtt"]:
            head, *rest = value["Fn::GetAtt"]
            if head in logical_ids:
                return {"Fn::GetAtt": ["<ref>", *_canonical(rest)]}
        return {str(k): _masked(v, logical_ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, logical_ids) for v in value]
    return _canonical(value)


def _similarity(a: Mapping[str, Any], b: Mapping[str, Any], logical_ids: frozenset[str]) -> float:
    keys = set(a) | set(b)
    if not keys:
        return 0.0
    same = sum(1 for k in keys if k in a and k in b and _masked(a[k], logical_ids) == _masked(b[k], logical_ids))
    return same / len(keys)


def _match_renames(
    removed: Sequence[str],
    added: Sequence[str],
    old_resources: Mapping[str, Mapping[str, Any]],
    new_resources: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[str, str]]:
    """``{old logical id: (new logical id, evidence)}`` for removed stateful resources that look renamed."""
    matches: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    # 1. Same physical name: certain.
    for old_id in removed:
        kind = old_resources[old_id]["Type"]
        name_property = NAME_PROPERTIES.get(kind)
        old_name = _properties(old_resources[old_id]).get(name_property) if name_property else None
        if old_name is None:
            continue
        for new_id in added:
            candidate = new_resources[new_id]
            if new_id in taken or candidate["Type"] != kind:
                continue
            if _same(_properties(candidate).get(name_property), old_name):
                matches[old_id] = (new_id, f"same {name_property} {_show(old_name)}")
                taken.add(new_id)
                break
    # 2. Nearly the same properties, and only one such candidate: likely.
    logical_ids = frozenset(old_resources) | frozenset(new_resources)
    for old_id in removed:
        if old_id in matches:
            continue
        old_resource = old_resources[old_id]
        scored = sorted(
            (
                (_similarity(_properties(old_resource), _properties(new_resources[new_id]), logical_ids), new_id)
                for new_id in added
                if new_id not in taken and new_resources[new_id]["Type"] == old_resource["Type"]
            ),
            reverse=True,
        )
        if scored and scored[0][0] >= RENAME_SIMILARITY and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            score, new_id = scored[0]
            matches[old_id] = (new_id, f"{round(score * 100)} % of its properties are the same")
            taken.add(new_id)
    return matches


def _policy_violations(logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Violation]:
    found = []
    for attribute, consequence in (
        ("DeletionPolicy", "removing the resource or deleting the stack would delete its data"),
        ("UpdateReplacePolicy", "a replacement would delete the old resource and its data"),
    ):
        before, after = _effective_policy(old, attribute), _effective_policy(new, attribute)
        if before not in _PROTECTING or _same(before, after):
            continue
        if after == "Delete":
            default = " (absent: the default is Delete)" if new.get(attribute) is None else ""
            reason = f"{attribute} weakened from {before} to Delete{default}: {consequence}"
        elif isinstance(after, str):
            continue  # Retain <-> Snapshot: the data survives either way
        else:
            reason = f"{attribute} changed from {before} to an expression the guard cannot evaluate"
        found.append(Violation(logical_id, new["Type"], reason, attribute, old.get(attribute), new.get(attribute)))
    return found


def compare(old: dict, new: dict) -> list[Violation]:
    """Every way deploying ``new`` over ``old`` (CloudFormation template dicts) would lose a stateful resource.

    Raises :class:`GuardInputError` when either is not a template. Order: the OLD template's resource order.
    """
    old_resources = _resources(old, "old template")
    new_resources = _resources(new, "new template")
    removed = [i for i, r in old_resources.items() if i not in new_resources and r["Type"] in STATEFUL_TYPES]
    added = [i for i in new_resources if i not in old_resources]
    renames = _match_renames(removed, added, old_resources, new_resources)

    violations: list[Violation] = []
    for logical_id, old_resource in old_resources.items():
        kind = old_resource["Type"]
        if kind not in STATEFUL_TYPES:
            continue
        new_resource = new_resources.get(logical_id)
        if new_resource is None:
            if logical_id in renames:
                new_id, evidence = renames[logical_id]
                reason = (
                    f"probably renamed from {logical_id} to {new_id} ({evidence}): CloudFormation creates the new "
                    f"one empty and {_fate_on_removal(old_resource)}"
                )
                violations.append(Violation(logical_id, kind, reason, "logical ID", logical_id, new_id))
            else:
                reason = f"deleted: not in the new template, so {_fate_on_removal(old_resource, 'it')}"
                violations.append(Violation(logical_id, kind, reason, "logical ID", logical_id, None))
            continue
        if new_resource["Type"] != kind:
            reason = f"type changed: CloudFormation replaces the resource and {_fate_on_replacement(old_resource)}"
            violations.append(Violation(logical_id, kind, reason, "Type", kind, new_resource["Type"]))
            continue

        before, after = _properties(old_resource), _properties(new_resource)
        for rule in REPLACEMENT_RULES.get(kind, ()):
            if rule.cluster_members_only and not (_is_cluster_member(old_resource) or _is_cluster_member(new_resource)):
                continue
            old_value, new_value = before.get(rule.property), after.get(rule.property)
            if _same(old_value, new_value):
                continue
            if rule.effect == IMMUTABLE:
                reason = f"immutable property changed: {rule.note}"
            elif rule.effect == CONDITIONAL:
                reason = f"may require replacement ({rule.note}): then {_fate_on_replacement(new_resource)}"
            else:
                reason = (
                    "change requires replacement: a new, empty resource is created and "
                    + _fate_on_replacement(new_resource)
                )
            violations.append(Violation(logical_id, kind, reason, rule.property, old_value, new_value))

        condition = new_resource.get("Condition")
        if condition is not None and not _same(condition, old_resource.get("Condition")):
            reason = f"now exists only while condition {_show(condition)} is true: CloudFormation deletes it when false"
            before_condition = old_resource.get("Condition")
            violations.append(Violation(logical_id, kind, reason, "Condition", before_condition, condition))

        violations.extend(_policy_violations(logical_id, old_resource, new_resource))
    return violations


def stateful_count(template: Mapping[str, Any]) -> int:
    resources = template.get("Resources") if isinstance(template, Mapping) else None
    if not isinstance(resources, Mapping):
        return 0
    return sum(1 for r in resources.values() if isinstance(r, Mapping) and r.get("Type") in STATEFUL_TYPES)


# ----------------------------------------------------------------------------------------------------------------
# Results, one per stack (or one for two files)
# ----------------------------------------------------------------------------------------------------------------

CHECKED = "checked"
NEW_STACK = "new"
UNSUPPORTED = "unsupported"
ERROR = "error"
SKIPPED = "skipped"


@dataclass(frozen=True)
class StackResult:
    """The guard's verdict on one stack. ``name`` is None in two-file mode. ``status``: ``checked``, ``new``
    (not deployed yet: nothing to lose), ``unsupported`` or ``error`` (not verified: exit 2), ``skipped`` (a
    nested assembly, not a stack)."""

    name: Optional[str]
    status: str
    violations: tuple[Violation, ...] = ()
    checked: int = 0
    detail: Optional[str] = None


def guard_templates(old: dict, new: dict, name: Optional[str] = None, detail: Optional[str] = None) -> StackResult:
    return StackResult(name, CHECKED, tuple(compare(old, new)), stateful_count(old), detail)


def exit_code(results: Iterable[StackResult]) -> int:
    """0 safe, 1 violations, 2 something could not be verified (unverified beats violations: CI must look)."""
    results = list(results)
    if any(r.status in (UNSUPPORTED, ERROR) for r in results):
        return 2
    return 1 if any(r.violations for r in results) else 0


def unverified_summary(results: Iterable[StackResult]) -> str:
    bad = [r for r in results if r.status in (UNSUPPORTED, ERROR)]
    return f"{len(bad)} stack(s) could not be verified: " + "; ".join(f"{r.name}: {r.detail}" for r in bad)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_text(results: Sequence[StackResult]) -> str:
    lines: list[str] = []
    for r in results:
        if r.name is not None:
            where = f" ({r.detail})" if r.detail and r.status in (CHECKED, NEW_STACK) else ""
            if r.status == CHECKED:
                verdict = _plural(len(r.violations), "violation") if r.violations else "safe"
                lines.append(f"stack {r.name}{where}: {verdict} ({_plural(r.checked, 'stateful resource')} checked)")
            elif r.status == NEW_STACK:
                lines.append(f"stack {r.name}{where}: new stack, not deployed yet: nothing stateful to lose")
            elif r.status == SKIPPED:
                lines.append(f"note: skipped {r.name}: {r.detail}")
            else:
                lines.append(f"stack {r.name}: NOT VERIFIED: {r.detail}")
        lines.extend(format_violation(v) for v in r.violations)

    count = sum(len(r.violations) for r in results)
    code = exit_code(results)
    if results and results[0].name is None:  # two files
        if count:
            summary = f"guard: FAILED — {_plural(count, 'violation')}: stateful resources would be deleted or replaced"
        else:
            summary = (
                f"guard: OK — no stateful resource would be deleted or replaced "
                f"({_plural(results[0].checked, 'stateful resource')} checked)"
            )
    else:
        stack_results = [r for r in results if r.status != SKIPPED]
        failing = sum(1 for r in stack_results if r.violations)
        new = sum(1 for r in stack_results if r.status == NEW_STACK)
        unverified = sum(1 for r in stack_results if r.status in (UNSUPPORTED, ERROR))
        extras = [f"{new} new"] if new else []
        if unverified:
            extras.append(f"{unverified} NOT VERIFIED")
        tail = f" ({', '.join(extras)})" if extras else ""
        stacks = _plural(len(stack_results), "stack")
        if code == 0:
            summary = f"guard: OK — no stateful resource would be deleted or replaced in {stacks}{tail}"
        elif count:
            summary = f"guard: FAILED — {_plural(count, 'violation')} in {failing} of {stacks}{tail}"
        else:
            summary = f"guard: FAILED — could not verify every stack: {stacks}{tail}"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_json(results: Sequence[StackResult]) -> str:
    data = {
        "safe": exit_code(results) == 0,
        "exit_code": exit_code(results),
        "violation_count": sum(len(r.violations) for r in results),
        "stacks": [
            {
                "stack": r.name,
                "status": r.status,
                "detail": r.detail,
                "stateful_resources_checked": r.checked,
                "violations": [{**asdict(v), "line": format_violation(v)} for v in r.violations],
            }
            for r in results
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# Cloud assembly vs deployed stacks (boto3, imported only here)
# ----------------------------------------------------------------------------------------------------------------

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
NO_CREDENTIALS = (
    "no AWS credentials: --cdk-out reads the deployed templates (cloudformation:GetTemplate); set AWS_PROFILE or "
    "pass --profile, or give the CI job a role; or compare two files: ava-olo guard OLD.json NEW.json"
)


@dataclass(frozen=True)
class StackArtifact:
    artifact_id: str
    stack_name: str
    template_file: Path
    region: Optional[str]


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GuardInputError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardInputError(f"cannot read {what} {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise GuardInputError(f"{what} {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None


def read_cloud_assembly(cdk_out: str | Path) -> tuple[list[StackArtifact], list[tuple[str, str]]]:
    """The stack artifacts of ``cdk_out/manifest.json`` in manifest order, plus notes on what was skipped."""
    directory = Path(cdk_out)
    if not directory.is_dir():
        raise GuardInputError(f"cloud assembly directory not found: {directory}")
    manifest = _read_json(directory / "manifest.json", "cloud assembly manifest")
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise GuardInputError(f"{directory / 'manifest.json'} has no artifacts: not a cloud assembly")
    stacks: list[StackArtifact] = []
    notes: list[tuple[str, str]] = []
    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        if artifact.get("type") == NESTED_ASSEMBLY:
            nested = (artifact.get("properties") or {}).get("directoryName", artifact_id)
            notes.append((artifact_id, f"nested cloud assembly (a Stage): run the guard on {directory / nested}"))
            continue
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        properties = artifact.get("properties") or {}
        template_file = properties.get("templateFile")
        if not isinstance(template_file, str):
            raise GuardInputError(f"stack artifact {artifact_id} has no templateFile")
        region = None
        environment = artifact.get("environment")
        if isinstance(environment, str) and environment.startswith("aws://"):
            parts = environment[len("aws://"):].split("/")
            if len(parts) == 2 and parts[1] and parts[1] != "unknown-region":
                region = parts[1]
        stack_name = properties.get("stackName") or artifact_id
        stacks.append(StackArtifact(artifact_id, stack_name, directory / template_file, region))
    if not stacks:
        raise GuardInputError(f"no CloudFormation stack in the cloud assembly {directory}")
    return stacks, notes


def cloudformation_client(region: Optional[str], profile: Optional[str]) -> Any:
    """A boto3 CloudFormation client (the tests replace this factory with one that returns a stubbed client)."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise GuardInputError("--cdk-out needs boto3: pip install boto3") from None
    try:
        return boto3.session.Session(profile_name=profile, region_name=region).client("cloudformation")
    except BotoCoreError as exc:  # ProfileNotFound, NoRegionError, ...
        hint = "; pass --region or set AWS_REGION" if "region" in str(exc).lower() else ""
        raise GuardInputError(f"cannot create a CloudFormation client: {exc}{hint}") from None


def _deployed_template(client: Any, stack_name: str) -> tuple[str, Any]:
    """``("template", dict)``, ``("missing", message)`` or ``("yaml", None)``; credential errors raise."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    try:
        response = client.get_template(StackName=stack_name, TemplateStage="Original")
    except (NoCredentialsError, PartialCredentialsError):
        raise NoCredentials(NO_CREDENTIALS) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = str(error.get("Message", exc))
        if error.get("Code") == "ValidationError" and "does not exist" in message:
            return "missing", message
        raise GuardInputError(f"{error.get('Code', 'error')}: {message}") from None
    except BotoCoreError as exc:
        raise GuardInputError(str(exc)) from None
    body = response.get("TemplateBody")
    if isinstance(body, Mapping):
        return "template", dict(body)
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            return "yaml", None
        if isinstance(parsed, dict):
            return "template", parsed
    return "yaml", None


def guard_cloud_assembly(
    cdk_out: str | Path,
    *,
    region: Optional[str] = None,
    profile: Optional[str] = None,
    client_factory: Optional[Callable[[Optional[str], Optional[str]], Any]] = None,
) -> list[StackResult]:
    """Every stack of the cloud assembly against its deployed template. ``region`` overrides the artifacts'."""
    stacks, notes = read_cloud_assembly(cdk_out)
    factory = client_factory or cloudformation_client
    clients: dict[Optional[str], Any] = {}
    results: list[StackResult] = []
    for stack in stacks:
        synthesized = _read_json(stack.template_file, f"template of {stack.artifact_id}")
        stack_region = region or stack.region
        where = f"{stack.artifact_id}, {stack_region or 'default region'}"
        if stack_region not in clients:
            clients[stack_region] = factory(stack_region, profile)
        try:
            kind, deployed = _deployed_template(clients[stack_region], stack.stack_name)
        except NoCredentials:
            raise
        except GuardInputError as exc:
            results.append(StackResult(stack.stack_name, ERROR, detail=f"GetTemplate failed: {exc}"))
            continue
        if kind == "missing":
            results.append(StackResult(stack.stack_name, NEW_STACK, detail=where))
        elif kind == "yaml":
            results.append(StackResult(
                stack.stack_name, UNSUPPORTED,
                detail="the deployed template is YAML; the guard compares JSON templates only (check this stack "
                       "with a change set, or deploy it once from JSON)",
            ))
        else:
            try:
                results.append(guard_templates(deployed, synthesized, stack.stack_name, where))
            except GuardInputError as exc:
                results.append(StackResult(stack.stack_name, ERROR, detail=str(exc)))
    results.extend(StackResult(artifact_id, SKIPPED, detail=note) for artifact_id, note in notes)
    return results
