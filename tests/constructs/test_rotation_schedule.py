"""Credentials rotation: at most ``rotation_days`` apart, in the low-traffic window, never in the maintenance
window. Checked against the calendar, not against the formula that produced the days."""

from __future__ import annotations

import calendar
import datetime

import pytest

from ava_olo_constructs.database import rotation_cron_fields, rotation_days_of_month, rotation_window
from tests.constructs.test_database_props import props


def _rotation_dates(days: list[int], years=(2027, 2028), months=range(1, 13)) -> list[datetime.date]:
    days = days or list(range(1, 32))  # [] is cron "*": every day
    return [
        datetime.date(year, month, day)
        for year in years
        for month in months
        for day in days
        if day <= calendar.monthrange(year, month)[1]
    ]


@pytest.mark.parametrize("rotation_days", range(1, 31))
def test_no_two_rotations_are_more_than_rotation_days_apart_in_any_month(rotation_days: int) -> None:
    days = rotation_days_of_month(rotation_days)
    assert all(1 <= d <= 28 for d in days), "every rotation day exists in every month (February included)"
    dates = _rotation_dates(days)  # a leap year and a common year, every month length
    assert max((b - a).days for a, b in zip(dates, dates[1:])) <= rotation_days


def _cron_dates(day_field: str, month_field: str) -> list[datetime.date]:
    """The dates a ``cron(0 H <day_field> <month_field> ? *)`` fires on over four years, for the field shapes the
    library writes (day lists or ``*``; months ``*`` or ``start/step``)."""
    days = [] if day_field == "*" else [int(d) for d in day_field.split(",")]
    start, _, step = month_field.partition("/")
    months = range(1, 13) if month_field == "*" else range(int(start), 13, int(step or 12))
    return _rotation_dates(days, years=range(2027, 2031), months=months)


@pytest.mark.parametrize("rotation_days", [1, 7, 30, 31, 45, 61, 62, 90, 91, 92, 120, 123, 180, 184, 365, 366, 999, 1000])
def test_any_period_secrets_manager_accepts_rotates_at_most_that_many_days_apart(rotation_days: int) -> None:
    """Secrets Manager accepts 1-1000 days, so the library does too (the app's 30-day policy lives in its config).
    Beyond 30 days the cron steps months (day 1 of every k-th month); a cron cannot count years, so anything over
    a year rotates every January 1st: more often than asked, never less."""
    day_field, month_field = rotation_cron_fields(rotation_days)
    dates = _cron_dates(day_field, month_field)  # four years: every month length, a leap year, year ends
    gaps = [(b - a).days for a, b in zip(dates, dates[1:])]
    assert max(gaps) <= rotation_days


@pytest.mark.parametrize(
    "rotation_days, fields",
    [(31, ("1", "*")), (61, ("1", "*")), (62, ("1", "1/2")), (91, ("1", "1/2")), (92, ("1", "1/3")),
     (365, ("1", "1/11")), (366, ("1", "1/12")), (1000, ("1", "1/12"))],
)
def test_longer_periods_rotate_on_day_1_of_as_few_months_as_fit(rotation_days: int, fields) -> None:
    """Not needlessly often either: every 2 months from 62 days (Jul+Aug, Dec+Jan), every 3 from 92, yearly
    from 366 (a leap year)."""
    assert rotation_cron_fields(rotation_days) == fields


def test_thirty_days_is_not_day_1_and_day_31() -> None:
    """The old ``cron(0 2 1/30 * ? *)`` rotated on Jan 31 and again on Feb 1."""
    days = rotation_days_of_month(30)
    assert 31 not in days and days == [1, 17]
    assert min((b - a).days for a, b in zip(_rotation_dates(days), _rotation_dates(days)[1:])) >= 12


@pytest.mark.parametrize(
    "maintenance, window",
    [
        ("sun:03:00-sun:03:30", (2, 1)),  # the default: 02:00-03:00
        ("sun:02:00-sun:02:30", (3, 1)),  # 02:30-03:00 is not a whole hour; 03:00-04:00 is
        ("mon:03:30-mon:04:00", (2, 1)),
        ("sat:02:00-sat:03:00", (3, 1)),
    ],
)
def test_rotation_window_is_inside_the_low_traffic_window_and_outside_maintenance(maintenance, window) -> None:
    start_hour, hours = rotation_window(maintenance)
    assert (start_hour, hours) == window
    m_start, m_end = (int(t[4:6]) * 60 + int(t[7:9]) for t in maintenance.split("-"))
    r_start, r_end = start_hour * 60, (start_hour + hours) * 60
    assert 120 <= r_start < r_end <= 240
    assert r_end <= m_start or m_end <= r_start, "never during the maintenance window"


@pytest.mark.parametrize(
    ("maintenance", "window"),
    [
        ("sun:02:30-sun:03:30", (4, 1)),  # no whole hour of 02:00-04:00 is free: the first free hour after it
        ("sun:02:00-sun:04:00", (4, 1)),
        ("sun:22:00-mon:05:30", (6, 1)),  # past midnight
    ],
)
def test_a_maintenance_window_over_the_low_traffic_window_moves_rotation_after_it(maintenance, window) -> None:
    """RDS accepts such a window, so the library does too; the rotation then runs in the first free hour."""
    assert rotation_window(maintenance) == window
    props(maintenance_window=maintenance, backup_window="12:00-12:30").validate()
