"""Another team's view: build a brand-new stack in a test-local App from the library alone, with non-default
props, and check the props really reach the template. (The project's own stacks are not involved.)"""

from __future__ import annotations

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template

from ava_olo_constructs import (
    AlertTopic,
    AlertTopicProps,
    ConnectionPoolSettings,
    FargateWebService,
    FargateWebServiceProps,
    Network,
    NetworkProps,
    ResourceNames,
    ServiceCluster,
    ServiceClusterProps,
    add_compliance_checks,
)
from tests.conftest import only


@pytest.fixture(scope="module")
def consumer_template(consumer_stack) -> Template:
    return Template.from_stack(consumer_stack)  # synthesizes; cdk-nag must pass with the library's own acknowledgements


@pytest.fixture(scope="module")
def consumer_stack() -> Stack:
    # No cdk.json and no context: none of the ~89 feature flags the project's own App sets.
    app = App(builtin_cloud_formation_validation=False, tree_metadata=False)  # cfn-lint covers this; it costs ~2 s per App
    add_compliance_checks(app)
    stack = Stack(app, "WeatherAlerts", env=Environment(region="sa-east-1"))
    names = ResourceNames(environment="qa", service="weather-alerts", project="agro")
    network = Network(
        stack, "Net", NetworkProps(availability_zones=["sa-east-1a", "sa-east-1c"], nat_gateways=2, cidr="10.42.0.0/16")
    )
    cluster = ServiceCluster(stack, "Cluster", ServiceClusterProps(vpc=network.vpc, cluster_name=names.cluster_name))
    topic = AlertTopic(stack, "Alerts", AlertTopicProps(topic_name=names.alarm_topic_name)).topic
    FargateWebService(
        stack,
        "Api",
        FargateWebServiceProps(
            cluster=cluster.cluster,
            image=ecs.ContainerImage.from_registry("public.ecr.aws/agro/weather-alerts:v1.4.0"),
            service_name=names.service_name,
            app_version="v1.4.0-hail-warnings",
            log_group_name=names.log_group_name,
            container_port=9000,
            cpu=1024,
            memory_mib=2048,
            desired_count=3,
            health_check_path="/healthz",
            deregistration_delay=Duration.seconds(15),
            log_retention_days=14,
            log_removal_policy=RemovalPolicy.DESTROY,
            connection_pool=ConnectionPoolSettings(pool_size=5, max_overflow=5, recycle_seconds=120),
            environment={"FEATURE_FLAGS": "hail"},
            certificate=acm.Certificate.from_certificate_arn(
                stack, "Certificate", "arn:aws:acm:sa-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
            ),
            domain_name="alerts.agro.example",
            alarm_name=names.alarm_name,
            alarm_topic=topic,  # the built-in deployment alarms tell the team (AvaOlo-AlarmNotifies)
        ),
    )
    return stack


def test_library_builds_a_compliant_stack_for_another_team_with_non_default_props(consumer_template):
    t = consumer_template
    t.has_resource_properties("AWS::ECS::Cluster", {"ClusterName": "agro-qa"})
    t.has_resource_properties("AWS::ECS::TaskDefinition", {"Cpu": "1024", "Memory": "2048"})
    t.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": "/ecs/weather-alerts-qa", "RetentionInDays": 14})
    t.has_resource_properties("AWS::ElasticLoadBalancingV2::TargetGroup", {"HealthCheckPath": "/healthz"})
    t.resource_count_is("AWS::EC2::NatGateway", 2)
    service = only(t.find_resources("AWS::ECS::Service"))
    assert service["Properties"]["DesiredCount"] == 3  # no autoscaling given: the count is the caller's
    assert service["Properties"]["ServiceName"] == "weather-alerts-qa"
    container = only(t.find_resources("AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
    assert container["PortMappings"][0]["ContainerPort"] == 9000
    assert {e["Name"]: e["Value"] for e in container["Environment"]} == {
        "APP_VERSION": "v1.4.0-hail-warnings",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "5",
        "DB_POOL_RECYCLE": "120",
        "FEATURE_FLAGS": "hail",
    }
    groups = t.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup")
    assert len(groups) == 2  # the library's default strategy is a canary: the serving and the alternate group
    for group in groups.values():
        attributes = {a["Key"]: a["Value"] for a in group["Properties"]["TargetGroupAttributes"]}
        assert attributes["deregistration_delay.timeout_seconds"] == "15"
    assert service["Properties"]["DeploymentConfiguration"]["Strategy"] == "CANARY"
    assert len(t.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 8443}})) == 2  # one per NAT
    listeners = {l["Properties"]["Port"]: l["Properties"] for l in t.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()}
    assert listeners[443]["Protocol"] == "HTTPS" and listeners[443]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert listeners[80]["DefaultActions"] == [{"RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}, "Type": "redirect"}]
    zones = {s["Properties"]["AvailabilityZone"] for s in t.find_resources("AWS::EC2::Subnet").values()}
    assert zones == {"sa-east-1a", "sa-east-1c"}


def test_library_keeps_the_seed_defaults_when_a_caller_sets_nothing():
    from ava_olo_constructs import web_service_defaults as d

    props = FargateWebServiceProps(cluster=None, image=None, service_name="svc", app_version="v1.0.0")  # type: ignore[arg-type]
    assert (props.cpu, props.memory_mib) == (512, 1024)
    assert props.health_check_path == "/health" and props.health_check_interval.to_seconds() == 30
    assert props.healthy_threshold == 2 and props.deregistration_delay.to_seconds() <= 30
    assert (props.min_healthy_percent, props.max_healthy_percent) == (100, 200)
    assert props.connection_pool == ConnectionPoolSettings(20, 30, 300)
    assert d.CIRCUIT_BREAKER_ROLLBACK is True


def test_without_cdk_json_feature_flags_the_library_still_gives_what_it_promises(consumer_template, consumer_stack):
    """The promises that would otherwise hang on a feature flag are set explicitly by the constructs."""
    t = consumer_template
    # @aws-cdk/aws-ec2:restrictDefaultSecurityGroup: the VPC's default security group loses its allow-all rules.
    t.resource_count_is("Custom::VpcRestrictDefaultSG", 1)
    deployment = only(t.find_resources("AWS::ECS::Service"))["Properties"]["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    # The bare FargateWebService's own deployment alarms, rollback on: its canary never runs unwatched.
    assert deployment["Alarms"] == {
        "AlarmNames": ["agro-qa-weather-alerts-new-revision-errors", "agro-qa-weather-alerts-new-revision-unhealthy"],
        "Enable": True,
        "Rollback": True,
    }
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    for group in t.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup").values():  # serving and alternate
        assert (group["Properties"]["HealthCheckIntervalSeconds"], group["Properties"]["HealthyThresholdCount"]) == (30, 2)
    container = only(t.find_resources("AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
    assert container["StopTimeout"] == 30  # explicit: the application's graceful shutdown is sized against it
    for bucket in t.find_resources("AWS::S3::Bucket").values():  # @aws-cdk/aws-s3:publicAccessBlockedByDefault
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert consumer_stack.node.try_get_context("@aws-cdk/aws-ec2:restrictDefaultSecurityGroup") is None


def test_a_consumer_stack_passes_the_ava_olo_rule_pack_with_its_defaults(consumer_stack, consumer_template):
    from ava_olo_constructs import AvaOloChecks

    report = AvaOloChecks().validate_scope(consumer_stack)
    assert report.success, [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations]
