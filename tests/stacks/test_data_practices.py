"""The farmer-crm database and the service's access to it. Seed: "Database Best Practices", "Security Best
Practices", "Performance Best Practices -> Connection Pooling", "Issue 2: Database Connection Errors"."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from ava_olo_constructs.database import rotation_cron_fields
from tests.conftest import only, service_container, service_execution_role_statements

DB_VARIABLES = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"}


def _cluster(env):
    return only(env.template(env.stacks.data).find_resources("AWS::RDS::DBCluster"))


def _instances(env):
    return env.template(env.stacks.data).find_resources("AWS::RDS::DBInstance")


def _container(env):
    return service_container(env.service)


def test_production_database_is_named_farmer_crm_and_others_never_collide(project):
    identifiers = {name: _cluster(env)["Properties"]["DBClusterIdentifier"] for name, env in project.environments.items()}
    assert identifiers["production"] == "farmer-crm"
    assert len(set(identifiers.values())) == len(identifiers)
    assert all(identifiers[name] == f"farmer-crm-{name}" for name in identifiers if name != "production")


def test_aurora_postgresql_engine_is_current_not_deprecated(each_environment):
    props = _cluster(each_environment)["Properties"]
    assert props["Engine"] == "aurora-postgresql"
    major, minor = (int(part) for part in props["EngineVersion"].split("."))
    assert (major, minor) >= (17, 4), "cfn-lint W3690 lists older minors (16.6 among them) as deprecated"


def test_storage_is_encrypted_with_a_rotating_customer_managed_key(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    props = _cluster(each_environment)["Properties"]
    assert props["StorageEncrypted"] is True
    key_id = props["KmsKeyId"]["Fn::GetAtt"][0]
    key = data.find_resources("AWS::KMS::Key")[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain", "snapshots are encrypted with this key: it must outlive the cluster"


def test_database_lives_in_isolated_subnets_and_is_not_public(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    subnet_group = only(data.find_resources("AWS::RDS::DBSubnetGroup"))["Properties"]
    assert all("isolatedSubnet" in s["Fn::GetStackOutput"]["OutputName"] for s in subnet_group["SubnetIds"])
    assert len(subnet_group["SubnetIds"]) == each_environment.config.az_count
    for instance in _instances(each_environment).values():
        assert instance["Properties"]["PubliclyAccessible"] is False


def test_production_has_a_writer_and_a_reader_in_different_azs(production):
    instances = _instances(production)
    assert len(instances) >= 2
    zones = [json.dumps(i["Properties"]["AvailabilityZone"], sort_keys=True) for i in instances.values()]
    assert len(set(zones)) == len(zones)
    assert {i["Properties"]["DBInstanceClass"] for i in instances.values()} == {"db.r6g.large"}


def test_non_production_uses_serverless_v2_with_a_low_minimum(project):
    for name in ("sandbox", "dev", "staging"):
        env = project.environments[name]
        scaling = _cluster(env)["Properties"]["ServerlessV2ScalingConfiguration"]
        assert scaling["MinCapacity"] == 0.5
        assert {i["Properties"]["DBInstanceClass"] for i in _instances(env).values()} == {"db.serverless"}


def test_backups_and_maintenance_inside_the_seeds_low_traffic_window_without_overlap(each_environment):
    props = _cluster(each_environment)["Properties"]
    backup_start, backup_end = props["PreferredBackupWindow"].split("-")
    maintenance = props["PreferredMaintenanceWindow"]
    day, m_start, m_end = maintenance[:3], maintenance[4:9], maintenance[-5:]
    assert "02:00" <= backup_start < backup_end <= "04:00"
    assert "02:00" <= m_start < m_end <= "04:00" and day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert backup_end <= m_start or m_end <= backup_start
    for instance in _instances(each_environment).values():
        assert instance["Properties"]["PreferredMaintenanceWindow"] == maintenance


def test_production_keeps_14_days_of_backups_and_copies_tags_to_snapshots(production):
    props = _cluster(production)["Properties"]
    assert props["BackupRetentionPeriod"] >= 14
    assert props["CopyTagsToSnapshot"] is True


def test_production_database_is_deletion_protected_and_retained(production):
    cluster = _cluster(production)
    assert cluster["Properties"]["DeletionProtection"] is True
    assert cluster["DeletionPolicy"] in ("RetainExceptOnCreate", "Retain", "Snapshot")
    assert cluster["UpdateReplacePolicy"] in ("Retain", "Snapshot")
    for instance in _instances(production).values():
        assert instance["DeletionPolicy"] in ("RetainExceptOnCreate", "Retain", "Snapshot")


def test_non_production_never_deletes_the_database_without_a_snapshot(each_environment):
    cluster = _cluster(each_environment)
    assert cluster["DeletionPolicy"] in ("Snapshot", "RetainExceptOnCreate", "Retain")
    assert cluster["UpdateReplacePolicy"] in ("Snapshot", "Retain")


def test_parameter_group_forces_tls_logs_slow_statements_over_2s_and_connections(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    params = only(data.find_resources("AWS::RDS::DBClusterParameterGroup"))["Properties"]["Parameters"]
    assert params["rds.force_ssl"] == "1"
    assert params["log_min_duration_statement"] == "2000"
    assert params["log_connections"] == "1" and params["log_disconnections"] == "1"


def test_postgresql_logs_exported_to_cloudwatch_with_retention(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    props = _cluster(each_environment)["Properties"]
    assert props["EnableCloudwatchLogsExports"] == ["postgresql"]
    identifier = props["DBClusterIdentifier"]
    data.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": f"/aws/rds/cluster/{identifier}/postgresql",
            "RetentionInDays": each_environment.config.database.log_retention_days,
        },
    )


def test_iam_auth_performance_insights_and_enhanced_monitoring_are_on(each_environment):
    assert _cluster(each_environment)["Properties"]["EnableIAMDatabaseAuthentication"] is True
    for instance in _instances(each_environment).values():
        props = instance["Properties"]
        assert props["EnablePerformanceInsights"] is True and "PerformanceInsightsKMSKeyId" in props
        assert props["MonitoringInterval"] == 60 and "MonitoringRoleArn" in props


def test_database_port_only_from_the_service_and_the_rotation_function(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    cluster = _cluster(each_environment)["Properties"]
    cluster_sg = cluster["VpcSecurityGroupIds"][0]["Fn::GetAtt"][0]
    assert cluster["Port"] == 5432
    assert not data.find_resources("AWS::EC2::SecurityGroup")[cluster_sg]["Properties"].get("SecurityGroupIngress")
    rules = [
        r["Properties"]
        for t in each_environment.all_templates().values()
        for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if cluster_sg in json.dumps(r["Properties"]["GroupId"])
    ]
    assert len(rules) == 2
    sources = [json.dumps(r["SourceSecurityGroupId"]) for r in rules]
    assert all("CidrIp" not in r and "CidrIpv6" not in r for r in rules)
    from_service = [r for r, src in zip(rules, sources) if "WebServiceSecurityGroup" in src]
    from_rotation = [r for r, src in zip(rules, sources) if "RotationSingleUserSecurityGroup" in src]
    assert len(from_service) == 1 and (from_service[0]["FromPort"], from_service[0]["ToPort"]) == (5432, 5432)
    assert len(from_rotation) == 1  # the rotation function's port is the cluster's endpoint port (5432)


def test_credentials_are_generated_in_secrets_manager_under_the_seed_name(production):
    data = production.template(production.stacks.data)
    data.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"Name": "ava-olo/database/credentials", "GenerateSecretString": Match.object_like({"GenerateStringKey": "password"})},
    )


def test_non_production_credentials_are_environment_qualified(project):
    for name in ("sandbox", "dev", "staging"):
        data = project.environments[name].template(project.environments[name].stacks.data)
        data.has_resource_properties("AWS::SecretsManager::Secret", {"Name": f"ava-olo/{name}/database/credentials"})


def test_credentials_rotate_at_least_every_30_days_inside_the_low_traffic_window(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    rules = only(data.find_resources("AWS::SecretsManager::RotationSchedule"))["Properties"]["RotationRules"]
    days = each_environment.config.database.rotation_days
    assert 1 <= days <= 30
    # Never `1/30` (days 1 AND 31): days spread so that no gap exceeds `days`, inside 02:00-04:00 UTC and outside
    # the maintenance window (sun:03:00-03:30 by default, so 02:00-03:00).
    month_days, months = rotation_cron_fields(days)
    assert rules == {"ScheduleExpression": f"cron(0 2 {month_days} {months} ? *)", "Duration": "1h"}
    # The first rotation runs when the schedule is created: only after the writer instance exists.
    schedule = only(data.find_resources("AWS::SecretsManager::RotationSchedule"))
    writers = [k for k in data.find_resources("AWS::RDS::DBInstance") if "Writer" in k]
    assert len(writers) == 1 and writers[0] in schedule["DependsOn"]


def test_service_is_redeployed_onto_the_new_password_after_each_rotation(each_environment):
    rule = only(each_environment.service.find_resources("AWS::Events::Rule"))["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.secretsmanager"] and pattern["detail"]["eventName"] == ["RotationSucceeded"]
    (secret,) = pattern["detail"]["additionalEventData"]["SecretId"]
    assert "SecretAttachment" in secret["Fn::GetStackOutput"]["OutputName"]
    parts = rule["Targets"][0]["Input"]["Fn::Join"][1]  # JSON with the cluster and service names spliced in
    text = "".join(p if isinstance(p, str) else "<ref>" for p in parts)
    call = json.loads(text)
    assert call["service"] == "ECS" and call["action"] == "updateService"
    assert call["parameters"] == {"cluster": "<ref>", "service": "<ref>", "forceNewDeployment": True}
    assert {"Ref": next(iter(each_environment.service.find_resources("AWS::ECS::Cluster")))} in parts


def test_container_receives_db_settings_and_encryption_key_only_as_secrets(each_environment):
    container = _container(each_environment)
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    environment = {e["Name"] for e in container["Environment"]}
    assert DB_VARIABLES | {"ENCRYPTION_KEY"} <= set(secrets)
    assert not (DB_VARIABLES | {"ENCRYPTION_KEY"}) & environment
    fields = {name: json.dumps(value)[-14:] for name, value in secrets.items() if name in DB_VARIABLES}
    assert fields["DB_HOST"].endswith(':host::"]]}') or ":host::" in json.dumps(secrets["DB_HOST"])
    for variable, field in {"DB_HOST": "host", "DB_PORT": "port", "DB_NAME": "dbname", "DB_USER": "username", "DB_PASSWORD": "password"}.items():
        assert f":{field}::" in json.dumps(secrets[variable]), variable


def test_no_template_contains_a_plaintext_password(project):
    for env in project.environments.values():
        for name, template in env.all_templates().items():
            text = json.dumps(template.to_json())
            for resource in template.find_resources("AWS::RDS::DBCluster").values():
                assert "{{resolve:secretsmanager:" in json.dumps(resource["Properties"]["MasterUserPassword"])
            assert '"MasterUserPassword": "' not in text, name


def test_execution_role_reads_exactly_the_database_and_encryption_key_secrets(each_environment):
    statements = service_execution_role_statements(each_environment.service)
    secret_reads = [s for s in statements if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])]
    assert len(secret_reads) == 1
    resources = secret_reads[0]["Resource"]
    assert len(resources) == 2 and "*" not in json.dumps(resources)
    outputs = {r["Fn::GetStackOutput"]["OutputName"] for r in resources}
    assert any("SecretAttachment" in o for o in outputs) and any("EncryptionKeySecret" in o for o in outputs)
    decrypt = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert len(decrypt) == 1
    assert decrypt[0]["Condition"]["StringEquals"]["kms:ViaService"].startswith("secretsmanager.")
    assert "DatabaseKey" in decrypt[0]["Resource"]["Fn::GetStackOutput"]["OutputName"]
    assert not any(s["Action"] == "ssm:GetParameters" for s in statements), "no SecureString configured"


def test_encryption_key_is_generated_as_a_fernet_key_by_the_stack(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    generator = only(data.find_resources("Custom::FernetKey"))["Properties"]
    secret_id = generator["SecretArn"]["Ref"]
    assert data.find_resources("AWS::SecretsManager::Secret")[secret_id]["Properties"]["Name"].endswith("encryption-key")
    function = data.find_resources("AWS::Lambda::Function")[generator["ServiceToken"]["Fn::GetAtt"][0]]["Properties"]
    assert "urlsafe_b64encode(os.urandom(FERNET_KEY_BYTES))" in function["Code"]["ZipFile"]


def test_ssm_parameters_publish_non_secret_settings_under_the_environment_prefix(production):
    names = {p["Properties"]["Name"]: p["Properties"] for p in production.service.find_resources("AWS::SSM::Parameter").values()}
    prefix = "/ava-olo/production/monitoring-dashboards/"
    assert set(names) == {
        prefix + key
        for key in ("version", "service-url", "db-pool-size", "db-max-overflow", "db-pool-recycle", "db-endpoint",
                    "db-reader-endpoint", "db-name", "db-credentials-secret")
    }
    assert all(p["Type"] == "String" for p in names.values())
    assert names[prefix + "db-pool-size"]["Value"] == "20"
    assert names[prefix + "db-credentials-secret"]["Value"] == "ava-olo/database/credentials"
