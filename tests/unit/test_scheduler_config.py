"""The daily job's scheduling options are the ones chosen on purpose (see digest.scheduler)."""

from __future__ import annotations

import datetime as dt

from digest.app import App
from digest.config import Settings
from digest.scheduler import JOB_ID, DailyJob, build_scheduler


def test_one_cron_job_coalesced_one_instance_run_however_late() -> None:
    settings = Settings(
        database_url="sqlite+aiosqlite:///:memory:",
        schedule="30 6 * * 1-5",
        timezone="Europe/Berlin",
    )
    app = App.from_settings(settings)
    job = DailyJob(app)

    scheduler = build_scheduler(app, job, run_at_start=False)

    [scheduled] = scheduler.get_jobs()
    assert scheduled.id == JOB_ID
    assert scheduled.func == job.run
    assert scheduled.coalesce is True
    assert scheduled.max_instances == 1
    assert scheduled.misfire_grace_time is None
    fields = {field.name: str(field) for field in scheduled.trigger.fields}
    assert (fields["minute"], fields["hour"]) == ("30", "6")
    assert fields["day_of_week"] == "mon,tue,wed,thu,fri"  # crontab's 1-5, not Tuesday-Saturday
    assert str(scheduled.trigger.timezone) == "Europe/Berlin"


def test_the_first_run_is_at_start_up() -> None:
    app = App.from_settings(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    before = dt.datetime.now(dt.UTC)
    scheduler = build_scheduler(app, DailyJob(app))
    [scheduled] = scheduler.get_jobs()
    # Not yet started, the job keeps its first run time as given: now.
    assert before <= scheduled.next_run_time <= dt.datetime.now(dt.UTC)
