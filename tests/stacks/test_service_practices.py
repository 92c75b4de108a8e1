"""One test per deployment practice of the seed, on the synthesized production template (and, where the
practice is universal, on every environment). Seed: "ECS Deployment Timeline", "What NOT to Do",
"Performance Best Practices", "Monitoring Commands"."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.conftest import only, service_container, service_task_definition


def _service(env):
    return only(env.service.find_resources("AWS::ECS::Service"))["Properties"]


def _target_group(env):
    """The service's target group (the one in LoadBalancers; the alternate one is checked to match it)."""
    arn = _service(env)["LoadBalancers"][0]["TargetGroupArn"]["Ref"]
    return env.service.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup")[arn]["Properties"]


def test_alternate_target_group_is_checked_and_drained_exactly_like_the_serving_one(each_environment):
    groups = [g["Properties"] for g in each_environment.service.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup").values()]
    assert len(groups) == (1 if each_environment.config.deployment.strategy == "rolling" else 2)
    assert all(g == groups[0] for g in groups)


def _container(env):
    return service_container(env.service)


def test_target_group_health_check_is_seed_health_path_every_30s_two_successes(production):
    production.service.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": "/health",
            "HealthCheckIntervalSeconds": 30,
            "HealthyThresholdCount": 2,
            "Matcher": {"HttpCode": "200"},
        },
    )


def test_target_group_health_check_timeout_and_unhealthy_threshold_are_explicit(production):
    props = _target_group(production)
    assert props["UnhealthyThresholdCount"] == 3
    assert 0 < props["HealthCheckTimeoutSeconds"] < props["HealthCheckIntervalSeconds"]


def test_target_group_deregistration_delay_is_at_most_30s(each_environment):
    attributes = {a["Key"]: a["Value"] for a in _target_group(each_environment)["TargetGroupAttributes"]}
    assert int(attributes["deregistration_delay.timeout_seconds"]) <= 30


def test_production_deploys_as_an_ecs_canary_of_5_percent_with_bake_times(production):
    deployment = _service(production)["DeploymentConfiguration"]
    assert deployment["Strategy"] == "CANARY"
    assert deployment["CanaryConfiguration"] == {"CanaryPercent": 5, "CanaryBakeTimeInMinutes": 10}
    assert deployment["BakeTimeInMinutes"] == 15
    assert "DeploymentController" not in _service(production)  # ECS's own controller (the default)


def test_production_runs_the_pre_traffic_check_after_test_traffic_and_before_production_traffic(production):
    (hook,) = _service(production)["DeploymentConfiguration"]["LifecycleHooks"]
    assert hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    function_id = hook["HookTargetArn"]["Fn::GetAtt"][0]
    function = production.service.find_resources("AWS::Lambda::Function")[function_id]["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["EXPECTED_VERSION"] == production.config.version
    assert variables["TEST_URL"] == "https://monitoring.ava-olo.example:8443"
    assert function["Runtime"].startswith("python3") and "def check(" in function["Code"]["ZipFile"]
    role = production.service.find_resources("AWS::IAM::Role")[hook["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}


def test_production_has_an_alternate_target_group_and_a_test_listener_rule_on_its_own_port(production):
    (balancer,) = _service(production)["LoadBalancers"]
    advanced = balancer["AdvancedConfiguration"]
    groups = production.service.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup")
    assert {balancer["TargetGroupArn"]["Ref"], advanced["AlternateTargetGroupArn"]["Ref"]} == set(groups)
    rules = production.service.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule")
    listeners = production.service.find_resources("AWS::ElasticLoadBalancingV2::Listener")
    production_rule = rules[advanced["ProductionListenerRule"]["Ref"]]["Properties"]
    test_rule = rules[advanced["TestListenerRule"]["Ref"]]["Properties"]
    assert listeners[production_rule["ListenerArn"]["Ref"]]["Properties"]["Port"] == 443
    assert listeners[test_rule["ListenerArn"]["Ref"]]["Properties"]["Port"] == 8443
    for rule in (production_rule, test_rule):  # the serving group at 100, the alternate at 0 until ECS shifts
        weights = {g["TargetGroupArn"]["Ref"]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]}
        assert weights == {balancer["TargetGroupArn"]["Ref"]: 100, advanced["AlternateTargetGroupArn"]["Ref"]: 0}
    role = production.service.find_resources("AWS::IAM::Role")[advanced["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert "AmazonECSInfrastructureRolePolicyForLoadBalancers" in json.dumps(role["ManagedPolicyArns"])


def test_other_tiers_deploy_rolling_without_a_second_fleet(project):
    for name in ("sandbox", "dev", "staging"):
        service = _service(project.environments[name])
        assert service["DeploymentConfiguration"].get("Strategy") == "ROLLING", name
        assert "AdvancedConfiguration" not in service["LoadBalancers"][0] and "LifecycleHooks" not in service["DeploymentConfiguration"]


def test_deployment_starts_new_task_beside_old_100_200(each_environment):
    deployment = _service(each_environment)["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200


def test_deployment_circuit_breaker_rolls_back_failed_versions(each_environment):
    breaker = _service(each_environment)["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert breaker == {"Enable": True, "Rollback": True}


def test_health_check_grace_period_is_sized_for_container_start(production):
    grace = _service(production)["HealthCheckGracePeriodSeconds"]
    assert grace == production.config.health_check_grace_period_seconds
    assert 30 <= grace <= 300


def test_task_size_is_seed_512_cpu_1024_memory(production):
    production.service.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"Cpu": "512", "Memory": "1024", "RequiresCompatibilities": ["FARGATE"], "NetworkMode": "awsvpc"},
    )


def test_cluster_is_ava_olo_production_with_container_insights(production):
    production.service.has_resource_properties(
        "AWS::ECS::Cluster",
        {
            "ClusterName": "ava-olo-production",
            "ClusterSettings": Match.array_with([{"Name": "containerInsights", "Value": "enabled"}]),
        },
    )


def test_production_keeps_seed_names_for_runbook_commands(production):
    assert _service(production)["ServiceName"] == "monitoring-dashboards"
    production.service.has_resource_properties(
        "AWS::ECS::TaskDefinition", {"Family": "ava-olo-monitoring-task"}
    )


def _service_log_group(env) -> tuple[str, dict]:
    groups = env.service.find_resources("AWS::Logs::LogGroup")
    name = env.stacks.service.names.log_group_name
    (logical_id,) = [k for k, g in groups.items() if g["Properties"]["LogGroupName"] == name]
    return logical_id, groups[logical_id]


def test_container_logs_go_to_ecs_service_log_group_with_retention(production):
    logical_id, log_group = _service_log_group(production)
    assert log_group["Properties"]["LogGroupName"] == "/ecs/monitoring-dashboards"
    assert log_group["Properties"]["RetentionInDays"] == production.config.log_retention_days
    options = _container(production)["LogConfiguration"]
    assert options["LogDriver"] == "awslogs"
    assert options["Options"]["awslogs-group"] == {"Ref": logical_id}


def test_every_log_group_has_a_retention(each_environment):
    for name, template in each_environment.all_templates().items():
        for logical_id, group in template.find_resources("AWS::Logs::LogGroup").items():
            assert "RetentionInDays" in group["Properties"], f"{name}/{logical_id} never expires"


def test_production_log_groups_survive_stack_deletion(production):
    for template in production.all_templates().values():
        for logical_id, group in template.find_resources("AWS::Logs::LogGroup").items():
            # RetainExceptOnCreate: kept on stack deletion; removed only when the first create itself fails
            assert group.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"), logical_id
            assert group.get("UpdateReplacePolicy") == "Retain", logical_id


def test_other_environments_never_collide_with_seed_names(project):
    seed = project.environments["production"]
    seed_log = _service_log_group(seed)[1]["Properties"]["LogGroupName"]
    seen_logs, seen_clusters = {seed_log}, {"ava-olo-production"}
    for name, env in project.environments.items():
        if name == "production":
            continue
        log_name = _service_log_group(env)[1]["Properties"]["LogGroupName"]
        cluster = only(env.service.find_resources("AWS::ECS::Cluster"))["Properties"]["ClusterName"]
        family = service_task_definition(env.service)["Properties"]["Family"]
        assert log_name not in seen_logs and cluster not in seen_clusters, name
        assert family != "ava-olo-monitoring-task", name
        assert name in log_name and cluster == f"ava-olo-{name}"
        seen_logs.add(log_name)
        seen_clusters.add(cluster)


def test_load_balancer_is_internet_facing_in_public_subnets(production):
    alb = only(production.service.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert alb["Scheme"] == "internet-facing"
    public_outputs = {o["Fn::GetStackOutput"]["OutputName"] for o in alb["Subnets"]}
    assert len(public_outputs) == production.config.az_count
    assert all("publicSubnet" in name for name in public_outputs)


def test_tasks_run_in_private_subnets_without_public_ip(each_environment):
    network = _service(each_environment)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    subnets = [s["Fn::GetStackOutput"]["OutputName"] for s in network["Subnets"]]
    assert subnets and all("privateSubnet" in s for s in subnets)


def test_tasks_accept_traffic_only_from_the_load_balancer_on_the_container_port(each_environment):
    template = each_environment.service
    service_sg_ids = [sg["Fn::GetAtt"][0] for sg in _service(each_environment)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]]
    assert len(service_sg_ids) == 1
    service_sg = template.find_resources("AWS::EC2::SecurityGroup")[service_sg_ids[0]]["Properties"]
    assert not service_sg.get("SecurityGroupIngress"), "no inline ingress on the task security group"
    alb_sg_id = only(template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]["SecurityGroups"][0]["Fn::GetAtt"][0]
    ingress = [
        rule["Properties"]
        for rule in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [service_sg_ids[0], "GroupId"]}
    ]
    port = each_environment.config.container_port
    assert ingress == [
        {
            "IpProtocol": "tcp",
            "Description": "Load balancer to target",
            "FromPort": port,
            "ToPort": port,
            "GroupId": {"Fn::GetAtt": [service_sg_ids[0], "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [alb_sg_id, "GroupId"]},
        }
    ]


def test_the_test_listener_is_reachable_only_from_the_nat_gateways_addresses(each_environment):
    template = each_environment.service
    if each_environment.config.deployment.strategy == "rolling":
        assert not template.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 8443}})
        return
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 8443, "ToPort": 8443}})
    assert len(ingress) == each_environment.config.nat_gateways
    network = each_environment.templates[each_environment.stacks.network.artifact_id]["Resources"]
    eips = {k for k, r in network.items() if r["Type"] == "AWS::EC2::EIP"}
    for rule in ingress.values():
        source = json.dumps(rule["Properties"]["CidrIp"])
        assert "/32" in source and any(eip in source for eip in eips), source
    for sg in template.find_resources("AWS::EC2::SecurityGroup").values():
        assert all(r.get("FromPort") != 8443 for r in sg["Properties"].get("SecurityGroupIngress", []))


def test_only_the_load_balancer_is_open_to_the_internet_and_only_on_80_and_443(each_environment):
    for name, template in each_environment.all_templates().items():
        for logical_id, sg in template.find_resources("AWS::EC2::SecurityGroup").items():
            for rule in sg["Properties"].get("SecurityGroupIngress", []):
                if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                    assert "LoadBalancer" in logical_id, f"{name}/{logical_id} is open to the internet"
                    assert (rule["FromPort"], rule["ToPort"]) in ((80, 80), (443, 443))


def test_container_gets_app_version_and_seed_pool_settings(production):
    environment = {e["Name"]: e["Value"] for e in _container(production)["Environment"]}
    assert environment == {
        "APP_VERSION": production.config.version,
        "DB_POOL_SIZE": "20",
        "DB_MAX_OVERFLOW": "30",
        "DB_POOL_RECYCLE": "300",
    }


def test_container_runs_the_configured_release_image(production):
    image = _container(production)["Image"]["Fn::Join"][1]
    assert image[-1] == f"/{production.config.image.repository}:{production.config.version}"


def test_no_secret_in_plain_container_environment(each_environment):
    forbidden = ("PASSWORD", "SECRET", "TOKEN", "CREDENTIAL", "KEY")
    for template in each_environment.all_templates().values():
        for task in template.find_resources("AWS::ECS::TaskDefinition").values():
            for container in task["Properties"]["ContainerDefinitions"]:
                for variable in container.get("Environment", []):
                    assert not any(word in variable["Name"].upper() for word in forbidden), variable["Name"]


def test_alb_drops_invalid_headers_mitigates_desync_and_logs_access(production):
    alb = only(production.service.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] in ("defensive", "strictest")
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"


def test_access_log_bucket_is_encrypted_private_tls_only_expiring_and_retained(production):
    bucket = only(production.service.find_resources("AWS::S3::Bucket"))
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    production.service.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Condition": {"Bool": {"aws:SecureTransport": "false"}}, "Effect": "Deny"})]
                )
            }
        },
    )


def test_stack_outputs_give_service_url_cluster_and_service_names(production):
    outputs = production.service.find_outputs("*")
    assert outputs["ServiceUrl"]["Value"] == "https://monitoring.ava-olo.example"
    assert outputs["ClusterName"]["Value"] == {"Ref": next(iter(production.service.find_resources("AWS::ECS::Cluster")))}
    assert outputs["ServiceName"]["Value"]["Fn::GetAtt"][1] == "Name"
    assert "LogGroupName" in outputs
