"""Seed "Monitoring and Alerting": an alarm is only worth something if its notification reaches a person.

A structural walk over EVERY synthesized template (every environment, every delivery configuration): each alarm
action -> the SNS topic it names -> that topic's policy and its KMS key's policy. It fails unless

* the topic policy allows ``cloudwatch.amazonaws.com`` to ``sns:Publish`` to that topic, under conditions the
  alarm's own request satisfies (``aws:SourceAccount`` = this account and/or ``aws:SourceArn`` = the alarm);
* no Deny statement of the topic policy applies to CloudWatch's (TLS) request;
* the topic's key (a customer-managed key: the AWS-managed ``alias/aws/sns`` cannot be granted to CloudWatch)
  lets ``cloudwatch.amazonaws.com`` ``kms:GenerateDataKey*`` and ``kms:Decrypt``.

The same holds for any EventBridge rule that targets a topic (principal ``events.amazonaws.com``). An SNS
topic policy REPLACES SNS's default policy, so a policy with only the TLS-only Deny lets nobody publish: that is
the defect this test was written against. It also fails when it finds no alarm action at all, so it cannot pass
by matching nothing.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterator

import pytest

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
ACTION_KEYS = ("AlarmActions", "OKActions", "InsufficientDataActions")
ACCOUNT = {"Ref": "AWS::AccountId"}


def _templates(project) -> Iterator[tuple[str, dict[str, Any]]]:
    for env_name, environment in project.environments.items():
        for artifact_id, template in environment.templates.items():
            yield f"{env_name}/{artifact_id}", template
    for name, (_, template) in project.deliveries.items():
        yield f"delivery-{name}", template


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _topic_id(reference: Any) -> str | None:
    """The logical id of a topic named by ``{"Ref": id}`` (CloudFormation's Ref of a topic is its ARN)."""
    if isinstance(reference, dict) and set(reference) == {"Ref"}:
        return reference["Ref"]
    return None


def _key_id(reference: Any) -> str | None:
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        return reference["Fn::GetAtt"][0]
    if isinstance(reference, dict) and "Ref" in reference:
        return reference["Ref"]
    return None


def _principal_is(statement: dict[str, Any], service: str) -> bool:
    principal = statement.get("Principal", {})
    if principal == "*" or principal == {"AWS": "*"}:
        return True
    return isinstance(principal, dict) and service in _as_list(principal.get("Service", []))


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in _as_list(statement.get("Action", [])))


def _conditions_hold(statement: dict[str, Any], context: dict[str, Any]) -> bool:
    """True if every condition of ``statement`` is met by ``context`` (the publishing service's request).

    Only what an alarm's request can be judged on offline: ``StringEquals``/``ArnEquals``/``ArnLike``/
    ``StringLike`` on ``aws:SourceAccount``/``aws:SourceArn`` with the exact CloudFormation value, and the
    TLS Bool. Any other condition is treated as not met, so an unknown condition cannot make this test pass."""
    for operator, clauses in statement.get("Condition", {}).items():
        for key, expected in clauses.items():
            key = key.lower()
            if operator == "Bool" and key == "aws:securetransport":
                if [str(v).lower() for v in _as_list(expected)] != [str(context["aws:securetransport"]).lower()]:
                    return False
                continue
            if operator not in ("StringEquals", "ArnEquals", "ArnLike", "StringLike") or key not in context:
                return False
            if context[key] not in _as_list(expected):
                return False
    return True


def _resources_cover(statement: dict[str, Any], resource: Any) -> bool:
    return any(r == "*" or r == resource for r in _as_list(statement.get("Resource", [])))


def _may_publish(template: dict[str, Any], topic_id: str, service: str, source_arn: Any) -> list[str]:
    """Problems that would stop ``service`` (publishing on behalf of ``source_arn``) from reaching the topic."""
    resources = template["Resources"]
    topic = resources.get(topic_id)
    if topic is None or topic["Type"] != "AWS::SNS::Topic":
        return [f"{topic_id} is not an SNS topic of this template"]
    problems = []
    topic_ref = {"Ref": topic_id}
    context = {"aws:sourceaccount": ACCOUNT, "aws:sourcearn": source_arn, "aws:securetransport": True}
    policies = [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::SNS::TopicPolicy" and topic_ref in r["Properties"]["Topics"]
    ]
    if not policies:
        problems.append(f"topic {topic_id} has no topic policy allowing {service}")
    statements = [s for document in policies for s in document["Statement"]]
    applies = [
        s
        for s in statements
        if _principal_is(s, service) and _action_matches(s, "sns:Publish") and _resources_cover(s, topic_ref)
        and _conditions_hold(s, context)
    ]  # fmt: skip
    if not any(s["Effect"] == "Allow" for s in applies):
        problems.append(f"topic {topic_id}: no Allow of sns:Publish for {service} (SourceAccount/SourceArn)")
    for deny in (s for s in applies if s["Effect"] == "Deny"):
        problems.append(f"topic {topic_id}: Deny {deny.get('Sid', '')} applies to {service}'s request")

    key_reference = topic["Properties"].get("KmsMasterKeyId")
    if key_reference is not None:
        key_id = _key_id(key_reference)
        key = resources.get(key_id) if key_id else None
        if key is None or key["Type"] != "AWS::KMS::Key":
            problems.append(f"topic {topic_id}: key {key_reference} is not a customer-managed key of this template")
        else:
            key_statements = key["Properties"]["KeyPolicy"]["Statement"]
            kms_context = {"aws:sourceaccount": ACCOUNT, "aws:sourcearn": source_arn, "aws:securetransport": True}
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                allowed = [
                    s
                    for s in key_statements
                    if s["Effect"] == "Allow" and _principal_is(s, service) and _action_matches(s, action)
                    and _resources_cover(s, "*") and _conditions_hold(s, kms_context)
                ]  # fmt: skip
                if not allowed:
                    problems.append(f"topic {topic_id}: key {key_id} does not allow {service} {action}")
    return problems


def _alarm_actions(template: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for alarm_id, alarm in template.get("Resources", {}).items():
        if alarm["Type"] in ALARM_TYPES:
            for key in ACTION_KEYS:
                for action in alarm["Properties"].get(key, []):
                    yield alarm_id, key, action


def _rule_topic_targets(template: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    resources = template.get("Resources", {})
    for rule_id, rule in resources.items():
        if rule["Type"] == "AWS::Events::Rule":
            for target in rule["Properties"].get("Targets", []):
                topic_id = _topic_id(target["Arn"])
                if topic_id and resources.get(topic_id, {}).get("Type") == "AWS::SNS::Topic":
                    yield rule_id, target["Arn"]


def test_every_alarm_action_can_be_delivered_through_its_topic_and_key(project) -> None:
    checked = 0
    problems = []
    for where, template in _templates(project):
        for alarm_id, key, action in _alarm_actions(template):
            checked += 1
            topic_id = _topic_id(action)
            if topic_id is None:
                problems.append(f"{where}: {alarm_id}.{key} {action} is not a topic of this template")
                continue
            source_arn = {"Fn::GetAtt": [alarm_id, "Arn"]}
            problems += [f"{where}: {alarm_id}.{key}: {p}" for p in
                         _may_publish(template, topic_id, "cloudwatch.amazonaws.com", source_arn)]  # fmt: skip
    assert checked > 0, "no alarm action found in any template: this test would pass by matching nothing"
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_eventbridge_rule_targeting_a_topic_may_publish_to_it(project) -> None:
    problems = []
    for where, template in _templates(project):
        for rule_id, topic in _rule_topic_targets(template):
            source_arn = {"Fn::GetAtt": [rule_id, "Arn"]}
            problems += [f"{where}: {rule_id}: {p}" for p in
                         _may_publish(template, topic["Ref"], "events.amazonaws.com", source_arn)]  # fmt: skip
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize(
    "statement, allowed",
    [
        ({"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
          "Resource": {"Ref": "T"}, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}, True),
        ({"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
          "Resource": {"Ref": "T"}, "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}}}, False),
        ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
          "Resource": {"Ref": "T"}}, False),
        ({"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Subscribe",
          "Resource": {"Ref": "T"}}, False),
    ],
    ids=["own-account", "other-account", "other-service", "other-action"],
)
def test_the_walk_itself_rejects_what_aws_would_reject(statement: dict[str, Any], allowed: bool) -> None:
    """The checker is not a stub: a policy that AWS would not honour for the alarm is reported."""
    template = {
        "Resources": {
            "T": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "P": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "T"}], "PolicyDocument": {
                "Statement": [statement, {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                                          "Resource": {"Ref": "T"},
                                          "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}},
        }
    }  # fmt: skip
    problems = _may_publish(template, "T", "cloudwatch.amazonaws.com", {"Fn::GetAtt": ["A", "Arn"]})
    assert (problems == []) is allowed, problems


def test_alarm_topic_policy_is_the_tls_deny_plus_cloudwatch_of_this_account_only(each_environment) -> None:
    template = each_environment.service
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    allow = statements.pop("AllowCloudWatchAlarmsToPublish")
    assert allow == {
        "Sid": "AllowCloudWatchAlarmsToPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic_id},
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    (deny,) = statements.values()
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
