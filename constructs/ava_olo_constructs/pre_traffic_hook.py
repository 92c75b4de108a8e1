"""The pre-traffic check: an ECS lifecycle hook that fails a deployment whose revision is not healthy or not the
expected version, before any production request reaches it (README "Deployment strategy").

ECS invokes the function at ``POST_TEST_TRAFFIC_SHIFT``: the new revision serves 100 % of the *test* listener
and 0 % of production. The function (``lambdas/pre_traffic_check/index.py``, standard library only) GETs
``/health`` and ``/version`` through the test listener and answers ``{"hookStatus": "SUCCEEDED" | "FAILED"}``.

* **Expected version**: ``EXPECTED_VERSION`` in the function's environment, written by the same stack update
  that changes the task definition. The service's ``LifecycleHooks`` references the function, so
  CloudFormation updates the function before the service and the check always knows the version being deployed.
* **Test URL**: the service URL with the test listener's port (``https://<domain>:8443``: the certificate names
  the domain, so TLS is verified as a farmer's browser would).
* **Network**: the ALB is internet-facing. A function in the VPC reaches it through the NAT gateways, so the
  load balancer sees the NAT gateways' Elastic IPs as source - a security-group rule naming the function's
  security group would never match. The test port is therefore open to exactly those addresses (/32 each)
  and to nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import web_service_defaults as defaults
from .compliance import ROLE_DEPENDENCY_REASON, acknowledge, ignore_lint_check
from .retention import retention_days
from .validation import PropsError

HANDLER_SOURCE = Path(__file__).with_name("lambdas") / "pre_traffic_check" / "index.py"
#: The stage at which the check runs: test traffic on the new revision, no production traffic yet.
STAGE = ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT


def nat_public_ips(vpc: ec2.IVpc) -> list[str]:
    """The Elastic IPs of the VPC's NAT gateways (CDK's ``Vpc`` puts one ``EIP`` in each public subnet that
    holds a NAT gateway): the source address of anything in the private subnets that calls a public endpoint."""
    addresses = []
    for subnet in vpc.public_subnets:
        eip = subnet.node.try_find_child("EIP")
        if isinstance(eip, ec2.CfnEIP):
            addresses.append(eip.ref)  # Ref of AWS::EC2::EIP is its public IPv4 address
    return addresses


@dataclass(frozen=True)
class PreTrafficCheckProps:
    """:param vpc: where the function runs (its private subnets reach the test listener through NAT).
    :param test_url: the test listener's URL, e.g. ``https://<alb dns>:8443``.
    :param expected_version: the release the new revision must report on ``/version``.
    :param log_encryption_key / log_retention_days / log_removal_policy: the function's log group.
    :param log_group_name: Default generated. :param timeout: Default ``PRE_TRAFFIC_CHECK_TIMEOUT``.
    :param test_port: the test listener's port, for the function's only egress rule. Default 8443."""

    vpc: ec2.IVpc
    test_url: str
    expected_version: str
    log_encryption_key: kms.IKey
    log_retention_days: int
    log_removal_policy: RemovalPolicy
    log_group_name: Optional[str] = None
    timeout: Duration = defaults.PRE_TRAFFIC_CHECK_TIMEOUT
    test_port: Optional[int] = None


class PreTrafficCheck(Construct):
    """Attributes: ``function``, ``log_group``, ``security_group``, ``hook`` (an ``ecs`` lifecycle hook target)."""

    def __init__(self, scope: Construct, construct_id: str, props: PreTrafficCheckProps) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(props, PreTrafficCheckProps):
            raise PropsError("props", props, "a PreTrafficCheckProps")
        vpc, test_url, expected_version, timeout = props.vpc, props.test_url, props.expected_version, props.timeout
        log_encryption_key, log_retention_days = props.log_encryption_key, props.log_retention_days
        log_removal_policy, log_group_name, test_port = props.log_removal_policy, props.log_group_name, props.test_port
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description="Pre-traffic check: out to the test listener of the load balancer only",
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(test_port or defaults.TEST_LISTENER_PORT),
            "the test listener, reached at the public address of the load balancer through NAT",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            encryption_key=log_encryption_key,
            retention=retention_days(log_retention_days),
            removal_policy=log_removal_policy,
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Pre-traffic check: network interfaces in the VPC and its own log group",
        )
        self.log_group.grant_write(role)
        # Lambda creates and deletes the function's network interfaces with the function's role; EC2's
        # Describe* and these ENI actions do not support resource-level permissions.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,  # cdk-nag L1: the latest Python runtime
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text(encoding="utf-8")),
            timeout=timeout,
            role=role,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
            environment={"TEST_URL": test_url, "EXPECTED_VERSION": expected_version},
            description="ECS pre-traffic check: /health and /version of the new revision through the test listener",
        )
        ignore_lint_check(self.function, "W3005", ROLE_DEPENDENCY_REASON)
        # ECS invokes the function with this role (exactly this function, unqualified, as the hook names it).
        self.hook_role = iam.Role(
            self,
            "HookRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description="ECS invokes the pre-traffic check during deployments",
        )
        self.hook_role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.hook = ecs.DeploymentLifecycleLambdaTarget(
            self.function, "PreTrafficCheck", lifecycle_stages=[STAGE], role=self.hook_role
        )
        self._acknowledge_inherent_findings(role)

    def _acknowledge_inherent_findings(self, role: iam.Role) -> None:
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Lambda manages the function's VPC network interfaces with its role, and the EC2 network-interface "
            "actions it needs have no resource-level permissions, so IAM requires Resource '*' for them.",
        )
        acknowledge(
            role,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The inline policy grants exactly the network-interface actions Lambda needs in the VPC and writes to "
            "this function's own log group; a managed policy would add a reusable object without narrowing anything.",
        )
        acknowledge(
            self.hook_role,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The inline policy lets ECS invoke exactly this one function; a managed policy would add a reusable, "
            "attachable object without narrowing anything.",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "ECS invokes the check synchronously and reads its answer; a failed invocation fails the deployment "
            "and ECS rolls it back, so there is no asynchronous event a dead-letter queue could keep.",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaConcurrency",
            "It runs once per deployment; reserving concurrency would fail in new accounts whose concurrency "
            "quota is 10 and would protect nothing.",
        )
