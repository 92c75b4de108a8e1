"""AvaOlo-StatefulDeletionPolicy: a resource that holds data is kept (or snapshotted) when CloudFormation deletes
or replaces it.

Both ``DeletionPolicy`` and ``UpdateReplacePolicy`` must be ``Retain``, ``RetainExceptOnCreate`` or ``Snapshot``
(CloudFormation's default is ``Delete``). Deletion protection itself (RDS, ELB) is checked by the NIST 800-53 R5
pack. The types come from the policy (:data:`~ava_olo_constructs.rules.policy.STATEFUL_RESOURCE_TYPES`).
"""

from __future__ import annotations

from ._support import COMPLIANT, NOT_APPLICABLE, NagRule, Resource, Result

KEEPS_DATA = ("Retain", "RetainExceptOnCreate", "Snapshot")


def check(resource: Resource, policy) -> Result:
    if resource.type not in policy.stateful_resource_types:
        return NOT_APPLICABLE
    if resource.type == "AWS::RDS::DBInstance" and (
        resource.get("DBClusterIdentifier") is not None or resource.get("SourceDBInstanceIdentifier") is not None
    ):
        return NOT_APPLICABLE  # an Aurora member's data lives in the cluster; a read replica's in its source
    findings = []
    if resource.deletion_policy not in KEEPS_DATA:
        findings.append(f"DeletionPolicy {resource.deletion_policy or 'Delete'}")
    if resource.update_replace_policy not in KEEPS_DATA:
        findings.append(f"UpdateReplacePolicy {resource.update_replace_policy or 'Delete'}")
    return findings or COMPLIANT


RULE = NagRule(
    id="StatefulDeletionPolicy",
    resource_types=(),  # every type: the policy's list decides
    info="A resource that holds data would be deleted with its stack or on replacement (DeletionPolicy or "
    "UpdateReplacePolicy Delete).",
    explanation="Nothing stateful is lost by a stack operation: Retain or Snapshot keeps the data when "
    "CloudFormation deletes or replaces the resource, whatever the change set says.",
    check=check,
)
