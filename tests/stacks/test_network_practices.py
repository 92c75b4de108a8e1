"""The network every environment runs in: >= 2 AZs, three subnet tiers, NAT count from config, flow logs."""

from __future__ import annotations

from collections import Counter

from tests.conftest import only


def _subnet_tiers(env) -> Counter:
    subnets = env.network.find_resources("AWS::EC2::Subnet").values()
    return Counter(
        next(t["Value"] for t in s["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name") for s in subnets
    )


def test_vpc_spans_the_configured_azs_with_public_private_and_isolated_subnets(each_environment):
    count = each_environment.config.az_count
    assert count >= 2
    assert _subnet_tiers(each_environment) == Counter({"public": count, "private": count, "isolated": count})


def test_availability_zones_need_no_lookup(each_environment):
    zones = {
        str(s["Properties"]["AvailabilityZone"]) for s in each_environment.network.find_resources("AWS::EC2::Subnet").values()
    }
    assert len(zones) == each_environment.config.az_count
    assert all("Fn::GetAZs" in zone or zone.startswith(each_environment.config.region) for zone in zones)


def test_public_subnets_do_not_give_tasks_public_ips_but_private_subnets_route_through_nat(each_environment):
    routes = each_environment.network.find_resources("AWS::EC2::Route").values()
    nat_routes = [r for r in routes if "NatGatewayId" in r["Properties"]]
    assert len(nat_routes) == each_environment.config.az_count


def test_nat_gateway_count_comes_from_config(project):
    for env in project.environments.values():
        nat_gateways = env.network.find_resources("AWS::EC2::NatGateway")
        assert len(nat_gateways) == env.config.nat_gateways, env.config.name
    assert len(project.environments["production"].network.find_resources("AWS::EC2::NatGateway")) == 3


def test_vpc_flow_logs_capture_all_traffic_to_cloudwatch_with_retention(each_environment):
    flow_log = only(each_environment.network.find_resources("AWS::EC2::FlowLog"))["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    group = only(each_environment.network.find_resources("AWS::Logs::LogGroup"))["Properties"]
    assert group["RetentionInDays"] == each_environment.config.flow_log_retention_days


def test_default_security_group_is_closed(each_environment):
    restrict = each_environment.network.find_resources("Custom::VpcRestrictDefaultSG")
    assert len(restrict) == 1
