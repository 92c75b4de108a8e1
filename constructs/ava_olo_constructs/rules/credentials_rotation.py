"""AvaOlo-CredentialsRotation: a secret's rotation schedule never leaves more than ``max_rotation_days`` (default
30) between two rotations.

Applies to ``AWS::SecretsManager::RotationSchedule``, in each form Secrets Manager takes:
``AutomaticallyAfterDays``, ``rate(N days|hours)`` and ``cron(...)``. A cron is read against the calendar (four
years: every month length, a leap year, year ends), so a "monthly" ``cron(0 2 1 * ? *)`` counts as the 31 days it
can be. Forms the rule cannot read (``L``, ``W``, ``#``, a year other than ``*``, not six fields, another rate unit) are
a rule error the team can acknowledge, never a silent pass.

The library accepts any period Secrets Manager accepts (1-1000 days); how often is a team's policy, held here.
"""

from __future__ import annotations

import calendar
import datetime
import re
from typing import Optional

from ._support import COMPLIANT, NON_COMPLIANT, NagRule, Resource, Result, Unresolved, as_int, known

_RATE = re.compile(r"^rate\((\d+) (day|days|hour|hours)\)$")
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")  # AWS crons have six fields
_MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}  # cron's 1 = Sunday
_YEARS = range(2027, 2031)


def _values(field: str, low: int, high: int, names: dict[str, int], resource: Resource, expression: str) -> set[int]:
    """The numbers a cron field selects (``*``, ``a``, ``a-b``, ``a/n``, ``*/n``, ``a-b/n``, lists, names)."""
    selected: set[int] = set()
    for part in field.upper().split(","):
        base, _, step_text = part.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        else:
            first, _, last = base.partition("-")
            try:
                start = names.get(first) or int(first)
                end = (names.get(last) or int(last)) if last else (high if step_text else start)
            except ValueError:
                raise Unresolved(f"{resource.path}: cannot read the cron field {part!r} of {expression}") from None
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise Unresolved(f"{resource.path}: cannot read the cron field {part!r} of {expression}")
        selected.update(range(start, end + 1, step))
    return selected


def _cron_dates(resource: Resource, expression: str) -> list[datetime.date]:
    match = _CRON.match(expression)
    if not match:
        raise Unresolved(f"{resource.path}: cannot read the schedule {expression!r}")
    _, _, day_field, month_field, weekday_field, year_field = match.groups()
    if year_field != "*":
        raise Unresolved(f"{resource.path}: the rule reads crons for every year only ({expression})")
    days = _values(day_field, 1, 31, {}, resource, expression)
    months = _values(month_field, 1, 12, {k.upper(): v for k, v in _MONTHS.items()}, resource, expression)
    weekdays = _values(weekday_field, 1, 7, _WEEKDAYS, resource, expression)
    by_day, by_weekday = day_field != "?", weekday_field != "?"
    dates = []
    for year in _YEARS:
        for month in sorted(months):
            for day in range(1, calendar.monthrange(year, month)[1] + 1):
                date = datetime.date(year, month, day)
                weekday = date.isoweekday() % 7 + 1  # Monday = 2, Sunday = 1
                if (not by_day or day in days) and (not by_weekday or weekday in weekdays):
                    dates.append(date)
    return dates


def longest_gap_days(resource: Resource) -> Optional[int]:
    """The most days between two rotations this schedule allows; ``None`` when it never rotates twice."""
    rules = resource.get("RotationRules") or {}
    expression = known(resource, rules.get("ScheduleExpression"), "RotationRules.ScheduleExpression")
    if expression is None:
        return as_int(resource, rules.get("AutomaticallyAfterDays"), "RotationRules.AutomaticallyAfterDays")
    expression = str(expression).strip()
    rate = _RATE.match(expression)
    if rate:
        amount = int(rate[1])
        return amount if rate[2].startswith("day") else -(-amount // 24)
    dates = _cron_dates(resource, expression)
    if len(dates) < 2:
        return None
    return max((later - earlier).days for earlier, later in zip(dates, dates[1:]))


def check(resource: Resource, policy) -> Result:
    gap = longest_gap_days(resource)
    if gap is None or gap > policy.max_rotation_days:
        return NON_COMPLIANT
    return COMPLIANT


RULE = NagRule(
    id="CredentialsRotation",
    resource_types=("AWS::SecretsManager::RotationSchedule",),
    info="The secret's rotation schedule can leave more days between two rotations than the policy allows.",
    explanation="Credentials are rotated at most max_rotation_days (default 30) apart. A monthly cron on one day is "
    "31 days apart in the worst case; spread the days (the library's AuroraPostgresDatabase does) or rotate more "
    "often.",
    check=check,
)
