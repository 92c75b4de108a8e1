"""Stateful resources keep their logical IDs: a rename would make CloudFormation replace them (a new, empty
database, secret, key, log group or bucket). Changing this list is a deliberate, reviewed act; CI fails first."""

from __future__ import annotations

STATEFUL = {
    "network": {"AWS::Logs::LogGroup": {"NetworkFlowLogGroup4F8CEEEF"}, "AWS::KMS::Key": {"NetworkLogKey5212F0C4"}},
    "data": {
        "AWS::RDS::DBCluster": {"DatabaseCluster5B53A178"},
        "AWS::KMS::Key": {"DatabaseKey5E5D9547"},
        "AWS::Backup::BackupVault": {"DatabaseBackupVaultED8CBFE1"},
        "AWS::RDS::DBSubnetGroup": {"DatabaseClusterSubnets5540150D"},
        "AWS::RDS::DBClusterParameterGroup": {"DatabaseParametersB8AC9B07"},
        "AWS::Logs::LogGroup": {"DatabasePostgresLogs807072D3", "EncryptionKeyGeneratorLogs2C4BF3C8"},
    },
    "service": {
        "AWS::Logs::LogGroup": {
            "WebServiceLogGroup6F16EA2A",
            "WebServicePreTrafficCheckLogs78B35826",  # production only (canary); see _stateful below
            "FirewallLogs7FB06776",
            "MigrationLogGroupF62BD9AA",
            "AWSb4cf1abd4e4f4bc699441af7ccd9ec37LogGroup55AC5485",  # the rotation redeploy's API-call function
        },
        "AWS::S3::Bucket": {"WebServiceAccessLogsBucketD697C01A"},
        "AWS::KMS::Key": {"LogKeyE83D0C1B", "AlertsKey9E1197AF"},
    },
}

#: The credentials secret's ID embeds the stack's name (CDK's DatabaseSecret), so it is pinned per environment.
CREDENTIALS_SECRET = {
    "sandbox": "SandboxDataDatabaseClusterSecret6E21BC963fdaad7efa858a3daf9490cf0a702aeb",
    "dev": "DevDataDatabaseClusterSecret3077F6E83fdaad7efa858a3daf9490cf0a702aeb",
    "staging": "StagingDataDatabaseClusterSecret5B34B0AE3fdaad7efa858a3daf9490cf0a702aeb",
    "production": "ProductionDataDatabaseClusterSecret95EC498D3fdaad7efa858a3daf9490cf0a702aeb",
}
WRITER, READER = "DatabaseClusterWriterD43085C6", "DatabaseClusterReader1D8B76102"


#: Only where the strategy shifts traffic (the pre-traffic check exists only there).
TRAFFIC_SHIFT_ONLY = {"WebServicePreTrafficCheckLogs78B35826"}


def test_stateful_resources_keep_their_logical_ids(each_environment):
    for purpose, by_type in STATEFUL.items():
        template = each_environment.template(getattr(each_environment.stacks, purpose))
        for resource_type, logical_ids in by_type.items():
            if each_environment.config.deployment.strategy == "rolling":
                logical_ids = logical_ids - TRAFFIC_SHIFT_ONLY
            assert set(template.find_resources(resource_type)) == logical_ids, (purpose, resource_type)


def test_database_secrets_and_instances_keep_their_logical_ids(each_environment):
    data = each_environment.template(each_environment.stacks.data)
    name = each_environment.config.name
    assert set(data.find_resources("AWS::SecretsManager::Secret")) == {CREDENTIALS_SECRET[name], "EncryptionKeySecret487C1FD5"}
    instances = {WRITER} | ({READER} if each_environment.config.database.reader_count else set())
    assert set(data.find_resources("AWS::RDS::DBInstance")) == instances


def test_production_stateful_resources_are_retained_on_delete_and_replace(production):
    checked = 0
    for purpose in ("network", "data", "service"):
        template = production.template(getattr(production.stacks, purpose))
        for resource_type in ("AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance",
                              "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::RDS::DBSubnetGroup",
                              "AWS::Backup::BackupVault"):
            for logical_id, resource in template.find_resources(resource_type).items():
                # RetainExceptOnCreate: retained like Retain, except that a failed first create cleans up.
                assert resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot"), logical_id
                assert resource.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), logical_id
                checked += 1
    assert checked == 20  # 2 network + 10 data + 8 service


def test_delivery_repository_and_its_key_keep_their_logical_ids(project):
    for _, template in project.deliveries.values():
        by_type = {}
        for logical_id, resource in template["Resources"].items():
            by_type.setdefault(resource["Type"], set()).add(logical_id)
        assert by_type["AWS::ECR::Repository"] == {"ImagesRepository2D0F5B9C"}
        assert by_type["AWS::KMS::Key"] == {"ImagesKey72752799"}
