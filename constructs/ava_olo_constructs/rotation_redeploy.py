"""Roll the service onto new database credentials right after Secrets Manager rotates them.

ECS reads ``DB_PASSWORD`` when a task starts. After a rotation, connections the pool already holds stay valid
(PostgreSQL does not end authenticated sessions), but every new connection with the old password fails, and
the pool recycles connections every 300 s (seed "Connection Pooling"). Left alone, the service would fail its
``/health`` checks a few minutes after every rotation (seed "Issue 2: Database Connection Errors"). An
EventBridge rule on the ``RotationSucceeded`` event of the credentials secret forces a new deployment of the
service, which starts tasks with the new password through the usual safe rollout (100 % / 200 %, circuit
breaker, alarm rollback). The rotation itself is scheduled inside the low-traffic window, so this happens at
02:00-04:00 UTC.

Secrets Manager publishes ``RotationSucceeded`` through CloudTrail. EventBridge receives these management
events in every account without a trail having to be configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .compliance import ROLE_DEPENDENCY_REASON, acknowledge, ignore_lint_check
from .validation import PropsError


@dataclass(frozen=True)
class RedeployOnSecretRotationProps:
    """Props for :class:`RedeployOnSecretRotation`. Required: ``secret_arn``, ``service``.

    :param secret_arn: ARN of the rotated secret (``database.secret.secret_arn``; any stack).
    :param service: the ECS service to redeploy.
    :param log_encryption_key: KMS key for the log group of CDK's API-call function. Default: not encrypted with
        a customer-managed key.
    """

    secret_arn: str
    service: ecs.BaseService
    log_encryption_key: Optional[kms.IKey] = None


class RedeployOnSecretRotation(Construct):
    """EventBridge rule: ``RotationSucceeded`` of the secret -> ``ecs:UpdateService --force-new-deployment``.

    ``RedeployOnSecretRotation(scope, id, RedeployOnSecretRotationProps(secret_arn=..., service=...))``.
    Attributes: ``rule`` and ``props``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: RedeployOnSecretRotationProps) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(props, RedeployOnSecretRotationProps):
            raise PropsError("props", props, "RedeployOnSecretRotationProps(secret_arn=..., service=...)")
        self.props = props
        secret_arn, service, log_encryption_key = props.secret_arn, props.service, props.log_encryption_key
        self.rule = events.Rule(
            self,
            "Rule",
            description="Force a new ECS deployment after the database credentials were rotated",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=["AWS Service Event via CloudTrail"],
                detail={"eventName": ["RotationSucceeded"], "additionalEventData": {"SecretId": [secret_arn]}},
            ),
        )
        self.rule.add_target(
            targets.AwsApi(
                service="ECS",
                action="updateService",
                parameters={
                    "cluster": service.cluster.cluster_name,
                    "service": service.service_name,
                    "forceNewDeployment": True,
                },
                policy_statement=iam.PolicyStatement(actions=["ecs:UpdateService"], resources=[service.service_arn]),
            )
        )
        self._harden_api_call_function(log_encryption_key)

    def _harden_api_call_function(self, log_encryption_key: Optional[kms.IKey]) -> None:
        """``targets.AwsApi`` runs the call in a singleton Lambda function of the stack (id ``AWS<uuid>``):
        encrypt its log group and acknowledge, on it alone, what a one-call function does not need."""
        stack = Stack.of(self)
        functions = [
            child
            for child in stack.node.children
            if isinstance(child, lambda_.Function) and child.node.id.startswith("AWS") and len(child.node.id) == 35
        ]
        for function in functions:
            log_group = function.node.try_find_child("LogGroup")
            cfn_log_group = log_group.node.default_child if log_group is not None else None
            if log_encryption_key is not None and isinstance(cfn_log_group, logs.CfnLogGroup):
                cfn_log_group.kms_key_id = log_encryption_key.key_arn
            role = function.role
            if role is not None:
                acknowledge(
                    role,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                    "CDK's AwsApi target runs with the AWS-maintained basic execution policy, which only lets it "
                    "write its own logs; its one real permission is ecs:UpdateService on this service.",
                )
                acknowledge(
                    role,
                    "NIST.800.53.R5-IAMNoInlinePolicy",
                    "The inline policy allows exactly ecs:UpdateService on this one service; a managed policy would "
                    "add a reusable, attachable object without narrowing anything.",
                )
            ignore_lint_check(
                function,
                "W3005",
                ROLE_DEPENDENCY_REASON,
            )
            acknowledge(
                function,
                "NIST.800.53.R5-LambdaDLQ",
                "EventBridge invokes this function and retries failed invocations itself; a failure also shows "
                "as the rotation alarms and the service's health, so a dead-letter queue would never be read.",
            )
            acknowledge(
                function,
                "NIST.800.53.R5-LambdaInsideVPC",
                "The function makes a single ECS API call over TLS after a rotation; attaching it to the VPC would "
                "add network interfaces and egress for it without isolating anything it touches.",
            )
            acknowledge(
                function,
                "NIST.800.53.R5-LambdaConcurrency",
                "It runs once per rotation (monthly); reserving concurrency would fail in new accounts whose "
                "concurrency quota is 10 and would protect nothing.",
            )
