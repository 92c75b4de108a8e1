"""The service stack's migration task, as ``ava-olo migrate`` finds it. Seed "Database Best Practices"."""

from __future__ import annotations

from tests.conftest import service_task_definition

DB_SECRETS = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "ENCRYPTION_KEY"}


def _migration_task(env) -> tuple[str, dict]:
    service = next(iter(env.service.find_resources("AWS::ECS::Service").values()))
    service_id = service["Properties"]["TaskDefinition"]["Ref"]
    (item,) = [(k, v) for k, v in env.service.find_resources("AWS::ECS::TaskDefinition").items() if k != service_id]
    return item


def test_migration_task_runs_the_service_image_with_the_same_secrets_and_no_plain_secret(each_environment):
    _, task = _migration_task(each_environment)
    (container,) = task["Properties"]["ContainerDefinitions"]
    (service_container,) = service_task_definition(each_environment.service)["Properties"]["ContainerDefinitions"]
    assert container["Name"] == "migrate" and container["Command"] == ["alembic", "upgrade", "head"]
    assert container["Image"] == service_container["Image"]
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert DB_SECRETS <= set(secrets)
    assert all(secrets[name] == next(s["ValueFrom"] for s in service_container["Secrets"] if s["Name"] == name) for name in DB_SECRETS)
    assert not DB_SECRETS & {e["Name"] for e in container.get("Environment", [])}
    assert task["Properties"]["Family"].endswith("-migrate")


def test_migration_task_logs_to_its_own_encrypted_log_group_with_retention(each_environment):
    _, task = _migration_task(each_environment)
    options = task["Properties"]["ContainerDefinitions"][0]["LogConfiguration"]["Options"]
    group_id = options["awslogs-group"]["Ref"]
    group = each_environment.service.find_resources("AWS::Logs::LogGroup")[group_id]["Properties"]
    assert group["LogGroupName"].endswith("-migrate") and options["awslogs-stream-prefix"] == "migrate"
    assert group["RetentionInDays"] == each_environment.config.log_retention_days and "KmsKeyId" in group


def test_migration_outputs_tell_ava_olo_migrate_how_to_run_it_in_private_subnets(each_environment):
    outputs = each_environment.service.find_outputs("*")
    task_id, _ = _migration_task(each_environment)
    assert outputs["MigrationTaskDefinitionArn"]["Value"] == {"Ref": task_id}
    subnets = outputs["MigrationSubnetIds"]["Value"]["Fn::Join"][1]
    assert len(subnets) == each_environment.config.az_count
    assert all("privateSubnet" in s["Fn::GetStackOutput"]["OutputName"] for s in subnets)
    service = next(iter(each_environment.service.find_resources("AWS::ECS::Service").values()))
    service_sg = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"][0]
    assert outputs["MigrationSecurityGroupId"]["Value"] == service_sg
    assert "MigrationLogGroupName" in outputs and "ClusterName" in outputs
    assert "DatabaseClusterIdentifier" in each_environment.template(each_environment.stacks.data).find_outputs("*")


def test_there_is_no_long_running_migration_service(each_environment):
    assert len(each_environment.service.find_resources("AWS::ECS::Service")) == 1


def test_migration_image_is_the_repository_tagged_with_the_release_so_migrate_can_retag_it(each_environment):
    """``ava-olo migrate --version V`` registers the migration task definition again with ``<repository>:V`` before
    the service stack is updated (README "Migrations"): that needs a tag, not a digest, in the deployed image."""
    _, task = _migration_task(each_environment)
    parts = task["Properties"]["ContainerDefinitions"][0]["Image"]["Fn::Join"][1]
    repository_and_tag = parts[-1]
    assert isinstance(repository_and_tag, str) and "@" not in repository_and_tag
    assert repository_and_tag.rsplit(":", 1)[1] == each_environment.config.version
