"""Where alarms go: one encrypted SNS topic per environment, e-mail subscribers from configuration.

CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed ``alias/aws/sns`` key, so the
topic has a customer-managed key (rotation on) whose policy lets CloudWatch use it. Publishing requires TLS.
:func:`notify` wires both the ALARM and the OK transitions, so people also learn when it is over.
"""

from __future__ import annotations

import re
from typing import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .validation import PropsError, check_name

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


class AlertTopic(Construct):
    """Attributes: ``topic``, ``key``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        emails: Sequence[str] = (),
        key_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        check_name("topic_name", topic_name, max_length=256)
        for email in emails:
            if not isinstance(email, str) or not _EMAIL.fullmatch(email):
                raise PropsError("emails", email, "e-mail addresses such as ops@example.com")
        self.key = kms.Key(
            self,
            "Key",
            description=f"{topic_name}: alarm notifications",
            enable_key_rotation=True,
            removal_policy=key_removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        self.topic = sns.Topic(self, "Topic", topic_name=topic_name, master_key=self.key, enforce_ssl=True)
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))


def notify(alarm: cloudwatch.Alarm, topic: sns.ITopic) -> cloudwatch.Alarm:
    """Send ALARM and OK transitions of ``alarm`` to ``topic``."""
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    return alarm
