"""The schedule's arithmetic: crontab weekdays, weekly send times, the longest gap."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from digest.timetable import Timetable, cron_trigger, crontab_weekdays

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("2-6", "tue,wed,thu,fri,sat"),
        ("0", "sun"),
        ("7", "sun"),
        ("0,6", "sun,sat"),
        ("5-7", "sun,fri,sat"),
        ("0-7", "sun,mon,tue,wed,thu,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("fri-sun", "sun,fri,sat"),
        ("SAT,Sun", "sun,sat"),
    ],
)
def test_weekdays_are_numbered_as_in_crontab(field: str, names: str) -> None:
    assert crontab_weekdays(field) == names


def fires(expression: str, start: dt.datetime, count: int) -> list[dt.datetime]:
    trigger = cron_trigger(expression, BERLIN)
    found: list[dt.datetime] = []
    previous = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        found.append(fire)
        previous, now = fire, fire + dt.timedelta(seconds=1)
    return found


def test_the_default_schedule_runs_tuesday_to_saturday_mornings() -> None:
    # Monday 1 June 2026, noon in Berlin.
    start = dt.datetime(2026, 6, 1, 12, 0, tzinfo=BERLIN)
    found = fires("0 7 * * 2-6", start, 6)
    assert [f"{fire:%a %H:%M}" for fire in found] == [
        "Tue 07:00",
        "Wed 07:00",
        "Thu 07:00",
        "Fri 07:00",
        "Sat 07:00",
        "Tue 07:00",
    ]
    assert found[0] == dt.datetime(2026, 6, 2, 7, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 7 * *", "it has 4 fields, not 5"),
        ("0 7 * * 9", "weekday '9' is not between 0 and 7"),
        ("0 7 * * 5-2", "weekday range '5-2' runs backwards"),
        ("0 7 * * funday", "weekday 'funday' is not a number or a day name"),
        ("0 7 * * */0", "weekday step '0' must be at least 1"),
        ("0 7 13 * mon", "restricts both the day of the month and the weekday"),
        ("0 25 * * *", "higher than the maximum value (23)"),
    ],
)
def test_a_bad_schedule_says_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cron_trigger(expression, dt.UTC)


def test_a_weekly_digest_is_due_on_the_weekly_day_at_the_schedule_time() -> None:
    timetable = Timetable.from_names("30 6 * * 2-6", "Europe/Berlin", "mon")
    # Tuesday 2 June 2026, 05:00 UTC (07:00 in Berlin, summer time).
    due = timetable.weekly_due(dt.datetime(2026, 6, 2, 5, 0, tzinfo=dt.UTC))
    assert due == dt.datetime(2026, 6, 8, 4, 30, tzinfo=dt.UTC)  # Monday 06:30 in Berlin
    # At the very time it is due, it is due then, not a week later.
    assert timetable.weekly_due(due) == due
    # In winter the same local time is an hour later in UTC.
    winter = timetable.weekly_due(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC))
    assert winter == dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC)


def test_the_longest_gap_remembers_weekends() -> None:
    start = dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.UTC)  # a Wednesday
    weekdays = Timetable.from_names("0 7 * * 2-6", "UTC", "mon")
    assert weekdays.longest_gap(start) == dt.timedelta(hours=72)  # Saturday to Tuesday
    assert weekdays.max_run_age(start) == dt.timedelta(hours=75)
    hourly = Timetable.from_names("0 * * * *", "UTC", "mon")
    assert hourly.longest_gap(start) == dt.timedelta(hours=1)
    assert hourly.max_run_age(start) == dt.timedelta(hours=27)  # a day's listing runs once
    monthly = Timetable.from_names("0 7 1 * *", "UTC", "mon")
    assert monthly.longest_gap(start) == dt.timedelta(days=31)  # 1 July to 1 August


def test_next_run_is_in_utc() -> None:
    timetable = Timetable.from_names("0 7 * * 2-6", "Europe/Berlin", "mon")
    after = dt.datetime(2026, 6, 6, 6, 0, tzinfo=dt.UTC)  # Saturday 08:00 in Berlin
    assert timetable.next_run(after) == dt.datetime(2026, 6, 9, 5, 0, tzinfo=dt.UTC)
