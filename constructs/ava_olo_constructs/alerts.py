"""Where alarms go: one encrypted SNS topic per environment, e-mail subscribers from configuration.

CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed ``alias/aws/sns`` key, so the
topic has a customer-managed key (rotation on) whose policy lets CloudWatch use it. Publishing requires TLS.
:meth:`AlertTopic.notify` wires both the ALARM and the OK transitions, so people also learn when it is over.

The topic policy has two statements. An SNS topic policy REPLACES SNS's default policy (which lets the
account's principals publish), so the TLS-only Deny alone would let nobody publish, CloudWatch included
("...alarm:X is not authorized to perform: SNS:Publish ... because no resource-based policy allows"):

* ``AllowCloudWatchAlarmsToPublish``: ``sns:Publish`` for ``cloudwatch.amazonaws.com``, only on behalf of this
  account's alarms (``aws:SourceAccount`` = this account: the confused-deputy guard AWS documents for
  service principals; ``aws:SourceArn`` would need every alarm's ARN in the policy and a policy update per
  new alarm, while the account condition already keeps other accounts' alarms out);
* ``EnforceTls`` (CDK's ``enforce_ssl``): deny any request without TLS. CloudWatch publishes over TLS.

The key's policy allows the same principal ``kms:GenerateDataKey*`` and ``kms:Decrypt`` (as AWS documents for
alarms on encrypted topics; the key encrypts nothing but this topic's messages, and only the topic policy
decides who may publish). ``tests/stacks/test_alarm_delivery.py`` walks every alarm action to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .validation import PropsError, check_name

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class AlertTopicProps:
    """:param topic_name: the SNS topic's name (required), e.g. ``ResourceNames.alarm_topic_name``.
    :param emails: e-mail subscribers. Default none.
    :param key_removal_policy: of the topic's KMS key. Default ``RETAIN``."""

    topic_name: str
    emails: Sequence[str] = ()
    key_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN


class AlertTopic(Construct):
    """An encrypted SNS topic CloudWatch alarms can publish to. Attributes: ``topic``, ``key``."""

    def __init__(self, scope: Construct, construct_id: str, props: AlertTopicProps) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(props, AlertTopicProps):
            raise PropsError("props", props, "an AlertTopicProps")
        topic_name, emails, key_removal_policy = props.topic_name, props.emails, props.key_removal_policy
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
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @staticmethod
    def notify(alarm: cloudwatch.Alarm, topic: sns.ITopic) -> cloudwatch.Alarm:
        """Send ALARM and OK transitions of ``alarm`` to ``topic`` (any topic CloudWatch may publish to)."""
        action = cloudwatch_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm
