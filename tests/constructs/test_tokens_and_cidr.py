"""Issue 14 items 5 and 7: numeric props accept tokens (a CfnParameter's value is only known at deploy time, so
validation skips it), and a VPC CIDR the subnets cannot fit is one PropsError line, not a jsii RuntimeError."""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnParameter, Stack, Token

from ava_olo_constructs import validation as v
from ava_olo_constructs.network import Network, NetworkProps, check_cidr
from ava_olo_constructs.validation import PropsError


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack(App(builtin_cloud_formation_validation=False), "Tokens")


def test_a_cfn_parameter_desired_count_is_not_refused(stack: Stack) -> None:
    count = CfnParameter(stack, "DesiredCount", type="Number", default=2).value_as_number
    assert Token.is_unresolved(count)
    v.check_range("desired_count", count, 1, 1000)
    v.check_task_counts(1, count, 4)
    v.check_port("container_port", CfnParameter(stack, "Port", type="Number").value_as_number)
    v.check_log_retention("log_retention_days", CfnParameter(stack, "Days", type="Number").value_as_number)
    v.check_fargate_size(CfnParameter(stack, "Cpu", type="Number").value_as_number, 1024)


def test_a_token_bound_does_not_refuse_a_literal(stack: Stack) -> None:
    v.check_range("nat_gateways", 2, 0, CfnParameter(stack, "Bound", type="Number").value_as_number)


def test_resolved_values_are_still_checked(stack: Stack) -> None:
    with pytest.raises(PropsError) as caught:
        v.check_range("desired_count", -1, 1, 1000)
    assert str(caught.value) == "desired_count: -1 is not allowed; a whole number from 1 to 1000"
    with pytest.raises(PropsError):
        v.check_task_counts(3, 2, 4)
    with pytest.raises(PropsError):  # a token elsewhere does not excuse a bad literal
        v.check_fargate_size(300, CfnParameter(stack, "Memory", type="Number").value_as_number)


def test_network_props_with_a_token_az_count_validate(stack: Stack) -> None:
    NetworkProps(nat_gateways=1, az_count=2).validate("eu-central-1")
    check_cidr("cidr", "10.0.0.0/16", CfnParameter(stack, "Azs", type="Number").value_as_number)


@pytest.mark.parametrize(("azs", "cidr", "fits"), [(3, "10.0.0.0/19", "/17"), (3, "10.0.0.0/20", "/17"), (2, "10.0.0.0/22", "/18")])
def test_a_cidr_the_subnets_cannot_fit_is_one_props_error_line(azs: int, cidr: str, fits: str) -> None:
    with pytest.raises(PropsError) as caught:
        NetworkProps(az_count=azs, cidr=cidr).validate(None)
    message = str(caught.value)
    assert caught.value.field == "cidr" and caught.value.value == cidr
    assert len(message.splitlines()) == 1 and f"{fits} or larger" in message


def test_the_network_construct_refuses_it_before_creating_anything() -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "Small")
    with pytest.raises(PropsError) as caught:
        Network(stack, "Network", NetworkProps(az_count=3, cidr="10.0.0.0/20"))
    assert "RuntimeError" not in str(caught.value) and "\n" not in str(caught.value)
    assert stack.node.try_find_child("Network").node.try_find_child("Vpc") is None


@pytest.mark.parametrize("cidr", ["10.0.0.1/16", "10.0.0.0/8", "10.0.0.0/29", "fd00::/56", "10.0.0/16", 16])
def test_what_aws_would_refuse_is_refused(cidr) -> None:
    with pytest.raises(PropsError):
        check_cidr("cidr", cidr, 2)


def test_the_check_is_cdks_own_allocation() -> None:
    """What passes the check is exactly what ``ec2.Vpc`` lays out: the biggest fitting layouts pass."""
    for azs, cidr in [(2, "10.0.0.0/18"), (3, "10.0.0.0/17"), (6, "10.0.0.0/17"), (2, "192.168.0.0/18")]:
        check_cidr("cidr", cidr, azs)


def test_the_issue_case_a_cfn_parameter_desired_count_on_the_web_service_props(stack: Stack) -> None:
    from ava_olo_constructs.web_service import FargateWebServiceProps

    count = CfnParameter(stack, "ServiceDesiredCount", type="Number", default=2).value_as_number
    props = FargateWebServiceProps(cluster=None, image=None, service_name="svc", app_version="v1.0.0", desired_count=count, allow_plain_http=True)  # type: ignore[arg-type]
    props.validate()
    with pytest.raises(PropsError):
        FargateWebServiceProps(cluster=None, image=None, service_name="svc", app_version="v1.0.0", desired_count=-1, allow_plain_http=True).validate()  # type: ignore[arg-type]


def test_database_windows_given_as_cfn_parameters_are_left_to_rds(stack: Stack) -> None:
    """The windows are only known at deploy time: not refused, passed through to the cluster, and the rotation
    keeps to the whole low-traffic window (02:00-04:00 UTC) since the maintenance window is unknown at synth."""
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk.assertions import Template

    from ava_olo_constructs import AuroraPostgresDatabase, AuroraPostgresDatabaseProps

    app = App(builtin_cloud_formation_validation=False, tree_metadata=False)
    db_stack = Stack(app, "TokenWindows", env={"region": "eu-central-1"})
    backup = CfnParameter(db_stack, "BackupWindow", default="01:00-01:30").value_as_string
    maintenance = CfnParameter(db_stack, "MaintenanceWindow", default="sat:05:00-sat:05:30").value_as_string
    vpc = ec2.Vpc(db_stack, "Vpc", availability_zones=["eu-central-1a", "eu-central-1b"], nat_gateways=1,
                  subnet_configuration=[
                      ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                      ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                      ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    AuroraPostgresDatabase(db_stack, "Database", AuroraPostgresDatabaseProps(
        vpc=vpc, cluster_identifier="tokens-db", secret_name="tokens/db", backup_window=backup,
        maintenance_window=maintenance))
    template = Template.from_stack(db_stack)
    (cluster,) = template.find_resources("AWS::RDS::DBCluster").values()
    assert cluster["Properties"]["PreferredBackupWindow"] == {"Ref": "BackupWindow"}
    assert cluster["Properties"]["PreferredMaintenanceWindow"] == {"Ref": "MaintenanceWindow"}
    (schedule,) = template.find_resources("AWS::SecretsManager::RotationSchedule").values()
    rules = schedule["Properties"]["RotationRules"]
    assert rules["ScheduleExpression"].startswith("cron(0 2 ") and rules["Duration"] == "2h"
    with pytest.raises(PropsError):  # a literal window is still checked
        AuroraPostgresDatabaseProps(vpc=vpc, cluster_identifier="x", secret_name="x/db", backup_window="2am").validate()
