"""A failed first deploy can be retried (issue 11): CloudFormation cleans up after a failed CREATE.

A resource with a fixed physical name (a log group, a secret, ``farmer-crm``, the backup vault, the ECR
repository...) and ``DeletionPolicy: Retain`` survives the rollback of a failed first create, and the retry then
fails with "already exists". ``RetainExceptOnCreate`` (CDK ``RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE``) keeps
the resource on every later deletion or replacement, but deletes it when the stack's first create rolls back, when
it cannot yet hold anything worth keeping. ``Snapshot`` (clusters) also cleans up, after a final snapshot.
Walks every synthesized template of every environment and delivery configuration.
"""

from __future__ import annotations

from typing import Any, Iterator

#: Stateful resource types and the property that fixes their physical name.
NAMED_STATEFUL = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::EFS::FileSystem": "FileSystemTags",
}
CLEANS_UP_A_FAILED_CREATE = {"RetainExceptOnCreate", "Snapshot", "Delete", None}


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "Ref" in value:
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _fixed_name(template: dict[str, Any], resource: dict[str, Any]) -> bool:
    """The name is set and does not come from another resource (whose own name CloudFormation generates)."""
    name = resource.get("Properties", {}).get(NAMED_STATEFUL[resource["Type"]])
    return name is not None and not any(ref in template["Resources"] for ref in _references(name))


def _templates(project) -> Iterator[tuple[str, dict[str, Any]]]:
    for env_name, environment in project.environments.items():
        for artifact_id, template in environment.templates.items():
            yield f"{env_name}/{artifact_id}", template
    for name, (_, template) in project.deliveries.items():
        yield f"delivery-{name}", template


def test_fixed_name_stateful_resources_clean_up_after_a_failed_first_create(project) -> None:
    checked, problems = 0, []
    for where, template in _templates(project):
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in NAMED_STATEFUL and _fixed_name(template, resource):
                checked += 1
                policy = resource.get("DeletionPolicy")
                if policy not in CLEANS_UP_A_FAILED_CREATE:
                    problems.append(f"{where}: {logical_id} ({resource['Type']}) has DeletionPolicy {policy}")
    assert checked >= 20, f"only {checked} fixed-name stateful resources found: is the walk still matching?"
    assert not problems, "a failed first create would leave these behind:\n" + "\n".join(problems)


def test_environments_that_keep_data_still_keep_it_on_deletion_and_replacement(project) -> None:
    """RetainExceptOnCreate is not Delete: once created, retained data survives deletion and replacement."""
    checked = 0
    for env_name, environment in project.environments.items():
        if not environment.config.retain_data:
            continue
        for template in environment.templates.values():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] in NAMED_STATEFUL and _fixed_name(template, resource):
                    checked += 1
                    assert resource.get("DeletionPolicy") in ("RetainExceptOnCreate", "Snapshot"), (env_name, logical_id)
                    assert resource.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), (env_name, logical_id)
    assert checked > 0
