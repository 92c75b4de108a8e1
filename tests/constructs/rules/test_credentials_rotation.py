"""AvaOlo-CredentialsRotation: no more than ``max_rotation_days`` (default 30) between two credential rotations."""

from __future__ import annotations

import pytest
from aws_cdk import aws_secretsmanager as secretsmanager

from ava_olo_constructs import AvaOloChecks, AvaOloChecksProps, PropsError
from ava_olo_constructs.database import rotation_cron_fields
from ava_olo_constructs.rules._support import Resource
from ava_olo_constructs.rules.credentials_rotation import longest_gap_days

from .helpers import findings, new_stack

RULE = "AvaOlo-CredentialsRotation"
SCHEDULES = {
    "LibraryDefault": {"schedule_expression": "cron(0 2 1,17 * ? *)", "duration": "1h"},  # what the library writes
    "Daily": {"schedule_expression": "cron(0 3 * * ? *)"},
    "Weekly": {"schedule_expression": "cron(0 3 ? * SUN *)"},
    "Weekdays": {"schedule_expression": "cron(0 3 ? * MON-FRI *)"},
    "Every30Days": {"automatically_after_days": 30},
    "Rate30Days": {"schedule_expression": "rate(30 days)"},
    "Rate4Hours": {"schedule_expression": "rate(4 hours)"},
    "OldDay1And31": {"schedule_expression": "cron(0 2 1/30 * ? *)"},  # days 1 and 31: at most 30 days apart
    "Monthly": {"schedule_expression": "cron(0 2 1 * ? *)"},  # "monthly" is 31 days after Jan 1 etc.
    "Every90Days": {"automatically_after_days": 90},
    "Rate31Days": {"schedule_expression": "rate(31 days)"},
    "EveryTwoMonths": {"schedule_expression": "cron(0 2 1 1/2 ? *)"},
    "Yearly": {"schedule_expression": "cron(0 2 1 1 ? *)"},
    "Unreadable": {"schedule_expression": "cron(0 2 L * ? *)"},
}


@pytest.fixture(scope="module")
def stack():
    stack = new_stack()
    for name, rules in SCHEDULES.items():
        secretsmanager.CfnRotationSchedule(
            stack, name, secret_id="arn:aws:secretsmanager:eu-central-1:111111111111:secret:s",
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(**rules),
        )  # fmt: skip
    return stack


def flagged(stack, policy=None) -> set[str]:
    return set(findings(stack, policy, RULE))


def test_schedules_at_most_30_days_apart_are_compliant_and_longer_ones_are_refused(stack):
    # OldDay1And31 fires on the 1st and the 31st: its longest gap, from a 31st (or a 1st in a short month) to the
    # next 1st, stays within 30 days; a single day a month ("Monthly") does not.
    assert flagged(stack) == {
        "Monthly", "Every90Days", "Rate31Days", "EveryTwoMonths", "Yearly", "Unreadable"
    }  # fmt: skip


def test_the_period_is_a_policy_parameter(stack):
    assert flagged(stack, AvaOloChecksProps(max_rotation_days=62)) == {"Every90Days", "Yearly", "Unreadable"}
    assert flagged(stack, AvaOloChecksProps(max_rotation_days=366)) == {"Unreadable"}


@pytest.mark.parametrize("expression", ["cron(0 2 L * ? *)", "cron(0 2 15W * ? *)", "cron(0 2 ? * 2#1 *)",
                                        "cron(0 2 1 * ? 2030)", "cron(0 2 1 * ?)", "rate(1 week)"])
def test_a_schedule_the_rule_cannot_read_is_a_rule_error_not_a_pass(expression):
    stack = new_stack("Unreadable")  # alone: cdk-nag groups a rule's findings under one description
    secretsmanager.CfnRotationSchedule(
        stack, "Odd", secret_id="s", rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
            schedule_expression=expression))  # fmt: skip
    (violation,) = AvaOloChecks(None, None).validate_scope(stack).violations
    assert violation.rule_name == RULE and violation.description.startswith("Rule threw an error")


@pytest.mark.parametrize("days", [1, 2, 7, 15, 16, 29, 30, 31, 45, 61, 62, 91, 92, 122, 123, 152, 153, 183, 184,
                                  214, 215, 244, 245, 275, 276, 305, 306, 336, 337, 365, 366, 500, 1000])
def test_the_rule_reads_the_schedule_the_library_writes_as_at_most_its_period(days):
    """The library's schedule for ``rotation_days=N`` (``database.rotation_cron_fields``) passes the rule with
    ``max_rotation_days=N``: the mechanism and the policy agree on what N days means."""
    day_field, month_field = rotation_cron_fields(days)
    schedule = {"RotationRules": {"ScheduleExpression": f"cron(0 2 {day_field} {month_field} ? *)", "Duration": "1h"}}
    gap = longest_gap_days(Resource(None, "AWS::SecretsManager::RotationSchedule", schedule))
    assert gap is not None and gap <= days


@pytest.mark.parametrize("days", [0, 1001, True, "30"])
def test_a_period_secrets_manager_would_refuse_is_one_line_naming_the_field(days):
    with pytest.raises(PropsError, match="max_rotation_days"):
        AvaOloChecksProps(max_rotation_days=days)
