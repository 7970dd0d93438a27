"""When things happen: the daily job's cron schedule, and when a weekly digest is due.

Pure time arithmetic over APScheduler 3's ``CronTrigger``; the scheduler (digest.scheduler),
the pipeline (weekly deliveries) and /healthz (how old a last run may be) share it.

APScheduler 3 numbers weekdays from Monday (0 = Monday), while every crontab numbers
them from Sunday (0 and 7 = Sunday; its issue #286). A schedule is written the crontab
way, so ``cron_trigger`` rewrites the weekday field as names before APScheduler sees it:
``0 7 * * 2-6`` runs Tuesday to Saturday, as anyone who knows cron expects.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab's numbering: 0 = Sunday
HEALTH_SLACK = dt.timedelta(hours=3)  # how late a run may finish before /healthz worries
GAP_SAMPLE = dt.timedelta(days=35)  # long enough to see every gap of a weekly pattern
GAP_SAMPLE_FIRES = 2000


def cron_trigger(expression: str, timezone: dt.tzinfo) -> CronTrigger:
    """The trigger of a 5-field crontab expression, weekdays numbered the crontab way.

    ValueError (one line) for anything that is not such an expression, and for one that
    restricts both the day of the month and the weekday: cron runs on days matching
    either, APScheduler only on days matching both, so such a schedule means two things.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"it has {len(fields)} fields, not 5")
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ValueError(
            "it restricts both the day of the month and the weekday; restrict one of them"
        )
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=timezone,
    )


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field (``1-5``, ``0,6``, ``*/2``, ``mon-fri``) as APScheduler's
    list of names (``mon,tue,wed,thu,fri``); ``*`` stays ``*``."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        days |= _weekday_part(part)
    return ",".join(NAMES[day] for day in sorted(days))


def _weekday_part(part: str) -> set[int]:
    span, _, step_text = part.partition("/")
    step = _number(step_text, "step") if step_text else 1
    if step < 1:
        raise ValueError(f"weekday step {step_text!r} must be at least 1")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        start, end = span.split("-", 1)
        first, last = _weekday(start), _weekday(end)
        if end.strip() == "7" or (end.strip() == "sun" and first > 0):
            last = 7  # '5-7', 'fri-sun' and '0-7' end on Sunday
        if first > last:
            raise ValueError(f"weekday range {span!r} runs backwards")
    else:
        first = last = _weekday(span)
        if step_text:
            last = 6  # '1/2': from Monday, every other day
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday(text: str) -> int:
    text = text.strip()
    if text in NAMES:
        return NAMES.index(text)
    number = _number(text, "weekday")
    if not 0 <= number <= 7:
        raise ValueError(f"weekday {text!r} is not between 0 and 7 (0 and 7 are Sunday)")
    return number % 7


def _number(text: str, what: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"{what} {text!r} is not a number or a day name (sun, mon, ...)")
    return int(text)


@dataclass(frozen=True)
class Timetable:
    """The daily job's schedule and the weekly send time, in one time zone."""

    schedule: str
    timezone: dt.tzinfo
    weekly_day: str  # mon ... sun

    @classmethod
    def from_names(cls, schedule: str, timezone: str, weekly_day: str) -> Timetable:
        return cls(schedule, zoneinfo.ZoneInfo(timezone), weekly_day)

    def trigger(self) -> CronTrigger:
        """When the daily job runs."""
        return cron_trigger(self.schedule, self.timezone)

    def next_run(self, after: dt.datetime) -> dt.datetime:
        """The first time the daily job runs at or after ``after`` (UTC)."""
        fire: dt.datetime | None = self.trigger().get_next_fire_time(None, after)
        if fire is None:  # a schedule that never runs again, e.g. 31 February
            raise ValueError(f"DIGEST_SCHEDULE {self.schedule!r} never runs")
        return fire.astimezone(dt.UTC)

    def weekly_due(self, after: dt.datetime) -> dt.datetime:
        """When a weekly digest collecting papers at ``after`` goes out (UTC): the next
        ``weekly_day`` at the time of day of the schedule (``0 7 * * 2-6`` and ``mon``:
        Mondays at 07:00), whether or not the daily job runs that day."""
        minute, hour = self.schedule.split()[:2]
        weekly = CronTrigger(
            minute=minute, hour=hour, day_of_week=self.weekly_day, timezone=self.timezone
        )
        fire: dt.datetime | None = weekly.get_next_fire_time(None, after)
        assert fire is not None  # a weekday comes round every week
        return fire.astimezone(dt.UTC)

    def longest_gap(self, start: dt.datetime) -> dt.timedelta:
        """The longest time between two runs of the schedule in the weeks after ``start``
        (a weekend, for a weekday schedule)."""
        trigger = self.trigger()
        previous = trigger.get_next_fire_time(None, start)
        longest = dt.timedelta(0)
        for _ in range(GAP_SAMPLE_FIRES):
            if previous is None or previous - start > GAP_SAMPLE:
                break
            following = trigger.get_next_fire_time(previous, previous + dt.timedelta(seconds=1))
            if following is None:
                break
            longest = max(longest, following - previous)
            previous = following
        return longest

    def max_run_age(self, start: dt.datetime) -> dt.timedelta:
        """How old the last successful run may be before /healthz calls it stale: the
        longest gap between two runs, at least a day (a day's listing is run once, so a
        schedule running every hour still makes one run a day), plus HEALTH_SLACK."""
        return max(self.longest_gap(start), dt.timedelta(days=1)) + HEALTH_SLACK
